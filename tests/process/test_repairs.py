"""Credit repair, on both stores: refused before the tier's minimum period with the day it may
be made, granted after it, ending the record's points from the decision date."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.policy.conftest import Ledger, credit_code, rec, resident
from xinyong.clock import today
from xinyong.errors import SourceError
from xinyong.evaluation.replay import subject_state
from xinyong.process import notices
from xinyong.process.calendar import add_months
from xinyong.process.repairs import apply_for_repair, decide_repair, list_repairs

COMPANY = credit_code("MA01REPAR")
PERSON = resident(dt.date(1984, 6, 6), seq=8)


def _points(ledger: Ledger, on: dt.date | None = None) -> list[dict[str, object]]:
    with ledger.ctx.store.transaction() as conn:
        state = subject_state(ledger.ctx, conn, ledger.key(COMPANY), on)
    return [c for s in state["scores"] for c in s["contributions"]]


def test_a_general_penalty_is_repaired_after_three_months(ledger: Ledger) -> None:
    day = today(ledger.ctx.settings.timezone)
    recent = day - dt.timedelta(days=20)
    older = add_months(day, -4)
    ledger.add(
        "market_regulator",
        rec(
            "P-new",
            COMPANY,
            "administrative.penalty",
            recent,
            document="P-new",
            severity="general",
            matter="labelling",
        ),
        rec(
            "P-old",
            COMPANY,
            "administrative.penalty",
            older,
            document="P-old",
            severity="general",
            matter="hygiene",
        ),
    )
    ledger.evaluate(None)
    assert {c["source_record_id"] for c in _points(ledger)} == {"P-new", "P-old"}

    with pytest.raises(SourceError) as early:
        apply_for_repair(ledger.ctx, COMPANY, "P-new", "We relabelled every product.")
    assert early.value.code == "repair_too_early"
    assert add_months(recent, 3).isoformat() in early.value.message

    applied = apply_for_repair(
        ledger.ctx,
        COMPANY,
        "P-old",
        "We fixed the kitchen and will keep it clean.",
        files=[("inspection.pdf", b"%PDF-1.4 passed")],
    )
    assert applied["status"] == "open" and applied["source"] == "amr"
    assert applied["evidence"][0]["name"] == "inspection.pdf"
    decided = decide_repair(ledger.ctx, applied["repair"], grant=True, reason="Inspection passed.")
    assert decided["status"] == "granted"

    # The repaired penalty no longer counts from today; the other still does.
    assert {c["source_record_id"] for c in _points(ledger)} == {"P-new"}
    # As of yesterday both still counted: the repair is not retroactive.
    assert len(_points(ledger, day - dt.timedelta(days=1))) == 2
    with ledger.ctx.store.transaction() as conn:
        kinds = [n["kind"] for n in notices.listing(conn, ledger.key(COMPANY))]
    assert "repair_received" in kinds and "repair_decided" in kinds
    assert [r["status"] for r in list_repairs(ledger.ctx, identifier=COMPANY)] == ["granted"]


def test_a_court_listing_is_not_repaired_but_removed_by_the_court(ledger: Ledger) -> None:
    day = today(ledger.ctx.settings.timezone)
    ledger.add(
        "court",
        rec(
            "L1",
            PERSON,
            "judicial.defaulter.listed",
            day - dt.timedelta(days=400),
            document="L1",
            situation=1,
        ),
    )
    with pytest.raises(SourceError) as refused:
        apply_for_repair(ledger.ctx, PERSON, "L1", "I will pay.")
    assert refused.value.code == "repair_not_available"
    assert "delisting" in refused.value.message


def test_an_overdue_repair_application_is_told_once(ledger: Ledger) -> None:
    from xinyong.process.maintenance import maintain

    day = today(ledger.ctx.settings.timezone)
    ledger.add(
        "market_regulator",
        rec(
            "P-late",
            COMPANY,
            "administrative.penalty",
            add_months(day, -5),
            document="P-late",
            severity="general",
            matter="hygiene",
        ),
    )
    ledger.evaluate(None)
    applied = apply_for_repair(ledger.ctx, COMPANY, "P-late", "Fixed.")
    with ledger.ctx.store.transaction() as conn:
        conn.execute("UPDATE repairs SET due_on = ?", [day - dt.timedelta(days=1)])
    assert [r["overdue"] for r in list_repairs(ledger.ctx, overdue=True)] == [True]
    first = maintain(ledger.ctx, deliver=False)
    second = maintain(ledger.ctx, deliver=False)
    assert first["notices_overdue"] == 1 and second["notices_overdue"] == 0
    with ledger.ctx.store.transaction() as conn:
        kinds = [n["kind"] for n in notices.listing(conn, ledger.key(COMPANY))]
    assert "repair_overdue" in kinds and applied["status"] == "open"
