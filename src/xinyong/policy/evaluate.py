"""Evaluate a policy over the ledger: every subject at once, or a few after their records change.

A batch run stores its results under a new run id, with the policy version and the date it
was evaluated as of. Without ``as_of`` the run becomes the current state that decisions read
(and the previous current run is dropped); a run ``as_of`` a past date is kept beside it for
replay. Incremental evaluation recomputes some subjects inside the current run with the same
compiled plan, restricted to those subjects and the organisations they are linked to.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from xinyong.clock import today, utcnow
from xinyong.context import Context
from xinyong.engines import get_engine
from xinyong.engines.base import Engine, Step
from xinyong.errors import ConfigurationError
from xinyong.feed.changes import record_changes, sweep_expiries
from xinyong.policy.check import require_valid
from xinyong.policy.compiler import OUTPUTS, Plan, compile_policy
from xinyong.policy.model import Policy
from xinyong.store.base import Connection

# Output relation -> stored table, and the column that says whose row it is.
TABLES: dict[str, tuple[str, str]] = {
    "out_list_entries": ("list_entries", "subject_key"),
    "out_list_evidence": ("list_evidence", "subject_key"),
    "out_record_flags": ("record_flags", "subject_key"),
    "out_score_items": ("score_items", "subject_key"),
    "out_scores": ("scores", "subject_key"),
    "out_links": ("subject_links", "org_key"),
    "out_measures": ("active_measures", "subject_key"),
}

Progress = Callable[[str], None]
# Below this many subjects, incremental evaluation tunes the engine for tiny inputs.
# Off (0): measured, resetting DuckDB's threads cost more than one thread saved.
SMALL = 0


@dataclass
class RunSummary:
    run_id: int
    policy: str
    policy_digest: str
    engine: str
    as_of: dt.date
    current: bool
    seconds: float = 0.0
    subjects: int = 0
    lists: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    grades: dict[str, dict[str, int]] = field(default_factory=dict)
    measures: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "run_id": self.run_id,
            "policy": self.policy,
            "policy_digest": self.policy_digest,
            "engine": self.engine,
            "as_of": self.as_of.isoformat(),
            "current": self.current,
            "seconds": round(self.seconds, 3),
            "subjects": self.subjects,
            "lists": self.lists,
            "refused": self.refused,
            "grades": self.grades,
            "measures": self.measures,
        }


def default_engine(ctx: Context) -> str:
    return ctx.store.name


def evaluate(
    ctx: Context,
    *,
    policy: Policy | None = None,
    engine: str | None = None,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
    step: Step | None = None,
) -> RunSummary:
    """Evaluate every subject; store the results as a new run and return its summary."""
    say = progress or (lambda _msg: None)
    policy = policy or ctx.policy
    current = as_of is None
    day = as_of or today(ctx.settings.timezone)
    if day > today(ctx.settings.timezone):
        raise ConfigurationError(
            f"--as-of {day} is in the future.", hint="Evaluate today or a past date."
        )
    started = time.perf_counter()
    require_valid(policy, ctx.catalog)
    plan = compile_policy(policy, ctx.catalog, day)
    runner = get_engine(engine or default_engine(ctx), ctx.store.name)
    if runner.name == "spark":
        from xinyong.engines.spark import SparkEngine

        runner = SparkEngine(ctx.settings.spark_master)
    with tempfile.TemporaryDirectory(dir=_work_root(ctx)) as work:
        say(f"compiling {policy.label} for {runner.name}")
        prepared = runner.prepare(ctx.store, plan, Path(work), step)
        if prepared is not None:
            say("loading Spark's results")
        else:
            say(f"evaluating on {runner.name}")
        with ctx.store.transaction() as conn:
            run_id = int(conn.scalar("SELECT COALESCE(max(run_id), 0) + 1 FROM eval_runs"))
            conn.execute(
                "INSERT INTO eval_runs (run_id, policy_name, policy_version, policy_digest,"
                " engine, as_of, is_current, started_at) VALUES (?, ?, ?, ?, ?, ?, FALSE, ?)",
                [run_id, policy.name, policy.version, policy.digest, runner.name, day, utcnow()],
            )
            runner.materialise(ctx.store, conn, plan, prepared, scoped=False, step=step)
            for name, (table, _owner) in TABLES.items():
                cols = ", ".join(OUTPUTS[name])
                conn.execute(
                    f"INSERT INTO {table} (run_id, {cols}) SELECT ?, {cols} FROM {name}", [run_id]
                )
            runner.cleanup(conn, plan)
            if current:
                _record_run_changes(ctx, conn, run_id, day)
            _retire(conn, run_id, current, day, policy.digest)
            subjects = int(conn.scalar("SELECT count(*) FROM subjects"))
            conn.execute(
                "UPDATE eval_runs SET finished_at = ?, subjects = ?, is_current = ?"
                " WHERE run_id = ?",
                [utcnow(), subjects, current, run_id],
            )
            summary = summarise(conn, run_id)
    summary.seconds = time.perf_counter() - started
    return summary


def _work_root(ctx: Context) -> str:
    root = Path(ctx.settings.data_dir) / "work"
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def _retire(conn: Connection, run_id: int, current: bool, day: dt.date, digest: str) -> None:
    """Drop the runs the new one replaces: the old current run, or the same replay."""
    if current:
        old = conn.execute("SELECT run_id FROM eval_runs WHERE is_current")
    else:
        old = conn.execute(
            "SELECT run_id FROM eval_runs WHERE NOT is_current AND as_of = ?"
            " AND policy_digest = ? AND run_id <> ?",
            [day, digest, run_id],
        )
    for (old_id,) in old:
        for table, _owner in TABLES.values():
            conn.execute(f"DELETE FROM {table} WHERE run_id = ?", [old_id])
        if current:
            conn.execute("UPDATE eval_runs SET is_current = FALSE WHERE run_id = ?", [old_id])
        else:
            conn.execute("DELETE FROM eval_runs WHERE run_id = ?", [old_id])


def _record_run_changes(ctx: Context, conn: Connection, run_id: int, day: dt.date) -> None:
    """Feed partners what the new run changes against the run it replaces."""
    previous = current_run(conn)
    ctx.store.lock_for_merge(conn)  # change sequence numbers are handed out one writer at a time
    if previous is not None:
        sweep_expiries(conn, int(previous["run_id"]), day)  # type: ignore[call-overload]
        old = ("SELECT * FROM active_measures WHERE run_id = ?", [previous["run_id"]])
    else:
        old = ("SELECT * FROM active_measures WHERE run_id IS NULL", [])
    new = ("SELECT * FROM active_measures WHERE run_id = ?", [run_id])
    record_changes(conn, old, new, "evaluation", day)


def current_run(conn: Connection) -> dict[str, object] | None:
    rows = conn.dicts("SELECT * FROM eval_runs WHERE is_current")
    return rows[0] if rows else None


def summarise(conn: Connection, run_id: int) -> RunSummary:
    run = conn.dicts("SELECT * FROM eval_runs WHERE run_id = ?", [run_id])[0]
    summary = RunSummary(
        run_id=run_id,
        policy=f"{run['policy_name']} {run['policy_version']}",
        policy_digest=str(run["policy_digest"]),
        engine=str(run["engine"]),
        as_of=run["as_of"],  # type: ignore[arg-type]
        current=bool(run["is_current"]),
        subjects=int(run["subjects"] or 0),
    )
    for list_id, status, n in conn.execute(
        "SELECT list_id, status, count(*) FROM list_entries WHERE run_id = ?"
        " AND status IN ('active', 'refused') GROUP BY list_id, status ORDER BY list_id",
        [run_id],
    ):
        (summary.lists if status == "active" else summary.refused)[list_id] = int(n)
    for score_id, grade, n in conn.execute(
        "SELECT score_id, grade, count(*) FROM scores WHERE run_id = ?"
        " GROUP BY score_id, grade ORDER BY score_id, grade",
        [run_id],
    ):
        summary.grades.setdefault(score_id, {})[grade] = int(n)
    for measure_id, n in conn.execute(
        "SELECT measure_id, count(DISTINCT subject_key) FROM active_measures WHERE run_id = ?"
        " GROUP BY measure_id ORDER BY measure_id",
        [run_id],
    ):
        summary.measures[measure_id] = int(n)
    return summary


# -- incremental --------------------------------------------------------------------------


def evaluate_subjects(
    ctx: Context, conn: Connection, subject_keys: Iterable[str], *, policy: Policy | None = None
) -> int | None:
    """Recompute the current run for these subjects (and those linked to them) on ``conn``.

    Returns how many subjects were rewritten, or None when there is no current run made by
    this policy (run ``xinyong evaluate`` first)."""
    policy = policy or ctx.policy
    run = current_run(conn)
    if run is None or run["policy_digest"] != policy.digest:
        return None
    day = today(ctx.settings.timezone)
    plan = _plan(policy, ctx, day)
    runner = get_engine(ctx.store.name, ctx.store.name)
    run_id = int(run["run_id"])  # type: ignore[call-overload]
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
    """Checked and compiled once per policy, catalogue and day: incremental runs are hot."""
    key = (policy.digest, ctx.catalog.source + ctx.catalog.version, day)
    if key not in _PLANS:
        require_valid(policy, ctx.catalog)
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
    runner.materialise(None, conn, plan, None, scoped=True)  # type: ignore[arg-type]


def _add(conn: Connection, table: str, keys: set[str]) -> None:
    existing = {k for (k,) in conn.execute(f"SELECT subject_key FROM {table}")}
    fresh = sorted(keys - existing)
    for start in range(0, len(fresh), 1000):
        chunk = fresh[start : start + 1000]
        values = ", ".join("(?)" for _ in chunk)
        conn.execute(f"INSERT INTO {table} VALUES {values}", chunk)
