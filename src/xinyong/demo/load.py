"""Register one demo source per kind and ingest a generated city through the real path."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from xinyong.context import Context
from xinyong.demo.city import CityFiles
from xinyong.ledger.consents import SOURCE_ID
from xinyong.ledger.ingest import IngestReport, ingest_file
from xinyong.ledger.sources import SUBJECT_KIND, add_source, list_sources
from xinyong.process.hooks import after_merge

# Makes a progress callback for one file: (label) -> context manager yielding the callback.
ProgressFactory = Callable[[str], AbstractContextManager[Any]]


def source_id_for(kind: str) -> str:
    if kind == SUBJECT_KIND:  # what the subjects give themselves: the built-in source
        return SOURCE_ID
    return f"demo-{kind.replace('_', '-')}"


def load_city(
    ctx: Context, city: CityFiles, progress: ProgressFactory | None = None
) -> list[IngestReport]:
    """Register the demo sources (once) and ingest every file of the city."""
    with ctx.store.transaction() as conn:
        existing = {s.source_id for s in list_sources(conn)}
        for kind in city.files:
            if source_id_for(kind) not in existing:
                add_source(
                    conn,
                    ctx.catalog,
                    name=f"Demo city {kind.replace('_', ' ')}",
                    kind=kind,
                    source_id=source_id_for(kind),
                    internal=kind == SUBJECT_KIND,
                )
    reports = []
    for kind, path in city.files.items():
        bar = progress(f"Ingesting {path.name}") if progress else nullcontext(None)
        with bar as update:
            reports.append(
                ingest_file(
                    ctx, path, source_id_for(kind), progress=update, after_merge=after_merge(ctx)
                )
            )
    return reports
