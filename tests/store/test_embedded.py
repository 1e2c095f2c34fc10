"""The embedded store's connections: nothing but our own output may reach stdout."""

from __future__ import annotations

import datetime as dt

from xinyong.catalog import load_catalog
from xinyong.context import Context
from xinyong.ledger.validate import Grant, Validator
from xinyong.store.embedded import DuckConnection, EmbeddedStore


def test_duckdb_progress_bars_are_off_everywhere(embedded_ctx: Context) -> None:
    # DuckDB draws a progress bar on stdout for queries over two seconds, which once broke
    # `xinyong ingest --json` on large files.
    store = embedded_ctx.store
    assert isinstance(store, EmbeddedStore)
    with store.transaction() as conn:
        assert isinstance(conn, DuckConnection)
        assert conn.scalar("SELECT current_setting('enable_progress_bar')") is False
    catalog = load_catalog()
    validator = Validator(catalog, Grant("court", frozenset()), b"s", dt.date(2026, 11, 23))
    assert validator.con.execute("SELECT current_setting('enable_progress_bar')").fetchall() == [
        (False,)
    ]
