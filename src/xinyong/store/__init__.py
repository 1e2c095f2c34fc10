"""Where the ledger lives: the embedded DuckDB file (default) or PostgreSQL."""

from __future__ import annotations

from xinyong.settings import Settings
from xinyong.store.base import Connection, Store


def open_store(settings: Settings) -> Store:
    if settings.database_url:
        from xinyong.store.postgres import PostgresStore

        return PostgresStore(settings)
    from xinyong.store.embedded import EmbeddedStore

    return EmbeddedStore(settings)


__all__ = ["Connection", "Store", "open_store"]
