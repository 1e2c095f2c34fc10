"""What every store offers: connections with migrations applied, and transactions.

Ledger logic (ledger/, audit/) writes portable SQL with ``?`` placeholders against a
``Connection``; each store supplies the connection, the staging of a spool and the few
dialect differences.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from xinyong.settings import Settings


class Connection(abc.ABC):
    """A thin adapter so that ledger code runs the same SQL on every store."""

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]: ...

    def one(self, sql: str, params: Sequence[Any] | None = None) -> tuple[Any, ...] | None:
        rows = self.execute(sql, params)
        return rows[0] if rows else None

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        row = self.one(sql, params)
        return row[0] if row else None

    def dicts(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        rows = self.execute(sql, params)
        return [dict(zip(self.columns(), row, strict=True)) for row in rows]

    @abc.abstractmethod
    def columns(self) -> list[str]: ...

    def stream(
        self, sql: str, params: Sequence[Any] | None = None, size: int = 10_000
    ) -> Iterator[tuple[Any, ...]]:
        """Rows one at a time, fetched ``size`` at a time (for results too big to hold)."""
        yield from self.execute(sql, params)


class Store(abc.ABC):
    name: str  # "embedded" or "postgres"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._migrated = False

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A connection inside one transaction: committed on success, rolled back on error.

        The first one of a process brings the schema up to date, in a transaction of its
        own, so that a command opening a second transaction cannot wait on itself."""
        if not self._migrated:
            with self._transaction() as conn:
                self._before_migrations(conn)
                apply_migrations(conn, self.name)
            self._migrated = True
        with self._transaction() as conn:
            yield conn

    @abc.abstractmethod
    @contextmanager
    def _transaction(self) -> Iterator[Connection]: ...

    def _before_migrations(self, conn: Connection) -> None:  # noqa: B027 (a hook; most stores need nothing)
        """Serialise migrators where the store needs it."""

    @abc.abstractmethod
    def load_staged(
        self,
        conn: Connection,
        table: str,
        files: list[Path],
        columns: dict[str, str],
        *,
        accepted_only: bool = False,
    ) -> None:
        """Create temporary ``table`` (column -> SQL type) from the spool's Parquet ``files``;
        with ``accepted_only``, only their rows with no rejection ``reason``."""

    @abc.abstractmethod
    def export_parquet(self, conn: Connection, sql: str, path: Path, schema: Any) -> int:
        """Write the rows of ``sql`` (columns as ``schema``, a pyarrow schema) to one Parquet
        file; return how many there were."""

    @abc.abstractmethod
    def lock_for_merge(self, conn: Connection) -> None:
        """Serialise merges so that event ids and duplicate checks stay exact."""

    @abc.abstractmethod
    def xor_digest_sql(self, column: str) -> str:
        """SQL aggregate: XOR of the first 64 bits of a hex hash column, as an integer."""

    @abc.abstractmethod
    def sha256_hex_sql(self, expr: str) -> str: ...

    def describe(self) -> str:
        return self.name


def migrations_for(store: str) -> list[tuple[int, str, str]]:
    """(number, name, sql) of the portable migrations plus the store's own, in order."""
    root = resources.files("xinyong.store").joinpath("migrations")
    found: list[tuple[int, str, str]] = []
    for folder in (root, root.joinpath(store)):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if entry.name.endswith(".sql"):
                number = int(entry.name.split("_", 1)[0])
                found.append((number, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def split_sql(script: str) -> list[str]:
    """Statements of a migration file (no semicolons inside literals in our migrations)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def apply_migrations(conn: Connection, store: str) -> int:
    """Apply what is missing; return the schema version. Caller holds the write lock."""
    has_meta = conn.scalar(
        "SELECT count(*) FROM information_schema.tables"
        " WHERE table_name = 'meta' AND table_schema = current_schema()"
    )
    version = 0
    if has_meta:
        found = conn.scalar("SELECT value FROM meta WHERE key = 'schema_version'")
        version = int(found) if found is not None else 0
    for number, _name, sql in migrations_for(store):
        if number <= version:
            continue
        for statement in split_sql(sql):
            conn.execute(statement)
        version = number
        set_meta(conn, "schema_version", str(version))
    return version


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )


def get_meta(conn: Connection, key: str) -> str | None:
    return conn.scalar("SELECT value FROM meta WHERE key = ?", [key])
