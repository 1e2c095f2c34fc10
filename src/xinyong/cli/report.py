"""`xinyong report`: reports over the evaluated state."""

from __future__ import annotations

import typer
from rich.table import Table

from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.evaluation.equality import equality_report

app = typer.Typer(help="Reports over the evaluated credit state.", no_args_is_help=True)


@app.command("equality")
@handle_errors
def equality(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Listing and measure rates by subject kind, by ownership (from registry records) and
    by region, with counts, so that uneven enforcement shows."""
    report = equality_report(context(ctx))
    if as_json:
        print_json(report)
        return
    console.print(f"Equality report: {report['policy']}, state as of {report['as_of']}")
    for name in ("kind", "ownership", "region"):
        table = Table(title=f"By {name}", title_justify="left")
        table.add_column(name)
        for c in ("subjects", "black-listed", "red-listed", "restricted", "rewarded"):
            table.add_column(c, justify="right")
        for r in report[f"by_{name}"]:
            label = f"{r['grp']} {r.get('label', '')}".strip()
            cells = [
                f"{r[c]:,} ({r[c + '_rate']:.2%})"
                for c in ("black_listed", "red_listed", "restricted", "rewarded")
            ]
            table.add_row(label, f"{r['subjects']:,}", *cells)
        console.print(table)
