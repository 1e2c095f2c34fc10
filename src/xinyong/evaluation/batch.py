"""Batch evaluation: every subject at once, stored as a new run.

A run stores its results under a new run id, with the policy version and the date it was
evaluated as of. Without ``as_of`` the run becomes the current state that decisions read
(and the previous current run is dropped); a run ``as_of`` a past date is kept beside it for
replay. The partners' change feed gets every difference against the run it replaces.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xinyong.clock import today, utcnow
from xinyong.context import Context
from xinyong.engines import get_engine
from xinyong.engines.base import Step
from xinyong.errors import ConfigurationError
from xinyong.policy.compiler import OUTPUTS, compile_policy
from xinyong.policy.model import Policy
from xinyong.state.outbox import record_changes, sweep_expiries
from xinyong.state.runs import TABLES, current_run
from xinyong.store.base import Connection

Progress = Callable[[str], None]


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
        run = current_run(conn)
        old = [(run["run_id"],)] if run is not None else []
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
        sweep_expiries(conn, int(previous["run_id"]), day)
        old = ("SELECT * FROM active_measures WHERE run_id = ?", [previous["run_id"]])
    else:
        old = ("SELECT * FROM active_measures WHERE run_id IS NULL", [])
    new = ("SELECT * FROM active_measures WHERE run_id = ?", [run_id])
    record_changes(conn, old, new, "evaluation", day)


def summarise(conn: Connection, run_id: int) -> RunSummary:
    run = conn.dicts("SELECT * FROM eval_runs WHERE run_id = ?", [run_id])[0]
    summary = RunSummary(
        run_id=run_id,
        policy=f"{run['policy_name']} {run['policy_version']}",
        policy_digest=str(run["policy_digest"]),
        engine=str(run["engine"]),
        as_of=run["as_of"],
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
