"""`xinyong score`: the commercial score of one subject, and the model behind it."""

from __future__ import annotations

from typing import Any

import typer

from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.ids import parse_subject, subject_key
from xinyong.score.standing import standing

app = typer.Typer(
    help="The commercial score: a subject's score and reasons, the model card, training and"
    " the fairness audit.",
    no_args_is_help=True,
)


def print_standing(entry: dict[str, Any]) -> None:
    if entry["points"] is None:
        console.print(f"{entry['label']}: none. {entry['none']['message']}", highlight=False)
        return
    low, high = entry["range"] or ("", "")
    console.print(
        f"[bold]{entry['label']}: {entry['points']}[/] ({low} to {high}; {entry['grade_label']})"
        f", as of {entry['evaluated_as_of']}, holds until {entry['valid_until'] or 'changed'}.",
        highlight=False,
    )
    if not entry["reasons"]:
        console.print("Nothing costs it points: every feature is at its best.")
    for n, r in enumerate(entry["reasons"], 1):
        console.print(f"{n}. {r['label']} (-{r['points_lost']} points)", highlight=False)
        if r["raise_by"]:
            console.print(f"   What would raise it: {r['raise_by']}", highlight=False)


@app.command("show")
@handle_errors
def show(
    ctx: typer.Context,
    identifier: str = typer.Argument(..., help="The subject's identity number."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """The subject's commercial score with up to four reasons (the features that cost it
    most against their best), each with what would raise it; or why there is none."""
    app = context(ctx)
    parsed = parse_subject(identifier)
    key = subject_key(app.secret, parsed.identifier)
    with app.store.transaction() as conn:
        row = conn.dicts("SELECT kind, birth_date FROM subjects WHERE subject_key = ?", [key])
        found = standing(
            conn,
            app.policy,
            key,
            kind=row[0]["kind"] if row else None,
            birth_date=row[0]["birth_date"] if row else None,
        )
    if as_json:
        print_json({"scores": found})
        return
    for entry in found:
        print_standing(entry)
