"""Objections: a subject disputes a record; the source that submitted it decides in time.

Filing marks the record, and everything it causes, disputed at once: in the subject's file,
in every decision reason and in the change feed (the measures stay in force unless the rule
says otherwise). The deadline is the record category's (the court list: 15 days; 30 days
where the law is silent), counted on the working-day calendar where the rule says so.
Upholding writes a revocation into the ledger through the normal ingest path, which
re-evaluates and propagates at once; the subject is told either way.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from xinyong import audit
from xinyong.clock import today
from xinyong.context import Context
from xinyong.errors import Forbidden, SourceError
from xinyong.ids import parse_subject, subject_key
from xinyong.ledger import objections as ledger_objections
from xinyong.ledger.cases import OBJECTIONS
from xinyong.ledger.objections import OPEN, REJECTED, UPHELD
from xinyong.ledger.submit import submit_records
from xinyong.process import evidence, notices
from xinyong.process.calendar import load_calendar
from xinyong.process.hooks import after_merge
from xinyong.process.text import clean_text
from xinyong.state.outbox import record_dispute
from xinyong.state.runs import current_run
from xinyong.store.base import Connection

MAX_REASON = 4000


def _public(conn: Connection, row: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """An objection as the subject, the source and the operator see it (no subject key)."""
    return {
        "objection": row["objection_id"],
        "record": row["source_record_id"],
        "source": row["source_id"],
        "category": row["category"],
        "reason": row["reason"],
        "channel": row["channel"],
        "filed_on": row["filed_on"].isoformat(),
        "due_on": row["due_on"].isoformat(),
        "status": row["status"],
        "overdue": row["status"] == OPEN and row["due_on"] < day,
        "decided_on": row["decided_on"].isoformat() if row["decided_on"] else None,
        "decision_reason": row["decision_reason"],
        "reconsiders": row.get("reconsiders"),
        "evidence": evidence.of_case(conn, row["objection_id"]),
    }


def file_objection(
    ctx: Context,
    identifier: str,
    record_ref: str,
    reason: str,
    *,
    files: list[tuple[str, bytes]] | None = None,
    channel: str = "cli",
    received_on: dt.date | None = None,
) -> dict[str, Any]:
    """File the subject's objection to one of its records; return it as the subject sees it.
    ``received_on`` is the day a written objection reached the source, when it is entered
    later (its deadline runs from then)."""
    parsed = parse_subject(identifier)
    key = subject_key(ctx.secret, parsed.identifier)
    reason = clean_text(reason, "reason", MAX_REASON)
    stored = evidence.store(ctx.settings.data_dir, files or [])
    day = received_on or today(ctx.settings.timezone)
    calendar = load_calendar(ctx.settings.calendar)
    with ctx.store.transaction() as conn:
        ctx.store.lock_for_merge(conn)  # case ids and change sequence numbers, one at a time
        record = ledger_objections.find_record(conn, key, record_ref)
        category = ctx.catalog.categories[record["category"]]
        rule = category.objections.decide_within
        # Within the period after a rejection, a new objection asks the next level to
        # reconsider (the court list: within 10 days, decided within 15).
        reconsiders = None
        spec = category.objections
        rejection = ledger_objections.latest_rejection(conn, int(record["event_id"]))
        if rejection and spec.reconsider_within and spec.reconsideration_within:
            window = spec.reconsider_within
            if calendar.add_days(rejection[1], window.days, window.unit) >= day:
                reconsiders, rule = rejection[0], spec.reconsideration_within
        due = calendar.add_days(day, rule.days, rule.unit)
        objection_id = ledger_objections.add(
            conn,
            subject_key=key,
            record=record,
            reason=reason,
            channel=channel,
            filed_on=day,
            due_on=due,
            reconsiders=reconsiders,
        )
        evidence.record(conn, objection_id, stored)
        run = current_run(conn)
        if run is not None:
            record_dispute(conn, int(run["run_id"]), int(record["event_id"]), objection_id, due, day)
        facts = {
            "objection": objection_id,
            "record": record["source_record_id"],
            "source": record["source_id"],
            "due_on": due.isoformat(),
        }
        notices.add(
            conn,
            key,
            "objection_received",
            facts,
            dedupe_key=f"objection:{objection_id}:received",
            on=day,
            extra={"objection": objection_id, "legal_basis": category.objections.legal_basis},
        )
        audit.append(
            conn,
            actor=f"subject:{channel}",
            action="objection.file",
            obj=objection_id,
            payload={
                "event_id": record["event_id"],
                "source_id": record["source_id"],
                "due_on": due.isoformat(),
                "evidence": [f.sha256 for f in stored],
            },
        )
        return _public(
            conn, ledger_objections.get(conn, objection_id), today(ctx.settings.timezone)
        )


def decide_objection(
    ctx: Context,
    objection_id: str,
    *,
    uphold: bool,
    reason: str,
    by: str = "operator",
    as_source: str | None = None,
) -> dict[str, Any]:
    """The source's decision. ``as_source`` (an HTTP caller's source id) must be the source
    that submitted the record; the command line decides as the operator."""
    reason = clean_text(reason, "reason", MAX_REASON)
    day = today(ctx.settings.timezone)
    with ctx.store.transaction() as conn:
        row = ledger_objections.get(conn, objection_id)
        identifier = conn.scalar(
            "SELECT identifier FROM subjects WHERE subject_key = ?", [row["subject_key"]]
        )
    if as_source is not None and as_source != row["source_id"]:
        raise Forbidden(
            f"Objection {objection_id} is to a record of {row['source_id']!r}; only that source "
            "decides it.",
            code="objection_other_source",
        )
    if row["status"] != OPEN:
        raise SourceError(
            f"Objection {objection_id} was decided already ({row['status']}, on "
            f"{row['decided_on']}).",
            code="objection_decided",
        )
    correction = None
    if uphold:
        # Through the normal ingest path, under a deterministic id: a retry after a crash
        # between the two transactions is a duplicate, not a second revocation.
        answer = submit_records(
            ctx,
            [
                {
                    "source_record_id": f"objection-{objection_id}",
                    "subject": identifier,
                    "action": "revoke",
                    "supersedes": row["source_record_id"],
                }
            ],
            row["source_id"],
            after_merge(ctx),
        )
        result = answer["results"][0]
        if result["status"] == "rejected":
            raise SourceError(
                f"The revocation that upholding {objection_id} writes was refused: "
                f"{result['message']}",
                code="objection_correction_refused",
            )
        correction = f"objection-{objection_id}"
    status = UPHELD if uphold else REJECTED
    with ctx.store.transaction() as conn:
        ctx.store.lock_for_merge(conn)
        ledger_objections.decide(conn, objection_id, status, reason, by, day)
        run = current_run(conn)
        if run is not None and not uphold:
            record_dispute(conn, int(run["run_id"]), int(row["event_id"]), None, None, day)
        category = ctx.catalog.categories.get(row["category"])
        reconsider = category.objections if category else None
        next_en = next_zh = ""
        if not uphold and reconsider and reconsider.reconsider_within:
            next_en = (
                f"You may ask the authority one level up to reconsider within "
                f"{reconsider.reconsider_within}."
            )
            next_zh = f"您可在{reconsider.reconsider_within.days}日内向上一级申请复议。"
        if uphold:
            next_en = "The record was revoked; what it caused has ended."
            next_zh = "该记录已撤销，由其引起的措施已结束。"
        notices.add(
            conn,
            row["subject_key"],
            "objection_decided",
            {
                "objection": objection_id,
                "record": row["source_record_id"],
                "source": row["source_id"],
                "day": day.isoformat(),
                "reason": reason,
                "outcome_en": "upheld" if uphold else "rejected",
                "outcome_zh": "支持" if uphold else "驳回",
                "next_en": next_en,
                "next_zh": next_zh,
            },
            dedupe_key=f"objection:{objection_id}:decided",
            on=day,
            extra={"objection": objection_id, "outcome": status},
        )
        audit.append(
            conn,
            actor=by,
            action="objection.decide",
            obj=objection_id,
            payload={"status": status, "correction": correction},
        )
        return _public(conn, ledger_objections.get(conn, objection_id), day)


def list_objections(
    ctx: Context,
    *,
    identifier: str | None = None,
    source_id: str | None = None,
    overdue: bool = False,
    status: str | None = None,
) -> list[dict[str, Any]]:
    key = subject_key(ctx.secret, parse_subject(identifier).identifier) if identifier else None
    day = today(ctx.settings.timezone)
    with ctx.store.transaction() as conn:
        rows = ledger_objections.listing(
            conn,
            subject_key=key,
            source_id=source_id,
            status=status,
            overdue_on=day if overdue else None,
        )
        return [_public(conn, r, day) for r in rows]


def notify_overdue(ctx: Context, conn: Connection, day: dt.date) -> int:
    """Tell subjects, once, that their objection is overdue; returns how many were told."""
    return notices.tell_overdue(conn, OBJECTIONS, "objection_overdue", day)


def read_evidence(paths: list[Path]) -> list[tuple[str, bytes]]:
    return evidence.read_files(paths)

