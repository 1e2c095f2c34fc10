"""Incremental evaluation: the subjects whose records just changed, inside the merge.

The same compiled plan as a batch run, restricted to those subjects, the persons linked to
them and the organisations those persons are linked to, rewrites their rows of the current
run and feeds partners what changed. It is the ledger's after-merge hook (``after_merge``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from xinyong.clock import today
from xinyong.context import Context
from xinyong.engines import get_engine
from xinyong.engines.base import Engine
from xinyong.ledger.context import AfterMerge
from xinyong.policy.compiler import OUTPUTS, Plan, compile_policy
from xinyong.policy.model import Policy
from xinyong.state.outbox import record_changes, sweep_expiries
from xinyong.state.runs import TABLES, current_run, made_by
from xinyong.store.base import Connection

# Below this many subjects, incremental evaluation tunes the engine for tiny inputs.
# Off (0): measured, resetting DuckDB's threads cost more than one thread saved.
SMALL = 0


def after_merge(ctx: Context) -> AfterMerge:
    """The hook that keeps the current run in step with the ledger (for ``ingest_file``)."""

    def hook(conn: Connection, first_event: int, last_event: int) -> int | None:
        return reevaluate_new_records(ctx, conn, first_event, last_event)

    return hook


def reevaluate_new_records(
    ctx: Context, conn: Connection, first_event: int, last_event: int
) -> int | None:
    """Incremental evaluation of the subjects whose records were just accepted."""
    if current_run(conn) is None:
        return None
    last = last_event
    # The new records' subjects, and the subjects of the records they correct or revoke:
    # a correction can move a record from a wrongly named subject to the right one.
    keys = [
        k
        for (k,) in conn.execute(
            "SELECT subject_key FROM records WHERE event_id BETWEEN ? AND ?"
            " UNION SELECT o.subject_key FROM records n JOIN records o"
            " ON o.source_id = n.source_id AND o.source_record_id = n.supersedes"
            " WHERE n.event_id BETWEEN ? AND ?"
            " UNION SELECT o.subject_key FROM records n JOIN records o"
            " ON o.source_id = n.source_id AND o.source_record_id = n.source_record_id"
            " AND o.event_id < n.event_id WHERE n.event_id BETWEEN ? AND ?",
            [first_event, last, first_event, last, first_event, last],
        )
    ]
    return evaluate_subjects(ctx, conn, keys)


def evaluate_subjects(
    ctx: Context, conn: Connection, subject_keys: Iterable[str], *, policy: Policy | None = None
) -> int | None:
    """Recompute the current run for these subjects (and those linked to them) on ``conn``.

    Returns how many subjects were rewritten, or None when there is no current run made by
    this policy (run ``xinyong evaluate`` first)."""
    policy = policy or ctx.policy
    run = current_run(conn)
    if run is None or not made_by(run, policy):
        return None
    day = today(ctx.settings.timezone)
    plan = _plan(policy, ctx, day)
    runner = get_engine(ctx.store.name, ctx.store.name)
    run_id = int(run["run_id"])
    keys = set(subject_keys)
    conn.execute("CREATE TEMP TABLE ev_store_scope (subject_key VARCHAR)")
    conn.execute("CREATE TEMP TABLE ev_scope (subject_key VARCHAR)")
    if len(keys) < SMALL:
        runner.small_work(conn)
    try:
        _add(conn, "ev_store_scope", keys)
        # Persons whose measures flow from these organisations, as the ledger stood.
        conn.execute(
            "INSERT INTO ev_store_scope SELECT DISTINCT person_key FROM subject_links"
            " WHERE run_id = ? AND org_key IN (SELECT subject_key FROM ev_store_scope)",
            [run_id],
        )
        for _pass in range(2):
            _compute(conn, runner, plan, run_id)
            # A new registration can name persons who were not linked before.
            added = conn.execute(
                "SELECT DISTINCT person_key FROM out_links WHERE org_key IN"
                " (SELECT subject_key FROM ev_store_scope) AND person_key NOT IN"
                " (SELECT subject_key FROM ev_store_scope)"
            )
            if not added:
                break
            _add(conn, "ev_store_scope", {k for (k,) in added})
            runner.cleanup(conn, plan)
        sweep_expiries(conn, run_id, day)
        # (PostgreSQL takes no parameters in CREATE TABLE AS.)
        conn.execute("CREATE TEMP TABLE ev_old_measures AS SELECT * FROM active_measures LIMIT 0")
        conn.execute(
            "INSERT INTO ev_old_measures SELECT * FROM active_measures WHERE run_id = ?"
            " AND subject_key IN (SELECT subject_key FROM ev_store_scope)",
            [run_id],
        )
        for name, (table, owner) in TABLES.items():
            cols = ", ".join(OUTPUTS[name])
            conn.execute(
                f"DELETE FROM {table} WHERE run_id = ? AND {owner} IN"
                " (SELECT subject_key FROM ev_store_scope)",
                [run_id],
            )
            conn.execute(
                f"INSERT INTO {table} (run_id, {cols}) SELECT ?, {cols} FROM {name}"
                f" WHERE {owner} IN (SELECT subject_key FROM ev_store_scope)",
                [run_id],
            )
        record_changes(
            conn,
            ("SELECT * FROM ev_old_measures", []),
            (
                "SELECT * FROM active_measures WHERE run_id = ?"
                " AND subject_key IN (SELECT subject_key FROM ev_store_scope)",
                [run_id],
            ),
            "records",
            day,
        )
        rewritten = int(conn.scalar("SELECT count(DISTINCT subject_key) FROM ev_store_scope"))
        runner.cleanup(conn, plan)
    finally:
        conn.execute("DROP TABLE IF EXISTS ev_old_measures")
        conn.execute("DROP TABLE IF EXISTS ev_scope")
        conn.execute("DROP TABLE IF EXISTS ev_store_scope")
        if len(keys) < SMALL:
            runner.end_small_work(conn)
    return rewritten


_PLANS: dict[tuple[str, str, dt.date], Plan] = {}


def _plan(policy: Policy, ctx: Context, day: dt.date) -> Plan:
    """Compiled (and so checked) once per policy, catalogue and day: incremental runs are hot."""
    key = (policy.digest, ctx.catalog.source + ctx.catalog.version, day)
    if key not in _PLANS:
        _PLANS.clear()
        _PLANS[key] = compile_policy(policy, ctx.catalog, day)
    return _PLANS[key]


def _compute(conn: Connection, runner: Engine, plan: Plan, run_id: int) -> None:
    """Run the plan over the stored scope plus the organisations its persons are linked to."""
    conn.execute("DELETE FROM ev_scope")
    conn.execute("INSERT INTO ev_scope SELECT DISTINCT subject_key FROM ev_store_scope")
    conn.execute(
        "INSERT INTO ev_scope SELECT DISTINCT org_key FROM subject_links WHERE run_id = ?"
        " AND person_key IN (SELECT subject_key FROM ev_store_scope)"
        " AND org_key NOT IN (SELECT subject_key FROM ev_scope)",
        [run_id],
    )
    runner.materialise(None, conn, plan, None, scoped=True)  # type: ignore[arg-type]  # a scoped run never reads the store


def _add(conn: Connection, table: str, keys: set[str]) -> None:
    existing = {k for (k,) in conn.execute(f"SELECT subject_key FROM {table}")}
    fresh = sorted(keys - existing)
    for start in range(0, len(fresh), 1000):
        chunk = fresh[start : start + 1000]
        values = ", ".join("(?)" for _ in chunk)
        conn.execute(f"INSERT INTO {table} VALUES {values}", chunk)
