"""`xinyong audit`: verify the hash-chained audit log and the records it vouches for."""

from __future__ import annotations

import typer

from xinyong.audit import verify_chain, verify_records
from xinyong.cli.output import console, err_console, handle_errors, print_json
from xinyong.cli.state import context

app = typer.Typer(help="Verify the audit log.", no_args_is_help=True)


@app.command("verify")
@handle_errors
def verify(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """Check every audit entry's hash and link, and every record against its entry.

    Exits 0 when all is intact and 1 when anything was edited, deleted or reordered,
    naming each entry or record concerned.
    """
    app_ctx = context(ctx)
    with app_ctx.store.transaction() as conn:
        entries, chain = verify_chain(conn)
        records, stored = verify_records(conn, app_ctx.store)
    findings = chain + stored
    if as_json:
        print_json(
            {
                "entries": entries,
                "records": records,
                "intact": not findings,
                "findings": [{"entry": f.seq, "problem": f.problem} for f in findings],
            }
        )
    elif findings:
        for f in findings:
            err_console.print(f"[red]✗[/] {f.problem}", highlight=False)
    else:
        console.print(
            f"[green]✓[/] audit log intact: {entries:,} entries, {records:,} records checked."
        )
    if findings:
        raise typer.Exit(1)
