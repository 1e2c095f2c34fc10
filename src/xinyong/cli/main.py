"""The `xinyong` command: a thin layer over the same functions the HTTP API calls."""

from __future__ import annotations

from pathlib import Path

import typer

from xinyong import __version__
from xinyong.cli import (
    audit,
    calendar,
    catalog,
    consent,
    notices,
    objections,
    partners,
    policy,
    repair,
    report,
    score,
    sources,
    subject,
)
from xinyong.cli.decide import decide
from xinyong.cli.demo import demo
from xinyong.cli.evaluate import evaluate
from xinyong.cli.ingest import ingest
from xinyong.cli.maintain import maintain
from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.serve import serve
from xinyong.cli.state import context
from xinyong.ledger.queries import ledger_counts

app = typer.Typer(
    name="xinyong",
    help="xinyong: an accountable social credit system. Records from many sources, "
    "explained outcomes, due process built in.\n\nStart with `xinyong demo --no-serve`.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xinyong {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        envvar="XINYONG_DATA_DIR",
        show_envvar=True,
        help="Directory of the embedded store, secret and spool (default: ./xinyong-data).",
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        envvar="XINYONG_DATABASE_URL",
        show_envvar=True,
        help="PostgreSQL URL; when set the ledger lives there instead of the embedded file.",
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    ctx.obj = {"data_dir": data_dir, "database_url": database_url}  # cli.state.context uses them


@app.command()
@handle_errors
def init(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")
) -> None:
    """Create the store (or bring its schema up to date) and the subject-key secret."""
    app_ctx = context(ctx)
    _ = app_ctx.secret  # creates the secret and records its fingerprint
    with app_ctx.store.transaction() as conn:
        counts = ledger_counts(conn)
    if as_json:
        print_json({"store": app_ctx.store.describe(), **counts})
        return
    console.print(f"Ledger ready: {app_ctx.store.describe()}")
    console.print(", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items()))


app.command()(ingest)
app.command()(demo)
app.command()(evaluate)
app.command()(decide)
app.command()(serve)
app.command()(maintain)
app.add_typer(sources.app, name="sources")
app.add_typer(partners.app, name="partners")
app.add_typer(catalog.app, name="catalog")
app.add_typer(subject.app, name="subject")
app.add_typer(audit.app, name="audit")
app.add_typer(policy.app, name="policy")
app.add_typer(report.app, name="report")
app.add_typer(calendar.app, name="calendar")
app.add_typer(objections.app, name="objections")
app.add_typer(notices.app, name="notices")
app.add_typer(repair.app, name="repair")
app.add_typer(consent.app, name="consent")
app.add_typer(score.app, name="score")

if __name__ == "__main__":
    app()
