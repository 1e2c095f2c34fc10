"""Court rules of the default policy: a creditor's new application within 6 months of a
deletion it asked for, listings with a term, the named persons of a listed organisation,
and the high-consumption places (on both stores)."""

from __future__ import annotations

import datetime as dt

from tests.decisions.store_decision import decide_from_store
from tests.policy.conftest import Ledger, credit_code, rec, resident
from xinyong.clock import today
from xinyong.process.calendar import add_months

DEFAULTERS = "judicial_defaulters"
LISTED = "judicial.defaulter.listed"
DELISTED = "judicial.defaulter.delisted"


def _day(ledger: Ledger, days_ago: int) -> dt.date:
    return today(ledger.ctx.settings.timezone) - dt.timedelta(days=days_ago)


def test_a_creditors_new_application_within_six_months_is_refused(ledger: Ledger) -> None:
    again = resident(dt.date(1970, 1, 1), seq=11)
    later = resident(dt.date(1970, 2, 2), seq=12)
    other = resident(dt.date(1970, 3, 3), seq=13)
    ledger.add(
        "court",
        rec("A1", again, LISTED, _day(ledger, 300), document="C-A", situation=1),
        rec("B1", later, LISTED, _day(ledger, 400), document="C-B", situation=1),
        rec("O1", other, LISTED, _day(ledger, 300), document="C-O", situation=1),
    )
    ledger.add(
        "court",
        # Deleted at the creditor's request, then listed again for the same case...
        rec("A2", again, DELISTED, _day(ledger, 200), document="C-A", reason="creditor_request"),
        # ...more than 6 months later: supported again.
        rec("B2", later, DELISTED, _day(ledger, 390), document="C-B", reason="creditor_request"),
        # Deleted because it was performed: a new application is a new matter.
        rec("O2", other, DELISTED, _day(ledger, 200), document="C-O", reason="performed"),
    )
    ledger.add(
        "court",
        rec("A3", again, LISTED, _day(ledger, 100), document="C-A", situation=1),
        rec("B3", later, LISTED, _day(ledger, 100), document="C-B", situation=1),
        rec("O3", other, LISTED, _day(ledger, 100), document="C-O", situation=1),
    )
    run = ledger.evaluate(None)
    refused = [e for e in run.entries(again, DEFAULTERS) if e["status"] == "refused"]
    assert [e["refused_by"] for e in refused] == ["creditor_reapplied"]
    assert not any(e["status"] == "active" for e in run.entries(again, DEFAULTERS))
    assert any(e["status"] == "active" for e in run.entries(later, DEFAULTERS))
    assert any(e["status"] == "active" for e in run.entries(other, DEFAULTERS))
    assert "creditor_reapplied" in {f[2] for f in run.flags(again)}


def test_a_term_listing_ends_on_the_day_its_term_ends(ledger: Ledger) -> None:
    debtor = resident(dt.date(1971, 4, 4), seq=14)
    entered = add_months(today(ledger.ctx.settings.timezone), -24) + dt.timedelta(days=5)
    ledger.add(
        "court", rec("T1", debtor, LISTED, entered, document="C-T", situation=2, term_months=24)
    )
    entry = ledger.evaluate(None).entry(debtor, DEFAULTERS)
    assert entry is not None and entry["status"] == "active"
    assert entry["ends_on"] == add_months(entered, 24)


def test_named_persons_of_a_listed_company_are_restricted_but_not_listed(ledger: Ledger) -> None:
    company = credit_code("MA01CRT01")
    boss = resident(dt.date(1965, 5, 5), seq=15)
    ledger.add(
        "market_regulator",
        rec(
            "R1",
            company,
            "administrative.registration",
            _day(ledger, 900),
            name="示例公司",
            legal_representative=boss,
        ),
    )
    ledger.add("court", rec("L1", company, LISTED, _day(ledger, 30), document="C-Co", situation=1))
    run = ledger.evaluate(None)
    assert run.entry(company, DEFAULTERS) is not None
    assert run.entries(boss, DEFAULTERS) == []  # not listed...
    assert {m["role"] for m in run.measures(boss)} == {"legal_representative"}  # ...restricted
    with ledger.ctx.store.transaction() as conn:
        answer = decide_from_store(ledger.ctx, conn, boss, "flight.ticket.purchase", {})
    assert answer["decision"] == "deny"
    assert {r["applies_as"] for r in answer["reasons"]} == {"legal_representative"}


def test_nightclubs_and_golf_courses_are_high_consumption_places(ledger: Ledger) -> None:
    debtor = resident(dt.date(1972, 6, 6), seq=16)
    ledger.add("court", rec("V1", debtor, LISTED, _day(ledger, 30), document="C-V", situation=1))
    ledger.evaluate(None)
    with ledger.ctx.store.transaction() as conn:
        answers = {
            venue: decide_from_store(ledger.ctx, conn, debtor, "venue.entry", {"venue_type": venue})
            for venue in ("nightclub", "golf_course", "cinema")
        }
    assert answers["nightclub"]["decision"] == "deny"
    assert answers["golf_course"]["decision"] == "deny"
    assert answers["cinema"]["decision"] == "allow"
    assert "Art. 3(2)" in answers["nightclub"]["reasons"][0]["legal_basis"]
