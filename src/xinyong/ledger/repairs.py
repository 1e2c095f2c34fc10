"""Applications for credit repair as ledger facts: which record, applied for when, decided
how. The workflow (minimum periods, evidence, the record a grant writes, notices) is in
process/repairs.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from xinyong.clock import utcnow
from xinyong.errors import NotFound, SourceError
from xinyong.ledger.objections import next_id
from xinyong.store.base import Connection

OPEN, GRANTED, REFUSED = "open", "granted", "refused"


def add(
    conn: Connection,
    *,
    subject_key: str,
    record: dict[str, Any],
    commitment: str,
    channel: str,
    applied_on: dt.date,
    due_on: dt.date,
) -> str:
    open_already = conn.scalar(
        "SELECT repair_id FROM repairs WHERE event_id = ? AND status = ?",
        [record["event_id"], OPEN],
    )
    if open_already:
        raise SourceError(
            f"Repair application {open_already} for this record is still open.",
            code="repair_open",
        )
    repair_id = next_id(conn, "repairs", "REP")
    conn.execute(
        "INSERT INTO repairs (repair_id, subject_key, event_id, source_id, source_record_id,"
        " category, commitment, channel, applied_at, applied_on, due_on, status)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            repair_id,
            subject_key,
            record["event_id"],
            record["source_id"],
            record["source_record_id"],
            record["category"],
            commitment,
            channel,
            utcnow(),
            applied_on,
            due_on,
            OPEN,
        ],
    )
    return repair_id


def get(conn: Connection, repair_id: str) -> dict[str, Any]:
    rows = conn.dicts("SELECT * FROM repairs WHERE repair_id = ?", [repair_id])
    if not rows:
        raise NotFound(
            f"No repair application {repair_id!r}.",
            hint="`xinyong repair list` shows them.",
            code="repair_unknown",
        )
    return rows[0]


def decide(
    conn: Connection, repair_id: str, status: str, reason: str, by: str, on: dt.date
) -> None:
    conn.execute(
        "UPDATE repairs SET status = ?, decision_reason = ?, decided_by = ?, decided_at = ?,"
        " decided_on = ? WHERE repair_id = ?",
        [status, reason, by, utcnow(), on, repair_id],
    )


def listing(
    conn: Connection,
    *,
    subject_key: str | None = None,
    source_id: str | None = None,
    status: str | None = None,
    overdue_on: dt.date | None = None,
) -> list[dict[str, Any]]:
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    for column, value in (
        ("subject_key", subject_key),
        ("source_id", source_id),
        ("status", status),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if overdue_on is not None:
        where.append("status = 'open' AND due_on < ?")
        params.append(overdue_on)
    return conn.dicts(
        "SELECT * FROM repairs WHERE " + " AND ".join(where) + " ORDER BY repair_id", params
    )
