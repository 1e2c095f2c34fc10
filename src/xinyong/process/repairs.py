"""Credit repair: a subject applies, once the minimum period of the record's tier has passed,
with the evidence the rule asks for and a credit commitment; the authority that decided the
record decides within its deadline (3 working days by default).

A granted repair is a ledger event written through the normal ingest path under the
authority's own source id: a ``credit.repair.granted`` record for the same case, which
ends the record's points from the decision date (policies list it in ``ended_by``), and for
a listing also the listing's removal record. The subject is told either way. A court's
listing is not repaired: the court deletes it with a delisting record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from xinyong import audit
from xinyong.clock import today
from xinyong.context import Context
from xinyong.errors import Forbidden, SourceError
from xinyong.ids import parse_subject, subject_key
from xinyong.ledger import repairs as ledger_repairs
from xinyong.ledger.cases import REPAIRS
from xinyong.ledger.objections import find_record
from xinyong.ledger.repairs import GRANTED, OPEN, REFUSED
from xinyong.ledger.submit import submit_records
from xinyong.process import evidence, notices
from xinyong.process.calendar import load_calendar
from xinyong.process.hooks import after_merge
from xinyong.process.remedies import repair_from
from xinyong.process.text import clean_text
from xinyong.store.base import Connection

REPAIR_CATEGORY = "credit.repair.granted"


def _public(conn: Connection, row: dict[str, Any], day: dt.date) -> dict[str, Any]:
    return {
        "repair": row["repair_id"],
        "record": row["source_record_id"],
        "source": row["source_id"],
        "category": row["category"],
        "commitment": row["commitment"],
        "channel": row["channel"],
        "applied_on": row["applied_on"].isoformat(),
        "due_on": row["due_on"].isoformat(),
        "status": row["status"],
        "overdue": row["status"] == OPEN and row["due_on"] < day,
        "decided_on": row["decided_on"].isoformat() if row["decided_on"] else None,
        "decision_reason": row["decision_reason"],
        "evidence": evidence.of_case(conn, row["repair_id"]),
    }


def apply_for_repair(
    ctx: Context,
    identifier: str,
    record_ref: str,
    commitment: str,
    *,
    files: list[tuple[str, bytes]] | None = None,
    channel: str = "cli",
) -> dict[str, Any]:
    """The subject's application to repair one of its records."""
    parsed = parse_subject(identifier)
    key = subject_key(ctx.secret, parsed.identifier)
    commitment = clean_text(commitment, "commitment", 4000)
    day = today(ctx.settings.timezone)
    with ctx.store.transaction() as conn:
        record = find_record(conn, key, record_ref)
        details = orjson.loads(
            conn.scalar("SELECT details FROM records WHERE event_id = ?", [record["event_id"]])
        )
        repaired = conn.scalar(
            "SELECT min(CAST(occurred_on AS VARCHAR)) FROM current_records WHERE subject_key = ?"
            " AND category = ? AND document = ?",
            [key, REPAIR_CATEGORY, record["document"]],
        )
    if repaired:
        raise SourceError(
            f"Record {record['source_record_id']} was repaired already, on {repaired}.",
            code="repair_done",
        )
    category = ctx.catalog.categories[record["category"]]
    allowed = repair_from(category, record["occurred_on"], details.get("severity"))
    if allowed is None:
        raise SourceError(
            f"Records of {category.code} are not repaired. {category.repair.note}".strip(),
            hint="`xinyong subject remedies ID` says what would end it.",
            code="repair_not_available",
        )
    if day < allowed:
        raise SourceError(
            f"Repair of {record['source_record_id']} may be applied for from {allowed.isoformat()}"
            f" (the minimum period of its tier has not passed).",
            hint=category.repair.note or None,
            code="repair_too_early",
        )
    stored = evidence.store(ctx.settings.data_dir, files or [])
    rule = category.repair.decide_within
    due = load_calendar(ctx.settings.calendar).add_days(day, rule.days, rule.unit)
    with ctx.store.transaction() as conn:
        ctx.store.lock_for_merge(conn)
        repair_id = ledger_repairs.add(
            conn,
            subject_key=key,
            record=record,
            commitment=commitment,
            channel=channel,
            applied_on=day,
            due_on=due,
        )
        evidence.record(conn, repair_id, stored)
        notices.add(
            conn,
            key,
            "repair_received",
            {
                "repair": repair_id,
                "record": record["source_record_id"],
                "source": record["source_id"],
                "due_on": due.isoformat(),
            },
            dedupe_key=f"repair:{repair_id}:received",
            on=day,
            extra={"repair": repair_id, "legal_basis": category.repair.note},
        )
        audit.append(
            conn,
            actor=f"subject:{channel}",
            action="repair.apply",
            obj=repair_id,
            payload={"event_id": record["event_id"], "due_on": due.isoformat()},
        )
        return _public(conn, ledger_repairs.get(conn, repair_id), day)


def decide_repair(
    ctx: Context,
    repair_id: str,
    *,
    grant: bool,
    reason: str,
    by: str = "operator",
    as_source: str | None = None,
) -> dict[str, Any]:
    reason = clean_text(reason, "reason", 4000)
    day = today(ctx.settings.timezone)
    with ctx.store.transaction() as conn:
        row = ledger_repairs.get(conn, repair_id)
        original = conn.dicts(
            "SELECT r.document, s.identifier FROM records r JOIN subjects s"
            " ON s.subject_key = r.subject_key WHERE r.event_id = ?",
            [row["event_id"]],
        )[0]
    if as_source is not None and as_source != row["source_id"]:
        raise Forbidden(
            f"Repair {repair_id} is of a record of {row['source_id']!r}; only that source decides it.",
            code="repair_other_source",
        )
    if row["status"] != OPEN:
        raise SourceError(
            f"Repair {repair_id} was decided already ({row['status']}).", code="repair_decided"
        )
    if grant:
        written = [
            {
                "source_record_id": f"repair-{repair_id}",
                "subject": original["identifier"],
                "category": REPAIR_CATEGORY,
                "occurred_on": day.isoformat(),
                "document": original["document"],
                "details": {
                    "repaired": row["source_record_id"],
                    "commitment": row["commitment"][:500],
                },
            }
        ]
        removal = next(
            (c for c in ctx.catalog.categories.values() if row["category"] in c.ends), None
        )
        if removal is not None:  # a listing also ends by its own removal record
            reason_field = removal.details.get("reason")
            details = (
                {"reason": "repaired"} if reason_field and "repaired" in reason_field.values else {}
            )
            written.append(
                {
                    "source_record_id": f"repair-{repair_id}-removal",
                    "subject": original["identifier"],
                    "category": removal.code,
                    "occurred_on": day.isoformat(),
                    "document": original["document"],
                    "details": details,
                }
            )
        answer = submit_records(ctx, written, row["source_id"], after_merge(ctx))
        refused = [r for r in answer["results"] if r["status"] == "rejected"]
        if refused:
            raise SourceError(
                f"The records that granting {repair_id} writes were refused: {refused[0]['message']}",
                hint=f"The source needs the category {REPAIR_CATEGORY} in its grant "
                "(`xinyong sources list`).",
                code="repair_record_refused",
            )
    status = GRANTED if grant else REFUSED
    with ctx.store.transaction() as conn:
        ctx.store.lock_for_merge(conn)
        ledger_repairs.decide(conn, repair_id, status, reason, by, day)
        notices.add(
            conn,
            row["subject_key"],
            "repair_decided",
            {
                "repair": repair_id,
                "record": row["source_record_id"],
                "source": row["source_id"],
                "day": day.isoformat(),
                "reason": reason,
                "outcome_en": "granted" if grant else "refused",
                "outcome_zh": "批准" if grant else "不予批准",
            },
            dedupe_key=f"repair:{repair_id}:decided",
            on=day,
            extra={"repair": repair_id, "outcome": status},
        )
        audit.append(
            conn, actor=by, action="repair.decide", obj=repair_id, payload={"status": status}
        )
        return _public(conn, ledger_repairs.get(conn, repair_id), day)


def list_repairs(
    ctx: Context,
    *,
    identifier: str | None = None,
    source_id: str | None = None,
    overdue: bool = False,
) -> list[dict[str, Any]]:
    key = subject_key(ctx.secret, parse_subject(identifier).identifier) if identifier else None
    day = today(ctx.settings.timezone)
    with ctx.store.transaction() as conn:
        rows = ledger_repairs.listing(
            conn, subject_key=key, source_id=source_id, overdue_on=day if overdue else None
        )
        return [_public(conn, r, day) for r in rows]


def notify_overdue_repairs(conn: Connection, day: dt.date) -> int:
    """Tell subjects, once, that their repair application is overdue."""
    return notices.tell_overdue(conn, REPAIRS, "repair_overdue", day)
