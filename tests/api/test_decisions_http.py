"""POST /v1/decisions and its batch form, over HTTP against `xinyong serve` on a demo city.

Every error is checked as an RFC 9457 problem document: the status, the content type
application/problem+json, the members type/title/status/detail and the machine-readable
code.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.live import (
    FLIGHT,
    UNKNOWN,
    City,
    Server,
    add_partner,
    assert_problem,
    cli_json,
    serving,
    wait_for,
)
from tests.factories import COMPANY_2

AIR_PURPOSE = "ticket sales under the joint punishment memorandum"
RAIL = "rail.ticket.purchase"
BAD_CHECK = UNKNOWN[:-1] + ("0" if UNKNOWN[-1] != "0" else "1")


@dataclass
class Api:
    server: Server
    city: City
    air: dict[str, Any]
    rail: dict[str, Any]
    source: dict[str, Any]

    def as_air(self) -> httpx.Client:
        return self.server.client(self.air["credential"])

    def as_rail(self) -> httpx.Client:
        return self.server.client(self.rail["credential"])


@pytest.fixture(scope="module")
def api(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    data = city.copy(tmp_path_factory.mktemp("decisions-http") / "data")
    air = add_partner(data, "air", "airline", AIR_PURPOSE)
    rail = add_partner(data, "rail", "railway", "seat sales")
    source = cli_json(data, "sources", "add", "Test Court", "--kind", "court", "--id", "t-court")
    with serving(data) as server:
        yield Api(server, city, air, rail, source)


def decide(client: httpx.Client, subject: str, action: str = FLIGHT, **extra: Any) -> Any:
    return client.post("/v1/decisions", json={"subject": subject, "action": action, **extra})


# -- answers -------------------------------------------------------------------------------------


def test_the_listed_person_is_denied_with_legal_basis_and_remedy(api: Api) -> None:
    with api.as_air() as client:
        response = decide(client, api.city.listed)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["decision"] == "deny"
    assert body["action"] == FLIGHT
    assert body["reasons"], body
    for reason in body["reasons"]:
        assert reason["measure"] and reason["label"]
        assert reason["legal_basis"] and isinstance(reason["legal_basis"], str)
        assert reason["remedy"] and isinstance(reason["remedy"], str)
        assert reason["trigger"]["kind"] and reason["trigger"]["id"]
        assert reason["records"] and all(isinstance(r, int) for r in reason["records"])
        assert reason["applies_as"]
    assert body["remedy"] and all(r["remedy"] in body["remedy"] for r in body["reasons"])
    # The identifier leaves masked; the partner gets its own stable reference instead.
    assert body["subject"] != api.city.listed and "*" in body["subject"]
    assert api.city.listed not in response.text
    assert re.fullmatch(r"[0-9a-f]{24}", body["subject_ref"])
    assert body["purpose"] == AIR_PURPOSE  # the grant's purpose when the request names none
    uuid.UUID(body["decision_id"])
    assert body["evaluated_as_of"] and body["decided_on"] and body["policy"]


def test_an_unknown_valid_subject_is_allowed_with_no_reasons(api: Api) -> None:
    with api.as_air() as client:
        response = decide(client, UNKNOWN, purpose="boarding check")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["decision"] == "allow"
    assert body["reasons"] == [] and body["rewards"] == []
    assert body["remedy"] is None and body["valid_until"] is None
    assert body["purpose"] == "boarding check"


def test_an_unknown_valid_organisation_is_allowed_too(api: Api) -> None:
    with api.as_air() as client:
        response = decide(client, COMPANY_2)
    assert response.status_code == 200, response.text
    assert response.json()["decision"] == "allow" and response.json()["reasons"] == []


def test_every_decision_single_or_batch_is_in_the_subjects_access_log(api: Api) -> None:
    """Each answer is on disk before it leaves, so the log shows it at once."""
    with api.as_air() as client:
        single = decide(client, COMPANY_2, purpose="audit trail single").json()
        batch = client.post(
            "/v1/decisions/batch",
            json={
                "requests": [
                    {"subject": COMPANY_2, "action": FLIGHT, "purpose": "audit trail batch"},
                    {"subject": COMPANY_2, "action": "hotel.booking"},  # refused: not logged
                ]
            },
        ).json()
    logged = cli_json(api.server.data_dir, "subject", "access-log", COMPANY_2)["entries"]
    by_id = {e["decision_id"]: e for e in logged if e["kind"] == "decision"}
    first = by_id[single["decision_id"]]
    second = by_id[batch["results"][0]["decision"]["decision_id"]]
    assert (first["who"], first["purpose"], first["outcome"]) == (
        "air",
        "audit trail single",
        "allow",
    )
    assert (second["who"], second["purpose"], second["action"]) == (
        "air",
        "audit trail batch",
        FLIGHT,
    )
    assert not [e for e in logged if e["action"] == "hotel.booking"]


def test_a_partner_registered_while_serving_is_heard_within_moments(api: Api) -> None:
    late = add_partner(api.server.data_dir, "late-air", "airline", "late ticket sales")
    with api.server.client(late["credential"]) as client:
        response = wait_for(
            lambda: (r := decide(client, UNKNOWN)).status_code == 200 and r,
            10,
            "the service to accept the new partner's credential",
        )
    assert response.json()["purpose"] == "late ticket sales"


def test_subject_refs_are_stable_per_partner_and_differ_between_partners(api: Api) -> None:
    ctx = {"train_type": "G", "seat_class": "first"}
    with api.as_air() as air, api.as_rail() as rail:
        first = decide(air, api.city.listed).json()
        second = decide(air, api.city.listed).json()
        by_rail = decide(rail, api.city.listed, RAIL, context=ctx).json()
    assert first["subject_ref"] == second["subject_ref"]
    assert first["decision_id"] != second["decision_id"]
    assert by_rail["subject_ref"] != first["subject_ref"]
    assert by_rail["decision"] == "deny"  # high-speed first class is restricted too
    assert by_rail["context"] == ctx


def test_context_is_checked_against_the_action(api: Api) -> None:
    with api.as_rail() as rail, api.as_air() as air:
        missing = decide(rail, UNKNOWN, RAIL)
        wrong_value = decide(rail, UNKNOWN, RAIL, context={"train_type": "G", "seat_class": "x"})
        not_taken = decide(air, UNKNOWN, context={"seat_class": "first"})
        conventional = decide(
            rail, api.city.listed, RAIL, context={"train_type": "K", "seat_class": "hard_seat"}
        )
    body = assert_problem(missing, 422, "context_missing")
    assert "train_type" in body["detail"] and "seat_class" in body["detail"]
    assert "seat_class" in assert_problem(wrong_value, 422, "context_invalid")["detail"]
    assert "seat_class" in assert_problem(not_taken, 422, "context_invalid")["detail"]
    # A hard seat on a conventional train is not high consumption: allowed even when listed.
    assert conventional.status_code == 200 and conventional.json()["decision"] == "allow"


# -- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer xyp_not-a-credential-anyone-was-given"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic eHlwX2FiYzo="},
    ],
    ids=["none", "unknown", "empty", "basic"],
)
def test_a_missing_or_wrong_credential_is_401(api: Api, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=api.server.url, headers=headers, trust_env=False) as client:
        single = decide(client, api.city.listed)
        batch = client.post(
            "/v1/decisions/batch", json={"requests": [{"subject": UNKNOWN, "action": FLIGHT}]}
        )
        changes = client.get("/v1/changes")
    for response in (single, batch, changes):
        body = assert_problem(response, 401, "credential_invalid")
        assert "Bearer" in body["detail"]
        assert response.headers["www-authenticate"].lower().startswith("bearer")


def test_a_source_credential_is_not_a_partner_credential(api: Api) -> None:
    with api.server.client(api.source["credential"]) as client:
        assert_problem(decide(client, UNKNOWN), 401, "credential_invalid")


def test_the_credential_is_checked_before_the_body(api: Api) -> None:
    with httpx.Client(base_url=api.server.url, trust_env=False) as client:
        response = client.post("/v1/decisions", content=b"{not json")
    assert_problem(response, 401, "credential_invalid")


def test_an_action_outside_the_grant_is_403_naming_the_grant(api: Api) -> None:
    with api.as_air() as client:
        response = decide(client, api.city.listed, "hotel.booking")
    body = assert_problem(response, 403, "action_not_granted")
    assert "hotel.booking" in body["detail"]
    assert FLIGHT in body["detail"]  # what the grant does cover
    assert "air" in body["detail"]


def test_an_action_the_policy_does_not_know_is_422_action_unknown(api: Api) -> None:
    """A typo is not a missing grant: the partner must hear that the action does not exist
    (action_unknown, listing the known actions), not be told to ask an administrator for
    a grant that cannot be given."""
    with api.as_air() as client:
        response = decide(client, UNKNOWN, "flight.ticket.purchse")
    body = assert_problem(response, 422, "action_unknown")
    assert "flight.ticket.purchse" in body["detail"]


@pytest.mark.parametrize(
    "subject",
    [BAD_CHECK, UNKNOWN[:17], "ABCDEFGHIJKLMNOPQR", "", "1" * 5000],
    ids=["check-character", "17-characters", "letters", "empty", "very-long"],
)
def test_a_malformed_identifier_is_422(api: Api, subject: str) -> None:
    with api.as_air() as client:
        response = decide(client, subject)
    body = assert_problem(response, 422, "identifier_invalid")
    assert body["detail"]


def test_malformed_json_is_422_body_malformed(api: Api) -> None:
    with api.as_air() as client:
        broken = client.post(
            "/v1/decisions",
            content=b'{"subject": "' + UNKNOWN.encode() + b'", "action": ',
            headers={"content-type": "application/json"},
        )
        empty = client.post("/v1/decisions", content=b"")
        batch = client.post("/v1/decisions/batch", content=b"[1, 2")
    for response in (broken, empty, batch):
        body = assert_problem(response, 422, "body_malformed")
        assert "JSON" in body["detail"]


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"subject": UNKNOWN, "action": FLIGHT, "seat": "1A"}, "body"),
        ({"action": FLIGHT}, "subject"),
        ({"subject": UNKNOWN, "action": 7}, "action"),
        ({"subject": UNKNOWN, "action": FLIGHT, "context": {"seat_class": True}}, "context"),
        ({"subject": UNKNOWN, "action": FLIGHT, "context": ["a"]}, "context"),
        ({"subject": UNKNOWN, "action": FLIGHT, "purpose": "x" * 201}, "purpose"),
        ([{"subject": UNKNOWN, "action": FLIGHT}], "body"),
    ],
    ids=[
        "unknown-field",
        "no-subject",
        "action-number",
        "context-bool",
        "context-list",
        "purpose-too-long",
        "array",
    ],
)
def test_a_body_off_the_schema_is_422_body_invalid(api: Api, payload: Any, loc: str) -> None:
    with api.as_air() as client:
        response = client.post("/v1/decisions", json=payload)
    body = assert_problem(response, 422, "body_invalid")
    assert [e["loc"] for e in body["errors"]] == [loc], body
    if loc == "body" and isinstance(payload, dict):
        assert "seat" in body["errors"][0]["msg"]  # names the unknown field


def test_routes_and_methods_that_do_not_exist_are_problems_too(api: Api) -> None:
    with api.as_air() as client:
        missing = client.get("/v1/nowhere")
        wrong_method = client.get("/v1/decisions")
        bad_parameter = client.get("/v1/changes", params={"after": -1})
        bad_limit = client.get("/v1/changes", params={"limit": "many"})
    assert_problem(missing, 404, "route_unknown")
    assert_problem(wrong_method, 405, "method_not_allowed")
    assert_problem(bad_parameter, 422, "parameter_invalid")
    assert_problem(bad_limit, 422, "parameter_invalid")


def test_405_names_the_allowed_methods(api: Api) -> None:
    """RFC 9110, 15.5.6: a 405 response MUST carry an Allow header."""
    with api.as_air() as client:
        response = client.get("/v1/decisions")
    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers.get("allow", ""), dict(response.headers)


# -- batches -------------------------------------------------------------------------------------


def test_a_batch_answers_each_request_in_order(api: Api) -> None:
    requests: list[Any] = [
        {"subject": api.city.listed, "action": FLIGHT},
        {"subject": UNKNOWN, "action": FLIGHT, "purpose": "batch check"},
        {"subject": BAD_CHECK, "action": FLIGHT},
        {"subject": UNKNOWN, "action": FLIGHT, "seat": "1A"},
        {"subject": UNKNOWN, "action": "hotel.booking"},
        {"subject": UNKNOWN, "action": FLIGHT, "context": {"seat_class": "first"}},
        "not an object",
    ]
    with api.as_air() as client:
        response = client.post("/v1/decisions/batch", json={"requests": requests})
        single = decide(client, api.city.listed).json()
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["allowed"], body["denied"], body["failed"]) == (1, 1, 5)
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(requests)))
    assert [r["status"] for r in results] == [200, 200, 422, 422, 403, 422, 422]
    deny, allow = results[0]["decision"], results[1]["decision"]
    assert deny["decision"] == "deny" and deny["reasons"]
    assert deny["subject_ref"] == single["subject_ref"]
    assert [r["measure"] for r in deny["reasons"]] == [r["measure"] for r in single["reasons"]]
    assert allow["decision"] == "allow" and allow["purpose"] == "batch check"
    codes = [r["problem"]["code"] for r in results[2:]]
    assert codes == [
        "identifier_invalid",
        "body_invalid",
        "action_not_granted",
        "context_invalid",
        "body_invalid",
    ]
    for item in results[2:]:
        assert "decision" not in item or item["decision"] is None
        problem = item["problem"]
        assert {"type", "title", "status", "detail", "code"} <= set(problem)
        assert problem["status"] == item["status"]
    assert results[3]["problem"]["errors"][0]["loc"].startswith("requests.3")


def test_a_batch_of_ten_thousand_is_answered(api: Api) -> None:
    requests = [{"subject": api.city.listed, "action": FLIGHT}] * 5_000 + [
        {"subject": UNKNOWN, "action": FLIGHT}
    ] * 5_000
    with api.as_air() as client:
        response = client.post("/v1/decisions/batch", json={"requests": requests})
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert (body["allowed"], body["denied"], body["failed"]) == (5_000, 5_000, 0)
    assert len(body["results"]) == 10_000
    assert len({r["decision"]["decision_id"] for r in body["results"]}) == 10_000


def test_a_batch_over_ten_thousand_is_413(api: Api) -> None:
    requests = [{"subject": UNKNOWN, "action": FLIGHT}] * 10_001
    with api.as_air() as client:
        response = client.post("/v1/decisions/batch", json={"requests": requests})
    body = assert_problem(response, 413, "batch_too_large")
    assert "10,000" in body["detail"] and "10,001" in body["detail"]


@pytest.mark.parametrize(
    "payload",
    [{}, {"requests": {}}, {"requests": [], "extra": 1}, [], "requests"],
    ids=["empty-object", "requests-object", "extra-member", "array", "string"],
)
def test_a_batch_off_the_schema_is_422(api: Api, payload: Any) -> None:
    with api.as_air() as client:
        response = client.post("/v1/decisions/batch", json=payload)
    assert_problem(response, 422, "body_invalid")


def test_an_empty_batch_is_answered_with_no_results(api: Api) -> None:
    with api.as_air() as client:
        response = client.post("/v1/decisions/batch", json={"requests": []})
    assert response.status_code == 200, response.text
    assert response.json() == {"results": [], "allowed": 0, "denied": 0, "failed": 0}


# -- the feed's own errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "last_event_id",
    [b"\xb2", b"9" * 5000],
    ids=["superscript-two", "5000-digits"],
)
def test_an_sse_last_event_id_that_is_not_a_cursor_is_not_a_server_error(
    api: Api, last_event_id: bytes
) -> None:
    """Last-Event-ID is whatever the client sends. '²' passes str.isdigit() but not int();
    5,000 digits pass isdigit() but exceed int()'s 4,300-digit limit."""
    headers = {"Accept": "text/event-stream", "Last-Event-ID": last_event_id}
    with (
        api.as_air() as client,
        client.stream("GET", "/v1/changes", headers=headers, timeout=10) as response,
    ):
        status = response.status_code  # a stream that starts is fine; only read its head
    assert status < 500, f"the service answered {status}"


def test_the_openapi_document_describes_the_routes(api: Api) -> None:
    with httpx.Client(base_url=api.server.url, trust_env=False) as client:
        doc = client.get("/openapi.json").json()
        docs = client.get("/docs")
    assert doc["openapi"].startswith("3.1")
    for path in ("/v1/decisions", "/v1/decisions/batch", "/v1/changes", "/v1/records"):
        assert path in doc["paths"]
    actions = doc["components"]["schemas"]["DecisionRequest"]["properties"]["action"]["enum"]
    assert FLIGHT in actions and RAIL in actions
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]


def test_a_large_body_without_a_credential_is_401_and_with_one_413(api: Api) -> None:
    """The credential is checked before the body is read, and a body is read only up to its
    limit: a stranger cannot make the server hold megabytes (a probe sent 2 GB)."""
    big = b'{"subject": "' + b"1" * (2 * 1024 * 1024) + b'"}'
    with httpx.Client(base_url=api.server.url, trust_env=False, timeout=60) as client:
        stranger = client.post("/v1/decisions", content=big)
        assert_problem(stranger, 401, "credential_invalid")
    with api.as_air() as client:
        assert_problem(client.post("/v1/decisions", content=big), 413, "too_large")
        batch = b'{"requests": [' + b",".join([b'{"subject": "x", "action": "y"}'] * 300_000) + b"]}"
        assert_problem(client.post("/v1/decisions/batch", content=batch), 413, "too_large")
