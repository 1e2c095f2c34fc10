"""Red and black lists of the default policy, evaluated over small hand-made ledgers."""

from __future__ import annotations

import datetime as dt

from tests.factories import COMPANY, COMPANY_2
from tests.policy.conftest import Ledger, credit_code, rec, resident

LISTED = "judicial.defaulter.listed"
DELISTED = "judicial.defaulter.delisted"
RESTRICTED = "judicial.consumption_restriction.issued"
DEFAULTERS = "judicial_defaulters"
HIGH_CONSUMPTION = {
    "high_consumption_travel",
    "high_consumption_lodging",
    "high_consumption_purchases",
    "high_consumption_venues",  # nightclubs, golf courses (Fa Shi [2015] No. 17, Art. 3(2))
}
DOC_A = "(2024)京0105执100号"
DOC_B = "(2024)京0105执200号"


# -- court defaulter list: term, removal, extension, refusal -------------------------------


def test_term_listing_is_active_inside_its_term_and_ends_after_it(ledger: Ledger) -> None:
    debtor = resident(dt.date(1980, 5, 10))
    longer = resident(dt.date(1981, 6, 11))
    listed_on = dt.date(2024, 3, 15)
    ledger.add(
        "court",
        rec("L1", debtor, LISTED, listed_on, document=DOC_A, situation=2, term_months=24),
        rec("L2", longer, LISTED, listed_on, document=DOC_B, situation=3, term_months=36),
    )

    inside = ledger.evaluate(dt.date(2026, 3, 14))
    listing = inside.event("L1")
    entry = inside.entry(debtor, DEFAULTERS)
    assert entry is not None
    assert entry["entry_id"] == f"{DEFAULTERS}:{listing}"
    assert (entry["status"], entry["entered_on"], entry["ends_on"]) == (
        "active",
        listed_on,
        dt.date(2026, 3, 15),
    )
    assert (entry["exit_event_id"], entry["refused_by"]) == (None, None)
    assert inside.evidence(debtor, entry["entry_id"]) == [("entry", listing)]
    measures = inside.measures(debtor)
    assert {m["measure_id"] for m in measures} == {*HIGH_CONSUMPTION, "procurement_exclusion"}
    assert {(m["role"], m["trigger_ref"], m["valid_until"]) for m in measures} == {
        ("subject", entry["entry_id"], dt.date(2026, 3, 15))
    }

    after = ledger.evaluate(dt.date(2026, 3, 15))
    entry = after.entry(debtor, DEFAULTERS)
    assert entry is not None
    assert (entry["status"], entry["end_reason"], entry["ends_on"], entry["exit_event_id"]) == (
        "ended",
        "term",
        dt.date(2026, 3, 15),
        None,
    )
    assert after.measures(debtor) == []
    # The term comes from the record: 36 months are still running.
    other = after.entry(longer, DEFAULTERS)
    assert other is not None
    assert (other["status"], other["ends_on"]) == ("active", dt.date(2027, 3, 15))
    assert after.measure_ids(longer) >= HIGH_CONSUMPTION


def test_open_ended_listing_ends_only_by_a_removal_of_the_same_case(ledger: Ledger) -> None:
    debtor = resident(dt.date(1975, 1, 20))
    performer = resident(dt.date(1970, 8, 8))
    listed_on = dt.date(2024, 2, 1)  # more than 24 months before AS_OF
    ledger.add(
        "court",
        rec("L1", debtor, LISTED, listed_on, document=DOC_A, situation=1),
        # The court removes the debtor from another case's listing: this one stands.
        rec("D-B", debtor, DELISTED, dt.date(2025, 1, 10), document=DOC_B, reason="performed"),
        # Performance of the same case ends a termed listing before its term.
        rec("L2", performer, LISTED, dt.date(2025, 1, 10), document=DOC_B, situation=2),
        rec("P2", performer, "judicial.judgment.performed", dt.date(2025, 9, 1), document=DOC_B),
    )

    run = ledger.evaluate()
    listing = run.event("L1")
    entry = run.entry(debtor, DEFAULTERS)
    assert entry is not None
    assert (entry["status"], entry["ends_on"], entry["end_reason"], entry["exit_event_id"]) == (
        "active",
        None,
        None,
        None,
    )
    assert run.evidence(debtor, entry["entry_id"]) == [("entry", listing)]
    assert run.measure_ids(debtor) >= HIGH_CONSUMPTION

    performed = run.entry(performer, DEFAULTERS)
    assert performed is not None
    assert (
        performed["status"],
        performed["ends_on"],
        performed["end_reason"],
        performed["exit_event_id"],
    ) == ("ended", dt.date(2025, 9, 1), "exit", run.event("P2"))
    assert run.measures(performer) == []

    ledger.add(
        "court",
        rec("D-A", debtor, DELISTED, dt.date(2025, 6, 1), document=DOC_A, reason="performed"),
    )
    run = ledger.evaluate()
    removal = run.event("D-A")
    entry = run.entry(debtor, DEFAULTERS)
    assert entry is not None
    assert (entry["status"], entry["ends_on"], entry["end_reason"], entry["exit_event_id"]) == (
        "ended",
        dt.date(2025, 6, 1),
        "exit",
        removal,
    )
    assert run.evidence(debtor, entry["entry_id"]) == [("entry", listing), ("exit", removal)]
    assert run.measures(debtor) == []


def test_an_extension_moves_the_end_of_the_term(ledger: Ledger) -> None:
    debtor = resident(dt.date(1968, 3, 3))
    listed_on = dt.date(2023, 5, 10)
    as_of = dt.date(2025, 12, 31)  # after the 24 months, before 36
    ledger.add(
        "court", rec("L1", debtor, LISTED, listed_on, document=DOC_A, situation=2, term_months=24)
    )
    run = ledger.evaluate(as_of)
    entry = run.entry(debtor, DEFAULTERS)
    assert entry is not None
    assert (entry["status"], entry["ends_on"], entry["end_reason"]) == (
        "ended",
        dt.date(2025, 5, 10),
        "term",
    )
    assert run.measures(debtor) == []

    ledger.add(
        "court",
        rec(
            "L1",
            debtor,
            LISTED,
            listed_on,
            document=DOC_A,
            action="correct",
            supersedes="L1",
            situation=2,
            term_months=24,
            extension_months=12,
        ),
    )
    run = ledger.evaluate(as_of)
    corrected = run.event("L1")
    assert [
        (e["entry_id"], e["status"], e["entered_on"], e["ends_on"])
        for e in run.entries(debtor, DEFAULTERS)
    ] == [(f"{DEFAULTERS}:{corrected}", "active", listed_on, dt.date(2026, 5, 10))]
    assert run.measure_ids(debtor) >= HIGH_CONSUMPTION


def test_a_minor_is_refused_flagged_and_not_restricted(ledger: Ledger) -> None:
    child = resident(dt.date(2010, 5, 1))  # 14 on the listing date
    eighteen = resident(dt.date(2007, 1, 10))  # 18 that very day
    listed_on = dt.date(2025, 1, 10)
    ledger.add(
        "court",
        rec("L-child", child, LISTED, listed_on, document=DOC_A, situation=2, term_months=24),
        rec("R-child", child, RESTRICTED, listed_on, document=DOC_A),
        rec("L-adult", eighteen, LISTED, listed_on, document=DOC_B, situation=2, term_months=24),
    )
    run = ledger.evaluate()

    listing = run.entry(child, DEFAULTERS)
    assert listing is not None
    assert (listing["status"], listing["refused_by"]) == ("refused", "minor")
    order = run.entry(child, "consumption_restricted")
    assert order is not None
    assert (order["status"], order["refused_by"]) == ("refused", "minor")
    assert run.flags(child) == sorted(
        [
            (run.event("L-child"), DEFAULTERS, "minor"),
            (run.event("R-child"), "consumption_restricted", "minor"),
        ]
    )
    assert run.measures(child) == []

    adult = run.entry(eighteen, DEFAULTERS)
    assert adult is not None
    assert (adult["status"], adult["refused_by"]) == ("active", None)
    assert run.flags(eighteen) == []
    assert run.measure_ids(eighteen) >= HIGH_CONSUMPTION


# -- computed lists -----------------------------------------------------------------------


def test_honour_roll_by_threshold_window_and_subject_kind(ledger: Ledger) -> None:
    donor = resident(dt.date(1985, 1, 1))
    short = resident(dt.date(1985, 1, 2))
    volunteer = resident(dt.date(1990, 4, 4))
    former = resident(dt.date(1990, 4, 5))
    model = resident(dt.date(1966, 9, 9))
    honour = "social.honor"
    ledger.add(
        "honours_office",
        rec("H1", donor, honour, dt.date(2025, 6, 1), kind="blood_donation", volume_ml=4000),
        rec("H2", short, honour, dt.date(2025, 6, 1), kind="blood_donation", volume_ml=3999),
        rec("H3", volunteer, honour, dt.date(2023, 7, 15), kind="volunteer_service", hours=80),
        rec("H4", former, honour, dt.date(2023, 3, 1), kind="volunteer_service", hours=80),
        rec("H5", model, honour, dt.date(2024, 5, 1), kind="model_worker"),
        rec("H6", COMPANY, honour, dt.date(2025, 6, 1), kind="volunteer_service", hours=500),
    )
    roll = "city_honour_roll"

    run = ledger.evaluate()
    for who, srid, day in (
        (donor, "H1", dt.date(2025, 6, 1)),
        (volunteer, "H3", dt.date(2023, 7, 15)),
        (model, "H5", dt.date(2024, 5, 1)),
    ):
        entry = run.entry(who, roll)
        assert entry is not None, srid
        assert (entry["status"], entry["entered_on"], entry["ends_on"]) == (
            "active",
            day,
            day.replace(year=day.year + 3),
        )
        event = run.event(srid, "honours_office")
        assert run.evidence(who, entry["entry_id"]) == [("condition", event)]
        assert "honour_roll_transit" in run.measure_ids(who)
    for who in (short, former):
        assert run.entry(who, roll) is None
        assert run.measure_ids(who) == set()
    # Organisations are not on a persons' roll, whatever their honours.
    assert run.entry(COMPANY, roll) is None
    assert "honour_roll_transit" not in run.measure_ids(COMPANY)

    # 36 months after the service the roll still holds it the day before, not on the day.
    before = ledger.evaluate(dt.date(2026, 2, 28))
    entry = before.entry(former, roll)
    assert entry is not None
    assert entry["ends_on"] == dt.date(2026, 3, 1)
    assert before.measure_ids(former) == {"honour_roll_transit"}
    on_the_day = ledger.evaluate(dt.date(2026, 3, 1))
    assert on_the_day.entry(former, roll) is None
    assert on_the_day.measure_ids(former) == set()


def test_tax_a_level_reads_only_the_latest_rating(ledger: Ledger) -> None:
    downgraded = COMPANY
    rated_a = COMPANY_2
    upgraded = credit_code("MA0000001")
    stale = credit_code("MA0000002")
    rating = "tax.credit_rating"
    ledger.add(
        "tax",
        rec("T1", downgraded, rating, dt.date(2025, 4, 1), level="A", year=2024),
        rec("T2", downgraded, rating, dt.date(2026, 4, 1), level="B", year=2025),
        rec("T3", rated_a, rating, dt.date(2025, 4, 1), level="A", year=2024),
        rec("T4", upgraded, rating, dt.date(2025, 4, 1), level="B", year=2024),
        rec("T5", upgraded, rating, dt.date(2026, 4, 1), level="A", year=2025),
        rec("T6", stale, rating, dt.date(2024, 4, 1), level="A", year=2023),
    )
    run = ledger.evaluate()

    assert run.entry(downgraded, "tax_a_level") is None
    assert "tax_a_green_channel" not in run.measure_ids(downgraded)
    assert run.entry(stale, "tax_a_level") is None
    for who, srid, day in (
        (rated_a, "T3", dt.date(2025, 4, 1)),
        (upgraded, "T5", dt.date(2026, 4, 1)),
    ):
        entry = run.entry(who, "tax_a_level")
        assert entry is not None, srid
        assert (entry["status"], entry["entered_on"], entry["ends_on"]) == (
            "active",
            day,
            day.replace(year=day.year + 2),
        )
        assert run.evidence(who, entry["entry_id"]) == [("condition", run.event(srid, "tax"))]
        assert "tax_a_green_channel" in run.measure_ids(who)
