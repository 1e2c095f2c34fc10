"""`xinyong subject`: one subject's whole file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer
from rich.table import Table

from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.cli.state_view import print_state
from xinyong.context import Context
from xinyong.errors import NotEvaluated
from xinyong.ledger.queries import subject_file
from xinyong.policy.state import subject_state
from xinyong.store.base import Connection

app = typer.Typer(help="Show what the ledger holds about a subject.", no_args_is_help=True)


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    identifier: str = typer.Argument(
        ..., help="Resident identity number or unified social credit code."
    ),
    history: bool = typer.Option(
        False, "--history", help="Also list superseded and revoked records."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the file as JSON (always with history)."
    ),
    as_of: dt.datetime | None = typer.Option(
        None,
        "--as-of",
        formats=["%Y-%m-%d"],
        help="Explain the subject's lists, scores and measures as of a past date (YYYY-MM-DD).",
    ),
) -> None:
    """Show a subject's whole file: identity, records, and its lists, scores and measures
    with the records, rule and legal basis behind each."""
    app_ctx = context(ctx)
    secret = app_ctx.secret  # before the transaction: reading it may open one of its own
    with app_ctx.store.transaction() as conn:
        data = subject_file(conn, identifier, secret)
        data["state"] = _state(app_ctx, conn, data, as_of.date() if as_of else None)
    if as_json:
        print_json(data)
        return
    who = f"[bold]{data['identifier']}[/] ({data['kind']}"
    if data["birth_date"]:
        who += f", born {data['birth_date']}, {data['sex']}"
    who += f", region {data['region_code']} {data['region'] or ''})"
    console.print(who)
    if not data["known"]:
        console.print("The ledger holds no records about this subject.")
        print_state(data["state"])
        return
    rows = data["history"] if history else data["current_records"]
    table = Table(title=("History" if history else "Current records"), title_justify="left")
    for col in (
        "event",
        "occurred",
        "category",
        "details",
        "source",
        "document",
        *(("status",) if history else ()),
    ):
        # Codes and dates stay whole; free text (details, documents) wraps.
        table.add_column(
            col, overflow="fold", no_wrap=col in ("event", "occurred", "category", "status")
        )
    for r in rows:
        details = "; ".join(f"{k}={v}" for k, v in r["details"].items())
        cells = [
            str(r["event_id"]),
            r["occurred_on"],
            r["category"],
            details,
            r["source_id"],
            r["document"] or "",
        ]
        if history:
            cells.append(r["status"])
        table.add_row(*cells)
    console.print(table)
    print_state(data["state"])


def _state(
    app: Context, conn: Connection, data: dict[str, Any], as_of: dt.date | None
) -> dict[str, Any] | None:
    """The evaluated state, or None (with the reason) when nothing was evaluated yet."""
    try:
        return subject_state(app, conn, data["subject_key"], as_of)
    except NotEvaluated as exc:
        return {"not_evaluated": str(exc)}
