"""The embedded store: one DuckDB file in the data directory, nothing to install or start.

DuckDB lets one process at a time open a file. Every command therefore holds the file
only for one short transaction (ingestion validates and spools outside it, then merges in
one transaction), and waits, with backoff, while another process holds it. That is how
`xinyong ingest` and `xinyong serve` share one data directory.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from xinyong.errors import StoreBusy, StoreError
from xinyong.settings import Settings
from xinyong.sql import literal
from xinyong.store.base import Connection, Store

FILE_NAME = "ledger.duckdb"
_PID = re.compile(r"PID (\d+)")


class DuckConnection(Connection):
    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._columns: list[str] = []

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        cur = self.con.execute(sql, list(params) if params is not None else None)
        self._columns = [d[0] for d in cur.description] if cur.description else []
        return cur.fetchall() if cur.description else []

    def columns(self) -> list[str]:
        return self._columns

    def stream(
        self, sql: str, params: Sequence[Any] | None = None, size: int = 10_000
    ) -> Iterator[tuple[Any, ...]]:
        cur = self.con.execute(sql, list(params) if params is not None else None)
        while rows := cur.fetchmany(size):
            yield from rows


class EmbeddedStore(Store):
    name = "embedded"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.path = Path(settings.data_dir) / FILE_NAME

    def describe(self) -> str:
        return f"embedded ({self.path})"

    def _open(self) -> duckdb.DuckDBPyConnection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.settings.lock_timeout
        delay = 0.005
        while True:
            try:
                con = duckdb.connect(
                    str(self.path),
                    config={"threads": 2, "memory_limit": self.settings.memory_limit},
                )
                # DuckDB draws progress on stdout, which would corrupt --json output.
                con.execute("SET enable_progress_bar = false")
                return con
            except duckdb.IOException as exc:
                text = str(exc)
                if "lock" not in text.lower():
                    raise StoreError(f"Cannot open the ledger {self.path}: {text}") from None
                if time.monotonic() > deadline:
                    holder = _PID.search(text)
                    who = f"process {holder.group(1)}" if holder else "another process"
                    raise StoreBusy(
                        f"The ledger {self.path} has been held by {who} for over "
                        f"{self.settings.lock_timeout:g} s.",
                        hint="Wait for that command to finish, or raise XINYONG_LOCK_TIMEOUT.",
                    ) from None
                # Jitter keeps several waiting processes from retrying in lock-step.
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.1)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        con = self._open()
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield DuckConnection(con)
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def load_staged(
        self,
        conn: Connection,
        table: str,
        files: list[Path],
        columns: dict[str, str],
        *,
        accepted_only: bool = False,
    ) -> None:
        # A view: DuckDB reads the spool's Parquet where each statement needs it, in
        # parallel, without copying the rows into memory first.
        cols = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in columns.items())
        if files:
            paths = "[" + ", ".join(literal(p) for p in files) + "]"
            where = " WHERE reason IS NULL" if accepted_only else ""
            conn.execute(
                f"CREATE TEMP VIEW {table} AS SELECT {cols} FROM read_parquet({paths}){where}"
            )
        else:
            defs = ", ".join(f"{c} {t}" for c, t in columns.items())
            conn.execute(f"CREATE TEMP TABLE {table} ({defs})")

    def export_parquet(self, conn: Connection, sql: str, path: Path, schema: pa.Schema) -> int:
        conn.execute(f"COPY ({sql}) TO {literal(path)} (FORMAT parquet)")
        return int(pq.ParquetFile(path).metadata.num_rows)

    def lock_for_merge(self, conn: Connection) -> None:
        """The file lock already makes this process the only writer."""

    def xor_digest_sql(self, column: str) -> str:
        # Python masks the result to 64 bits, so the unsigned value is fine here.
        return f"bit_xor(CAST(('0x' || substr({column}, 1, 16)) AS UBIGINT))"

    def sha256_hex_sql(self, expr: str) -> str:
        return f"sha256({expr})"
