"""Incremental evaluation gives the rows a fresh batch evaluation of the same ledger gives."""

from __future__ import annotations

import datetime as dt

from tests.factories import COMPANY
from tests.policy.conftest import Ledger, rec, resident
from xinyong.clock import today
from xinyong.evaluation.incremental import evaluate_subjects

HIGH_CONSUMPTION = {
    "high_consumption_travel",
    "high_consumption_lodging",
    "high_consumption_purchases",
    "high_consumption_venues",  # nightclubs, golf courses (Fa Shi [2015] No. 17, Art. 3(2))
}
REGISTRATION = "administrative.registration"


def days_ago(ledger: Ledger, days: int) -> dt.date:
    return today(ledger.ctx.settings.timezone) - dt.timedelta(days=days)


def reevaluate(ledger: Ledger, *identifiers: str) -> int | None:
    with ledger.ctx.store.transaction() as conn:
        return evaluate_subjects(ledger.ctx, conn, [ledger.key(i) for i in identifiers])


def test_a_delisting_incrementally_equals_a_batch_run(ledger: Ledger) -> None:
    debtor = resident(dt.date(1975, 1, 20))
    bystander = resident(dt.date(1976, 2, 21))
    ledger.add(
        "court",
        rec(
            "L1",
            debtor,
            "judicial.defaulter.listed",
            days_ago(ledger, 200),
            document="A",
            situation=1,
        ),
        rec(
            "L2",
            bystander,
            "judicial.defaulter.listed",
            days_ago(ledger, 100),
            document="B",
            situation=2,
        ),
    )
    before = ledger.evaluate(None)
    entry = before.entry(debtor, "judicial_defaulters")
    assert entry is not None
    assert entry["status"] == "active"
    assert before.measure_ids(debtor) >= HIGH_CONSUMPTION

    removed_on = days_ago(ledger, 5)
    report = ledger.add(
        "court",
        rec(
            "D1",
            debtor,
            "judicial.defaulter.delisted",
            removed_on,
            document="A",
            reason="performed",
        ),
    )
    assert report.reevaluated == 1  # ingestion re-evaluated the debtor in its transaction
    assert reevaluate(ledger, debtor) == 1
    incremental = ledger.current()
    assert incremental.run_id == before.run_id
    entry = incremental.entry(debtor, "judicial_defaulters")
    assert entry is not None
    assert (entry["status"], entry["end_reason"], entry["ends_on"], entry["exit_event_id"]) == (
        "ended",
        "exit",
        removed_on,
        incremental.event("D1"),
    )
    assert incremental.measures(debtor) == []
    assert incremental.measure_ids(bystander) >= HIGH_CONSUMPTION

    batch = ledger.evaluate(None)
    assert batch.run_id != incremental.run_id
    assert incremental.snapshot([debtor]) == batch.snapshot([debtor])
    assert incremental.snapshot() == batch.snapshot()


def test_a_new_legal_representative_incrementally_equals_a_batch_run(ledger: Ledger) -> None:
    org = COMPANY
    old = resident(dt.date(1975, 4, 4))
    new = resident(dt.date(1985, 8, 8))  # not in the ledger until the new registration
    ledger.add(
        "market_regulator",
        rec(
            "REG-1",
            org,
            REGISTRATION,
            days_ago(ledger, 400),
            name="北京示例科技有限公司",
            legal_representative=old,
        ),
    )
    ledger.add(
        "court",
        rec(
            "L",
            org,
            "judicial.defaulter.listed",
            days_ago(ledger, 100),
            document="C",
            situation=2,
            term_months=24,
        ),
    )
    before = ledger.evaluate(None)
    org_key = ledger.key(org)
    assert before.measure_ids(old) == HIGH_CONSUMPTION
    assert before.score(new, "city_points") is None

    report = ledger.add(
        "market_regulator",
        rec(
            "REG-2",
            org,
            REGISTRATION,
            days_ago(ledger, 10),
            name="北京示例科技有限公司",
            legal_representative=new,
        ),
    )
    # Ingestion re-evaluated the organisation, its old and its new legal representative;
    # re-evaluating the organisation again covers it and the person its links now name.
    assert report.reevaluated == 3
    assert reevaluate(ledger, org) == 2
    incremental = ledger.current()
    assert incremental.measures(old) == []
    assert {
        (m["measure_id"], m["role"], m["via_subject_key"]) for m in incremental.measures(new)
    } == {(m, "legal_representative", org_key) for m in HIGH_CONSUMPTION}
    assert incremental.points(new, "city_points") == (1000, "A")

    batch = ledger.evaluate(None)
    for who in (org, old, new):
        assert incremental.snapshot([who]) == batch.snapshot([who]), who
    assert incremental.snapshot() == batch.snapshot()


def test_a_correction_moving_a_listing_to_another_person_updates_both(ledger: Ledger) -> None:
    """The court listed the wrong person and corrects the record to name the right one: the
    state that ingestion leaves behind must be a fresh batch run's, for both persons."""
    wrong = resident(dt.date(1975, 1, 20))
    right = resident(dt.date(1975, 1, 21))
    listed_on = days_ago(ledger, 60)
    ledger.add(
        "court",
        rec("L1", wrong, "judicial.defaulter.listed", listed_on, document="A", situation=2),
        rec("O1", right, "commercial.contract.breach", listed_on, found_by="court"),
    )
    before = ledger.evaluate(None)
    assert before.measure_ids(wrong) >= HIGH_CONSUMPTION
    assert before.measure_ids(right) == set()

    report = ledger.add(
        "court",
        rec(
            "L1",
            right,
            "judicial.defaulter.listed",
            listed_on,
            document="A",
            situation=2,
            action="correct",
            supersedes="L1",
        ),
    )
    assert report.reevaluated is not None
    incremental = ledger.current()
    batch = ledger.evaluate(None)
    assert batch.entry(wrong, "judicial_defaulters") is None
    assert batch.measure_ids(wrong) == set()
    assert batch.measure_ids(right) >= HIGH_CONSUMPTION
    assert incremental.snapshot([right]) == batch.snapshot([right])
    # The person the listing no longer names must be cleared as well.
    assert incremental.measure_ids(wrong) == set()
    assert incremental.snapshot([wrong]) == batch.snapshot([wrong])
