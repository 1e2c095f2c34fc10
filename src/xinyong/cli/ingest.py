"""`xinyong ingest`: records from files into the ledger."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from xinyong.cli.output import console, err_console, handle_errors, print_json, progress_bar
from xinyong.cli.state import context
from xinyong.ledger.ingest import IngestReport, ingest_file
from xinyong.process.hooks import after_merge


@handle_errors
def ingest(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        ...,
        help="CSV, JSON Lines, Parquet or Excel (.xlsx) files of records.",
        show_default=False,
    ),
    source: str = typer.Option(
        ..., "--source", "-s", help="Id of the registered source submitting them."
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="csv, jsonl, parquet or xlsx (default: from the extension)."
    ),
    sheet: str | None = typer.Option(
        None, "--sheet", help="Excel workbooks: the sheet to read (default: the first)."
    ),
    encoding: str = typer.Option(
        "utf-8", help="Text encoding of CSV and JSON Lines files (e.g. gbk)."
    ),
    rejects: Path | None = typer.Option(
        None, help="Where to write rejected records (default: FILE.rejects.jsonl beside each file)."
    ),
    strict: bool = typer.Option(False, help="Exit with status 1 when any record is rejected."),
    allow_repeat: bool = typer.Option(
        False,
        "--allow-repeat",
        help="Accept a record that repeats the case document of a current record of the same "
        "subject and category under another id (both then count); by default it is rejected.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON."),
) -> None:
    """Validate records and add them to the ledger.

    Every record is accepted, recognised as a duplicate of one already in the ledger, or
    rejected with a reason; rejected records go to a rejects file with their line number.
    Re-running the same file adds nothing. The exit status is 0 unless the files could not
    be read at all (or, with --strict, when anything was rejected).

    Example: xinyong ingest court-2026-11.csv --source beijing-court
    """
    if rejects is not None and len(files) > 1:
        raise typer.BadParameter("--rejects names one file; with several inputs each gets its own.")
    app = context(ctx)
    reports: list[IngestReport] = []
    for path in files:
        with progress_bar(f"Ingesting {path.name}", enabled=not as_json) as update:
            report = ingest_file(
                app,
                path,
                source,
                fmt=fmt,
                sheet=sheet,
                encoding=encoding,
                rejects_path=rejects,
                progress=update,
                after_merge=after_merge(app),
                allow_repeat=allow_repeat,
            )
        reports.append(report)
        if not as_json:
            _print_report(report)
    if as_json:
        print_json([r.to_dict() for r in reports])
    if strict and any(r.rejected for r in reports):
        raise typer.Exit(1)


def _print_report(report: IngestReport) -> None:
    table = Table(
        title=f"{report.file} ({report.format}) from {report.source_id}",
        title_justify="left",
        show_header=False,
        box=None,
        pad_edge=False,
    )
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("read", f"{report.read:,}")
    table.add_row("accepted", f"[green]{report.accepted:,}[/]")
    table.add_row("duplicates (already in the ledger)", f"{report.duplicates:,}")
    table.add_row("rejected", f"[red]{report.rejected:,}[/]" if report.rejected else "0")
    for reason, count in report.rejected_by_reason.items():
        table.add_row(f"  {reason}", f"{count:,}")
    if report.warnings:
        table.add_row("accepted with warnings", f"[yellow]{report.warnings:,}[/]")
        for code, count in report.warnings_by_code.items():
            table.add_row(f"  {code}", f"{count:,}")
    console.print(table)
    if report.rejects_file:
        console.print(
            f"Rejected records, with line numbers and reasons: [bold]{report.rejects_file}[/]"
        )
    if report.warnings_file:
        console.print(f"Records to look at again, with reasons: [bold]{report.warnings_file}[/]")
    rate = report.read / report.seconds if report.seconds else 0
    err_console.print(
        f"[dim]{report.seconds:.2f} s, {rate:,.0f} records/s, submission {report.submission_id}[/]"
    )
