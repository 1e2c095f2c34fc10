"""`xinyong subject`: one subject's whole file."""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer
from rich.table import Table

from xinyong import credentials
from xinyong.access import log as access_log
from xinyong.cli.output import console, err_console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.cli.state_view import print_state
from xinyong.context import Context
from xinyong.errors import NotEvaluated
from xinyong.evaluation.replay import subject_state
from xinyong.ids import parse_subject, subject_key
from xinyong.ids.masking import mask
from xinyong.ledger.queries import subject_file
from xinyong.process import channels
from xinyong.process.remedies import remedies
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
    purpose: str | None = typer.Option(
        None, help="Why you look (recorded in the subject's access log)."
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
    # Every look-up of a file is shown to its subject, the operator's too.
    access_log.append(
        app_ctx.settings.data_dir,
        [access_log.entry(data["subject_key"], "lookup", "cli", purpose=purpose, channel="cli")],
    )
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
        event = str(r["event_id"])
        if r.get("disputed"):
            event += f"\n[yellow]disputed ({r['objection']})[/]"
        cells = [
            event,
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


@app.command("access-log")
@handle_errors
def access_log_(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number or credit code."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Who asked about this subject: every decision and every look-up of its file, with the
    partner, action, purpose, outcome and time."""
    app_ctx = context(ctx)
    parsed = parse_subject(identifier)
    key = subject_key(app_ctx.secret, parsed.identifier)
    entries = access_log.read(app_ctx.settings.data_dir, key)
    for e in entries:
        e.pop("subject_key", None)
    if as_json:
        print_json({"subject": mask(parsed.identifier), "entries": entries})
        return
    table = Table(title=f"Access log of {mask(parsed.identifier)}", title_justify="left")
    for col in ("time (UTC)", "what", "who", "action", "purpose", "outcome", "via"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            e["at"][:19].replace("T", " "),
            e["kind"],
            e["who"],
            e["action"] or "",
            (e["purpose"] or "")
            + (f" (transaction {e['transaction']})" if e.get("transaction") else ""),
            e["outcome"] or "",
            e["channel"],
        )
    console.print(table)
    if not entries:
        console.print("Nobody has asked about this subject.")


@app.command("credential")
@handle_errors
def credential(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number or credit code."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Issue a credential that only this subject holds: the letter credential. With it the
    subject signs in to the portal (/sign-in) and chooses a password, and reads its own
    file over HTTP (GET /v1/subjects/ID...). A new one also resets a forgotten portal
    password. Shown once; hand it to the subject."""
    app_ctx = context(ctx)
    parsed = parse_subject(identifier)
    key = subject_key(app_ctx.secret, parsed.identifier)
    with app_ctx.store.transaction() as conn:
        issued = credentials.issue_subject(conn, key)
    if as_json:
        print_json({"subject": mask(parsed.identifier), "credential": issued})
        return
    console.print(f"Credential for {mask(parsed.identifier)}: [bold]{issued}[/]")
    err_console.print("[yellow]Hand it to the subject now: it is shown only once.[/]")


@app.command("contact")
@handle_errors
def contact(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number or credit code."),
    email: str | None = typer.Option(None, "--email", help="The subject's own e-mail address."),
    phone: str | None = typer.Option(None, "--phone", help="The subject's own mobile number."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Where this subject's notices go: the subject's own address, used for notices only
    (replaces what was there; give neither option to remove it)."""
    app_ctx = context(ctx)
    parsed = parse_subject(identifier)
    key = subject_key(app_ctx.secret, parsed.identifier)
    with app_ctx.store.transaction() as conn:
        saved = channels.set_contact(conn, key, email=email, phone=phone)
    if as_json:
        print_json({"subject": mask(parsed.identifier), **saved})
        return
    shown = ", ".join(f"{k} {v}" for k, v in saved.items() if v) or "no address (file outbox only)"
    console.print(f"Notices to {mask(parsed.identifier)} go to: {shown}")


@app.command("remedies")
@handle_errors
def remedies_(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number or credit code."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """For each measure in force: the day it ends by itself, the record whose removal or
    repair would end it, the authority to ask, and any open objection."""
    app_ctx = context(ctx)
    with app_ctx.store.transaction() as conn:
        found = remedies(app_ctx, conn, identifier)
    if as_json:
        print_json(found)
        return
    if not found["measures"]:
        console.print(f"No measure is in force for {found['subject']}.")
        return
    for m in found["measures"]:
        ends = m["ends_by_itself_on"] or "not by itself"
        console.print(f"\n[bold]{m['label']}[/] ({', '.join(m['actions'])}); ends: {ends}")
        if m["via"]:
            console.print(f"  Applies as {m['via']['role']} of {m['via']['identifier']}.")
        for r in m["records"]:
            who = r["authority"]["name"] or r["authority"]["source"]
            console.print(
                f"  Record {r['record']} ({r['category']}, {r['document'] or 'no document'}): "
                f"{r['ends_it']}. Ask: {who}.",
                highlight=False,
            )
            if r["repair_from"]:
                console.print(f"  Repair may be applied for from {r['repair_from']}.")
            if r["disputed"]:
                console.print(
                    f"  [yellow]Objection {r['objection']} open, to be decided by "
                    f"{r['objection_due']}.[/]"
                )
        if m["remedy"]:
            console.print(f"  Remedy: {m['remedy']}", highlight=False)
