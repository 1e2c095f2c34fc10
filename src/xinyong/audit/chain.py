"""The hash-chained audit log: every write appends an entry whose hash covers its content
and the previous entry's hash, so that an edited, deleted or reordered entry shows."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

from xinyong.clock import utcnow
from xinyong.store.base import Connection, get_meta, set_meta

GENESIS = "0" * 64


def entry_hash(
    seq: int, at: dt.datetime, actor: str, action: str, obj: str, payload: str, prev: str
) -> str:
    body = orjson.dumps([seq, at.isoformat(), actor, action, obj, payload, prev])
    return hashlib.sha256(body).hexdigest()


def append(conn: Connection, *, actor: str, action: str, obj: str, payload: dict[str, Any]) -> int:
    """Append one entry inside the caller's transaction; return its sequence number."""
    last = conn.one("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = utcnow()
    text = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS).decode()
    digest = entry_hash(seq, at, actor, action, obj, text, prev)
    conn.execute(
        "INSERT INTO audit_log (seq, logged_at, actor, action, object, payload, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [seq, at, actor, action, obj, text, prev, digest],
    )
    # The head is kept apart from the chain so that cutting entries off the end shows too.
    set_meta(conn, "audit_head", f"{seq}:{digest}")
    return seq


@dataclass
class Finding:
    seq: int | None
    problem: str


def verify_chain(conn: Connection) -> tuple[int, list[Finding]]:
    """Walk the log in order; return (entries checked, findings). No findings: intact."""
    findings: list[Finding] = []
    rows = conn.execute(
        "SELECT seq, logged_at, actor, action, object, payload, prev_hash, hash FROM audit_log ORDER BY seq"
    )
    expected_seq, prev_hash = 1, GENESIS
    for seq, at, actor, action, obj, payload, stored_prev, stored_hash in rows:
        if seq != expected_seq:
            findings.append(
                Finding(
                    seq,
                    f"entry {seq} follows entry {expected_seq - 1}: "
                    f"entr{'y' if seq - expected_seq == 1 else 'ies'} "
                    f"{expected_seq}..{seq - 1} deleted or moved",
                )
            )
        if stored_prev != prev_hash:
            findings.append(
                Finding(
                    seq,
                    f"entry {seq} does not link to the entry before it: "
                    "an entry before it was edited, deleted or reordered",
                )
            )
        if entry_hash(seq, at, actor, action, obj, payload, stored_prev) != stored_hash:
            findings.append(
                Finding(
                    seq,
                    f"entry {seq} ({action} {obj}) was edited: its content "
                    "no longer matches its hash",
                )
            )
        expected_seq, prev_hash = seq + 1, stored_hash
    head = get_meta(conn, "audit_head")
    if head is not None:
        head_seq, head_hash = head.split(":")
        if int(head_seq) != expected_seq - 1 or head_hash != prev_hash:
            findings.append(
                Finding(
                    int(head_seq),
                    f"the log ends at entry {expected_seq - 1} but "
                    f"its recorded head is entry {head_seq}: entries were cut off "
                    "or the last entry was replaced",
                )
            )
    elif rows:
        findings.append(Finding(None, "the log has entries but no recorded head"))
    return len(rows), findings
