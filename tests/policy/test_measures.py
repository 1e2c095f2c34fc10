"""Measures reach the persons an organisation's registration names, and only them."""

from __future__ import annotations

import datetime as dt

from tests.factories import COMPANY, COMPANY_2
from tests.policy.conftest import Ledger, rec, resident

REGISTRATION = "administrative.registration"
HIGH_CONSUMPTION = {
    "high_consumption_travel",
    "high_consumption_lodging",
    "high_consumption_purchases",
    "high_consumption_venues",  # nightclubs, golf courses (Fa Shi [2015] No. 17, Art. 3(2))
}


def roles(run_measures: list[dict[str, object]]) -> set[tuple[object, ...]]:
    return {
        (m["measure_id"], m["role"], m["via_subject_key"], m["trigger_kind"], m["trigger_ref"])
        for m in run_measures
    }


def test_measures_follow_the_registered_legal_representative(ledger: Ledger) -> None:
    org = COMPANY
    representative = resident(dt.date(1975, 4, 4))
    controller = resident(dt.date(1960, 6, 6))
    successor = resident(dt.date(1985, 8, 8))  # known to the ledger, not named at first
    barred_org = COMPANY_2
    barred_rep = resident(dt.date(1979, 9, 9))
    ledger.add(
        "market_regulator",
        rec(
            "REG-1",
            org,
            REGISTRATION,
            dt.date(2024, 1, 10),
            name="北京示例科技有限公司",
            legal_representative=representative,
            actual_controller=controller,
            ownership="private",
        ),
        rec(
            "REG-2",
            barred_org,
            REGISTRATION,
            dt.date(2024, 2, 10),
            name="福州示例食品有限公司",
            legal_representative=barred_rep,
        ),
        rec(
            "SI",
            barred_org,
            "administrative.serious_illegal.listed",
            dt.date(2025, 9, 1),
            ground="serious_violation",
            sector="food",
        ),
    )
    ledger.add(
        "court",
        rec(
            "L",
            org,
            "judicial.defaulter.listed",
            dt.date(2025, 10, 1),
            document="(2025)京0105执9号",
            situation=2,
            term_months=24,
        ),
    )
    ledger.add(
        "lender",
        rec("O", successor, "commercial.loan.overdue", dt.date(2025, 3, 3), days_overdue=10),
    )
    run = ledger.evaluate()
    org_key = ledger.key(org)
    listing = f"judicial_defaulters:{run.event('L')}"

    assert roles(run.measures(org)) == {
        (m, "subject", None, "list", listing) for m in {*HIGH_CONSUMPTION, "procurement_exclusion"}
    }
    assert roles(run.measures(representative)) == {
        (m, "legal_representative", org_key, "list", listing) for m in HIGH_CONSUMPTION
    }
    assert {m["valid_until"] for m in run.measures(representative)} == {dt.date(2027, 10, 1)}
    assert roles(run.measures(controller)) == {
        (m, "actual_controller", org_key, "list", listing) for m in HIGH_CONSUMPTION
    }
    assert run.measures(successor) == []
    registered = run.event("REG-1", "market_regulator")
    assert sorted(
        (k["person_key"], k["role"], int(k["event_id"])) for k in run.rows("subject_links", org)
    ) == sorted(
        [
            (ledger.key(representative), "legal_representative", registered),
            (ledger.key(controller), "actual_controller", registered),
        ]
    )

    # The serious illegal list bars the legal representative, not the company itself.
    serious = f"serious_illegal:{run.event('SI', 'market_regulator')}"
    assert roles(run.measures(barred_rep)) == {
        (
            "legal_representative_bar",
            "legal_representative",
            ledger.key(barred_org),
            "list",
            serious,
        )
    }
    assert run.measure_ids(barred_org) == {"procurement_exclusion"}

    # A newer registration names another legal representative (and no controller).
    ledger.add(
        "market_regulator",
        rec(
            "REG-3",
            org,
            REGISTRATION,
            dt.date(2026, 3, 1),
            name="北京示例科技有限公司",
            legal_representative=successor,
        ),
    )
    run = ledger.evaluate()
    assert run.measures(representative) == []
    assert run.measures(controller) == []
    assert roles(run.measures(successor)) == {
        (m, "legal_representative", org_key, "list", listing) for m in HIGH_CONSUMPTION
    }
    assert [(k["person_key"], k["role"]) for k in run.rows("subject_links", org)] == [
        (ledger.key(successor), "legal_representative")
    ]
    assert run.measure_ids(org) == {*HIGH_CONSUMPTION, "procurement_exclusion"}
