"""What runs after records are merged, inside the merge's transaction: the evaluation of the
subjects concerned, then the notices that the changes call for. Callers that write records
(the command line, the HTTP API, the demo) pass ``after_merge(ctx)`` to the ledger."""

from __future__ import annotations

from xinyong.clock import today
from xinyong.context import Context
from xinyong.evaluation.incremental import reevaluate_new_records
from xinyong.ledger.context import AfterMerge
from xinyong.process import notices
from xinyong.state.runs import current_run
from xinyong.store.base import Connection


def after_merge(ctx: Context) -> AfterMerge:
    def hook(conn: Connection, first_event: int, last_event: int) -> int | None:
        reevaluated = reevaluate_new_records(ctx, conn, first_event, last_event)
        notify_records(ctx, conn, first_event, last_event)
        notify_pending(ctx, conn, first_event, last_event)
        notices.from_changes(ctx, conn)
        return reevaluated

    return hook


def after_evaluation(ctx: Context) -> int:
    """Notices for what a batch run changed (its changes are in the outbox already)."""
    with ctx.store.transaction() as conn:
        ctx.store.lock_for_merge(conn)
        return notices.from_changes(ctx, conn)


def notify_pending(ctx: Context, conn: Connection, first_event: int, last_event: int) -> int:
    """A notice for each new listing that waits out a grace period before it takes effect:
    nothing is published or enforced yet, but the subject is told now."""
    run = current_run(conn)
    if run is None:
        return 0
    rows = conn.dicts(
        "SELECT e.subject_key, e.list_id, e.entry_id, e.entered_on, r.source_id, r.document,"
        " r.source_record_id, r.category, CAST(r.occurred_on AS VARCHAR) AS occurred_on"
        " FROM list_entries e JOIN list_evidence v ON v.run_id = e.run_id"
        " AND v.entry_id = e.entry_id AND v.role = 'entry'"
        " JOIN records r ON r.event_id = v.event_id"
        " WHERE e.run_id = ? AND e.status = 'pending' AND r.event_id BETWEEN ? AND ?",
        [run["run_id"], first_event, last_event],
    )
    day = today(ctx.settings.timezone)
    made = 0
    for r in rows:
        rule = ctx.policy.lists.get(r["list_id"])
        record = {
            k: r[k]
            for k in ("source_id", "source_record_id", "category", "document", "occurred_on")
        }
        made += (
            notices.add(
                conn,
                r["subject_key"],
                "listing_pending",
                {
                    "label": rule.label if rule else r["list_id"],
                    "source": r["source_id"],
                    "day": r["occurred_on"],
                    "document": r["document"] or "",
                    "until": r["entered_on"].isoformat(),
                },
                dedupe_key=f"pending:{r['entry_id']}",
                on=day,
                extra={
                    "list": r["list_id"],
                    "records": [record],
                    "legal_basis": rule.legal_basis if rule else None,
                    **notices.how_to_object(ctx, [record]),
                },
            )
            is not None
        )
    return made


def notify_records(ctx: Context, conn: Connection, first_event: int, last_event: int) -> int:
    """A notice for each record a partner (a rental company, a lender that also asks for
    decisions) reported about a subject: partners' reports never reach a score unseen."""
    rows = conn.dicts(
        "SELECT r.event_id, r.subject_key, r.source_id, r.source_record_id, r.category,"
        " CAST(r.occurred_on AS VARCHAR) AS occurred_on, r.document FROM records r"
        " JOIN partners p ON p.partner_id = r.source_id"
        " WHERE r.event_id BETWEEN ? AND ? AND r.action <> 'revoke' ORDER BY r.event_id",
        [first_event, last_event],
    )
    day = today(ctx.settings.timezone)
    made = 0
    for r in rows:
        category = ctx.catalog.categories.get(r["category"])
        record = {
            k: r[k]
            for k in ("source_id", "source_record_id", "category", "document", "occurred_on")
        }
        made += (
            notices.add(
                conn,
                r["subject_key"],
                "record_received",
                {
                    "source": r["source_id"],
                    "day": day.isoformat(),
                    "record": r["source_record_id"],
                    "category": category.label if category else r["category"],
                    "occurred_on": r["occurred_on"],
                },
                dedupe_key=f"record:{r['event_id']}",
                on=day,
                extra={
                    "records": [record],
                    "legal_basis": category.legal_basis if category else None,
                    **notices.how_to_object(ctx, [record]),
                },
            )
            is not None
        )
    return made
