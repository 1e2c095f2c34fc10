"""How the command line speaks: Rich tables for people, --json for programs, errors once."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from xinyong.errors import XinyongError

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode() + "\n")


def fail(error: XinyongError) -> typer.Exit:
    # Messages are plain text: brackets in them ("[years.2027]") are not markup.
    err_console.print(
        f"[bold red]error[/] [dim]({error.code})[/]: {escape(error.message)}", highlight=False
    )
    if error.hint:
        err_console.print(f"  {escape(error.hint)}", highlight=False)
    return typer.Exit(error.exit_code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn XinyongError into a message and an exit code; let anything else crash loudly."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except XinyongError as exc:
            raise fail(exc) from None

    return wrapper


@contextmanager
def progress_bar(
    description: str, *, enabled: bool = True
) -> Iterator[Callable[[str, int, int, str], None]]:
    """A progress bar on stderr when it is a terminal; a no-op callback otherwise.

    The callback takes (phase, done, total, unit): unit "bytes" shows sizes, "rows" counts."""
    if not enabled or not err_console.is_terminal:
        yield lambda phase, done, total, unit: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[amount]}"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None, amount="")

        def update(phase: str, done: int, total: int, unit: str) -> None:
            if unit == "bytes":
                amount = f"{done / 2**20:,.1f}/{total / 2**20:,.1f} MiB"
            else:
                amount = f"{done:,}/{total:,} {unit}"
            progress.update(
                task,
                description=f"{description}: {phase}",
                completed=done,
                total=total,
                amount=amount,
            )

        yield update
