"""Due process over real HTTP: a court lists a person, who is told at once; the person
objects with a PDF as evidence and every answer shows the listing disputed; the court
upholds in time and the person is delisted and told; a mistyped removal is reported."""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.live import City, Server, add_partner, assert_problem, cli_json, serving, wait_for
from tests.factories import person
from xinyong.clock import today

FLIGHT = "flight.ticket.purchase"
DEBTOR = person(random.Random(4242), year=1979, region="110105")
CASE = "(2026)京0105执777号"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% bank receipt: paid in full\n%%EOF\n"


@dataclass
class Court:
    data: Path
    server: Server
    court: str  # the court's credential (a source)
    airline: str
    subject: str  # the debtor's own credential

    def client(self, credential: str) -> httpx.Client:
        return self.server.client(credential)


@pytest.fixture(scope="module")
def court(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Court]:
    data = city.copy(tmp_path_factory.mktemp("due-process-http") / "data")
    source = cli_json(data, "sources", "add", "Dongcheng Court", "--kind", "court", "--id", "dc")
    airline = add_partner(data, "air", "airline", "ticket sales")
    subject = cli_json(data, "subject", "credential", DEBTOR)
    with serving(data) as server:
        yield Court(data, server, source["credential"], airline["credential"], subject["credential"])


def _ask(court: Court) -> dict[str, Any]:
    with court.client(court.airline) as client:
        response = client.post("/v1/decisions", json={"subject": DEBTOR, "action": FLIGHT})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _records(court: Court, records: list[dict[str, Any]]) -> dict[str, Any]:
    with court.client(court.court) as client:
        response = client.post("/v1/records", json={"records": records})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _notices(court: Court) -> list[dict[str, Any]]:
    with court.client(court.subject) as client:
        response = client.get(f"/v1/subjects/{DEBTOR}/notices")
    assert response.status_code == 200, response.text
    return list(response.json()["notices"])


def test_listed_told_objects_disputed_upheld_delisted_and_told(court: Court) -> None:
    listed_on = (today() - dt.timedelta(days=2)).isoformat()
    answer = _records(
        court,
        [
            {
                "source_record_id": "L-777",
                "subject": DEBTOR,
                "category": "judicial.defaulter.listed",
                "occurred_on": listed_on,
                "document": CASE,
                "details": {"situation": 1},
            }
        ],
    )
    assert answer["accepted"] == 1
    assert _ask(court)["decision"] == "deny"
    # Told at once, with reasons, basis, how to object and the remedy.
    started = [n for n in _notices(court) if n["kind"] == "measure_started"]
    assert started, "the listed person was not told"
    body = started[0]["body"]
    assert body["legal_basis"] and body["remedy"] and body["records"]
    assert body["records"][0]["document"] == CASE
    assert "objections file" in body["how_to_object"]["en"] and body["title"]["zh"]

    # The person objects with a receipt; every answer shows the listing disputed at once.
    evidence = [{"name": "receipt.pdf", "content_base64": base64.b64encode(PDF).decode()}]
    with court.client(court.subject) as client:
        filed = client.post(
            f"/v1/subjects/{DEBTOR}/objections",
            json={"record": "L-777", "reason": "Paid in full on 1 May.", "evidence": evidence},
        )
    assert filed.status_code == 201, filed.text
    objection = filed.json()
    assert objection["status"] == "open" and objection["evidence"][0]["size"] == len(PDF)
    disputed = _ask(court)
    assert disputed["decision"] == "deny"
    assert all(r["disputed"] and r["objection"] == objection["objection"] for r in disputed["reasons"])
    with court.client(court.airline) as client:
        events = client.get("/v1/changes", params={"after": 0, "limit": 1000}).json()["events"]
    assert any(e["data"]["disputed"] for e in events)
    # The person's own file says the same, with what would lift each measure.
    with court.client(court.subject) as client:
        mine = client.get(f"/v1/subjects/{DEBTOR}")
    assert mine.status_code == 200, mine.text
    whole = mine.json()
    assert whole["identifier"] == DEBTOR and whole["objections"][0]["status"] == "open"
    ways = [r for m in whole["remedies"] for r in m["records"]]
    assert ways and all(r["disputed"] and r["record"] == "L-777" for r in ways)
    assert all(r["authority"]["name"] == "Dongcheng Court" for r in ways)

    # Another source may not decide it; the court does, in time.
    with court.client(court.airline) as client:
        assert_problem(
            client.post(
                f"/v1/objections/{objection['objection']}/decision",
                json={"uphold": True, "reason": "x"},
            ),
            401,
            "credential_invalid",
        )
    with court.client(court.court) as client:
        decided = client.post(
            f"/v1/objections/{objection['objection']}/decision",
            json={"uphold": True, "reason": "The payment is confirmed."},
        )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "upheld"
    wait_for(lambda: _ask(court)["decision"] == "allow", 2, "the upheld objection to lift the ban")
    kinds = [n["kind"] for n in _notices(court)]
    assert "objection_decided" in kinds and "measure_ended" in kinds
    with court.client(court.subject) as client:
        mine = client.get(f"/v1/subjects/{DEBTOR}/objections").json()["objections"]
    assert [o["status"] for o in mine] == ["upheld"]


def test_a_mistyped_removal_is_reported_to_the_court(court: Court) -> None:
    answer = _records(
        court,
        [
            {
                "source_record_id": "D-typo",
                "subject": DEBTOR,
                "category": "judicial.defaulter.delisted",
                "occurred_on": today().isoformat(),
                "document": "(2026)京0105执77号",
                "details": {"reason": "performed"},
            }
        ],
    )
    [result] = answer["results"]
    assert result["status"] == "accepted"
    assert [w["code"] for w in result["warnings"]] == ["exit_unmatched"]


def test_objection_routes_check_who_asks(court: Court, city: City) -> None:
    with court.client(court.subject) as client:
        assert_problem(
            client.get(f"/v1/subjects/{city.listed}/notices"), 403, "credential_other_subject"
        )
        assert_problem(
            client.post(
                f"/v1/subjects/{DEBTOR}/objections", json={"record": "NOPE", "reason": "x"}
            ),
            404,
            "record_unknown",
        )
        assert_problem(
            client.post(f"/v1/subjects/{DEBTOR}/objections", json={"record": "L-777"}),
            422,
            "body_invalid",
        )
    with court.client(None) as client:
        assert_problem(client.get(f"/v1/subjects/{DEBTOR}/objections"), 401, "credential_invalid")
    with court.client(court.court) as client:
        assert_problem(
            client.post("/v1/objections/OBJ-999999/decision", json={"uphold": False, "reason": "x"}),
            404,
            "objection_unknown",
        )
