"""`xinyong consent`: the subject's own opt-in to a purpose that needs it, and its withdrawal.

An operator runs these at the subject's request (at a counter, on the phone); the subject can
do the same on the consent page of the portal or with their own credential over HTTP."""

from __future__ import annotations

import sys
from typing import Any

import typer

from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.errors import ConsentError
from xinyong.ids import parse_subject, subject_key
from xinyong.process.hooks import after_merge
from xinyong.score import consent as consents

app = typer.Typer(
    help="Consent to the commercial score: shown, given and withdrawn by the subject alone.",
    no_args_is_help=True,
)

PURPOSE_HELP = "The purpose: commercial_score (the only one that needs consent)."


def _print(answer: dict[str, Any], verb: str) -> None:
    c = answer["consent"]
    if not answer["changed"]:
        console.print(f"Consent to {c['purpose']} was already in force since {c['given_at']}.")
        return
    console.print(
        f"Consent to {c['purpose']} {verb} (text version {c['text_version']}, channel"
        f" {c['channel']}, record {c['record']}).",
        highlight=False,
    )


@app.command("text")
@handle_errors
def text(
    purpose: str = typer.Argument("commercial_score", help=PURPOSE_HELP),
    lang: str = typer.Option("zh", "--lang", help="zh or en."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Print the consent text the subject must read first, and its version."""
    found = consents.consent_text(purpose)
    if as_json:
        print_json({"purpose": purpose, "version": found.version, "text": found.text(lang)})
        return
    console.print(found.text(lang), highlight=False, markup=False)
    console.print(f"\n(version {found.version})", highlight=False)


@app.command("grant")
@handle_errors
def grant(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number."),
    purpose: str = typer.Option(..., "--purpose", help=PURPOSE_HELP),
    text_version: str | None = typer.Option(
        None,
        "--text-version",
        help="The version of the text the subject read (`xinyong consent text` prints it)."
        " Without it the command shows the text and asks for the subject's yes (a terminal"
        " is needed).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Record the subject's consent, given by them on the current text. Never a default and
    never bundled: one purpose per command. The score is computed at once."""
    app = context(ctx)
    if text_version is None:
        text_version = _ask(purpose)
    answer = consents.grant(
        app,
        identifier,
        purpose,
        text_version=text_version,
        channel="cli",
        after_merge=after_merge(app),
        by="cli",
    )
    if as_json:
        print_json(answer)
        return
    _print(answer, "given")


def _ask(purpose: str) -> str:
    """Show the subject the current text and take their explicit yes (never a default)."""
    found = consents.consent_text(purpose)
    if not sys.stdin.isatty():
        raise ConsentError(
            "Consent needs the version of the text the subject read.",
            hint=f"Show it (`xinyong consent text {purpose}`) and pass --text-version"
            f" {found.version}, or run this command in a terminal to show it and ask.",
            code="consent_text_missing",
        )
    console.print(found.text("zh"), highlight=False, markup=False)
    console.print(found.text("en"), highlight=False, markup=False)
    if not typer.confirm(
        f"Has the subject read this text (version {found.version}) and agreed?", default=False
    ):
        raise ConsentError("The subject did not agree: no consent was recorded.")
    return found.version


@app.command("withdraw")
@handle_errors
def withdraw(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number."),
    purpose: str = typer.Option(..., "--purpose", help=PURPOSE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Withdraw the subject's consent now: scoring stops, the stored score is deleted, and the
    partners whose rewards end are told through the change feed."""
    app = context(ctx)
    answer = consents.withdraw(
        app, identifier, purpose, channel="cli", after_merge=after_merge(app), by="cli"
    )
    if as_json:
        print_json(answer)
        return
    _print(answer, "withdrawn")
    console.print(f"Stored score rows deleted: {answer['stored_rows_deleted']}.")


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Every consent the subject gave, in force or withdrawn, newest first."""
    app = context(ctx)
    key = subject_key(app.secret, parse_subject(identifier).identifier)
    with app.store.transaction() as conn:
        found = [c.as_dict() for c in consents.history(conn, key)]
    if as_json:
        print_json({"consents": found})
        return
    if not found:
        console.print("No consent was ever given.")
    for c in found:
        state = "in force" if c["in_force"] else f"withdrawn {c['withdrawn_at']}"
        console.print(
            f"{c['purpose']}: given {c['given_at']} ({c['channel']}, text {c['text_version']});"
            f" {state}",
            highlight=False,
        )
