"""The embedded engine: the plan runs as it is written, inside the DuckDB ledger file."""

from __future__ import annotations

from xinyong.engines.base import SqlEngine


class EmbeddedEngine(SqlEngine):
    name = "embedded"
    dialect = "duckdb"
