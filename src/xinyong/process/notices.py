"""Notices to a subject, and to the subject alone.

A notice is a record of its own (``notices``): what happened, the records and rule behind
it, the legal basis, whether and until when the subject may object and how, and the remedy,
in Chinese and English (texts in notices.toml). Notices about measures are made from the
outbox of measure changes by a cursor, in the transaction that wrote the changes (or by
``xinyong maintain`` catching up), so nothing is told twice and nothing is missed. They are
delivered by process/channels.py; nothing is ever addressed to anyone but the subject.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from importlib import resources
from typing import Any

import orjson

from xinyong.clock import today, utcnow
from xinyong.context import Context
from xinyong.ids.masking import mask
from xinyong.state.outbox import Change, changes_after
from xinyong.state.runs import current_run
from xinyong.store.base import Connection, get_meta, set_meta

CURSOR = "notices_from_changes_through"
KINDS = (
    "measure_started",
    "measure_ended",
    "record_received",
    "objection_received",
    "objection_decided",
    "objection_overdue",
    "term_ending",
    "repair_received",
    "repair_decided",
)


@cache
def texts() -> dict[str, Any]:
    raw = resources.files("xinyong.process").joinpath("notices.toml").read_text("utf-8")
    return tomllib.loads(raw)


class _Facts(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""  # a fact that does not apply to this notice reads as nothing


def render(kind: str, facts: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Title and text of a notice in both languages."""
    spec = texts()["kinds"][kind]
    values = _Facts(facts)
    return {
        "title": {lang: spec["title"][lang].format_map(values) for lang in ("zh", "en")},
        "text": {lang: spec["text"][lang].format_map(values) for lang in ("zh", "en")},
    }


def add(
    conn: Connection,
    subject_key: str,
    kind: str,
    facts: dict[str, Any],
    *,
    dedupe_key: str,
    on: dt.date,
    extra: dict[str, Any] | None = None,
) -> int | None:
    """Write one notice; None when a notice with ``dedupe_key`` exists already."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    if conn.scalar("SELECT count(*) FROM notices WHERE dedupe_key = ?", [dedupe_key]):
        return None
    notice_id = int(conn.scalar("SELECT COALESCE(max(notice_id), 0) + 1 FROM notices"))
    body = {"kind": kind, "on": on.isoformat(), **render(kind, facts), **(extra or {})}
    conn.execute(
        "INSERT INTO notices (notice_id, subject_key, kind, dedupe_key, created_at, created_on,"
        " body) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [notice_id, subject_key, kind, dedupe_key, utcnow(), on, orjson.dumps(body).decode()],
    )
    return notice_id


def listing(
    conn: Connection, subject_key: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    where, params = ("WHERE n.subject_key = ?", [subject_key]) if subject_key else ("", [])
    rows = conn.dicts(
        "SELECT n.notice_id, n.subject_key, n.kind, n.created_at, n.created_on, n.body,"
        " (SELECT string_agg(d.channel || ':' || d.status, ',' ORDER BY d.channel)"
        "  FROM notice_deliveries d WHERE d.notice_id = n.notice_id) AS delivery"
        f" FROM notices n {where} ORDER BY n.notice_id DESC LIMIT ?",
        [*params, limit],
    )
    for row in rows:
        row["body"] = orjson.loads(row["body"])
        row["delivery"] = dict(
            part.split(":", 1) for part in (row["delivery"] or "").split(",") if part
        )
        row["created_on"] = row["created_on"].isoformat()
        row["created_at"] = row["created_at"].isoformat(timespec="seconds") + "Z"
    return rows


# -- from the outbox ---------------------------------------------------------------------


def from_changes(ctx: Context, conn: Connection) -> int:
    """Notices for every measure change after the cursor; advances it. Returns how many."""
    cursor = int(get_meta(conn, CURSOR) or 0)
    made = 0
    while True:
        changes = changes_after(conn, cursor, 5000)
        if not changes:
            break
        for change in changes:
            made += _from_change(ctx, conn, change) is not None
            cursor = change.seq
    set_meta(conn, CURSOR, str(cursor))
    return made


def _from_change(ctx: Context, conn: Connection, change: Change) -> int | None:
    if change.cause == "objection":
        return None  # the objection's own notices say it
    measure = ctx.policy.measures.get(change.measure_id)
    if measure is None:
        return None
    day = today(ctx.settings.timezone)
    facts: dict[str, Any] = {
        "label": measure.label,
        "day": change.recorded_at.date().isoformat(),
        "until": change.valid_until.isoformat() if change.valid_until else "open-ended",
        "legal_basis": measure.legal_basis,
    }
    extra: dict[str, Any] = {
        "measure": measure.id,
        "measure_kind": measure.kind,
        "legal_basis": measure.legal_basis,
        "rule": measure.at,
        "remedy": measure.remedy,
    }
    if change.status == "ended":
        causes = {
            "records": "a record changed",
            "evaluation": "re-evaluation",
            "expiry": "its term ended",
        }
        facts["cause"] = causes.get(change.cause, change.cause)
        kind = "measure_ended"
    else:
        trigger, via, records = _trigger(conn, change)
        facts["trigger"] = trigger
        facts["via"] = via
        extra["records"] = records
        extra.update(how_to_object(ctx, records))
        kind = "measure_started"
    return add(
        conn,
        change.subject_key,
        kind,
        facts,
        dedupe_key=f"change:{change.seq}",
        on=day,
        extra=extra,
    )


def _trigger(conn: Connection, change: Change) -> tuple[str, str, list[dict[str, Any]]]:
    """What triggered the measure (a list or a score), through which organisation, and the
    records behind it, from the current run."""
    run = current_run(conn)
    if run is None:
        return "", "", []
    rows = conn.dicts(
        "SELECT a.trigger_kind, a.trigger_id, a.trigger_ref, a.role, s.identifier AS via"
        " FROM active_measures a LEFT JOIN subjects s ON s.subject_key = a.via_subject_key"
        " WHERE a.run_id = ? AND a.subject_key = ? AND a.measure_id = ? ORDER BY a.trigger_id",
        [run["run_id"], change.subject_key, change.measure_id],
    )
    if not rows:
        return "", "", []
    first = rows[0]
    trigger = f"{first['trigger_kind']} {first['trigger_id']}"
    via = f"As {first['role']} of {mask(first['via'])}. " if first["via"] else ""
    if first["trigger_kind"] == "list":
        sql = (
            "SELECT DISTINCT r.source_id, r.source_record_id, r.category, r.document,"
            " CAST(r.occurred_on AS VARCHAR) AS occurred_on FROM list_evidence ev"
            " JOIN records r ON r.event_id = ev.event_id"
            " WHERE ev.run_id = ? AND ev.entry_id = ? ORDER BY r.source_record_id"
        )
        params = [run["run_id"], first["trigger_ref"]]
    else:
        sql = (
            "SELECT DISTINCT r.source_id, r.source_record_id, r.category, r.document,"
            " CAST(r.occurred_on AS VARCHAR) AS occurred_on FROM score_items si"
            " JOIN records r ON r.event_id = si.event_id"
            " WHERE si.run_id = ? AND si.score_id = ? AND si.subject_key = ?"
            " ORDER BY r.source_record_id"
        )
        params = [run["run_id"], first["trigger_id"], change.subject_key]
    return trigger, via, conn.dicts(sql, params)


def how_to_object(ctx: Context, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether and until when the subject may object to the first of ``records``, and how."""
    spec = texts()
    first = records[0] if records else None
    category = ctx.catalog.categories.get(first["category"]) if first else None
    decide_within = str(category.objections.decide_within) if category else "30 calendar days"
    source = first["source_id"] if first else "the source"
    facts = _Facts(
        subject="YOUR_ID",  # notices hold no identifier: the subject knows their own
        record=first["source_record_id"] if first else "SOURCE_RECORD_ID",
        source=source,
        decide_within=decide_within,
    )
    return {
        "object_by": None,
        "object_by_text": {lang: spec["object_by"][lang] for lang in ("zh", "en")},
        "how_to_object": {
            lang: spec["how_to_object"][lang].format_map(facts) for lang in ("zh", "en")
        },
    }
