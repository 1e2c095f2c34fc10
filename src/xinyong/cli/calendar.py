"""`xinyong calendar`: count a legal deadline the way the system counts it."""

from __future__ import annotations

import datetime as dt

import typer

from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.process.calendar import Unit, load_calendar

app = typer.Typer(help="Count deadlines in calendar or working days.", no_args_is_help=True)


@app.command("add-days")
@handle_errors
def add_days(
    ctx: typer.Context,
    start: dt.datetime = typer.Argument(
        ..., formats=["%Y-%m-%d"], help="The day the period starts from."
    ),
    days: int = typer.Argument(..., min=0, help="How many days the rule gives."),
    working: bool = typer.Option(
        False, "--working", help="Count working days (mainland public holidays and make-up days)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """The last day of a period of DAYS days after START.

    Working days are counted from the day after START, skipping weekends and public
    holidays and counting make-up working days that fall on a weekend.

    Example: xinyong calendar add-days 2026-09-30 3 --working"""
    calendar = load_calendar(context(ctx).settings.calendar)
    first = start.date()
    unit: Unit = "working" if working else "calendar"
    due = calendar.add_days(first, days, unit)
    if as_json:
        print_json({"start": first.isoformat(), "days": days, "unit": unit, "due": due.isoformat()})
        return
    console.print(
        f"{days} {unit} day{'s' if days != 1 else ''} after {first.isoformat()}: "
        f"[bold]{due.isoformat()}[/] ({due.strftime('%A')})",
        highlight=False,
    )
