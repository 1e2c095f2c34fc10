"""What runs after records are merged, inside the merge's transaction: the evaluation of the
subjects concerned, then the notices that the changes call for. Callers that write records
(the command line, the HTTP API, the demo) pass ``after_merge(ctx)`` to the ledger."""

from __future__ import annotations

from xinyong.clock import today
from xinyong.context import Context
from xinyong.evaluation.incremental import reevaluate_new_records
from xinyong.ledger.context import AfterMerge
from xinyong.process import notices
from xinyong.store.base import Connection


def after_merge(ctx: Context) -> AfterMerge:
    def hook(conn: Connection, first_event: int, last_event: int) -> int | None:
        reevaluated = reevaluate_new_records(ctx, conn, first_event, last_event)
        notify_records(ctx, conn, first_event, last_event)
        notices.from_changes(ctx, conn)
        return reevaluated

    return hook


def after_evaluation(ctx: Context) -> int:
    """Notices for what a batch run changed (its changes are in the outbox already)."""
    with ctx.store.transaction() as conn:
        ctx.store.lock_for_merge(conn)
        return notices.from_changes(ctx, conn)


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
