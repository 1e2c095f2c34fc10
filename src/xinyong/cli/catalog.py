"""`xinyong catalog`: what may be recorded, by whom, about whom, for how long."""

from __future__ import annotations

import typer
from rich.table import Table

from xinyong.catalog.reference import catalog_markdown
from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context

app = typer.Typer(help="Show the credit information catalogue.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_categories(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the whole catalogue as JSON."),
) -> None:
    """List the categories of record, their domain, sources, subjects and publicity."""
    catalog = context(ctx).catalog
    if as_json:
        print_json(catalog.model_dump(by_alias=True))
        return
    table = Table(
        title=f"Catalogue {catalog.version} ({len(catalog.categories)} categories)",
        title_justify="left",
    )
    for col in ("code", "domain", "submitted by", "about", "publicity", "required details"):
        table.add_column(col, overflow="fold")
    for c in catalog.categories.values():
        required = [n for n, f in c.details.items() if f.required]
        table.add_row(
            c.code,
            c.domain,
            ", ".join(c.source_kinds),
            ", ".join(c.subject_kinds),
            f"{c.publicity.class_}, {c.publicity.period_months} months",
            ", ".join(required) or "-",
        )
    console.print(table)


@app.command("doc")
@handle_errors
def doc(ctx: typer.Context) -> None:
    """Print the catalogue reference as Markdown (docs/catalog.md is this output)."""
    typer.echo(catalog_markdown(context(ctx).catalog), nl=False)
