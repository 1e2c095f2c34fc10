"""Writing and reading ``measure_changes``: the transactional outbox of the change feed.

A change is recorded whenever the set of a subject's measures that are in force today
differs before and after a write: a listing or a removal ingested, a correction, a new
evaluation run, or a term that ran out (the expiry sweep). Every reader (long-poll, SSE,
webhooks, NATS) follows it by ``seq``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from xinyong.clock import utcnow
from xinyong.sql import literal
from xinyong.store.base import Connection, get_meta, set_meta

FOREVER = dt.date(9999, 12, 31)
SWEPT = "measure_changes_swept_through"


@dataclass(frozen=True)
class Change:
    seq: int
    subject_key: str
    measure_id: str
    status: str  # "active" (started, or its term changed) or "ended"
    valid_until: dt.date | None
    cause: str  # records, evaluation, expiry or objection
    recorded_at: dt.datetime
    # Set while a record behind the measure is under objection (cause "objection"): the
    # objection's id and the day its source must decide by.
    objection_id: str | None = None
    objection_due: dt.date | None = None


def _in_force(source: str, day_param: str = "?") -> str:
    """(subject, measure) -> the latest end of the rows in force on the day."""
    return (
        f"SELECT subject_key, measure_id, max(COALESCE(valid_until, {literal(FOREVER)})) AS until"
        f" FROM ({source}) src WHERE (valid_until IS NULL OR valid_until > {day_param})"
        " GROUP BY subject_key, measure_id"
    )


def record_changes(
    conn: Connection,
    old: tuple[str, list[Any]],
    new: tuple[str, list[Any]],
    cause: str,
    day: dt.date,
) -> int:
    """Append a change for every (subject, measure) whose term in force differs between the
    rows of the ``old`` and ``new`` sources (SQL row sources with their parameters).
    Returns how many were recorded."""
    (old_source, old_params), (new_source, new_params) = old, new
    start = latest_seq(conn)
    conn.execute(
        "INSERT INTO measure_changes (seq, subject_key, measure_id, status, valid_until, cause,"
        " recorded_at)"
        " SELECT ? + row_number() OVER (ORDER BY subject_key, measure_id), subject_key,"
        " measure_id, status, valid_until, ?, ? FROM ("
        "  SELECT COALESCE(n.subject_key, o.subject_key) AS subject_key,"
        "   COALESCE(n.measure_id, o.measure_id) AS measure_id,"
        "   CASE WHEN n.until IS NULL THEN 'ended' ELSE 'active' END AS status,"
        f"   CASE WHEN n.until IS NULL THEN CAST(? AS DATE) WHEN n.until = {literal(FOREVER)}"
        "    THEN NULL ELSE n.until END AS valid_until"
        f"  FROM ({_in_force(old_source)}) o FULL OUTER JOIN ({_in_force(new_source)}) n"
        "  ON o.subject_key = n.subject_key AND o.measure_id = n.measure_id"
        "  WHERE o.until IS NULL OR n.until IS NULL OR o.until <> n.until) d",
        [start, cause, utcnow(), day, *old_params, day, *new_params, day],
    )
    if get_meta(conn, SWEPT) is None:
        set_meta(conn, SWEPT, day.isoformat())
    return latest_seq(conn) - start


def sweep_expiries(conn: Connection, run_id: int, day: dt.date) -> int:
    """Record the ends of terms that ran out since the last sweep, once. Idempotent: the
    watermark lives in the same transaction."""
    swept = get_meta(conn, SWEPT)
    if swept is None:
        set_meta(conn, SWEPT, day.isoformat())
        return 0
    since = dt.date.fromisoformat(swept)
    if since >= day:
        return 0
    start = latest_seq(conn)
    conn.execute(
        "INSERT INTO measure_changes (seq, subject_key, measure_id, status, valid_until, cause,"
        " recorded_at)"
        " SELECT ? + row_number() OVER (ORDER BY subject_key, measure_id), subject_key,"
        " measure_id, 'ended', until, 'expiry', ? FROM ("
        "  SELECT subject_key, measure_id, max(COALESCE(valid_until, ?)) AS until"
        "  FROM active_measures WHERE run_id = ? GROUP BY subject_key, measure_id) t"
        " WHERE until > ? AND until <= ?",
        [start, utcnow(), FOREVER, run_id, since, day],
    )
    set_meta(conn, SWEPT, day.isoformat())
    return latest_seq(conn) - start


def record_dispute(
    conn: Connection,
    run_id: int,
    event_id: int,
    objection_id: str | None,
    objection_due: dt.date | None,
    day: dt.date,
) -> int:
    """Tell partners that the measures in force which record ``event_id`` causes are now
    disputed (an objection was filed), or no longer (``objection_id`` None: it was rejected).
    The measures stay in force meanwhile; an upheld objection ends them through the ledger."""
    start = latest_seq(conn)
    caused = (
        "(a.trigger_kind = 'list' AND EXISTS (SELECT 1 FROM list_evidence ev"
        " WHERE ev.run_id = a.run_id AND ev.entry_id = a.trigger_ref AND ev.event_id = ?))"
        " OR (a.trigger_kind <> 'list' AND EXISTS (SELECT 1 FROM score_items si"
        " WHERE si.run_id = a.run_id AND si.score_id = a.trigger_id"
        " AND si.subject_key = COALESCE(a.via_subject_key, a.subject_key) AND si.event_id = ?))"
    )
    conn.execute(
        "INSERT INTO measure_changes (seq, subject_key, measure_id, status, valid_until, cause,"
        " recorded_at, objection_id, objection_due)"
        " SELECT ? + row_number() OVER (ORDER BY subject_key, measure_id), subject_key,"
        f" measure_id, 'active', CASE WHEN until = {literal(FOREVER)} THEN NULL ELSE until END,"
        " 'objection', ?, ?, ? FROM ("
        f"  SELECT a.subject_key, a.measure_id, max(COALESCE(a.valid_until, {literal(FOREVER)}))"
        "   AS until FROM active_measures a WHERE a.run_id = ?"
        f"   AND (a.valid_until IS NULL OR a.valid_until > ?) AND ({caused})"
        "   GROUP BY a.subject_key, a.measure_id) m",
        [start, utcnow(), objection_id, objection_due, run_id, day, event_id, event_id],
    )
    return latest_seq(conn) - start


def changes_after(conn: Connection, cursor: int, limit: int = 1000) -> list[Change]:
    rows = conn.execute(
        "SELECT seq, subject_key, measure_id, status, valid_until, cause, recorded_at,"
        " objection_id, objection_due FROM measure_changes WHERE seq > ? ORDER BY seq LIMIT ?",
        [cursor, limit],
    )
    return [Change(int(r[0]), *r[1:]) for r in rows]


def latest_seq(conn: Connection) -> int:
    return int(conn.scalar("SELECT COALESCE(max(seq), 0) FROM measure_changes"))
