"""`xinyong maintain`: end what the law ends by time, and tell whom it concerns."""

from __future__ import annotations

import datetime as dt

import typer

from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.process.maintenance import maintain as run_maintenance


@handle_errors
def maintain(
    ctx: typer.Context,
    as_of: dt.datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"], help="Maintain as of this day (default: today)."
    ),
    no_delivery: bool = typer.Option(
        False, "--no-delivery", help="Make the notices that are due, but do not send them."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print what was done as JSON."),
) -> None:
    """Record the ends of terms and publicity periods that ran out (partners hear of them),
    make the notices that are due (measure changes, listings and publicity ending soon,
    overdue objections) and deliver them. Run it daily; `xinyong serve` does, at start and
    at midnight. A second run on the same day changes nothing."""
    report = run_maintenance(context(ctx), as_of.date() if as_of else None, deliver=not no_delivery)
    if as_json:
        print_json(report)
        return
    console.print(
        f"Maintained as of {report['as_of']} in {report['seconds']:.2f} s: "
        f"{report['expired']:,} measure terms ended; notices made: "
        f"{report['notices_from_changes']:,} for changes, {report['notices_ending']:,} for "
        f"terms ending, {report['notices_overdue']:,} for overdue objections."
    )
    delivery = report.get("delivery")
    if delivery:
        console.print(
            f"Delivered {delivery['delivered']:,}, retrying {delivery['retrying']:,}, "
            f"failed {delivery['failed']:,}."
        )
