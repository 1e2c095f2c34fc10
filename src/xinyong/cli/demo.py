"""`xinyong demo`: a synthetic city generated, ingested through the real path, summarised."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from xinyong.cli.evaluate import print_summary
from xinyong.cli.output import console, err_console, handle_errors, print_json, progress_bar
from xinyong.cli.state import context
from xinyong.clock import today
from xinyong.demo.load import load_city
from xinyong.ledger.queries import ledger_counts
from xinyong.policy.evaluate import evaluate


@handle_errors
def demo(
    ctx: typer.Context,
    persons: int = typer.Option(100_000, min=10, help="Persons living in the city."),
    orgs: int = typer.Option(10_000, min=1, help="Companies and other organisations."),
    agencies: int = typer.Option(50, min=1, help="Government agencies."),
    seed: int = typer.Option(42, help="Random seed: the same seed makes the same city."),
    no_serve: bool = typer.Option(
        False, "--no-serve", help="Stop after ingesting instead of serving the city."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Generate a synthetic city, ingest its records, and evaluate it with the policy.

    The records go through the same validation as any other ingest: a few deliberately
    malformed rows show the rejects path. Running it again adds nothing new.
    """
    from xinyong.demo import generate_city

    app = context(ctx)
    out = Path(app.settings.data_dir) / "demo" / f"city-{seed}-{persons}-{orgs}-{agencies}"
    say = (lambda m: None) if as_json else (lambda m: err_console.print(f"[dim]{m}[/]"))
    say(f"Generating the city into {out} ...")
    city = generate_city(
        out,
        persons=persons,
        orgs=orgs,
        agencies=agencies,
        seed=seed,
        today=today(app.settings.timezone),
        progress=say,
    )
    reports = load_city(app, city, progress=lambda label: progress_bar(label, enabled=not as_json))
    say("Evaluating the city with " + app.policy.label + " ...")
    evaluation = evaluate(app)
    with app.store.transaction() as conn:
        counts = ledger_counts(conn)
        # A person listed today, so that `decide` shows a deny with its reasons.
        sample = conn.one(
            "SELECT s.identifier FROM list_entries e JOIN eval_runs r ON r.run_id = e.run_id"
            " JOIN subjects s ON s.subject_key = e.subject_key"
            " WHERE r.is_current AND e.list_id = 'judicial_defaulters' AND s.kind = 'person'"
            " ORDER BY CASE e.status WHEN 'active' THEN 0 ELSE 1 END, e.entry_id LIMIT 1"
        )
    summary = {
        "city": {
            "persons": city.persons,
            "organisations": city.organisations,
            "agencies": city.agencies,
            "records_generated": city.records,
            "deliberately_malformed": city.bad_rows,
        },
        "ingested": [r.to_dict() for r in reports],
        "ledger": counts,
        "store": app.store.describe(),
        "example_subject": sample[0] if sample else None,
        "evaluation": evaluation.as_dict(),
    }
    if as_json:
        print_json(summary)
        return
    table = Table(title="Demo city ingested", title_justify="left")
    for col in ("source", "read", "accepted", "duplicates", "rejected"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for r in reports:
        table.add_row(
            r.source_id,
            f"{r.read:,}",
            f"{r.accepted:,}",
            f"{r.duplicates:,}",
            f"[red]{r.rejected:,}[/]" if r.rejected else "0",
        )
    console.print(table)
    console.print(
        f"{city.persons:,} persons, {city.organisations:,} organisations, {city.agencies:,} agencies; "
        f"ledger: {counts['records']:,} records about {counts['subjects']:,} subjects "
        f"in {app.store.describe()}."
    )
    for r in reports:
        if r.rejects_file:
            console.print(f"Rejected rows of {r.source_id}: {r.rejects_file}")
    print_summary(evaluation)
    if sample:
        console.print(f"Try: [bold]xinyong subject show {sample[0]}[/]")
        console.print(f"     [bold]xinyong decide {sample[0]} flight.ticket.purchase[/]")
    if not no_serve:
        err_console.print(
            "[dim]Serving arrives with the decision service; nothing to serve yet.[/]"
        )
