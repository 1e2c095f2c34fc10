"""One interface for every engine: translate the plan's SQL, provide the inputs, run it.

A plan (policy/compiler.py) is written in DuckDB's dialect; an engine translates it with
sqlglot, never by hand. SQL engines run inside the store's transaction; Spark runs outside
it on an export of the ledger and hands back Parquet files that the store loads.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import sqlglot

from xinyong.policy.compiler import OUTPUTS, Plan
from xinyong.store.base import Connection, Store

# Output column -> SQL type, for loading an engine's files into the store.
OUTPUT_TYPES: dict[str, str] = {
    "event_id": "BIGINT",
    "exit_event_id": "BIGINT",
    "points": "BIGINT",
    "value": "DOUBLE PRECISION",
    "changes_on": "DATE",
    "entered_on": "DATE",
    "ends_on": "DATE",
    "counts_until": "DATE",
    "valid_until": "DATE",
}

# The input relations a plan reads.
RECORD_COLUMNS = "event_id, subject_key, category, occurred_on, amount, document, details"
SUBJECT_COLUMNS = "subject_key, kind, birth_date"


# (phase, done, total, unit), as cli/output.py's progress bar takes it.
Step = Callable[[str, int, int, str], None]


def output_columns(name: str) -> dict[str, str]:
    return {c: OUTPUT_TYPES.get(c, "VARCHAR") for c in OUTPUTS[name]}


@lru_cache(maxsize=4096)
def transpile(sql: str, dialect: str) -> str:
    if dialect == "duckdb":
        return sql
    return sqlglot.transpile(sql, read="duckdb", write=dialect)[0]


class Engine(abc.ABC):
    name: str
    dialect: str

    def translate(self, sql: str) -> str:
        return transpile(sql, self.dialect)

    def prepare(
        self, store: Store, plan: Plan, work_dir: Path, step: Step | None = None
    ) -> dict[str, list[Path]] | None:
        """Work done outside the store's transaction (Spark's whole run); None for SQL engines."""
        return None

    @abc.abstractmethod
    def materialise(
        self,
        store: Store,
        conn: Connection,
        plan: Plan,
        prepared: dict[str, list[Path]] | None,
        scoped: bool,
        step: Step | None = None,
    ) -> None:
        """Leave every ``out_*`` relation of the plan readable on ``conn``."""

    def small_work(self, conn: Connection) -> None:  # noqa: B027 (a hook; most engines need nothing)
        """Tune the session for a plan over a few subjects (incremental evaluation)."""

    def end_small_work(self, conn: Connection) -> None:  # noqa: B027 (a hook)
        """Undo ``small_work``."""

    @abc.abstractmethod
    def cleanup(self, conn: Connection, plan: Plan) -> None:
        """Drop what ``materialise`` left, so that the plan can run again on ``conn``."""


class SqlEngine(Engine):
    """An engine that is also the store: the plan runs as temporary tables in its session."""

    details_sql = "details"

    def __init__(self) -> None:
        self._created: list[tuple[str, str]] = []

    def inputs(self, conn: Connection, scoped: bool) -> None:
        where = " WHERE subject_key IN (SELECT subject_key FROM ev_scope)" if scoped else ""
        columns = RECORD_COLUMNS.replace("details", f"{self.details_sql} AS details")
        if scoped:
            # A few subjects: their rows first, then the current_records test on those rows
            # only; the view's anti-joins would first scan the whole ledger twice.
            conn.execute(
                f"CREATE TEMP VIEW in_records AS SELECT {columns} FROM records r"
                " WHERE r.subject_key IN (SELECT subject_key FROM ev_scope)"
                " AND r.action <> 'revoke' AND NOT EXISTS (SELECT 1 FROM records s"
                " WHERE s.source_id = r.source_id AND s.event_id > r.event_id"
                " AND (s.supersedes = r.source_record_id OR s.source_record_id = r.source_record_id))"
            )
        else:
            conn.execute(f"CREATE TEMP VIEW in_records AS SELECT {columns} FROM current_records")
        conn.execute(
            f"CREATE TEMP VIEW in_subjects AS SELECT {SUBJECT_COLUMNS} FROM subjects{where}"
        )

    def materialise(
        self,
        store: Store,
        conn: Connection,
        plan: Plan,
        prepared: dict[str, list[Path]] | None,
        scoped: bool,
        step: Step | None = None,
    ) -> None:
        self.inputs(conn, scoped)
        for done, stage in enumerate(plan.stages):
            if step:
                step(stage.name, done, len(plan.stages), "stages")
            # Tables, not views, even for a few subjects: later stages read them again
            # (measured: views made incremental evaluation slower).
            kind = "TABLE"
            conn.execute(f"CREATE TEMP {kind} {stage.name} AS {self.translate(stage.sql)}")
            self._created.append((kind, stage.name))

    def cleanup(self, conn: Connection, plan: Plan) -> None:
        for kind, name in reversed(self._created):
            conn.execute(f"DROP {kind} IF EXISTS {name}")
        self._created.clear()
        conn.execute("DROP VIEW IF EXISTS in_records")
        conn.execute("DROP VIEW IF EXISTS in_subjects")
