"""The per-invocation Context, built from global options and XINYONG_* variables."""

from __future__ import annotations

from pathlib import Path

import typer

from xinyong.context import Context, settings_or_explain


def context(ctx: typer.Context) -> Context:
    """The invocation's Context, made on first use from the global options: a command's
    --help works whatever the settings, and a bad setting fails inside the command, where
    it becomes one message and exit 2."""
    root = ctx.find_root()
    if isinstance(root.obj, Context):
        return root.obj
    if not isinstance(root.obj, dict):
        raise RuntimeError("xinyong's main callback did not run")
    data_dir: Path | None = root.obj.get("data_dir")
    root.obj = Context(
        settings_or_explain(data_dir=data_dir, database_url=root.obj.get("database_url"))
    )
    return root.obj
