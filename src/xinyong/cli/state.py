"""The per-invocation Context, built from global options and XINYONG_* variables."""

from __future__ import annotations

import typer

from xinyong.context import Context


def context(ctx: typer.Context) -> Context:
    root = ctx.find_root()
    if root.obj is None:
        raise RuntimeError("xinyong's main callback did not run")
    return root.obj
