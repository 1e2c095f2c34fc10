"""Ingestion into the ledger, on the embedded store and on PostgreSQL (real server)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.factories import COMPANY, PERSON, PERSON_2, record, write_csv, write_jsonl
from xinyong.context import Context
from xinyong.errors import NotFound
from xinyong.ledger.ingest import ingest_file
from xinyong.ledger.queries import ledger_counts, subject_file
from xinyong.ledger.sources import add_source


def _court(ctx: Context, source_id: str = "court") -> str:
    with ctx.store.transaction() as conn:
        add_source(conn, ctx.catalog, name="Test court", kind="court", source_id=source_id)
    return source_id


def _rejects(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_ingest_accepts_rejects_and_is_idempotent(ctx: Context, tmp_path: Path) -> None:
    source = _court(ctx)
    rows = [
        record(source_record_id="a"),
        record(source_record_id="b", subject="110105194912310021"),  # wrong check character
        record(source_record_id="c", subject=COMPANY, details={"situation": 1}),
        record(
            source_record_id="d", category="tax.credit_rating", details={"level": "A", "year": 2025}
        ),
    ]
    path = write_csv(tmp_path / "court.csv", rows)
    first = ingest_file(ctx, path, source)
    assert (first.read, first.accepted, first.duplicates, first.rejected) == (4, 2, 0, 2)
    assert first.rejected_by_reason == {"subject_invalid": 1, "category_not_granted": 1}
    rejects = _rejects(Path(first.rejects_file or ""))
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (3, "subject_invalid"),
        (5, "category_not_granted"),
    ]
    assert "check character" in str(rejects[0]["message"])
    assert rejects[0]["record"]["source_record_id"] == "b"

    second = ingest_file(ctx, path, source)
    assert (second.accepted, second.duplicates, second.rejected) == (0, 2, 2)
    with ctx.store.transaction() as conn:
        assert ledger_counts(conn)["records"] == 2
        assert ledger_counts(conn)["submissions"] == 2


def test_same_records_from_another_format_are_duplicates(ctx: Context, tmp_path: Path) -> None:
    source = _court(ctx)
    rows = [
        record(source_record_id="a", amount="10.5", details={"term_months": 24, "situation": 2})
    ]
    ingest_file(ctx, write_csv(tmp_path / "a.csv", rows), source)
    again = [
        record(source_record_id="a", amount=10.50, details={"situation": "2", "term_months": "24"})
    ]
    report = ingest_file(ctx, write_jsonl(tmp_path / "a.jsonl", again), source)
    assert (report.accepted, report.duplicates, report.rejected) == (0, 1, 0)


def test_changed_content_is_a_conflict_unless_corrected(ctx: Context, tmp_path: Path) -> None:
    source = _court(ctx)
    ingest_file(ctx, write_jsonl(tmp_path / "1.jsonl", [record(source_record_id="a")]), source)
    changed = [record(source_record_id="a", details={"situation": 3, "term_months": 24})]
    report = ingest_file(ctx, write_jsonl(tmp_path / "2.jsonl", changed), source)
    assert report.rejected_by_reason == {"conflict": 1}
    assert "correct" in str(_rejects(Path(report.rejects_file or ""))[0]["message"])

    correction = [
        record(
            source_record_id="a",
            action="correct",
            supersedes="a",
            details={"situation": 3, "term_months": 24},
        )
    ]
    report = ingest_file(ctx, write_jsonl(tmp_path / "3.jsonl", correction), source)
    assert (report.accepted, report.rejected) == (1, 0)
    with ctx.store.transaction() as conn:
        file = subject_file(conn, PERSON, ctx.secret)
    assert [r["details"]["situation"] for r in file["current_records"]] == [3]
    assert [r["status"] for r in file["history"]] == ["superseded", "current"]


def test_correct_and_revoke_supersede_and_history_stays(ctx: Context, tmp_path: Path) -> None:
    source = _court(ctx)
    rows = [
        record(source_record_id="list-1", subject=PERSON),
        record(source_record_id="list-2", subject=PERSON_2),
        # The court listed the wrong person: the correction moves the listing to PERSON_2 ...
        record(source_record_id="fix-1", subject=PERSON_2, action="correct", supersedes="list-1"),
        # ... and revokes its own duplicate listing of PERSON_2.
        record(source_record_id="rev-2", subject=PERSON_2, action="revoke", supersedes="list-2"),
        record(source_record_id="bad", action="revoke", supersedes="never-sent"),
    ]
    report = ingest_file(ctx, write_jsonl(tmp_path / "c.jsonl", rows), source)
    assert (report.accepted, report.rejected) == (4, 1)
    assert report.rejected_by_reason == {"supersedes_unknown": 1}
    secret = ctx.secret
    with ctx.store.transaction() as conn:
        first = subject_file(conn, PERSON, secret)
        second = subject_file(conn, PERSON_2, secret)
    assert first["current_records"] == []
    assert [r["status"] for r in first["history"]] == ["superseded"]
    assert [r["source_record_id"] for r in second["current_records"]] == ["fix-1"]
    assert {r["status"] for r in second["history"]} == {"superseded", "current", "revocation"}


def test_duplicate_rows_within_one_file(ctx: Context, tmp_path: Path) -> None:
    source = _court(ctx)
    rows = [
        record(source_record_id="a"),
        record(source_record_id="a"),
        record(source_record_id="a", details={"situation": 4, "term_months": 24}),
    ]
    report = ingest_file(ctx, write_jsonl(tmp_path / "d.jsonl", rows), source)
    assert (report.accepted, report.duplicates, report.rejected) == (1, 1, 1)
    assert report.rejected_by_reason == {"conflict": 1}


def test_identifiers_are_stored_once_and_roles_are_keys(ctx: Context, tmp_path: Path) -> None:
    with ctx.store.transaction() as conn:
        add_source(conn, ctx.catalog, name="Registry", kind="market_regulator", source_id="amr")
    reg = record(
        source_record_id="reg-1",
        subject=COMPANY,
        category="administrative.registration",
        details={
            "name": "北京示例科技有限公司",
            "legal_representative": PERSON,
            "ownership": "private",
        },
    )
    report = ingest_file(ctx, write_jsonl(tmp_path / "r.jsonl", [reg]), "amr")
    assert report.accepted == 1
    with ctx.store.transaction() as conn:
        subjects = dict(conn.execute("SELECT identifier, kind FROM subjects"))
        details = conn.scalar("SELECT details FROM records")
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                " AND table_type = 'BASE TABLE'"
            )
        ]
        # No identifier appears in any table but `subjects`.
        for table in tables:
            if table == "subjects":
                continue
            for row in conn.execute(f"SELECT * FROM {table}"):
                text = " ".join(str(v) for v in row)
                assert PERSON not in text and COMPANY not in text, table
    assert subjects == {COMPANY: "organisation", PERSON: "person"}
    assert orjson.loads(details)["legal_representative"] != PERSON
    assert len(orjson.loads(details)["legal_representative"]) == 32


def test_rejects_file_is_removed_when_a_rerun_has_none(ctx: Context, tmp_path: Path) -> None:
    source = _court(ctx)
    path = tmp_path / "x.jsonl"
    write_jsonl(path, [record(source_record_id="a", occurred_on="2999-01-01")])
    report = ingest_file(ctx, path, source)
    assert report.rejected_by_reason == {"occurred_on_future": 1}
    write_jsonl(path, [record(source_record_id="a")])
    report = ingest_file(ctx, path, source)
    assert report.rejects_file is None
    assert not (tmp_path / "x.rejects.jsonl").exists()


def test_unknown_source_is_refused_before_reading(ctx: Context, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "x.jsonl", [record()])
    with pytest.raises(NotFound, match="No source"):
        ingest_file(ctx, path, "nobody")


def test_parquet_ingest(ctx: Context, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = _court(ctx)
    table = pa.table(
        {
            "source_record_id": ["p1", "p2"],
            "subject": [PERSON, "bad"],
            "category": ["judicial.defaulter.listed"] * 2,
            "occurred_on": pa.array([pa.scalar(20000, pa.date32()).as_py()] * 2, pa.date32()),
            "amount": [100.25, 3.0],
            "details": [{"situation": 2, "term_months": 24}, {"situation": 1, "term_months": None}],
        }
    )
    pq.write_table(table, tmp_path / "p.parquet")
    report = ingest_file(ctx, tmp_path / "p.parquet", source)
    assert (report.accepted, report.rejected) == (1, 1)
    assert report.rejected_by_reason == {"subject_invalid": 1}
    with ctx.store.transaction() as conn:
        assert str(conn.scalar("SELECT amount FROM records")) == "100.25"


def test_details_nested_too_deep_are_rejected_not_a_crash(ctx: Context, tmp_path: Path) -> None:
    """A probe sent details nested 254 levels deep: the rejects file could not be written
    (orjson writes at most 254 levels) and the command ended in a traceback."""
    source = _court(ctx)
    deep = '{"a": ' * 254 + "1" + "}" * 254
    line = orjson.dumps(record(source_record_id="deep")).decode()
    line = line.replace('"details":{', f'"details":{{"nested": {deep}, ', 1)
    path = tmp_path / "deep.jsonl"
    path.write_text(line + "\n")
    report = ingest_file(ctx, path, source)
    assert (report.accepted, report.rejected) == (0, 1)
    rejects = _rejects(Path(report.rejects_file or ""))
    assert rejects[0]["record"]["source_record_id"] == "deep"
