"""`xinyong sources`: register the courts, bureaus and companies that submit records."""

from __future__ import annotations

import typer
from rich.table import Table

from xinyong.cli.output import console, err_console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.ledger.sources import add_source, list_sources

app = typer.Typer(help="Register and list the sources that submit records.", no_args_is_help=True)


@app.command("add")
@handle_errors
def add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name of the source, e.g. 'Beijing Dongcheng Court'."),
    kind: str = typer.Option(
        ..., help="Kind of source: court, tax, market_regulator, lender, rental, ..."
    ),
    source_id: str | None = typer.Option(
        None, "--id", help="Short id used with --source (default: from the name)."
    ),
    category: list[str] = typer.Option(
        [],
        "--category",
        "-c",
        help="Grant only this category (repeatable; default: all the kind may submit).",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the source and its credential as JSON."
    ),
) -> None:
    """Register a source and print its credential (once: only a hash is kept).

    The source may then submit records in the categories of its grant, which by default are
    all the categories the catalogue lets its kind submit.

    Example: xinyong sources add "Beijing Dongcheng Court" --kind court --id bj-dongcheng-court
    """
    app_ctx = context(ctx)
    with app_ctx.store.transaction() as conn:
        source, credential = add_source(
            conn,
            app_ctx.catalog,
            name=name,
            kind=kind,
            source_id=source_id,
            categories=category or None,
        )
    if as_json:
        print_json(
            {
                "source_id": source.source_id,
                "name": source.name,
                "kind": source.kind,
                "categories": list(source.categories),
                "credential": credential,
            }
        )
        return
    console.print(
        f"Registered source [bold]{source.source_id}[/] ({source.kind}) for "
        f"{len(source.categories)} categories."
    )
    console.print(f"Credential: [bold]{credential}[/]")
    err_console.print("[yellow]Store the credential now: it is shown only once.[/]")


@app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """List registered sources and their grants."""
    with context(ctx).store.transaction() as conn:
        sources = list_sources(conn)
    if as_json:
        print_json(
            [
                {
                    "source_id": s.source_id,
                    "name": s.name,
                    "kind": s.kind,
                    "categories": list(s.categories),
                    "active": s.active,
                }
                for s in sources
            ]
        )
        return
    table = Table(title=f"{len(sources)} sources", title_justify="left")
    for col in ("id", "name", "kind", "categories"):
        table.add_column(col, overflow="fold")
    for s in sources:
        table.add_row(s.source_id, s.name, s.kind, ", ".join(s.categories))
    console.print(table)
