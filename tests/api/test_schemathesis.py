"""Property-based tests of every operation in the service's own /openapi.json with
Schemathesis (valid and invalid requests): whatever is sent, the service never answers
with a server error.

Each operation gets a real credential of its kind: a partner's for decisions and the
change feed, a court's for records (so generated records go through ingestion), the
listed person's own for its access log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from tests.api.live import FLIGHT, UNKNOWN, City, Server, add_partner, cli_json, serving

MAX_EXAMPLES = 40
LONGEST_WAIT = 1  # seconds a generated long-poll may wait (the schema allows 60)


@dataclass
class Target:
    server: Server
    credentials: dict[str, str]
    listed: str

    def credential(self, path: str) -> str:
        if path.startswith(("/v1/records", "/v1/objections/", "/v1/repairs/")):
            return self.credentials["source"]
        if path.startswith("/v1/subjects/"):
            return self.credentials["subject"]
        return self.credentials["partner"]


@pytest.fixture(scope="module")
def target(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    data = city.copy(tmp_path_factory.mktemp("schemathesis") / "data")
    partner = add_partner(data, "air", "airline", "ticket sales")
    source = cli_json(data, "sources", "add", "Fuzz Court", "--kind", "court", "--id", "f-court")
    subject = cli_json(data, "subject", "credential", city.listed)
    credentials = {
        "partner": partner["credential"],
        "source": source["credential"],
        "subject": subject["credential"],
    }
    with serving(data) as server:
        yield Target(server, credentials, city.listed)


@pytest.fixture(scope="module")
def api_schema(target: Target) -> Any:
    return schemathesis.openapi.from_url(f"{target.server.url}/openapi.json", timeout=30)


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False  # loopback only, whatever proxies the environment names
        yield s


OPERATIONS = [
    "GET /v1/health",
    "POST /v1/decisions",
    "POST /v1/decisions/batch",
    "GET /v1/changes",
    "POST /v1/records",
    "GET /v1/subjects/{subject_id}/access-log",
    "GET /v1/subjects/{subject_id}",
    "GET /v1/subjects/{subject_id}/notices",
    "GET /v1/subjects/{subject_id}/report",
    "GET /v1/subjects/{subject_id}/objections",
    "POST /v1/subjects/{subject_id}/objections",
    "POST /v1/objections/{objection_id}/decision",
    "GET /v1/subjects/{subject_id}/repairs",
    "POST /v1/subjects/{subject_id}/repairs",
    "GET /v1/subjects/{subject_id}/consents",
    "POST /v1/subjects/{subject_id}/consents",
    "POST /v1/repairs/{repair_id}/decision",
    "GET /v1/public/search",
    "GET /v1/public/lists",
    "GET /v1/public/lists/{list}",
    "GET /v1/public/organisations/{code}",
    "GET /v1/public/transparency",
]
NO_INPUT = {"GET /v1/health", "GET /v1/public/transparency", "GET /v1/public/lists"}


def _short_wait(case: Any) -> None:
    """Keep generated long-polls short: `wait` up to 60 s is valid, but 40 of them would
    take half an hour. Values that are not a number in range are left as generated."""
    query = case.query if isinstance(case.query, dict) else None
    if not query or "wait" not in query:
        return
    try:
        wait = int(query["wait"])
    except (TypeError, ValueError):
        return
    if LONGEST_WAIT < wait <= 60:
        query["wait"] = LONGEST_WAIT


def _steer(case: Any, action: bool, subject: str | None) -> Any:
    """Half the generated decision requests ask about the action the partner is granted,
    and some about real subjects, so that context and identifier checks and the decision
    itself are fuzzed too, not only the grant check that comes first."""
    body = case.body
    items = body.get("requests") if isinstance(body, dict) else None
    for item in items if isinstance(items, list) else [body]:
        if not isinstance(item, dict):
            continue
        if action and isinstance(item.get("action"), str):
            item["action"] = FLIGHT
        if subject and isinstance(item.get("subject"), str):
            item["subject"] = subject
    return case


def _strategy(operation: Any, mode: GenerationMode, target: Target) -> Any:
    cases = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.NEGATIVE or not operation.path.startswith("/v1/decisions"):
        return cases
    subjects = st.sampled_from([None, target.listed, UNKNOWN])
    return st.tuples(cases, st.sampled_from([True, False]), subjects).map(lambda t: _steer(*t))


def test_the_schema_lists_every_operation(api_schema: Any) -> None:
    operations = {
        f"{result.ok().method.upper()} {result.ok().path}"
        for result in api_schema.get_all_operations()
    }
    assert operations == set(OPERATIONS)


# `schemathesis.pytest.from_fixture(...).parametrize()` needs a server at collection time or
# pytest's private Node._nodeid, which pytest 9 no longer has; so each operation's
# Hypothesis strategy is driven here directly, in both of Schemathesis' generation modes.
@pytest.mark.parametrize(
    ("label", "mode"),
    [
        pytest.param(label, mode, id=f"{label}-{mode.value}")
        for label in OPERATIONS
        for mode in GenerationMode
        # These take no input at all: there is nothing to make invalid.
        if not (label in NO_INPUT and mode is GenerationMode.NEGATIVE)
    ],
)
def test_no_operation_answers_with_a_server_error(
    api_schema: Any, target: Target, session: requests.Session, label: str, mode: GenerationMode
) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    headers = {"Authorization": f"Bearer {target.credential(operation.path)}"}

    @given(case=_strategy(operation, mode, target))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def no_server_error(case: Any) -> None:
        _short_wait(case)
        response = case.call(session=session, headers=headers, timeout=90)
        case.validate_response(response, checks=[not_a_server_error])

    no_server_error()


def test_request_schemas_forbid_members_the_service_refuses(
    api_schema: Any, target: Target
) -> None:
    """The service answers 422 body_invalid to a request body with an unknown member, so
    the OpenAPI document must say additionalProperties: false for each request body, or
    clients generated from it (and Schemathesis' positive data) send refused requests."""
    with target.server.client() as client:
        doc = client.get("/openapi.json").json()
        refused = client.post(
            "/v1/records",
            json={"records": [], "note": "x"},
            headers={"Authorization": f"Bearer {target.credentials['source']}"},
        )
    assert refused.status_code == 422 and refused.json()["code"] == "body_invalid"
    schemas = doc["components"]["schemas"]
    loose = [
        name
        for name in ("DecisionRequest", "BatchRequest", "RecordsRequest")
        if schemas[name].get("additionalProperties") is not False
    ]
    assert loose == [], f"request schemas that allow members the service refuses: {loose}"
