"""The spool: validated rows written to Parquet outside the store, merged in one transaction.

Validation can take minutes on a large file; holding the store for that long would block
every other process. The spool lets ingestion hold the store only for the merge, and a
killed ingestion leaves only a spool directory, which the next ingestion removes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

_PID_FILE = "owner.pid"  # where spools of earlier versions named their owner


class Spool:
    def __init__(self, data_dir: Path) -> None:
        root = Path(data_dir) / "spool"
        root.mkdir(parents=True, exist_ok=True)
        clean_stale(root)
        self.submission_id = "sub_" + uuid.uuid4().hex[:20]
        # The owner's pid is in the directory's name, made in one step with it: a process
        # killed right after mkdir still leaves a directory that clean_stale can place.
        self.dir = root / f"{self.submission_id}.{os.getpid()}"
        self.dir.mkdir()
        self._parts: dict[str, int] = {}

    def write(self, kind: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        pq.write_table(table, self.part(kind), compression="lz4")

    def part(self, kind: str) -> Path:
        """A fresh path for a part that someone else (DuckDB) writes."""
        n = self._parts.get(kind, 0)
        self._parts[kind] = n + 1
        return self.dir / f"{kind}-{n:05d}.parquet"

    def files(self, kind: str) -> list[Path]:
        return sorted(self.dir.glob(f"{kind}-*.parquet"))

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def clean_stale(root: Path) -> None:
    """Remove spool directories whose ingestion process is gone (killed or crashed): they
    hold raw records, identifiers included, that nothing will ever read."""
    for entry in root.iterdir():
        _name, _dot, owner = entry.name.rpartition(".")
        try:
            pid = int(owner) if owner.isdigit() else int((entry / _PID_FILE).read_text())
        except (OSError, ValueError):
            # An older layout killed before it named its owner: gone if an hour old.
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime > 3600:
                    shutil.rmtree(entry, ignore_errors=True)
            continue
        if not _alive(pid):
            shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
