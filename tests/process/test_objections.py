"""Objections, on both stores: disputed everywhere at once, decided by the source in time,
and an uphold that delists through the ledger and tells the subject."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tests.decisions.store_decision import decide_from_store
from tests.factories import write_jsonl
from tests.policy.conftest import Ledger, rec, resident
from xinyong.clock import today
from xinyong.context import Context
from xinyong.errors import Forbidden, NotFound, RequestInvalid, SourceError, TooLarge
from xinyong.evaluation.replay import subject_state
from xinyong.ids import subject_key
from xinyong.ledger.ingest import ingest_file
from xinyong.ledger.queries import subject_file
from xinyong.process import notices
from xinyong.process.hooks import after_merge
from xinyong.process.objections import (
    decide_objection,
    file_objection,
    list_objections,
    notify_overdue,
)
from xinyong.state.outbox import changes_after

FLIGHT = "flight.ticket.purchase"
DEBTOR = resident(dt.date(1975, 1, 20), seq=7)
PDF = b"%PDF-1.4\n% a receipt of payment\n"


def _listed(ledger: Ledger) -> Context:
    day = today(ledger.ctx.settings.timezone) - dt.timedelta(days=30)
    ledger.add(
        "court",
        rec("L1", DEBTOR, "judicial.defaulter.listed", day, document="(2026)A1", situation=1),
    )
    ledger.evaluate(None)
    return ledger.ctx


def _ask(ctx: Context) -> dict[str, Any]:
    with ctx.store.transaction() as conn:
        return decide_from_store(ctx, conn, DEBTOR, FLIGHT, {})


def _notices(ctx: Context) -> list[dict[str, Any]]:
    with ctx.store.transaction() as conn:
        return notices.listing(conn, subject_key(ctx.secret, DEBTOR))


def test_an_objection_is_disputed_everywhere_and_an_uphold_delists(ledger: Ledger) -> None:
    ctx = _listed(ledger)
    before = _ask(ctx)
    assert before["decision"] == "deny"
    assert not any(r["disputed"] for r in before["reasons"])

    filed = file_objection(
        ctx, DEBTOR, "L1", "I paid the whole sum on 1 May.", files=[("receipt.pdf", PDF)]
    )
    day = today(ctx.settings.timezone)
    assert filed["status"] == "open" and filed["source"] == "court"
    assert filed["due_on"] == (day + dt.timedelta(days=15)).isoformat()  # the court list's 15 days
    assert [e["name"] for e in filed["evidence"]] == ["receipt.pdf"]

    # Every decision reason says so, with the objection and its deadline; still in force.
    during = _ask(ctx)
    assert during["decision"] == "deny"
    assert {(r["disputed"], r["objection"], r["objection_due"]) for r in during["reasons"]} == {
        (True, filed["objection"], filed["due_on"])
    }
    # So do the subject's file and its explained state.
    with ctx.store.transaction() as conn:
        file = subject_file(conn, DEBTOR, ctx.secret)
        state = subject_state(ctx, conn, file["subject_key"])
        feed = changes_after(conn, 0, 10_000)
    [record] = [r for r in file["current_records"] if r["source_record_id"] == "L1"]
    assert record["disputed"] and record["objection"] == filed["objection"]
    [listing] = [e for e in state["lists"] if e["list"] == "judicial_defaulters"]
    assert any(r.get("disputed") for r in listing["records"])
    assert all(m.get("disputed") for m in state["measures"])
    # And the change feed: one event per measure in force, still active, disputed.
    disputed = [c for c in feed if c.cause == "objection"]
    assert disputed and all(
        c.status == "active" and c.objection_id == filed["objection"] for c in disputed
    )
    assert "objection_received" in [n["kind"] for n in _notices(ctx)]

    decided = decide_objection(ctx, filed["objection"], uphold=True, reason="Payment confirmed.")
    assert decided["status"] == "upheld" and decided["decided_on"] == day.isoformat()
    after = _ask(ctx)
    assert after["decision"] == "allow" and after["reasons"] == []
    kinds = [n["kind"] for n in _notices(ctx)]
    assert "objection_decided" in kinds and "measure_ended" in kinds
    told = next(n for n in _notices(ctx) if n["kind"] == "objection_decided")
    assert "upheld" in told["body"]["text"]["en"] and "支持" in told["body"]["text"]["zh"]
    # Deciding again is refused; the revocation is in the ledger once.
    with pytest.raises(SourceError, match="decided already"):
        decide_objection(ctx, filed["objection"], uphold=True, reason="again")


def test_a_rejected_objection_ends_the_dispute_and_says_how_to_go_on(ledger: Ledger) -> None:
    ctx = _listed(ledger)
    filed = file_objection(ctx, DEBTOR, "L1", "Not me.")
    decided = decide_objection(ctx, filed["objection"], uphold=False, reason="The debt stands.")
    assert decided["status"] == "rejected"
    answer = _ask(ctx)
    assert answer["decision"] == "deny" and not any(r["disputed"] for r in answer["reasons"])
    told = next(n for n in _notices(ctx) if n["kind"] == "objection_decided")
    assert "one level up" in told["body"]["text"]["en"]  # reconsideration within 10 days
    with ctx.store.transaction() as conn:
        last = changes_after(conn, 0, 10_000)[-1]
    assert last.cause == "objection" and last.objection_id is None


def test_only_the_records_source_decides(ledger: Ledger) -> None:
    ctx = _listed(ledger)
    filed = file_objection(ctx, DEBTOR, "L1", "Wrong person.")
    with pytest.raises(Forbidden) as caught:
        decide_objection(ctx, filed["objection"], uphold=True, reason="x", as_source="tax-bureau")
    assert caught.value.code == "objection_other_source"
    with pytest.raises(SourceError, match="still open"):
        file_objection(ctx, DEBTOR, "L1", "Again.")


def test_an_overdue_objection_is_listed_and_the_subject_told_once(ledger: Ledger) -> None:
    ctx = _listed(ledger)
    filed = file_objection(ctx, DEBTOR, "L1", "Paid.")
    later = today(ctx.settings.timezone) + dt.timedelta(days=16)
    with ctx.store.transaction() as conn:
        assert notify_overdue(ctx, conn, later) == 1
        assert notify_overdue(ctx, conn, later) == 0
        conn.execute("UPDATE objections SET due_on = ?", [today() - dt.timedelta(days=1)])
    [overdue] = list_objections(ctx, overdue=True)
    assert overdue["objection"] == filed["objection"] and overdue["overdue"]
    assert "objection_overdue" in [n["kind"] for n in _notices(ctx)]


def test_bad_objections_are_refused_with_reasons(ledger: Ledger) -> None:
    ctx = _listed(ledger)
    with pytest.raises(NotFound) as unknown:
        file_objection(ctx, DEBTOR, "NOPE", "Wrong.")
    assert unknown.value.code == "record_unknown"
    with pytest.raises(RequestInvalid, match="U\\+202E"):
        file_objection(ctx, DEBTOR, "L1", "paid \u202etxet neddih")
    with pytest.raises(TooLarge):
        file_objection(ctx, DEBTOR, "L1", "Paid.", files=[("big.pdf", b"x" * (10 * 2**20 + 1))])
    assert list_objections(ctx) == []  # nothing half-filed


def test_evidence_is_stored_once_by_hash_and_owner_only(ledger: Ledger) -> None:
    ctx = _listed(ledger)
    file_objection(ctx, DEBTOR, "L1", "Paid.", files=[("../../etc/receipt.pdf", PDF)])
    stored = list((Path(ctx.settings.data_dir) / "evidence").iterdir())
    assert len(stored) == 1 and stored[0].read_bytes() == PDF
    assert stored[0].stat().st_mode & 0o077 == 0
    [objection] = list_objections(ctx)
    assert objection["evidence"][0]["name"] == "receipt.pdf"


def test_a_partners_report_reaches_the_subject_as_a_notice(ledger: Ledger, tmp_path: Path) -> None:
    from xinyong.access.partners import add_partner

    ctx = ledger.ctx
    ledger.evaluate(None)
    with ctx.store.transaction() as conn:
        add_partner(
            conn,
            ctx.policy,
            ctx.catalog,
            name="City Car Rental",
            kind="rental",
            purpose="deposit waivers",
            partner_id="city-rental",
            categories=["commercial.contract.breach"],
            source_kind="rental",
        )
    breach = rec(
        "B1", DEBTOR, "commercial.contract.breach", today() - dt.timedelta(days=2), document="C-9"
    )
    path = write_jsonl(tmp_path / "breach.jsonl", [breach])
    report = ingest_file(ctx, path, "city-rental", after_merge=after_merge(ctx))
    assert report.accepted == 1
    [told] = [n for n in _notices(ctx) if n["kind"] == "record_received"]
    assert "city-rental" in told["body"]["text"]["en"]
    assert "objections file" in told["body"]["how_to_object"]["en"]
    filed = file_objection(ctx, DEBTOR, "B1", "The car was returned undamaged.")
    assert filed["source"] == "city-rental" and filed["status"] == "open"


def test_a_new_objection_after_a_rejection_asks_for_reconsideration(ledger: Ledger) -> None:
    ctx = _listed(ledger)
    first = file_objection(ctx, DEBTOR, "L1", "Paid.")
    decide_objection(ctx, first["objection"], uphold=False, reason="No proof of payment.")
    again = file_objection(ctx, DEBTOR, "L1", "Here is the bank's confirmation.")
    day = today(ctx.settings.timezone)
    assert again["reconsiders"] == first["objection"]
    assert again["due_on"] == (day + dt.timedelta(days=15)).isoformat()  # decided within 15
