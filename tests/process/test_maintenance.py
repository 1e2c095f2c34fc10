"""`xinyong maintain` and the remedies of a subject's measures, on both stores."""

from __future__ import annotations

import datetime as dt

from tests.policy.conftest import Ledger, credit_code, rec, resident
from xinyong.clock import today
from xinyong.evaluation.replay import subject_state
from xinyong.process import notices
from xinyong.process.calendar import add_months
from xinyong.process.maintenance import maintain
from xinyong.process.objections import file_objection
from xinyong.process.remedies import remedies

DEBTOR = resident(dt.date(1971, 3, 3), seq=5)
TERM = resident(dt.date(1982, 4, 4), seq=6)


def _kinds(ledger: Ledger, identifier: str) -> list[str]:
    with ledger.ctx.store.transaction() as conn:
        return [n["kind"] for n in notices.listing(conn, ledger.key(identifier))]


def test_maintain_tells_of_terms_ending_and_is_idempotent(ledger: Ledger) -> None:
    day = today(ledger.ctx.settings.timezone)
    # A 24-month term that ends in 10 days, and one that ends in a year.
    ends_soon = add_months(day, -24) + dt.timedelta(days=10)
    ledger.add(
        "court",
        rec(
            "T1",
            TERM,
            "judicial.defaulter.listed",
            ends_soon,
            document="T1",
            situation=2,
            term_months=24,
        ),
        rec(
            "T2",
            DEBTOR,
            "judicial.defaulter.listed",
            day - dt.timedelta(days=30),
            document="T2",
            situation=2,
            term_months=24,
        ),
    )
    ledger.evaluate(None)
    first = maintain(ledger.ctx, deliver=False)
    # The listing's term, and the points it costs in the city score, end in 10 days.
    assert first["notices_ending"] == 2
    assert "term_ending" in _kinds(ledger, TERM) and "term_ending" not in _kinds(ledger, DEBTOR)
    with ledger.ctx.store.transaction() as conn:
        told = [n for n in notices.listing(conn, ledger.key(TERM)) if n["kind"] == "term_ending"]
    assert (day + dt.timedelta(days=10)).isoformat() in told[0]["body"]["text"]["en"]
    second = maintain(ledger.ctx, deliver=False)
    assert {k: v for k, v in second.items() if k not in ("as_of", "seconds")} == {
        "expired": 0,
        "grace_ended": 0,
        "notices_from_changes": 0,
        "notices_ending": 0,
        "notices_overdue": 0,
    }


def test_a_penalty_stops_counting_on_the_day_its_publicity_ends(ledger: Ledger) -> None:
    company = credit_code("MA01PUBLC")
    day = today(ledger.ctx.settings.timezone)
    decided = add_months(day, -12)  # a general penalty is published for 12 months
    ledger.add(
        "market_regulator",
        rec(
            "P1",
            company,
            "administrative.penalty",
            decided,
            document="P1",
            severity="general",
            matter="labelling",
        ),
    )
    ledger.evaluate(None)
    with ledger.ctx.store.transaction() as conn:
        before = subject_state(ledger.ctx, conn, ledger.key(company), day - dt.timedelta(days=1))
        on_the_day = subject_state(ledger.ctx, conn, ledger.key(company), day)
    counted = [c for s in before["scores"] for c in s["contributions"]]
    assert counted and counted[0]["counts_until"] == day.isoformat()
    assert not [c for s in on_the_day["scores"] for c in s["contributions"]]


def test_remedies_name_the_record_the_authority_and_the_objection(ledger: Ledger) -> None:
    day = today(ledger.ctx.settings.timezone)
    ledger.add(
        "court",
        rec(
            "R1",
            DEBTOR,
            "judicial.defaulter.listed",
            day - dt.timedelta(days=40),
            document="(2026)R1",
            situation=1,
        ),
    )
    ledger.evaluate(None)
    with ledger.ctx.store.transaction() as conn:
        found = remedies(ledger.ctx, conn, DEBTOR)
    assert found["measures"], found
    travel = next(m for m in found["measures"] if "flight.ticket.purchase" in m["actions"])
    assert travel["ends_by_itself_on"] is None  # situation 1 listings are open-ended
    [record] = travel["records"]
    assert record["record"] == "R1" and record["document"] == "(2026)R1"
    assert record["authority"]["source"] == "court" and record["repair_from"] is None
    assert "removal" in record["ends_it"] and not record["disputed"]
    filed = file_objection(ledger.ctx, DEBTOR, "R1", "Paid.")
    with ledger.ctx.store.transaction() as conn:
        again = remedies(ledger.ctx, conn, DEBTOR)
    [record] = next(m for m in again["measures"] if m["measure"] == travel["measure"])["records"]
    assert record["disputed"] and record["objection"] == filed["objection"]
