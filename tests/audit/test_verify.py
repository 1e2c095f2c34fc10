"""`audit verify` finds any audit entry edited, deleted or reordered, and any record
changed behind the ledger's back, on both stores."""

from __future__ import annotations

from pathlib import Path

from tests.factories import PERSON_2, record, write_jsonl
from xinyong.audit import verify_chain, verify_records
from xinyong.context import Context
from xinyong.ledger.ingest import ingest_file
from xinyong.ledger.sources import add_source


def _ledger(ctx: Context, tmp_path: Path) -> None:
    with ctx.store.transaction() as conn:
        add_source(conn, ctx.catalog, name="Court", kind="court", source_id="court")
        add_source(conn, ctx.catalog, name="Lender", kind="lender", source_id="lender")
    ingest_file(
        ctx,
        write_jsonl(
            tmp_path / "a.jsonl",
            [record(source_record_id="a"), record(source_record_id="b", subject=PERSON_2)],
        ),
        "court",
    )
    ingest_file(ctx, write_jsonl(tmp_path / "b.jsonl", [record(source_record_id="c")]), "court")


def _problems(ctx: Context) -> list[str]:
    with ctx.store.transaction() as conn:
        _, chain = verify_chain(conn)
        _, stored = verify_records(conn, ctx.store)
    return [f.problem for f in chain + stored]


def _tamper(ctx: Context, *statements: str) -> None:
    with ctx.store.transaction() as conn:
        for sql in statements:
            conn.execute(sql)


def test_intact_ledger_verifies(ctx: Context, tmp_path: Path) -> None:
    _ledger(ctx, tmp_path)
    assert _problems(ctx) == []
    with ctx.store.transaction() as conn:
        entries, _ = verify_chain(conn)
    assert entries == 4  # two sources added, two submissions


def test_edited_entry_is_named(ctx: Context, tmp_path: Path) -> None:
    _ledger(ctx, tmp_path)
    _tamper(ctx, "UPDATE audit_log SET payload = replace(payload, 'court', 'c0urt') WHERE seq = 1")
    problems = _problems(ctx)
    assert any("entry 1" in p and "edited" in p for p in problems), problems


def test_deleted_entry_is_named(ctx: Context, tmp_path: Path) -> None:
    _ledger(ctx, tmp_path)
    _tamper(ctx, "DELETE FROM audit_log WHERE seq = 2")
    problems = _problems(ctx)
    assert any("entr" in p and "2" in p and "deleted" in p for p in problems), problems


def test_reordered_entries_are_found(ctx: Context, tmp_path: Path) -> None:
    _ledger(ctx, tmp_path)
    _tamper(
        ctx,
        "UPDATE audit_log SET seq = 100 WHERE seq = 3",
        "UPDATE audit_log SET seq = 3 WHERE seq = 4",
        "UPDATE audit_log SET seq = 4 WHERE seq = 100",
    )
    problems = _problems(ctx)
    assert any("entry 3" in p for p in problems), problems
    assert any("entry 4" in p for p in problems), problems


def test_cut_off_tail_is_found(ctx: Context, tmp_path: Path) -> None:
    _ledger(ctx, tmp_path)
    _tamper(ctx, "DELETE FROM audit_log WHERE seq = 4")
    problems = _problems(ctx)
    assert any("cut off" in p for p in problems), problems


def test_edited_record_is_found(ctx: Context, tmp_path: Path) -> None:
    _ledger(ctx, tmp_path)
    _tamper(ctx, "UPDATE records SET details = '{\"situation\":1}' WHERE source_record_id = 'a'")
    problems = _problems(ctx)
    assert any(p.startswith("record ") and "edited" in p for p in problems), problems


def test_deleted_record_is_found(ctx: Context, tmp_path: Path) -> None:
    _ledger(ctx, tmp_path)
    _tamper(ctx, "DELETE FROM records WHERE source_record_id = 'b'")
    problems = _problems(ctx)
    assert any("wrote 2 records but the ledger holds 1" in p for p in problems), problems


def test_record_slipped_in_is_found(ctx: Context, tmp_path: Path) -> None:
    _ledger(ctx, tmp_path)
    _tamper(
        ctx,
        "INSERT INTO records SELECT event_id + 1000, 'sub_forged', source_id, 'z', subject_key,"
        " category, occurred_on, amount, document, legal_basis, details, supersedes, action,"
        " content_hash, received_at, line FROM records WHERE source_record_id = 'a'",
    )
    problems = _problems(ctx)
    assert any("sub_forged" in p and "no audit entry" in p for p in problems), problems
