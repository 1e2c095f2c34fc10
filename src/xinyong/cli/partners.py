"""`xinyong partners`: register the airlines, railways, hotels... that ask for decisions."""

from __future__ import annotations

import typer
from rich.table import Table

from xinyong.access.partners import (
    add_partner,
    list_partners,
    partner_kinds,
    rotate_credential,
)
from xinyong.cli.output import console, err_console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.feed.delivery import webhook_cursors
from xinyong.feed.signatures import webhook_secret
from xinyong.state.outbox import latest_seq

app = typer.Typer(
    help="Register and list partners: who may ask for decisions, about which actions, why.",
    no_args_is_help=True,
)


@app.command("add")
@handle_errors
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the partner, e.g. 'Demo Airlines'."),
    kind: str = typer.Option(
        ..., help="airline, railway, hotel, rental, lender, procurement, ... (`partners kinds`)."
    ),
    purpose: str = typer.Option(
        ..., help="Why the partner asks; logged with every decision and shown to subjects."
    ),
    actions: list[str] = typer.Option(
        [],
        "--actions",
        "-a",
        help="Grant only this action (repeatable; default: every action for the kind).",
    ),
    partner_id: str | None = typer.Option(None, "--id", help="Short id (default: from the name)."),
    webhook: str | None = typer.Option(
        None, help="URL that receives the change feed as signed CloudEvents batches."
    ),
    categories: list[str] = typer.Option(
        [],
        "--category",
        "-c",
        help="Let the partner submit outcome records of this category (repeatable).",
    ),
    source_kind: str | None = typer.Option(
        None, help="Catalogue source kind for those records (default: the partner kind)."
    ),
    start: str = typer.Option(
        "now",
        "--from",
        help="Where the webhook starts: now (changes from now on), 0 (the whole feed, every"
        " past change that concerns the partner's actions), or a cursor.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the partner and credential as JSON."),
) -> None:
    """Register a partner and print its credential (once: only a hash is kept).

    Example: xinyong partners add "Demo Airlines" --kind airline
    --purpose "ticket sales under the joint punishment memorandum"
    --webhook http://127.0.0.1:9000/hook
    """
    if start != "now" and not start.isdigit():
        raise typer.BadParameter("--from takes now, 0 or a cursor (a whole number).")
    app_ctx = context(ctx)
    secret = app_ctx.secret
    with app_ctx.store.transaction() as conn:
        cursor = latest_seq(conn) if start == "now" else int(start)
        partner, credential = add_partner(
            conn,
            app_ctx.policy,
            app_ctx.catalog,
            name=name,
            kind=kind,
            purpose=purpose,
            actions=actions or None,
            partner_id=partner_id,
            webhook_url=webhook,
            categories=categories or None,
            source_kind=source_kind,
        )
        if partner.webhook_url:
            # Before the partner is committed, so that no delivery can start elsewhere.
            webhook_cursors(app_ctx.settings.data_dir).set(f"webhook-{partner.partner_id}", cursor)
    signing = webhook_secret(secret, partner.partner_id) if partner.webhook_url else None
    starts = cursor if partner.webhook_url else None
    if as_json:
        print_json(
            {
                **partner.as_dict(),
                "credential": credential,
                "webhook_secret": signing,
                "webhook_starts_after": starts,
            }
        )
        return
    console.print(
        f"Registered partner [bold]{partner.partner_id}[/] ({partner.kind}) for "
        f"{', '.join(partner.actions)}."
    )
    console.print(f"Credential: [bold]{credential}[/]")
    if signing:
        console.print(f"Webhook signing secret (Standard Webhooks): [bold]{signing}[/]")
        console.print(f"The webhook receives the changes after cursor {starts}.")
    err_console.print("[yellow]Store the credential now: it is shown only once.[/]")


@app.command("list")
@handle_errors
def list_(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")
) -> None:
    """List partners and their grants."""
    with context(ctx).store.transaction() as conn:
        partners = list_partners(conn)
    if as_json:
        print_json([p.as_dict() for p in partners])
        return
    table = Table(title="Partners", title_justify="left")
    for col in ("id", "kind", "actions", "purpose", "webhook"):
        table.add_column(col, overflow="fold")
    for p in partners:
        table.add_row(p.partner_id, p.kind, "\n".join(p.actions), p.purpose, p.webhook_url or "")
    console.print(table)


@app.command("kinds")
@handle_errors
def kinds(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")
) -> None:
    """The partner kinds the policy knows, with the actions each may be granted."""
    found = partner_kinds(context(ctx).policy)
    if as_json:
        print_json(found)
        return
    for kind, acts in found.items():
        console.print(f"[bold]{kind}[/]: {', '.join(acts)}")


@app.command("rotate")
@handle_errors
def rotate(
    ctx: typer.Context,
    partner_id: str = typer.Argument(..., help="The partner's id."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Issue a new credential for a partner (shown once); the old one stops working."""
    with context(ctx).store.transaction() as conn:
        credential = rotate_credential(conn, partner_id)
    if as_json:
        print_json({"partner_id": partner_id, "credential": credential})
        return
    console.print(f"New credential for [bold]{partner_id}[/]: [bold]{credential}[/]")
    err_console.print("[yellow]Store the credential now: it is shown only once.[/]")


@app.command("receive")
@handle_errors
def receive(
    port: int = typer.Option(9000, help="Port to listen on (127.0.0.1)."),
    secret: str | None = typer.Option(
        None, help="The partner's webhook secret (whsec_...): check every signature with it."
    ),
) -> None:
    """A webhook receiver for trying the change feed: prints each delivered event (and
    whether its Standard Webhooks signature holds). Stop with Ctrl-C."""
    from xinyong.feed.receiver import serve_receiver

    console.print(f"Receiving webhooks on http://127.0.0.1:{port}/ (Ctrl-C to stop)")
    serve_receiver(port, secret, console.print)
