"""`xinyong repair`: credit repair applied for by the subject, decided by the authority."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.process.evidence import read_files
from xinyong.process.repairs import apply_for_repair, decide_repair, list_repairs

app = typer.Typer(
    help="Credit repair: apply once the minimum period has passed; the authority decides.",
    no_args_is_help=True,
)


def _print(repair: dict[str, Any]) -> None:
    status = repair["status"] + (" [red](overdue)[/]" if repair["overdue"] else "")
    console.print(
        f"[bold]{repair['repair']}[/] of record {repair['record']} ({repair['category']}) from "
        f"{repair['source']}: {status}; applied {repair['applied_on']}, to be decided by "
        f"{repair['due_on']}.",
        highlight=False,
    )
    if repair["decision_reason"]:
        console.print(f"  Decided {repair['decided_on']}: {repair['decision_reason']}")


@app.command("apply")
@handle_errors
def apply(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number or credit code."),
    record: str = typer.Option(..., "--record", help="The record's source_record_id."),
    commitment: str = typer.Option(
        ..., "--commitment", help="The subject's public credit commitment, in words."
    ),
    evidence: list[Path] = typer.Option(
        [], "--evidence", help="Proof that the penalty was performed or the conduct corrected."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Apply to repair a record once the minimum period of its tier has passed (an earlier
    application is refused with the day from which it may be made).

    Example: xinyong repair apply 91110105MA01PUBLC7 --record P-12 --commitment "..."
    --evidence fine-paid.pdf"""
    applied = apply_for_repair(
        context(ctx), identifier, record, commitment, files=read_files(evidence)
    )
    if as_json:
        print_json(applied)
        return
    _print(applied)


@app.command("decide")
@handle_errors
def decide(
    ctx: typer.Context,
    repair: str = typer.Argument(..., help="The application's id, e.g. REP-000001."),
    grant: bool = typer.Option(False, "--grant", help="Grant the repair."),
    refuse: bool = typer.Option(False, "--refuse", help="Refuse it."),
    reason: str = typer.Option(..., "--reason", help="Why, in words the subject will read."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Decide a repair application as the authority that decided the record. --grant ends
    the record's points and list effects from today, through the ledger; the subject is
    told either way."""
    if grant == refuse:
        raise typer.BadParameter("Give exactly one of --grant and --refuse.")
    decided = decide_repair(context(ctx), repair, grant=grant, reason=reason)
    if as_json:
        print_json(decided)
        return
    _print(decided)


@app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    subject: str | None = typer.Option(None, "--subject", help="Only this subject's."),
    source: str | None = typer.Option(None, "--source", help="Only those this source decides."),
    overdue: bool = typer.Option(False, "--overdue", help="Only open ones past their deadline."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List repair applications with their deadlines."""
    found = list_repairs(context(ctx), identifier=subject, source_id=source, overdue=overdue)
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No repair applications.")
        return
    table = Table(title=f"Repair applications ({len(found)})", title_justify="left")
    for col in ("repair", "record", "source", "status", "due"):
        table.add_column(col, overflow="fold", no_wrap=col not in ("source", "status"))
    for r in found:
        status = r["status"] + (", overdue" if r["overdue"] else "")
        if r["decided_on"]:
            status += f" {r['decided_on']}"
        table.add_row(r["repair"], r["record"], r["source"], status, r["due_on"])
    console.print(table)
