"""The commercial score over real HTTP: a rental company hears "no consent" until the
person opts in with their own credential; then the car deposit is waived, without the score;
the person withdraws and the waiver is gone within a second, and the feed tells the partner."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.live import City, Server, add_partner, assert_problem, cli_json, serving
from tests.factories import person
from xinyong.clock import today

WAIVER = "deposit.waiver"
CUSTOMER = person(random.Random(6060), year=1984, region="110105")


@dataclass
class Rental:
    server: Server
    lender: str
    rental: str
    subject: str


@pytest.fixture(scope="module")
def rental(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rental]:
    data = city.copy(tmp_path_factory.mktemp("consent-http") / "data")
    lender = cli_json(data, "sources", "add", "City Bank", "--kind", "lender", "--id", "cb")
    partner = add_partner(
        data,
        "cars",
        "rental",
        "deposit waivers for customers who ask",
        "--category",
        "commercial.contract.breach",
    )
    with serving(data) as server:
        # A customer with one loan repaid on time and nothing else on record.
        with server.client(lender["credential"]) as client:
            posted = client.post(
                "/v1/records",
                json={
                    "records": [
                        {
                            "source_record_id": "repaid-1",
                            "subject": CUSTOMER,
                            "category": "commercial.loan.repaid",
                            "occurred_on": (today() - dt.timedelta(days=30)).isoformat(),
                            "details": {"loan_type": "consumer"},
                        }
                    ]
                },
            )
        assert posted.status_code == 200 and posted.json()["accepted"] == 1, posted.text
        subject = cli_json(data, "subject", "credential", CUSTOMER)
        yield Rental(server, lender["credential"], partner["credential"], subject["credential"])


def _ask(rental: Rental, item: str = "car", **extra: Any) -> httpx.Response:
    body = {"subject": CUSTOMER, "action": WAIVER, "context": {"item": item}, **extra}
    with rental.server.client(rental.rental) as client:
        return client.post("/v1/decisions", json=body)


def _consent(rental: Rental, **body: Any) -> httpx.Response:
    with rental.server.client(rental.subject) as client:
        return client.post(f"/v1/subjects/{CUSTOMER}/consents", json=body)


def test_consent_given_waives_the_deposit_and_withdrawn_ends_it(rental: Rental) -> None:
    # A partner may ask only about a customer in a transaction.
    assert_problem(_ask(rental), 422, "transaction_missing")
    before = _ask(rental, transaction="BOOK-1")
    assert before.status_code == 200, before.text
    assert before.json()["rewards"] == []
    assert [w["reason"] for w in before.json()["rewards_withheld"]] == ["no_consent"]

    # Only the subject gives consent, on the current text, one purpose, never by default.
    with rental.server.client(rental.rental) as client:
        refused = client.post(
            f"/v1/subjects/{CUSTOMER}/consents",
            json={"purpose": "commercial_score", "decision": "give", "text_version": "x"},
        )
    assert refused.status_code in (401, 403), refused.text
    assert_problem(
        _consent(rental, purpose="commercial_score", decision="give"), 422, "consent_text_missing"
    )
    with rental.server.client(rental.subject) as client:
        listing = client.get(f"/v1/subjects/{CUSTOMER}/consents").json()
    assert listing["consents"] == []
    version = listing["texts"]["commercial_score"]["version"]
    assert "350" in listing["texts"]["commercial_score"]["en"]
    given = _consent(rental, purpose="commercial_score", decision="give", text_version=version)
    assert given.status_code == 201, given.text
    assert given.json()["consent"]["channel"] == "api"

    after = _ask(rental, transaction="BOOK-2").json()
    assert [r["reward"] for r in after["rewards"]] == [{"deposit_waived": True}]
    assert after["rewards"][0]["trigger"] == {"kind": "score", "id": "commercial_score", "ref": None}
    assert "rewards_withheld" not in after and after["transaction"] == "BOOK-2"

    # The subject sees the score, its reasons, and who asked in which transaction.
    with rental.server.client(rental.subject) as client:
        mine = client.get(f"/v1/subjects/{CUSTOMER}").json()
        log = client.get(f"/v1/subjects/{CUSTOMER}/access-log").json()
    (score,) = mine["commercial_score"]
    assert 650 <= score["points"] <= 950 and len(score["reasons"]) <= 4
    assert str(score["points"]) not in repr(after)
    assert {"BOOK-1", "BOOK-2"} <= {e.get("transaction") for e in log["entries"]}

    with rental.server.client(rental.rental) as client:
        cursor = client.get("/v1/changes", params={"after": 0, "limit": 1000}).json()
    start = cursor["events"][-1]["data"]["cursor"] if cursor["events"] else 0

    withdrawn = _consent(rental, purpose="commercial_score", decision="withdraw")
    gone = time.monotonic()
    assert withdrawn.status_code == 200, withdrawn.text
    answer = _ask(rental, transaction="BOOK-3").json()
    assert time.monotonic() - gone < 1.0
    assert answer["rewards"] == []
    assert answer["rewards_withheld"][0]["reason"] == "no_consent"
    with rental.server.client(rental.rental) as client:
        events = client.get("/v1/changes", params={"after": start, "limit": 1000}).json()["events"]
    ended = [e for e in events if e["data"]["measure"] == "commercial_car_deposit_waiver"]
    assert ended and ended[-1]["data"]["status"] == "ended"
    assert ended[-1]["data"]["subject_ref"] == answer["subject_ref"]
    with rental.server.client(rental.subject) as client:
        mine = client.get(f"/v1/subjects/{CUSTOMER}").json()
    assert mine["commercial_score"][0]["points"] is None
    assert mine["consents"][0]["withdrawn_at"] is not None


def test_a_rental_company_reports_a_breach_the_customer_is_told_and_may_object(
    rental: Rental,
) -> None:
    with rental.server.client(rental.rental) as client:
        posted = client.post(
            "/v1/records",
            json={
                "records": [
                    {
                        "source_record_id": "damage-7",
                        "subject": CUSTOMER,
                        "category": "commercial.contract.breach",
                        "occurred_on": today().isoformat(),
                        "details": {"matter": "car returned damaged", "found_by": "counterparty"},
                    }
                ]
            },
        )
    assert posted.status_code == 200 and posted.json()["accepted"] == 1, posted.text
    with rental.server.client(rental.subject) as client:
        notices = client.get(f"/v1/subjects/{CUSTOMER}/notices").json()["notices"]
        told = [n for n in notices if "damage-7" in repr(n)]
        assert told, notices
        objected = client.post(
            f"/v1/subjects/{CUSTOMER}/objections",
            json={"record": "damage-7", "reason": "The damage was there when I took the car."},
        )
    assert objected.status_code == 201, objected.text
