"""`xinyong policy`: check a policy directory, and show what a change would do."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.evaluation.impact import policy_diff
from xinyong.policy.check import check_directory
from xinyong.policy.loader import default_policy_path, load_policy

app = typer.Typer(help="Check policies and measure the impact of a change.", no_args_is_help=True)


@app.command("check")
@handle_errors
def check(
    ctx: typer.Context,
    directory: Path = typer.Argument(
        None, help="The policy directory (default: XINYONG_POLICY or the packaged policy)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Lint a policy: unknown categories or fields, missing legal basis or partner action,
    conditions on forbidden attributes, measures reaching unlinked persons, grade bands
    with gaps or overlaps, rules that can never fire. Exits 1 when anything is found."""
    app_ctx = context(ctx)
    folder = directory or app_ctx.settings.policy or default_policy_path()
    findings = check_directory(Path(folder), app_ctx.catalog)
    if as_json:
        print_json({"directory": str(folder), "findings": [f.as_dict() for f in findings]})
    elif not findings:
        policy = load_policy(Path(folder))
        console.print(
            f"[green]{policy.label}[/] ({folder}): {len(policy.lists)} lists, "
            f"{len(policy.scores)} scores, {len(policy.measures)} measures, "
            f"{len(policy.actions)} partner actions; no problems found."
        )
    else:
        for f in findings:
            console.print(
                f"[bold]{folder}/{f.file}:{f.line}[/] {f.rule}: {f.message} [dim]\\[{f.code}][/]",
                highlight=False,
            )
        console.print(f"[red]{len(findings)} problem(s).[/]")
    if findings:
        raise typer.Exit(1)


@app.command("diff")
@handle_errors
def diff(
    ctx: typer.Context,
    old: Path = typer.Argument(..., help="The policy directory in force."),
    new: Path = typer.Argument(..., help="The proposed policy directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the impact as JSON."),
) -> None:
    """Show what replacing OLD by NEW would do to the current ledger, before deploying it:
    subjects entering and leaving each list, grade changes, measures gained and lost, with
    a sample of affected subjects (masked). Nothing is stored."""
    app_ctx = context(ctx)
    result = policy_diff(app_ctx, load_policy(old), load_policy(new))
    if as_json:
        print_json(result)
        return
    console.print(
        f"Impact of {result['old']['policy']} -> {result['new']['policy']} on "
        f"{result['subjects']:,} subjects as of {result['as_of']}"
    )
    for title, rows in (("Lists", result["lists"]), ("Measures", result["measures"])):
        table = Table(title=title, title_justify="left")
        for c in ("id", "before", "after", "entering", "leaving", "sample"):
            table.add_column(
                c, justify="right" if c in ("before", "after", "entering", "leaving") else "left"
            )
        for r in rows:
            sample = ", ".join(
                [f"+{s}" for s in r["sample_entering"][:2]]
                + [f"-{s}" for s in r["sample_leaving"][:2]]
            )
            table.add_row(
                r["id"],
                f"{r['before']:,}",
                f"{r['after']:,}",
                f"[green]{r['entering']:,}[/]" if r["entering"] else "0",
                f"[red]{r['leaving']:,}[/]" if r["leaving"] else "0",
                sample,
            )
        console.print(table)
    for g in result["grades"]:
        table = Table(
            title=f"Grade changes: {g['id']} ({g['changed']:,} subjects)", title_justify="left"
        )
        for c in ("from", "to", "subjects", "sample"):
            table.add_column(c)
        for m in g["moves"]:
            table.add_row(m["from"], m["to"], f"{m['subjects']:,}", ", ".join(m["sample"][:3]))
        console.print(table)
