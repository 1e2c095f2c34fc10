"""POST /v1/records: a rental company registered as a partner that also reports contract
breaches submits records over HTTP with its partner credential, and hears back what
became of each one (accepted, duplicate, or rejected with the reason code)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.api.live import (
    City,
    Server,
    add_partner,
    assert_problem,
    cli_json,
    serving,
)
from tests.factories import person
from xinyong.clock import today

BREACH = "commercial.contract.breach"
CUSTOMER = person(random.Random(31337), year=1988, region="110105")
OTHER = person(random.Random(31338), year=1992, region="110108")


@dataclass
class Rental:
    data: Path
    server: Server
    partner: dict[str, Any]
    airline: dict[str, Any]

    def client(self, credential: str | None = None) -> httpx.Client:
        return self.server.client(credential or self.partner["credential"])


@pytest.fixture(scope="module")
def rental(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rental]:
    data = city.copy(tmp_path_factory.mktemp("records-http") / "data")
    partner = add_partner(
        data,
        "rent",
        "rental",
        "deposit-free rentals",
        "--category",
        BREACH,
        "--source-kind",
        "rental",
    )
    airline = add_partner(data, "air", "airline", "ticket sales")
    with serving(data) as server:
        yield Rental(data, server, partner, airline)


def breach(srid: str, subject: str = CUSTOMER, **overrides: Any) -> dict[str, Any]:
    record = {
        "source_record_id": srid,
        "subject": subject,
        "category": BREACH,
        "occurred_on": (today() - dt.timedelta(days=10)).isoformat(),
        "details": {"matter": "vehicle not returned", "found_by": "counterparty"},
    }
    record.update(overrides)
    return {k: v for k, v in record.items() if v is not None}


def submit(client: httpx.Client, records: list[Any]) -> Any:
    response = client.post("/v1/records", json={"records": records})
    assert response.status_code == 200, response.text
    return response.json()


def test_each_record_is_accepted_duplicate_or_rejected_with_a_reason(rental: Rental) -> None:
    bad_check = CUSTOMER[:-1] + ("0" if CUSTOMER[-1] != "0" else "1")
    records = [
        breach("b-1"),
        breach("b-1"),  # the same record again in the same submission
        breach("b-2", subject=bad_check),
        breach("b-3", category="judicial.defaulter.listed", details={"situation": 2}),
        breach("b-4", details={"matter": "x", "found_by": "police"}),
        breach("b-5", occurred_on=(today() + dt.timedelta(days=3)).isoformat()),
        breach("b-6", details={"matter": "x", "religion": "any"}),
        breach("b-7", category="no.such.category"),
        breach("b-8", subject=OTHER),
    ]
    with rental.client() as client:
        body = submit(client, records)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(records)))
    assert [r["source_record_id"] for r in results] == [r["source_record_id"] for r in records]
    statuses = [(r["status"], r.get("reason")) for r in results]
    assert statuses == [
        ("accepted", None),
        ("duplicate", None),
        ("rejected", "subject_invalid"),
        ("rejected", "category_not_granted"),
        ("rejected", "detail_type"),
        ("rejected", "occurred_on_future"),
        ("rejected", "detail_unknown"),
        ("rejected", "category_unknown"),
        ("accepted", None),
    ]
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (2, 1, 6)
    assert body["submission_id"]
    for r in results:
        if r["status"] == "rejected":
            assert r["message"] and isinstance(r["message"], str), r
    assert "found_by" in results[4]["message"]


def test_the_same_records_sent_again_are_duplicates(rental: Rental) -> None:
    records = [breach("again-1", subject=OTHER), breach("again-2", subject=OTHER)]
    with rental.client() as client:
        first = submit(client, records)
        second = submit(client, records)
    assert [r["status"] for r in first["results"]] == ["accepted", "accepted"]
    assert [r["status"] for r in second["results"]] == ["duplicate", "duplicate"]
    assert (second["accepted"], second["duplicates"], second["rejected"]) == (0, 2, 0)
    assert second["submission_id"] != first["submission_id"]


def test_a_changed_record_under_a_known_id_is_a_conflict(rental: Rental) -> None:
    with rental.client() as client:
        submit(client, [breach("conflict-1", subject=OTHER)])
        body = submit(
            client,
            [breach("conflict-1", subject=OTHER, details={"matter": "y", "found_by": "court"})],
        )
    assert [(r["status"], r.get("reason")) for r in body["results"]] == [("rejected", "conflict")]


def test_accepted_records_are_in_the_ledger_under_the_partner(rental: Rental) -> None:
    refused = breach("ledger-2", details={"matter": "x", "found_by": "police"})
    with rental.client() as client:
        body = submit(client, [breach("ledger-1"), refused])
    assert [r["status"] for r in body["results"]] == ["accepted", "rejected"]
    shown = cli_json(rental.data, "subject", "show", CUSTOMER)
    mine = {r["source_record_id"]: r for r in shown["current_records"] if r["source_id"] == "rent"}
    assert mine["ledger-1"]["category"] == BREACH
    assert mine["ledger-1"]["details"] == {
        "matter": "vehicle not returned",
        "found_by": "counterparty",
    }
    assert "ledger-2" not in mine  # nothing rejected reaches the ledger


@pytest.mark.parametrize("who", ["none", "unknown", "partner-without-categories"])
def test_without_a_source_credential_it_is_401(rental: Rental, who: str) -> None:
    credential = {
        "none": None,
        "unknown": "xys_nobody-was-given-this",
        "partner-without-categories": rental.airline["credential"],
    }[who]
    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    with httpx.Client(base_url=rental.server.url, headers=headers, trust_env=False) as client:
        response = client.post("/v1/records", json={"records": [breach("unauth-1")]})
    body = assert_problem(response, 401, "credential_invalid")
    assert "source" in body["detail"]
    shown = cli_json(rental.data, "subject", "show", CUSTOMER)
    assert "unauth-1" not in {r["source_record_id"] for r in shown["current_records"]}


def test_the_partner_credential_still_asks_for_decisions(rental: Rental) -> None:
    with rental.client() as client:
        response = client.post(
            "/v1/decisions", json={"subject": CUSTOMER, "action": "rental.deposit"}
        )
        outside = client.post(
            "/v1/decisions", json={"subject": CUSTOMER, "action": "flight.ticket.purchase"}
        )
    assert response.status_code == 200, response.text
    assert response.json()["decision"] in ("allow", "deny")
    assert_problem(outside, 403, "action_not_granted")


@pytest.mark.parametrize(
    "payload",
    [{}, {"records": {}}, {"records": [1, "x"]}, {"records": [], "more": 1}, []],
    ids=["no-records", "records-object", "not-objects", "extra-member", "array"],
)
def test_a_body_off_the_schema_is_422(rental: Rental, payload: Any) -> None:
    with rental.client() as client:
        response = client.post("/v1/records", json=payload)
    assert_problem(response, 422, "body_invalid")


def test_malformed_json_is_422(rental: Rental) -> None:
    with rental.client() as client:
        response = client.post("/v1/records", content=b'{"records": [')
    assert_problem(response, 422, "body_malformed")


def test_more_than_ten_thousand_records_is_413(rental: Rental) -> None:
    with rental.client() as client:
        response = client.post("/v1/records", json={"records": [breach("x")] * 10_001})
    assert_problem(response, 413, "batch_too_large")


def test_an_empty_submission_does_not_reveal_server_paths(rental: Rental) -> None:
    """No records is an answer with no results (or a problem about the body), never a
    message about a temporary file on the server."""
    with rental.client() as client:
        response = client.post("/v1/records", json={"records": []})
    assert response.status_code in (200, 422), response.text
    assert str(rental.data) not in response.text and "submission.jsonl" not in response.text
    if response.status_code == 200:
        assert response.json()["results"] == []
    else:
        assert_problem(response, 422, "body_invalid")


def test_details_nested_past_the_limit_are_422_not_a_server_error(rental: Rental) -> None:
    """A probe's 254-level details ended in a 500 (the spool could not write them)."""
    record = breach("deep-1")
    body = orjson.dumps({"records": [record]}).decode()
    deep = '{"a": ' * 300 + "1" + "}" * 300
    body = body.replace('"details":{', f'"details":{{"nested": {deep}, ', 1)
    with rental.client() as client:
        response = client.post(
            "/v1/records", content=body, headers={"Content-Type": "application/json"}
        )
    assert_problem(response, 422, "body_too_deep")
