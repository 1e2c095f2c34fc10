"""`xinyong maintain`: what the law ends or requires by the passing of time, once a day.

It records the ends of terms and periods that ran out (the change feed tells partners),
makes the notices that are due (measure changes not yet told, listings and publicity
periods ending within the lead time, objections overdue), delivers them, and appends one
audit entry. Every step is idempotent: a second run on the same day changes nothing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from xinyong import audit
from xinyong.clock import today
from xinyong.context import Context
from xinyong.errors import ConfigurationError
from xinyong.evaluation.incremental import evaluate_subjects
from xinyong.process import channels, notices
from xinyong.process.objections import notify_overdue
from xinyong.process.repairs import notify_overdue_repairs
from xinyong.state.outbox import sweep_expiries
from xinyong.state.runs import current_run
from xinyong.store.base import Connection


def maintain(
    ctx: Context,
    as_of: dt.date | None = None,
    *,
    deliver: bool = True,
    guard: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> dict[str, Any]:
    """Maintain as of ``as_of`` (today); ``guard`` is held around each use of the store."""
    started = time.perf_counter()
    day = as_of or today(ctx.settings.timezone)
    if day > today(ctx.settings.timezone):
        raise ConfigurationError(
            f"--as-of {day} is in the future.", hint="Maintain today or a past date."
        )
    report: dict[str, Any] = {"as_of": day.isoformat()}
    with guard(), ctx.store.transaction() as conn:
        ctx.store.lock_for_merge(conn)
        run = current_run(conn)
        report["expired"] = sweep_expiries(conn, int(run["run_id"]), day) if run else 0
        report["grace_ended"] = _grace_ended(ctx, conn, int(run["run_id"]), day) if run else 0
        report["notices_from_changes"] = notices.from_changes(ctx, conn)
        report["notices_ending"] = _ending(ctx, conn, int(run["run_id"]), day) if run else 0
        report["notices_overdue"] = notify_overdue(ctx, conn, day) + notify_overdue_repairs(
            conn, day
        )
        changed = {k: v for k, v in report.items() if k != "as_of" and v}
        if changed:
            audit.append(
                conn, actor="maintain", action="maintain", obj=day.isoformat(), payload=changed
            )
    if deliver:
        report["delivery"] = channels.deliver(ctx, guard=guard).as_dict()
    report["seconds"] = round(time.perf_counter() - started, 3)
    return report


def _grace_ended(ctx: Context, conn: Connection, run_id: int, day: dt.date) -> int:
    """Listings whose grace period ended take effect: their subjects are re-evaluated (a
    start, unlike an end, is no interval the stored state already holds)."""
    keys = [
        k
        for (k,) in conn.execute(
            "SELECT DISTINCT subject_key FROM list_entries WHERE run_id = ? AND status = 'pending'"
            " AND entered_on <= ?",
            [run_id, day],
        )
    ]
    if not keys:
        return 0
    evaluate_subjects(ctx, conn, keys)
    return len(keys)


def _ending(ctx: Context, conn: Connection, run_id: int, day: dt.date) -> int:
    """Notices ahead of the end of a listing's term and of a record's publicity (its points
    in a score), ``notice_lead_days`` before; each once. Set-based: the rows already told
    are left out in SQL, so a day with nothing new costs one query each."""
    lead = day + dt.timedelta(days=ctx.settings.notice_lead_days)
    rows: list[tuple[str, str, str, dict[str, Any]]] = []
    for row in conn.dicts(
        "SELECT e.subject_key, e.list_id, e.entry_id, e.ends_on FROM list_entries e"
        " WHERE e.run_id = ? AND e.status = 'active' AND e.ends_on > ? AND e.ends_on <= ?"
        " AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.dedupe_key ="
        " 'ending:' || e.entry_id || ':' || CAST(e.ends_on AS VARCHAR))",
        [run_id, day, lead],
    ):
        rule = ctx.policy.lists.get(row["list_id"])
        label = rule.label if rule else row["list_id"]
        facts = {"label": label, "until": row["ends_on"].isoformat()}
        body = {
            "kind": "term_ending",
            "on": day.isoformat(),
            **notices.render("term_ending", facts),
            "list": row["list_id"],
            "legal_basis": rule.legal_basis if rule else None,
        }
        rows.append(
            (row["subject_key"], "term_ending", f"ending:{row['entry_id']}:{row['ends_on']}", body)
        )
    for row in conn.dicts(
        "SELECT s.subject_key, s.score_id, s.event_id, s.counts_until, r.source_record_id,"
        " r.category FROM score_items s JOIN records r ON r.event_id = s.event_id"
        " WHERE s.run_id = ? AND s.points < 0 AND s.counts_until > ? AND s.counts_until <= ?"
        " AND NOT EXISTS (SELECT 1 FROM notices n WHERE n.dedupe_key = 'publicity:'"
        " || CAST(s.event_id AS VARCHAR) || ':' || s.score_id || ':'"
        " || CAST(s.counts_until AS VARCHAR))",
        [run_id, day, lead],
    ):
        category = ctx.catalog.categories.get(row["category"])
        label = f"{category.label if category else row['category']} ({row['source_record_id']})"
        facts = {"label": label, "until": row["counts_until"].isoformat()}
        body = {
            "kind": "term_ending",
            "on": day.isoformat(),
            **notices.render("term_ending", facts),
            "record": row["source_record_id"],
            "score": row["score_id"],
        }
        key = f"publicity:{row['event_id']}:{row['score_id']}:{row['counts_until']}"
        rows.append((row["subject_key"], "term_ending", key, body))
    return notices.add_many(conn, rows, day)
