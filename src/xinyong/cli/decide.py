"""`xinyong decide`: answer a partner's question from the evaluated state."""

from __future__ import annotations

import typer
from rich.table import Table

from xinyong.access import log as access_log
from xinyong.access.partners import get_partner
from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.clock import today
from xinyong.decisions.decide import decide as answer_request
from xinyong.decisions.snapshot import StoredMeasures
from xinyong.errors import DecisionError


def parse_context(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DecisionError(
                f"Context {pair!r} is not KEY=VALUE.",
                hint="e.g. --context train_type=G",
                code="context_invalid",
            )
        out[key.strip()] = value.strip()
    return out


@handle_errors
def decide(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number or credit code."),
    action: str = typer.Argument(..., help="The partner action, e.g. flight.ticket.purchase."),
    context_pairs: list[str] = typer.Option(
        [], "--context", "-c", help="Request context as KEY=VALUE (repeatable), e.g. train_type=G."
    ),
    partner_id: str | None = typer.Option(
        None, "--partner", "-p", help="Ask as this partner: its grant and purpose apply."
    ),
    purpose: str | None = typer.Option(None, help="Why you ask (default: the partner's purpose)."),
    transaction: str | None = typer.Option(
        None,
        "--transaction",
        "-t",
        help="The reference of the transaction the subject is in (a booking or order number);"
        " actions asked only within a transaction, such as deposit.waiver, need it.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
) -> None:
    """Decide whether a subject may do an action now: allow or deny, rewards, and each
    reason with its trigger, records, legal basis and remedy.

    A subject the ledger does not know is allowed, with no reasons. Context keys that any
    measure reads for the action are required (docs/policy-language.md, actions)."""
    app = context(ctx)
    _ = app.secret, app.policy  # before the transaction: reading them may open one of their own
    request = {"subject": identifier, "action": action, "context": parse_context(context_pairs)}
    if purpose:
        request["purpose"] = purpose
    if transaction:
        request["transaction"] = transaction
    with app.store.transaction() as conn:
        partner = get_partner(conn, partner_id) if partner_id else None
        day = today(app.settings.timezone)
        outcome = answer_request(
            app.policy,
            app.secret,
            StoredMeasures(conn, day),
            request,
            partner=partner,
            day=day,
            channel="cli",
        )
    access_log.append(app.settings.data_dir, [outcome.entry])
    result = outcome.body
    if as_json:
        print_json(result)
        return
    colour = "red" if result["decision"] == "deny" else "green"
    console.print(
        f"[bold {colour}]{result['decision'].upper()}[/] {result['action']} for "
        f"{result['subject']} (policy {result['policy']}, state as of "
        f"{result['evaluated_as_of']}; decision {result['decision_id']})"
    )
    for title, rows in (("Reasons", result["reasons"]), ("Rewards", result["rewards"])):
        if not rows:
            continue
        table = Table(title=title, title_justify="left", show_lines=True)
        for c in ("measure", "trigger", "records", "until", "legal basis"):
            table.add_column(c, overflow="fold")
        for r in rows:
            trigger = f"{r['trigger']['kind']} {r['trigger']['id']}"
            if r["via"]:
                trigger += f"\n(as {r['applies_as']} of {r['via']})"
            table.add_row(
                r["label"],
                trigger,
                ", ".join(f"#{e}" for e in r["records"]),
                r["valid_until"] or "open",
                r["legal_basis"],
            )
        console.print(table)
    if result["remedy"]:
        console.print(f"[bold]Remedy:[/] {result['remedy']}")
    for w in result.get("rewards_withheld", []):
        console.print(f"[bold]Not applied:[/] {w['label']}: no consent to the {w['purpose']}.")
    if result["decision"] == "allow" and not result["reasons"] and not result["rewards"]:
        console.print("No measure applies to this action.")
