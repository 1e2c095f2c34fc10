"""`xinyong report`: reports over the evaluated state, and the check of a signed credit
report."""

from __future__ import annotations

from pathlib import Path

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.markup import escape
from rich.table import Table

from xinyong import signing
from xinyong.cli.output import console, err_console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.errors import FileFormatError
from xinyong.evaluation.equality import equality_report

app = typer.Typer(
    help="Reports over the evaluated credit state, and the check of a signed credit report.",
    no_args_is_help=True,
)


@app.command("equality")
@handle_errors
def equality(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Listing and measure rates by subject kind, by ownership (from registry records) and
    by region, with counts, so that uneven enforcement shows."""
    report = equality_report(context(ctx))
    if as_json:
        print_json(report)
        return
    console.print(f"Equality report: {report['policy']}, state as of {report['as_of']}")
    for name in ("kind", "ownership", "region"):
        table = Table(title=f"By {name}", title_justify="left")
        table.add_column(name)
        for c in ("subjects", "black-listed", "red-listed", "restricted", "rewarded"):
            table.add_column(c, justify="right")
        for r in report[f"by_{name}"]:
            label = f"{r['grp']} {r.get('label', '')}".strip()
            if name != "kind" and "kind" in r:  # persons and organisations in separate rows
                label = f"{r['kind']}: {label}"
            cells = [
                f"{r[c]:,} ({r[c + '_rate']:.2%})"
                for c in ("black_listed", "red_listed", "restricted", "rewarded")
            ]
            table.add_row(label, f"{r['subjects']:,}", *cells)
        console.print(table)


@app.command("verify")
@handle_errors
def verify(
    ctx: typer.Context,
    file: Path = typer.Argument(
        ..., help="The credit report (PDF) exactly as it was received.", show_default=False
    ),
    keys: list[Path] = typer.Option(
        [],
        "--key",
        help="The issuer's public key (PEM), as its portal publishes it at /report/key "
        "(repeatable, for reports signed under an earlier key). Default: this deployment's "
        "own key, from the data directory.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the outcome as JSON."),
) -> None:
    """Check that a signed credit report was issued by the key's holder and is unchanged.

    A report carries an Ed25519 signature after its final %%EOF, over every byte before
    it; a change of any byte, a cut or anything appended fails. Exits 0 when the report is
    valid, 1 when it is not, and 2 when it cannot be checked (no file, no key).

    Examples:

      xinyong report verify credit-report.pdf            (on the issuing deployment)

      xinyong report verify credit-report.pdf --key xinyong-report-key.pem"""
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise FileFormatError(
            f"Cannot read {file}: {exc.strerror}.", hint="Pass the path of the report's PDF file."
        ) from None
    result = signing.verify(data, _public_keys(ctx, keys))
    if as_json:
        print_json(
            {
                "file": str(file),
                "valid": result.valid,
                "code": result.code,
                "reason": result.reason,
                "key_id": result.key_id,
                "issued_at": result.issued_at.isoformat() if result.issued_at else None,
            }
        )
    elif result.valid:
        assert result.issued_at is not None
        console.print(
            f"[bold green]valid[/]: {escape(str(file))} was signed with key {result.key_id} "
            f"at {result.issued_at.isoformat()} and is unchanged since.",
            highlight=False,
        )
    else:
        err_console.print(
            f"[bold red]not valid[/] [dim]({result.code})[/]: {escape(str(file))}: "
            f"{escape(result.reason)}",
            highlight=False,
        )
    if not result.valid:
        raise typer.Exit(1)


def _public_keys(ctx: typer.Context, paths: list[Path]) -> list[Ed25519PublicKey]:
    if not paths:  # on the issuing deployment: its own key, from the data directory
        return [signing.deployment_key(context(ctx).settings.data_dir)]
    return [_public_key(p) for p in paths]


def _public_key(path: Path) -> Ed25519PublicKey:
    try:
        pem = path.read_bytes()
    except OSError as exc:
        raise FileFormatError(
            f"Cannot read the key {path}: {exc.strerror}.",
            hint="Download the issuer's public key from its portal at /report/key.",
            code="key_invalid",
        ) from None
    return signing.load_public_key(pem, str(path))
