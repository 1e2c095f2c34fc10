"""The embedded engine: the plan runs as it is written, inside the DuckDB ledger file."""

from __future__ import annotations

from xinyong.engines.base import SqlEngine
from xinyong.store.base import Connection


class EmbeddedEngine(SqlEngine):
    name = "embedded"
    dialect = "duckdb"

    def small_work(self, conn: Connection) -> None:
        """A few subjects: one thread avoids DuckDB's parallel set-up on tiny inputs."""
        conn.execute("SET threads = 1")

    def end_small_work(self, conn: Connection) -> None:
        conn.execute("RESET threads")
