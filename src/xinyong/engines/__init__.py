"""Where a compiled policy runs: the embedded DuckDB store, PostgreSQL, or Apache Spark."""

from __future__ import annotations

from xinyong.engines.base import Engine
from xinyong.errors import ConfigurationError

ENGINES = ("embedded", "postgres", "spark")


def get_engine(name: str, store_name: str) -> Engine:
    """The engine called ``name`` for a store; 'embedded' and 'postgres' run inside their store."""
    if name == "spark":
        from xinyong.engines.spark import SparkEngine

        return SparkEngine()
    if name not in ENGINES:
        raise ConfigurationError(
            f"Unknown engine {name!r}.", hint="Use one of " + ", ".join(ENGINES) + "."
        )
    if name != store_name:
        raise ConfigurationError(
            f"The {name} engine runs inside its own store, but this ledger is {store_name}.",
            hint=f"Use --engine {store_name} or --engine spark.",
        )
    if name == "postgres":
        from xinyong.engines.postgres import PostgresEngine

        return PostgresEngine()
    from xinyong.engines.embedded import EmbeddedEngine

    return EmbeddedEngine()


__all__ = ["ENGINES", "Engine", "get_engine"]
