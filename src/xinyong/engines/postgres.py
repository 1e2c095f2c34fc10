"""The PostgreSQL engine: the plan, transpiled by sqlglot, runs inside the database."""

from __future__ import annotations

from xinyong.engines.base import SqlEngine


class PostgresEngine(SqlEngine):
    name = "postgres"
    dialect = "postgres"
    # The ledger keeps details as text; PostgreSQL's JSON functions want the json type.
    details_sql = "CAST(details AS JSON)"
