"""Scores and grades of the default policy: city points for adults, one enterprise grade."""

from __future__ import annotations

import datetime as dt

from tests.factories import COMPANY, COMPANY_2
from tests.policy.conftest import Ledger, credit_code, rec, resident

OVERDUE = "commercial.loan.overdue"
PENALTY = "administrative.penalty"
BREACH = "commercial.contract.breach"
HONOUR = "social.honor"
POINTS = "city_points"
GRADE = "enterprise_grade"


def test_city_points_rules_and_publicity_periods(ledger: Ledger) -> None:
    borrower = resident(dt.date(1980, 1, 15))
    penalised = resident(dt.date(1981, 2, 16))
    litigant = resident(dt.date(1982, 3, 17))
    overdue_on = dt.date(2025, 1, 10)
    ledger.add(
        "lender",
        rec("O30", borrower, OVERDUE, overdue_on, days_overdue=30),
        rec("O31", borrower, OVERDUE, overdue_on, days_overdue=31),
        rec("O90", borrower, OVERDUE, overdue_on, days_overdue=90),
        rec("O91", borrower, OVERDUE, overdue_on, days_overdue=91),
        rec("B-cp", litigant, BREACH, dt.date(2025, 2, 1), found_by="counterparty"),
        rec("B-none", litigant, BREACH, dt.date(2025, 2, 2), matter="unreturned car"),
    )
    ledger.add(
        "market_regulator",
        # A serious penalty counts for 36 months: to the day before AS_OF + 1 ...
        rec("S-in", penalised, PENALTY, dt.date(2023, 7, 1), severity="serious", matter="x"),
        # ... and not when its 36 months end on AS_OF itself.
        rec("S-out", penalised, PENALTY, dt.date(2023, 6, 30), severity="serious", matter="x"),
        rec("G-in", penalised, PENALTY, dt.date(2025, 7, 1), severity="general", matter="x"),
        rec("G-out", penalised, PENALTY, dt.date(2025, 6, 30), severity="general", matter="x"),
        # A minor penalty is never published, so it never counts.
        rec("M", penalised, PENALTY, dt.date(2026, 6, 1), severity="minor", matter="x"),
    )
    ledger.add(
        "court",
        rec("L", litigant, "judicial.defaulter.listed", dt.date(2025, 5, 1), situation=2),
        rec("B-court", litigant, BREACH, dt.date(2025, 3, 1), found_by="court"),
    )
    run = ledger.evaluate()

    assert run.items(borrower, POINTS) == {
        run.event("O30", "lender"): -10,
        run.event("O31", "lender"): -20,
        run.event("O90", "lender"): -20,
        run.event("O91", "lender"): -30,
    }
    assert run.points(borrower, POINTS) == (920, "B")
    score = run.score(borrower, POINTS)
    assert score is not None
    assert score["valid_until"] == dt.date(2030, 1, 10)  # loans count 60 months

    assert run.items(penalised, POINTS) == {
        run.event("S-in", "market_regulator"): -50,
        run.event("G-in", "market_regulator"): -20,
    }
    assert run.points(penalised, POINTS) == (930, "B")
    counted = {(i["rule_id"], i["counts_until"]) for i in run.rows("score_items", penalised)}
    assert counted == {("penalty", dt.date(2026, 7, 1))}
    score = run.score(penalised, POINTS)
    assert score is not None
    assert score["valid_until"] == dt.date(2026, 7, 1)

    assert run.items(litigant, POINTS) == {
        run.event("L"): -30,
        run.event("B-court"): -50,
        run.event("B-cp", "lender"): -20,
    }
    assert run.points(litigant, POINTS) == (900, "B")
    # Persons have no enterprise grade.
    assert run.score(borrower, GRADE) is None


def test_grade_bands_at_their_edges_and_adults_only(ledger: Ledger) -> None:
    honours = {
        1050: ["model_worker", "blood_donation", "volunteer_service"],
        1045: ["model_worker", "blood_donation", "civic_award"],
        1030: ["model_worker"],
        1025: ["blood_donation", "volunteer_service", "civic_award"],
        960: ["blood_donation"],
        955: ["civic_award"],
    }
    people = {points: resident(dt.date(1970, 1, 1), seq=points - 900) for points in honours}
    child = resident(dt.date(2010, 5, 1))
    adult_today = resident(dt.date(2008, 6, 30))  # 18 on AS_OF
    adult_tomorrow = resident(dt.date(2008, 7, 1))  # 18 the day after
    plain = resident(dt.date(1990, 9, 9))
    day = dt.date(2025, 10, 1)
    ledger.add(
        "honours_office",
        *[
            rec(f"H{points}-{kind}", people[points], HONOUR, day, kind=kind)
            for points, kinds in honours.items()
            for kind in kinds
        ],
        *[
            rec(f"H-{i}", who, HONOUR, day, kind="blood_donation", volume_ml=400)
            for i, who in enumerate((child, adult_today, adult_tomorrow))
        ],
    )
    ledger.add(
        "lender",
        # 960 and 955: down 50 for two overdue loans, back up by an honour.
        *[
            rec(f"O{points}-{days}", people[points], OVERDUE, day, days_overdue=days)
            for points in (960, 955)
            for days in (91, 31)
        ],
        rec("O-child", child, OVERDUE, day, days_overdue=120),
        rec("R-plain", plain, "commercial.loan.repaid", day, loan_type="consumer"),
    )
    run = ledger.evaluate()

    expected = {
        1050: "AAA",
        1045: "AA",
        1030: "AA",
        1025: "A",
        960: "A",
        955: "B",
    }
    assert {points: run.points(people[points], POINTS) for points in expected} == {
        points: (points, grade) for points, grade in expected.items()
    }
    score_rewards = {"deposit_waiver", "loan_green_channel"}
    for points in (1050, 1045, 1030):
        assert run.measure_ids(people[points]) >= score_rewards
    for points in (1025, 960, 955):
        assert not run.measure_ids(people[points]) & score_rewards

    # A subject with no counting record has the base score and no end to it.
    score = run.score(plain, POINTS)
    assert score is not None
    assert (score["points"], score["grade"], score["valid_until"]) == (1000, "A", None)
    assert run.items(plain, POINTS) == {}

    # Persons under 18 on the evaluation date get no city points at all.
    assert run.score(child, POINTS) is None
    assert run.rows("score_items", child) == []
    assert run.points(adult_today, POINTS) == (1010, "A")
    assert run.score(adult_tomorrow, POINTS) is None
    assert run.rows("score_items", adult_tomorrow) == []


def test_enterprise_grade_for_organisations_and_agencies(ledger: Ledger) -> None:
    agency = credit_code("MB0000001", prefix="11")
    penalised = COMPANY
    rated_a = COMPANY_2
    listed = credit_code("MA0000003")
    mixed = credit_code("MA0000004")
    day = dt.date(2025, 10, 1)
    ledger.add(
        "financial_regulator",
        rec("BD", agency, "government.bond.default", day, bond="25 Test City Bond 01"),
    )
    ledger.add(
        "market_regulator",
        rec("P-co", penalised, PENALTY, day, severity="serious", matter="x"),
        rec("P-ag", agency, PENALTY, day, severity="minor", matter="x"),
        rec("A-a", rated_a, "administrative.abnormal_operations.listed", day, ground="unreachable"),
        rec("SI", listed, "administrative.serious_illegal.listed", day, ground="serious_violation"),
        rec("A-m", mixed, "administrative.abnormal_operations.listed", day, ground="unreachable"),
        rec("P-m", mixed, PENALTY, day, severity="general", matter="x"),
    )
    ledger.add(
        "tax",
        # An A rating counts 12 months: the older one no longer does.
        rec("T-old", rated_a, "tax.credit_rating", dt.date(2025, 4, 1), level="A", year=2024),
        rec("T-new", rated_a, "tax.credit_rating", dt.date(2026, 1, 10), level="A", year=2025),
    )
    ledger.add(
        "court", rec("L", listed, "judicial.defaulter.listed", day, document="d", situation=2)
    )
    ledger.add("lender", rec("O", mixed, OVERDUE, day, days_overdue=91))
    run = ledger.evaluate()

    assert run.items(agency, GRADE) == {run.event("BD", "financial_regulator"): -30}
    assert run.points(agency, GRADE) == (70, "B")
    assert run.items(penalised, GRADE) == {run.event("P-co", "market_regulator"): -30}
    assert run.points(penalised, GRADE) == (70, "B")
    assert run.items(rated_a, GRADE) == {
        run.event("A-a", "market_regulator"): -15,
        run.event("T-new", "tax"): 5,
    }
    assert run.points(rated_a, GRADE) == (90, "A")
    assert "enterprise_deposit_waiver" in run.measure_ids(rated_a)
    assert run.points(mixed, GRADE) == (60, "C")
    assert run.points(listed, GRADE) == (20, "D")
    assert "enterprise_deposit_waiver" not in run.measure_ids(agency)
    # Neither organisations nor agencies have city points.
    for who in (agency, penalised, rated_a, listed, mixed):
        assert run.score(who, POINTS) is None
