"""`xinyong evaluate`: compute lists, scores, grades and measures for every subject."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.table import Table

from xinyong.cli.output import console, err_console, handle_errors, print_json, progress_bar
from xinyong.cli.state import context
from xinyong.engines import ENGINES
from xinyong.evaluation.batch import RunSummary
from xinyong.evaluation.batch import evaluate as run_evaluation
from xinyong.policy.loader import load_policy
from xinyong.process.hooks import after_evaluation


@handle_errors
def evaluate(
    ctx: typer.Context,
    engine: str | None = typer.Option(
        None,
        "--engine",
        help="Where to evaluate: " + ", ".join(ENGINES) + " (default: the store's own engine).",
    ),
    as_of: dt.datetime | None = typer.Option(
        None,
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Evaluate as of a past date (YYYY-MM-DD): records that occurred by then, with "
        "today's corrections. The result is kept beside the current state, not instead of it.",
    ),
    policy_dir: Path | None = typer.Option(
        None,
        "--policy",
        help="Policy directory to evaluate (default: XINYONG_POLICY or the packaged one).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Evaluate the policy for every subject and store the results with the policy version.

    Without --as-of the results become the current state that `decide` and `subject show`
    read; ingestion then keeps it current subject by subject.
    """
    app = context(ctx)
    policy = load_policy(policy_dir) if policy_dir else app.policy
    say = (lambda m: None) if as_json else (lambda m: err_console.print(f"[dim]{m} ...[/]"))
    with progress_bar("Evaluating", enabled=not as_json) as step:
        summary = run_evaluation(
            app,
            policy=policy,
            engine=engine,
            as_of=as_of.date() if as_of else None,
            progress=say,
            step=step,
        )
    if summary.current:
        say("telling subjects what changed")
        after_evaluation(app)
    if as_json:
        print_json(summary.as_dict())
        return
    print_summary(summary)


def print_summary(summary: RunSummary) -> None:
    state = "current state" if summary.current else "replay, kept beside the current state"
    console.print(
        f"Evaluated {summary.subjects:,} subjects with {summary.policy} on {summary.engine}"
        f" as of {summary.as_of} in {summary.seconds:.1f} s (run {summary.run_id}, {state})."
    )
    lists = Table(title="Lists", title_justify="left")
    for c in ("list", "listed", "refused (never)"):
        lists.add_column(c, justify="right" if c != "list" else "left")
    names = sorted(set(summary.lists) | set(summary.refused))
    for name in names:
        lists.add_row(name, f"{summary.lists.get(name, 0):,}", f"{summary.refused.get(name, 0):,}")
    console.print(lists)
    for score_id, grades in summary.grades.items():
        table = Table(title=f"Grades: {score_id}", title_justify="left")
        table.add_column("grade")
        table.add_column("subjects", justify="right")
        for grade, n in grades.items():
            table.add_row(str(grade), f"{n:,}")
        console.print(table)
    measures = Table(title="Active measures", title_justify="left")
    measures.add_column("measure")
    measures.add_column("subjects", justify="right")
    for name, n in summary.measures.items():
        measures.add_row(name, f"{n:,}")
    console.print(measures)
