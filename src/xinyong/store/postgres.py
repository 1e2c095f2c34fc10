"""The production store: PostgreSQL by URL (XINYONG_DATABASE_URL), same behaviour."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xinyong.errors import StoreError
from xinyong.settings import Settings
from xinyong.store.base import Connection, Store

_MIGRATION_LOCK = 7_263_451  # advisory lock id: one migrator at a time


class PgConnection(Connection):
    def __init__(self, con: psycopg.Connection[Any]) -> None:
        self.con = con
        self._columns: list[str] = []

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        if params is not None:
            sql = sql.replace("%", "%%").replace("?", "%s")
        cur = self.con.execute(sql, list(params) if params is not None else None)
        self._columns = [d.name for d in cur.description] if cur.description else []
        return cur.fetchall() if cur.description else []

    def columns(self) -> list[str]:
        return self._columns

    def stream(
        self, sql: str, params: Sequence[Any] | None = None, size: int = 10_000
    ) -> Iterator[tuple[Any, ...]]:
        if params is not None:
            sql = sql.replace("%", "%%").replace("?", "%s")
        # A named (server-side) cursor sends rows as they are read, not all at once.
        with self.con.cursor(name="xinyong_stream") as cur:
            cur.itersize = size
            cur.execute(sql, list(params) if params is not None else None)
            yield from cur


class PostgresStore(Store):
    name = "postgres"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        assert settings.database_url
        self.url = settings.database_url

    def describe(self) -> str:
        return "postgres (" + self.url.split("@")[-1] + ")"

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self.url, autocommit=False, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"Cannot connect to PostgreSQL at {self.describe()}: {str(exc).strip()}",
                hint="Check XINYONG_DATABASE_URL and that the server is running.",
            ) from None

    def _before_migrations(self, conn: Connection) -> None:
        conn.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        con = self._connect()
        try:
            try:
                yield PgConnection(con)
            except BaseException:
                con.rollback()
                raise
            con.commit()
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
        assert isinstance(conn, PgConnection)
        defs = ", ".join(f"{c} {t}" for c, t in columns.items())
        conn.execute(f"CREATE TEMP TABLE {table} ({defs}) ON COMMIT DROP")
        names = list(columns)
        with conn.con.cursor().copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
            for path in files:
                read = [*names, "reason"] if accepted_only else names
                for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000, columns=read):
                    if accepted_only:
                        batch = batch.filter(pc.is_null(batch.column("reason")))
                    cols = [batch.column(n).to_pylist() for n in names]
                    for row in zip(*cols, strict=True):
                        copy.write_row(row)
        conn.execute(f"ANALYZE {table}")

    def export_parquet(self, conn: Connection, sql: str, path: Path, schema: pa.Schema) -> int:
        assert isinstance(conn, PgConnection)
        rows = 0
        with (
            conn.con.cursor(name="export") as cur,  # server-side: streams in bounded memory
            pq.ParquetWriter(path, schema) as writer,
        ):
            cur.itersize = 50_000
            cur.execute(sql)
            while batch := cur.fetchmany(50_000):
                columns = list(zip(*batch, strict=True))
                writer.write_table(
                    pa.table(
                        [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)],
                        schema=schema,
                    )
                )
                rows += len(batch)
        return rows

    def lock_for_merge(self, conn: Connection) -> None:
        conn.execute("LOCK TABLE records IN EXCLUSIVE MODE")

    def xor_digest_sql(self, column: str) -> str:
        return f"bit_xor(('x' || substr({column}, 1, 16))::bit(64)::bigint)"

    def sha256_hex_sql(self, expr: str) -> str:
        return f"encode(sha256(convert_to({expr}, 'UTF8')), 'hex')"
