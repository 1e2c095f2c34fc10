"""`xinyong objections`: a subject disputes a record; its source decides in time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.process.objections import (
    decide_objection,
    file_objection,
    list_objections,
    read_evidence,
)

app = typer.Typer(
    help="Objections to records: file them, follow their deadlines, decide them.",
    no_args_is_help=True,
)


def _print(objection: dict[str, Any]) -> None:
    status = objection["status"] + (" [red](overdue)[/]" if objection["overdue"] else "")
    console.print(
        f"[bold]{objection['objection']}[/] to record {objection['record']} "
        f"({objection['category']}) from {objection['source']}: {status}; "
        f"filed {objection['filed_on']}, to be decided by {objection['due_on']}.",
        highlight=False,
    )
    if objection["decision_reason"]:
        console.print(f"  Decided {objection['decided_on']}: {objection['decision_reason']}")
    for f in objection["evidence"]:
        console.print(f"  Evidence: {f['name']} ({f['size']:,} bytes, sha256 {f['sha256'][:16]}…)")


@app.command("file")
@handle_errors
def file(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number or credit code."),
    record: str = typer.Option(
        ...,
        "--record",
        help="The record's source_record_id (SOURCE:ID where two sources share it).",
    ),
    reason: str = typer.Option(..., "--reason", help="Why the record is wrong, in words."),
    evidence: list[Path] = typer.Option(
        [], "--evidence", help="A file that supports the objection (repeatable; 10 MiB each)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """File the subject's objection to one of its records.

    From now until the source decides, the record and everything it causes are marked
    disputed in the subject's file, in every decision about the subject and in the change
    feed. The source must decide within the period of the record's category (the court
    list: 15 days).

    Example: xinyong objections file 11010519491231002X --record L-123 --reason "Paid on 1 May"
    --evidence receipt.pdf"""
    app_ctx = context(ctx)
    filed = file_objection(
        app_ctx, identifier, record, reason, files=read_evidence(evidence), channel="cli"
    )
    if as_json:
        print_json(filed)
        return
    _print(filed)


@app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    subject: str | None = typer.Option(None, "--subject", help="Only this subject's objections."),
    source: str | None = typer.Option(None, "--source", help="Only objections to this source."),
    overdue: bool = typer.Option(
        False, "--overdue", help="Only open objections whose deadline has passed."
    ),
    open_only: bool = typer.Option(False, "--open", help="Only open objections."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List objections with their deadlines; --overdue shows the sources that missed theirs."""
    found = list_objections(
        context(ctx),
        identifier=subject,
        source_id=source,
        overdue=overdue,
        status="open" if open_only else None,
    )
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No objections" + (" are overdue." if overdue else "."))
        return
    table = Table(title=f"Objections ({len(found)})", title_justify="left")
    for col in ("objection", "record", "source", "status", "due"):
        # Ids and dates stay whole; names and statuses wrap.
        table.add_column(col, overflow="fold", no_wrap=col not in ("source", "status"))
    for o in found:
        status = o["status"] + (", overdue" if o["overdue"] else "")
        if o["decided_on"]:
            status += f" {o['decided_on']}"
        table.add_row(o["objection"], o["record"], o["source"], status, o["due_on"])
    console.print(table)


@app.command("decide")
@handle_errors
def decide(
    ctx: typer.Context,
    objection: str = typer.Argument(..., help="The objection's id, e.g. OBJ-000001."),
    uphold: bool = typer.Option(False, "--uphold", help="The objection is well founded."),
    reject: bool = typer.Option(False, "--reject", help="The record stands."),
    reason: str = typer.Option(..., "--reason", help="Why, in words the subject will read."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Decide an objection as its source. --uphold revokes the record through the normal
    ingest path (everything it caused ends at once, and partners are told); --reject keeps
    it. The subject is told either way."""
    if uphold == reject:
        raise typer.BadParameter("Give exactly one of --uphold and --reject.")
    decided = decide_objection(context(ctx), objection, uphold=uphold, reason=reason)
    if as_json:
        print_json(decided)
        return
    _print(decided)
