"""Applications for credit repair as ledger facts: which record, applied for when, decided
how. The workflow (minimum periods, evidence, the record a grant writes, notices) is in
process/repairs.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from xinyong.clock import utcnow
from xinyong.errors import SourceError
from xinyong.ledger.cases import REPAIRS
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
    repair_id = REPAIRS.next_id(conn)
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


# Read and decided as every case is (ledger/cases.py).
get = REPAIRS.get
decide = REPAIRS.decide
listing = REPAIRS.listing
