"""Reading the ledger: a subject's identity, its current records and its full history."""

from __future__ import annotations

from typing import Any

import orjson

from xinyong.ids import parse_subject, subject_key
from xinyong.ids.regions import region_name
from xinyong.ledger.objections import open_disputes
from xinyong.store.base import Connection

_RECORD_COLUMNS = (
    "event_id, source_id, source_record_id, category, occurred_on, amount, document, legal_basis,"
    " details, supersedes, action, received_at, submission_id, content_hash"
)


def lookup_key(identifier: str, secret: bytes) -> tuple[str, str]:
    """(pseudonymous key, normalised identifier) for an identifier; raises InvalidIdentifier."""
    parsed = parse_subject(identifier)
    return subject_key(secret, parsed.identifier), parsed.identifier


def subject_file(conn: Connection, identifier: str, secret: bytes) -> dict[str, Any]:
    """Everything the ledger holds about one subject (the subject sees all of it)."""
    parsed = parse_subject(identifier)
    key = subject_key(secret, parsed.identifier)
    row = conn.dicts(
        "SELECT kind, birth_date, sex, region_code, first_seen FROM subjects WHERE subject_key = ?",
        [key],
    )
    current = _records(conn, "current_records", key)
    history = _records(conn, "records", key)
    disputes = open_disputes(conn, [key])
    for r in current:
        dispute = disputes.get(int(r["event_id"]))
        if dispute is not None:
            r.update(dispute.as_dict())
    current_ids = {r["event_id"] for r in current}
    for r in history:
        r["status"] = (
            "current"
            if r["event_id"] in current_ids
            else ("revocation" if r["action"] == "revoke" else "superseded")
        )
    info = row[0] if row else {}
    first_seen = info.get("first_seen")
    return {
        "identifier": parsed.identifier,
        "subject_key": key,
        "kind": parsed.kind,
        "known": bool(row),
        "birth_date": parsed.birth_date.isoformat() if parsed.birth_date else None,
        "sex": parsed.sex,
        "region_code": parsed.region_code,
        "region": region_name(parsed.region_code),
        "first_seen": first_seen.isoformat() if first_seen else None,
        "current_records": current,
        "history": history,
    }


# One subject's current records: the current_records view's test applied to that subject's
# rows only. The view's anti-joins suit whole-ledger scans; for a look-up, filtering first
# and testing the few rows left is several times faster.
_CURRENT_OF_SUBJECT = f"""
SELECT {_RECORD_COLUMNS} FROM records r
WHERE r.subject_key = ? AND r.action <> 'revoke'
  AND NOT EXISTS (
      SELECT 1 FROM records s
      WHERE s.source_id = r.source_id AND s.event_id > r.event_id
        AND (s.supersedes = r.source_record_id OR s.source_record_id = r.source_record_id))
ORDER BY event_id"""


def _records(conn: Connection, table: str, key: str) -> list[dict[str, Any]]:
    if table == "current_records":
        rows = conn.dicts(_CURRENT_OF_SUBJECT, [key])
    else:
        rows = conn.dicts(
            f"SELECT {_RECORD_COLUMNS} FROM {table} WHERE subject_key = ? ORDER BY event_id",
            [key],
        )
    for r in rows:
        r["details"] = orjson.loads(r["details"])
        r["occurred_on"] = r["occurred_on"].isoformat()
        r["received_at"] = r["received_at"].isoformat()
        r["amount"] = str(r["amount"]) if r["amount"] is not None else None
    return rows


def ledger_counts(conn: Connection) -> dict[str, int]:
    return {
        "subjects": int(conn.scalar("SELECT count(*) FROM subjects") or 0),
        "records": int(conn.scalar("SELECT count(*) FROM records") or 0),
        "current_records": int(conn.scalar("SELECT count(*) FROM current_records") or 0),
        "sources": int(conn.scalar("SELECT count(*) FROM sources") or 0),
        "submissions": int(conn.scalar("SELECT count(*) FROM submissions") or 0),
    }
