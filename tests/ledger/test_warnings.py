"""Removals that end nothing and records that would count twice are reported to the source,
per record, in the warnings and rejects files, the report and POST /v1/records' answer."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.factories import PERSON, record, write_jsonl
from xinyong.context import Context
from xinyong.ledger.ingest import ingest_file
from xinyong.ledger.sources import add_source
from xinyong.ledger.submit import submit_records

CASE = "(2026)京0105执1234号"


def _court(ctx: Context) -> str:
    with ctx.store.transaction() as conn:
        add_source(conn, ctx.catalog, name="Test court", kind="court", source_id="court")
    return "court"


def _lines(path: str | None) -> list[dict[str, object]]:
    assert path is not None
    return [orjson.loads(line) for line in Path(path).read_bytes().splitlines()]


def _listing(srid: str, document: str = CASE) -> dict[str, object]:
    return record(source_record_id=srid, document=document, details={"situation": 1})


def _removal(srid: str, document: str) -> dict[str, object]:
    return record(
        source_record_id=srid,
        category="judicial.defaulter.delisted",
        document=document,
        details={"reason": "performed"},
    )


def test_a_removal_with_a_mistyped_case_number_is_reported(ctx: Context, tmp_path: Path) -> None:
    court = _court(ctx)
    ingest_file(ctx, write_jsonl(tmp_path / "list.jsonl", [_listing("L1")]), court)
    wrong = "(2026)京0105执1243号"
    path = write_jsonl(tmp_path / "remove.jsonl", [_removal("R1", wrong), _removal("R2", CASE)])
    report = ingest_file(ctx, path, court)
    assert (report.accepted, report.rejected, report.warnings) == (2, 0, 1)
    assert report.warnings_by_code == {"exit_unmatched": 1}
    [warning] = _lines(report.warnings_file)
    assert warning["line"] == 1 and warning["code"] == "exit_unmatched"
    assert warning["source_record_id"] == "R1"
    assert wrong in str(warning["message"]) and CASE in str(warning["message"])
    # Ingesting a clean file again removes the stale warnings file.
    again = ingest_file(ctx, write_jsonl(tmp_path / "remove.jsonl", [_removal("R3", CASE)]), court)
    assert again.warnings == 0 and not (tmp_path / "remove.warnings.jsonl").exists()


def test_a_removal_for_someone_never_listed_says_so(ctx: Context, tmp_path: Path) -> None:
    court = _court(ctx)
    report = ingest_file(ctx, write_jsonl(tmp_path / "r.jsonl", [_removal("R1", CASE)]), court)
    [warning] = _lines(report.warnings_file)
    assert "no current listing" in str(warning["message"])


def test_a_repeated_case_document_is_rejected_unless_allowed(ctx: Context, tmp_path: Path) -> None:
    court = _court(ctx)
    ingest_file(ctx, write_jsonl(tmp_path / "a.jsonl", [_listing("L1")]), court)
    path = write_jsonl(tmp_path / "b.jsonl", [_listing("L2"), _listing("L3", "(2026)京0105执9号")])
    report = ingest_file(ctx, path, court)
    assert (report.accepted, report.rejected) == (1, 1)
    assert report.rejected_by_reason == {"document_repeated": 1}
    [reject] = _lines(report.rejects_file)
    assert reject["reason"] == "document_repeated" and CASE in str(reject["message"])
    # Twice in one file counts too.
    twice = write_jsonl(tmp_path / "c.jsonl", [_listing("L4", "X1"), _listing("L5", "X1")])
    assert ingest_file(ctx, twice, court).rejected_by_reason == {"document_repeated": 1}
    # The deployment may accept it knowingly: then it is a warning, never silent.
    allowed = ingest_file(ctx, path, court, allow_repeat=True)
    assert (allowed.accepted, allowed.rejected, allowed.warnings) == (1, 0, 1)
    assert allowed.warnings_by_code == {"document_repeated": 1}


def test_a_correction_of_the_same_record_is_no_repeat(ctx: Context, tmp_path: Path) -> None:
    court = _court(ctx)
    ingest_file(ctx, write_jsonl(tmp_path / "a.jsonl", [_listing("L1")]), court)
    fix = {**_listing("L1b"), "action": "correct", "supersedes": "L1"}
    report = ingest_file(ctx, write_jsonl(tmp_path / "b.jsonl", [fix]), court)
    assert (report.accepted, report.rejected, report.warnings) == (1, 0, 0)


def test_records_over_http_carry_their_warnings(ctx: Context) -> None:
    court = _court(ctx)
    submit_records(ctx, [_listing("L1")], court)
    answer = submit_records(ctx, [_removal("R1", "nope"), _listing("L2")], court)
    assert answer["warnings"] == 1 and answer["rejected"] == 1
    first, second = answer["results"]
    assert first["status"] == "accepted"
    assert [w["code"] for w in first["warnings"]] == ["exit_unmatched"]
    assert second["status"] == "rejected" and second["reason"] == "document_repeated"
    assert PERSON not in orjson.dumps(answer).decode()


def test_a_revocation_needs_only_what_it_revokes(ctx: Context, tmp_path: Path) -> None:
    court = _court(ctx)
    ingest_file(ctx, write_jsonl(tmp_path / "a.jsonl", [_listing("L1")]), court)
    revoke = {"source_record_id": "X1", "subject": PERSON, "action": "revoke", "supersedes": "L1"}
    report = ingest_file(ctx, write_jsonl(tmp_path / "b.jsonl", [revoke]), court)
    assert (report.accepted, report.rejected) == (1, 0), _lines(report.rejects_file)
    with ctx.store.transaction() as conn:
        row = conn.dicts("SELECT category, details, occurred_on FROM records WHERE source_record_id = 'X1'")
        current = conn.scalar("SELECT count(*) FROM current_records")
    assert row[0]["category"] == "" and row[0]["details"] == "{}"  # only what it revokes
    assert current == 0
    # Sent again, it is a duplicate (idempotent), and the audit still verifies every hash.
    again = ingest_file(ctx, write_jsonl(tmp_path / "b2.jsonl", [revoke]), court)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 1, 0)
    from xinyong.audit import verify_records

    with ctx.store.transaction() as conn:
        assert verify_records(conn, ctx.store)[1] == []
    # Without `supersedes` it is still refused, saying why.
    bare = {"source_record_id": "X2", "subject": PERSON, "action": "revoke"}
    refused = ingest_file(ctx, write_jsonl(tmp_path / "c.jsonl", [bare]), court)
    assert refused.rejected_by_reason == {"supersedes_missing": 1}
