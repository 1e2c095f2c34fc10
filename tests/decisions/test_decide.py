"""Partner questions answered from the current evaluated state, on each store.

One small ledger per store (built once for the module): a listed person, an organisation
on the defaulter list with its legal representative, and a person on the honour roll, all
dated relative to today and evaluated as the current run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.decisions.store_decision import decide_from_store
from tests.factories import COMPANY, PERSON_2
from tests.policy.conftest import Ledger, Run, fresh_database, rec, resident
from xinyong.clock import today
from xinyong.context import Context
from xinyong.errors import DecisionError, InvalidIdentifier
from xinyong.ids import mask
from xinyong.settings import load_settings

LISTED = "judicial.defaulter.listed"
LISTED_PERSON = resident(dt.date(1980, 5, 10))
REPRESENTATIVE = resident(dt.date(1972, 7, 7))
HONOURED = resident(dt.date(1990, 4, 4))
CHILD = resident(dt.date(2012, 3, 3))  # a minor: the listing is refused
UNKNOWN = PERSON_2  # valid, and in no record of the ledger


@dataclass
class Town:
    ctx: Context
    run: Run
    today: dt.date

    def ask(self, identifier: str, action: str, **context: Any) -> dict[str, Any]:
        with self.ctx.store.transaction() as conn:
            return decide_from_store(self.ctx, conn, identifier, action, context)

    def measure(self, measure_id: str) -> Any:
        return self.ctx.policy.measures[measure_id]


@pytest.fixture(
    scope="module", params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def town(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Town]:
    root: Path = tmp_path_factory.mktemp("decide")
    with ExitStack() as stack:
        url = None
        if request.param == "postgres":
            url = stack.enter_context(fresh_database(request.getfixturevalue("pg_server")))
        ctx = Context(load_settings(data_dir=root / "data", database_url=url, secret="test-secret"))
        ledger = Ledger(ctx, root / "files")
        day = today(ctx.settings.timezone)
        ledger.add(
            "court",
            rec(
                "L-p", LISTED_PERSON, LISTED, day - dt.timedelta(days=30), document="P", situation=2
            ),
            rec("L-o", COMPANY, LISTED, day - dt.timedelta(days=20), document="O", situation=2),
            rec("L-c", CHILD, LISTED, day - dt.timedelta(days=20), document="C", situation=2),
        )
        ledger.add(
            "market_regulator",
            rec(
                "REG",
                COMPANY,
                "administrative.registration",
                day - dt.timedelta(days=400),
                name="北京示例科技有限公司",
                legal_representative=REPRESENTATIVE,
            ),
        )
        ledger.add(
            "honours_office",
            rec(
                "H",
                HONOURED,
                "social.honor",
                day - dt.timedelta(days=30),
                kind="volunteer_service",
                hours=120,
            ),
        )
        yield Town(ctx, ledger.evaluate(None), day)


def test_a_listed_person_is_denied_a_flight_with_reasons_and_a_remedy(town: Town) -> None:
    answer = town.ask(LISTED_PERSON, "flight.ticket.purchase")
    listing = town.run.event("L-p")
    entry = town.run.entry(LISTED_PERSON, "judicial_defaulters")
    assert entry is not None
    ends_on = entry["ends_on"].isoformat()
    travel = town.measure("high_consumption_travel")

    assert answer["decision"] == "deny"
    assert answer["subject"] == mask(LISTED_PERSON)
    assert (answer["action"], answer["context"], answer["rewards"]) == (
        "flight.ticket.purchase",
        {},
        [],
    )
    assert [r["measure"] for r in answer["reasons"]] == ["high_consumption_travel"]
    reason = answer["reasons"][0]
    assert reason["trigger"] == {
        "kind": "list",
        "id": "judicial_defaulters",
        "ref": f"judicial_defaulters:{listing}",
    }
    assert reason["records"] == [listing]
    assert (reason["applies_as"], reason["via"]) == ("subject", None)
    assert reason["legal_basis"] == travel.legal_basis
    assert reason["remedy"] == travel.remedy
    assert reason["valid_until"] == ends_on
    assert answer["remedy"] == travel.remedy
    assert answer["valid_until"] == ends_on
    assert answer["evaluated_as_of"] == town.today.isoformat()


def test_the_legal_representative_is_denied_through_the_organisation(town: Town) -> None:
    answer = town.ask(REPRESENTATIVE, "flight.ticket.purchase")
    assert answer["decision"] == "deny"
    [reason] = answer["reasons"]
    assert (reason["measure"], reason["applies_as"], reason["via"]) == (
        "high_consumption_travel",
        "legal_representative",
        COMPANY,
    )
    assert reason["records"] == [town.run.event("L-o")]
    assert town.ask(COMPANY, "procurement.bid")["decision"] == "deny"
    # The code is recognised however a clerk types it.
    typed = f" {COMPANY[:9].lower()}-{COMPANY[9:].lower()} "
    assert town.ask(typed, "procurement.bid")["decision"] == "deny"
    # Procurement exclusion reaches the company only.
    assert town.ask(REPRESENTATIVE, "procurement.bid")["decision"] == "allow"


@pytest.mark.parametrize(
    ("train_type", "seat_class", "decision"),
    [
        ("K", "hard_seat", "allow"),
        ("G", "hard_seat", "deny"),
        ("G", "second", "deny"),
        ("D", "first", "deny"),
        ("D", "second", "allow"),
        ("K", "soft_sleeper", "deny"),
    ],
)
def test_rail_tickets_by_train_type_and_seat_class(
    town: Town, train_type: str, seat_class: str, decision: str
) -> None:
    answer = town.ask(
        LISTED_PERSON, "rail.ticket.purchase", train_type=train_type, seat_class=seat_class
    )
    assert answer["decision"] == decision
    assert answer["context"] == {"train_type": train_type, "seat_class": seat_class}
    expected = ["high_consumption_travel"] if decision == "deny" else []
    assert [r["measure"] for r in answer["reasons"]] == expected
    assert (answer["remedy"] is None) == (decision == "allow")


def test_hotels_by_star_rating(town: Town) -> None:
    rated = town.ask(LISTED_PERSON, "hotel.booking", star_rating=3)
    assert rated["decision"] == "deny"
    assert [r["measure"] for r in rated["reasons"]] == ["high_consumption_lodging"]
    assert rated["remedy"] == town.measure("high_consumption_lodging").remedy
    unrated = town.ask(LISTED_PERSON, "hotel.booking", star_rating=0)
    assert (unrated["decision"], unrated["reasons"], unrated["remedy"]) == ("allow", [], None)
    # Context from a query string arrives as text and is typed.
    assert town.ask(LISTED_PERSON, "hotel.booking", star_rating="1")["context"] == {
        "star_rating": 1
    }


def test_an_unknown_subject_is_allowed_with_no_reasons(town: Town) -> None:
    answer = town.ask(UNKNOWN, "flight.ticket.purchase")
    assert (answer["decision"], answer["reasons"], answer["rewards"]) == ("allow", [], [])
    assert (answer["valid_until"], answer["remedy"]) == (None, None)
    assert answer["subject"] == mask(UNKNOWN)


def test_a_refused_listing_of_a_minor_restricts_nothing(town: Town) -> None:
    entry = town.run.entry(CHILD, "judicial_defaulters")
    assert entry is not None
    assert entry["status"] == "refused"
    for action, context in (
        ("flight.ticket.purchase", {}),
        ("rail.ticket.purchase", {"train_type": "G", "seat_class": "first"}),
        ("hotel.booking", {"star_rating": 5}),
    ):
        answer = town.ask(CHILD, action, **context)
        assert (answer["decision"], answer["reasons"]) == ("allow", []), action


def test_a_reward_is_returned_with_its_terms(town: Town) -> None:
    answer = town.ask(HONOURED, "public_transport.fare")
    assert (answer["decision"], answer["reasons"]) == ("allow", [])
    [reward] = answer["rewards"]
    assert reward["measure"] == "honour_roll_transit"
    assert reward["reward"] == {"discount_percent": 50}
    assert reward["trigger"]["kind"] == "list"
    assert reward["trigger"]["id"] == "city_honour_roll"
    assert reward["records"] == [town.run.event("H", "honours_office")]
    assert reward["legal_basis"] == town.measure("honour_roll_transit").legal_basis
    entry = town.run.entry(HONOURED, "city_honour_roll")
    assert entry is not None
    assert reward["valid_until"] == answer["valid_until"] == entry["ends_on"].isoformat()
    # The listed person is not on the roll: no discount, and no denial either.
    other = town.ask(LISTED_PERSON, "public_transport.fare")
    assert (other["decision"], other["rewards"], other["reasons"]) == ("allow", [], [])


@pytest.mark.parametrize(
    ("action", "context", "code"),
    [
        ("teleport.booking", {}, "action_unknown"),
        ("rail.ticket.purchase", {"train_type": "G"}, "context_missing"),
        ("rail.ticket.purchase", {}, "context_missing"),
        ("rail.ticket.purchase", {"train_type": "X", "seat_class": "first"}, "context_invalid"),
        ("hotel.booking", {"star_rating": 6}, "context_invalid"),
        ("hotel.booking", {"star_rating": "three"}, "context_invalid"),
        ("flight.ticket.purchase", {"cabin": "first"}, "context_invalid"),
    ],
)
def test_bad_requests_are_refused_with_a_code(
    town: Town, action: str, context: dict[str, Any], code: str
) -> None:
    for who in (LISTED_PERSON, UNKNOWN):  # the same answer whoever the subject is
        with pytest.raises(DecisionError) as raised:
            town.ask(who, action, **context)
        assert raised.value.code == code


def test_an_invalid_identifier_is_refused(town: Town) -> None:
    with pytest.raises(InvalidIdentifier):
        town.ask("110105194912310021", "flight.ticket.purchase")  # wrong check character
    with pytest.raises(InvalidIdentifier):
        town.ask("not-an-id", "flight.ticket.purchase")
