"""Objections as ledger facts: which records are disputed, by whom, until when.

An objection names one record of its subject. While it is open the record, and everything
the record causes, is shown as disputed: in the subject's file, in every decision reason and
in the change feed. Opening, deciding and reading objections is done here; the workflow
(deadlines, evidence, notices, the correction an uphold writes) is in process/objections.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from xinyong.clock import utcnow
from xinyong.errors import NotFound, SourceError
from xinyong.ledger.cases import OBJECTIONS
from xinyong.store.base import Connection

OPEN, UPHELD, REJECTED = "open", "upheld", "rejected"


@dataclass(frozen=True)
class Dispute:
    """What a reason or a feed event says about a disputed record."""

    objection_id: str
    due_on: dt.date

    def as_dict(self) -> dict[str, Any]:
        return {
            "disputed": True,
            "objection": self.objection_id,
            "objection_due": self.due_on.isoformat(),
        }


def find_record(conn: Connection, subject_key: str, ref: str) -> dict[str, Any]:
    """The subject's current record that ``ref`` names: its ``source_record_id``, or
    ``SOURCE:ID`` where two sources used the same id."""
    source, sep, srid = ref.partition(":")
    params: list[Any] = [subject_key, srid if sep else ref]
    where = "r.subject_key = ? AND r.source_record_id = ?"
    if sep:
        where += " AND r.source_id = ?"
        params.append(source)
    rows = conn.dicts(
        "SELECT r.event_id, r.source_id, r.source_record_id, r.category, r.document,"
        " r.occurred_on FROM current_records r WHERE " + where + " ORDER BY r.source_id",
        params,
    )
    if not rows:
        raise NotFound(
            f"The subject has no current record {ref!r}.",
            hint="`xinyong subject show ID` lists the subject's records with their ids.",
            code="record_unknown",
        )
    if len(rows) > 1:
        sources = ", ".join(f"{r['source_id']}:{r['source_record_id']}" for r in rows)
        raise SourceError(
            f"Two sources used the id {ref!r} for this subject: {sources}.",
            hint="Name the record as SOURCE:ID.",
            code="record_ambiguous",
        )
    return rows[0]


def add(
    conn: Connection,
    *,
    subject_key: str,
    record: dict[str, Any],
    reason: str,
    channel: str,
    filed_on: dt.date,
    due_on: dt.date,
    reconsiders: str | None = None,
) -> str:
    open_already = conn.scalar(
        "SELECT objection_id FROM objections WHERE event_id = ? AND status = ?",
        [record["event_id"], OPEN],
    )
    if open_already:
        raise SourceError(
            f"Objection {open_already} to this record is still open.",
            hint="Add to it by writing to the source; a record has one open objection at a time.",
            code="objection_open",
        )
    objection_id = OBJECTIONS.next_id(conn)
    conn.execute(
        "INSERT INTO objections (objection_id, subject_key, event_id, source_id,"
        " source_record_id, category, reason, channel, filed_at, filed_on, due_on, status,"
        " reconsiders) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            objection_id,
            subject_key,
            record["event_id"],
            record["source_id"],
            record["source_record_id"],
            record["category"],
            reason,
            channel,
            utcnow(),
            filed_on,
            due_on,
            OPEN,
            reconsiders,
        ],
    )
    return objection_id


def latest_rejection(conn: Connection, event_id: int) -> tuple[str, dt.date] | None:
    """The latest rejected objection to this record and the day it was decided, if any."""
    row = conn.one(
        "SELECT objection_id, decided_on FROM objections WHERE event_id = ? AND status = ?"
        " ORDER BY objection_id DESC LIMIT 1",
        [event_id, REJECTED],
    )
    return (str(row[0]), row[1]) if row else None


def open_disputes(conn: Connection, subject_keys: list[str] | None = None) -> dict[int, Dispute]:
    """Record event id -> its open objection (all subjects, or only ``subject_keys``)."""
    sql = "SELECT event_id, objection_id, due_on FROM objections WHERE status = 'open'"
    params: list[Any] = []
    if subject_keys is not None:
        if not subject_keys:
            return {}
        sql += " AND subject_key IN (" + ", ".join("?" for _ in subject_keys) + ")"
        params = list(subject_keys)
    return {int(e): Dispute(str(o), d) for e, o, d in conn.execute(sql, params)}


# Read and decided as every case is (ledger/cases.py).
get = OBJECTIONS.get
decide = OBJECTIONS.decide
listing = OBJECTIONS.listing
