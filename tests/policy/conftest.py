"""Small hand-made ledgers for policy and decision tests, built through the real ingest path.

``Ledger`` registers one source per kind on first use (court, market regulator, lender,
honours office, tax, financial regulator), writes the records it is given as a JSONL file,
ingests it with ``ingest_file`` (every record must be accepted), and reads the stored
outputs of an evaluation run back (``Run``, read in one transaction) by subject identifier.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from stdnum.cn import ric

from tests.factories import record, write_jsonl
from xinyong.context import Context
from xinyong.evaluation.batch import evaluate
from xinyong.evaluation.incremental import after_merge
from xinyong.ids import subject_key
from xinyong.ids.uscc import check_character
from xinyong.ledger.ingest import IngestReport, ingest_file
from xinyong.ledger.sources import add_source
from xinyong.state.runs import TABLES

# Source kind -> the id the test ledger registers it under.
SOURCES = {
    "court": "court",
    "market_regulator": "amr",
    "lender": "bank",
    "honours_office": "honours",
    "tax": "tax",
    "financial_regulator": "finreg",
}

AS_OF = dt.date(2026, 6, 30)

# Stored table -> the column that says whose row it is.
OWNERS = dict(TABLES.values())


def resident(born: dt.date, seq: int = 1, region: str = "110105") -> str:
    """A valid resident identity number for a person born on ``born``."""
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def credit_code(tail: str, prefix: str = "91") -> str:
    """A valid unified social credit code; prefix "11" makes a government agency."""
    body = prefix + "110105" + tail
    assert len(body) == 17, body
    return body + check_character(body)


def rec(
    srid: str,
    subject: str,
    category: str,
    on: dt.date,
    *,
    document: str | None = None,
    action: str | None = None,
    supersedes: str | None = None,
    **details: Any,
) -> dict[str, Any]:
    """One record as a source would submit it."""
    return record(
        source_record_id=srid,
        subject=subject,
        category=category,
        occurred_on=on.isoformat(),
        document=document,
        details=details,
        action=action,
        supersedes=supersedes,
    )


class Ledger:
    def __init__(self, ctx: Context, directory: Path) -> None:
        self.ctx = ctx
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.files = 0
        self.secret = ctx.secret  # before any transaction: reading it opens one of its own
        self.registered: set[str] = set()

    # -- building the ledger --------------------------------------------------------------

    def source(self, kind: str) -> str:
        source_id = SOURCES[kind]
        if kind not in self.registered:
            with self.ctx.store.transaction() as conn:
                add_source(
                    conn, self.ctx.catalog, name=f"Test {kind}", kind=kind, source_id=source_id
                )
            self.registered.add(kind)
        return source_id

    def add(self, kind: str, *records: dict[str, Any]) -> IngestReport:
        """Ingest ``records`` from the source of ``kind``; every one must be accepted."""
        source_id = self.source(kind)
        self.files += 1
        path = write_jsonl(self.dir / f"{self.files:03d}-{source_id}.jsonl", list(records))
        report = ingest_file(self.ctx, path, source_id, after_merge=after_merge(self.ctx))
        rejects = Path(report.rejects_file).read_text() if report.rejects_file else ""
        assert (report.accepted, report.rejected) == (len(records), 0), rejects
        return report

    # -- reading it back ------------------------------------------------------------------

    def key(self, identifier: str) -> str:
        return subject_key(self.secret, identifier)

    def evaluate(self, as_of: dt.date | None = AS_OF) -> Run:
        """Evaluate the whole ledger (``as_of=None`` makes the current run) and read it."""
        return self.load(evaluate(self.ctx, as_of=as_of).run_id)

    def current(self) -> Run:
        with self.ctx.store.transaction() as conn:
            run_id = conn.scalar("SELECT run_id FROM eval_runs WHERE is_current")
        assert run_id is not None, "no current run"
        return self.load(int(run_id))

    def load(self, run_id: int) -> Run:
        """Every stored output of a run, and the event ids of the records, in one transaction."""
        with self.ctx.store.transaction() as conn:
            tables = {
                table: conn.dicts(f"SELECT * FROM {table} WHERE run_id = ?", [run_id])
                for table, _owner in TABLES.values()
            }
            events = {
                (str(source), str(srid)): int(event)
                for source, srid, event in conn.execute(
                    "SELECT source_id, source_record_id, max(event_id) FROM records"
                    " GROUP BY source_id, source_record_id"
                )
            }
        return Run(run_id, tables, events, self.key)


class Run:
    """The stored outputs of one evaluation run, read by subject identifier."""

    def __init__(
        self,
        run_id: int,
        tables: dict[str, list[dict[str, Any]]],
        events: dict[tuple[str, str], int],
        key: Callable[[str], str],
    ) -> None:
        self.run_id = run_id
        self.tables = tables
        self.events = events
        self.key = key

    def event(self, srid: str, kind: str = "court") -> int:
        """The event id of the newest version of a source's record."""
        return self.events[(SOURCES[kind], srid)]

    def rows(self, table: str, identifier: str, **where: Any) -> list[dict[str, Any]]:
        owner = OWNERS[table]
        key = self.key(identifier)
        return [
            r
            for r in self.tables[table]
            if r[owner] == key and all(r[c] == v for c, v in where.items())
        ]

    def entries(self, identifier: str, list_id: str) -> list[dict[str, Any]]:
        found = self.rows("list_entries", identifier, list_id=list_id)
        return sorted(found, key=lambda e: (e["entered_on"], e["entry_id"]))

    def entry(self, identifier: str, list_id: str) -> dict[str, Any] | None:
        found = self.entries(identifier, list_id)
        assert len(found) <= 1, found
        return found[0] if found else None

    def evidence(self, identifier: str, entry_id: str) -> list[tuple[str, int]]:
        """(role, event id) of the records behind a list entry."""
        rows = self.rows("list_evidence", identifier, entry_id=entry_id)
        return sorted((r["role"], int(r["event_id"])) for r in rows)

    def flags(self, identifier: str) -> list[tuple[int, str, str]]:
        rows = self.rows("record_flags", identifier)
        return sorted((int(f["event_id"]), f["list_id"], f["never_id"]) for f in rows)

    def measures(self, identifier: str) -> list[dict[str, Any]]:
        found = self.rows("active_measures", identifier)
        return sorted(found, key=lambda m: (m["measure_id"], m["trigger_id"], m["role"]))

    def measure_ids(self, identifier: str) -> set[str]:
        return {m["measure_id"] for m in self.measures(identifier)}

    def score(self, identifier: str, score_id: str) -> dict[str, Any] | None:
        found = self.rows("scores", identifier, score_id=score_id)
        assert len(found) <= 1, found
        return found[0] if found else None

    def points(self, identifier: str, score_id: str) -> tuple[int, str] | None:
        """(points, grade) of a subject's score, or None when it has none."""
        found = self.score(identifier, score_id)
        return None if found is None else (int(found["points"]), found["grade"])

    def items(self, identifier: str, score_id: str) -> dict[int, int]:
        """event id -> points of the records that count towards a score."""
        found = self.rows("score_items", identifier, score_id=score_id)
        return {int(i["event_id"]): int(i["points"]) for i in found}

    def snapshot(self, identifiers: list[str] | None = None) -> dict[str, list[tuple[str, ...]]]:
        """Every output row (of these subjects only, if given) without the run id, as sorted
        tuples of text. A link belongs to its organisation and to its person."""
        keys = None if identifiers is None else {self.key(i) for i in identifiers}
        out = {}
        for table, rows in self.tables.items():
            owners = [OWNERS[table]] + (["person_key"] if table == "subject_links" else [])
            out[table] = sorted(
                tuple("" if v is None else str(v) for c, v in r.items() if c != "run_id")
                for r in rows
                if keys is None or any(r[o] in keys for o in owners)
            )
        return out


@pytest.fixture
def ledger(ctx: Context, tmp_path: Path) -> Ledger:
    """A ledger on each store in turn (tests using it run twice)."""
    return Ledger(ctx, tmp_path / "files")


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A database of its own beside the session's, for a ledger that outlives one test."""
    name = f"xinyong_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"{server_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
