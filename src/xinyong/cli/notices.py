"""`xinyong notices`: what each subject was told, and its delivery."""

from __future__ import annotations

import typer
from rich.table import Table

from xinyong.cli.output import console, handle_errors, print_json
from xinyong.cli.state import context
from xinyong.ids import parse_subject, subject_key
from xinyong.process import channels, notices

app = typer.Typer(help="Notices to subjects: list them, deliver them.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_(
    ctx: typer.Context,
    subject: str | None = typer.Option(None, "--subject", help="Only this subject's notices."),
    english: bool = typer.Option(False, "--english", help="Show the English text."),
    limit: int = typer.Option(100, min=1, help="At most this many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON (both languages)."),
) -> None:
    """List notices, newest first: what happened, in Chinese (or --english), and how each
    was delivered."""
    app_ctx = context(ctx)
    key = subject_key(app_ctx.secret, parse_subject(subject).identifier) if subject else None
    with app_ctx.store.transaction() as conn:
        found = notices.listing(conn, key, limit)
    for n in found:
        n.pop("subject_key")
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("No notices.")
        return
    lang = "en" if english else "zh"
    table = Table(title=f"Notices ({len(found)})", title_justify="left", show_lines=True)
    for col in ("id", "day", "notice", "delivery"):
        table.add_column(col, overflow="fold")
    for n in found:
        body = n["body"]
        table.add_row(
            str(n["notice_id"]),
            n["created_on"],
            f"[bold]{body['title'][lang]}[/]\n{body['text'][lang]}",
            ", ".join(f"{c}: {s}" for c, s in n["delivery"].items()) or "pending",
        )
    console.print(table)


@app.command("deliver")
@handle_errors
def deliver(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print as JSON.")
) -> None:
    """Send the notices that are due on every channel of XINYONG_NOTICE_CHANNELS (file,
    email, sms), retrying failed ones with growing waits."""
    report = channels.deliver(context(ctx))
    if as_json:
        print_json(report.as_dict())
        return
    console.print(
        f"Delivered {report.delivered:,}, retrying {report.retrying:,}, failed {report.failed:,}."
    )
    for channel, counts in sorted(report.by_channel.items()):
        console.print(f"  {channel}: " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
