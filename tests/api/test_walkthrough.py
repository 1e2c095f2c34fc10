"""The decision service's walkthrough, end to end with real processes.

`xinyong serve` answers an airline: the demo city's listed person is denied. The court
then delists the person with `xinyong ingest` (another process, on the same embedded
store): within a second the airline's next question is allowed, its long-poll and its
SSE stream carry the `ended` event under the same subject_ref as the decisions, its
webhook receiver got the earlier `active` event and the `ended` one with valid Standard
Webhooks signatures, and the subject's access log (command line and HTTP) shows both
decisions with the partner and the purpose.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.live import (
    FLIGHT,
    UNKNOWN,
    City,
    Receiver,
    Server,
    add_partner,
    assert_problem,
    cli,
    cli_json,
    delisting,
    feed,
    serving,
    verify_signature,
    wait_for,
)

PURPOSE = "ticket sales under the joint punishment memorandum"
ASKED_FOR = "boarding check for flight CA1234"
ENDED = "cn.xinyong.measure.ended"
ACTIVE = "cn.xinyong.measure.active"


@dataclass
class Walk:
    data: Path
    city: City
    server: Server
    receiver: Receiver
    partner: dict[str, Any]
    deny: dict[str, Any]
    allow: dict[str, Any]
    cursor_before: int  # the feed's cursor before the delisting
    ingested_at: float  # time.monotonic() when `xinyong ingest` returned
    allowed_at: float
    long_poll: dict[str, Any] = field(default_factory=dict)

    def client(self) -> httpx.Client:
        return self.server.client(self.partner["credential"])


def _long_poll(server: Server, credential: str, after: int, out: dict[str, Any]) -> None:
    try:
        with server.client(credential, timeout=90) as client:
            response = client.get("/v1/changes", params={"after": after, "wait": 30})
        out["arrived_at"] = time.monotonic()
        out["status"] = response.status_code
        out["body"] = response.json()
    except Exception as exc:  # reported by the test that reads it
        out["error"] = repr(exc)


@pytest.fixture(scope="module")
def walk(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Walk]:
    root = tmp_path_factory.mktemp("walkthrough")
    data = city.copy(root / "data")
    receiver = Receiver().start()
    partner = add_partner(data, "air", "airline", PURPOSE, "--webhook", receiver.url, "--from", "0")
    try:
        with serving(data) as server, server.client(partner["credential"]) as client:
            asked = client.post(
                "/v1/decisions",
                json={"subject": city.listed, "action": FLIGHT, "purpose": ASKED_FOR},
            )
            assert asked.status_code == 200, asked.text
            deny = asked.json()
            assert deny["decision"] == "deny", deny
            _, cursor_before = feed(client)

            # A partner already listening when the court acts.
            polled: dict[str, Any] = {}
            poller = threading.Thread(
                target=_long_poll, args=(server, partner["credential"], cursor_before, polled)
            )
            poller.start()
            time.sleep(0.2)  # let the long-poll reach the server before the change

            report = cli_json(data, "ingest", str(delisting(city, root)), "--source", "demo-court")
            ingested_at = time.monotonic()
            assert (report[0]["accepted"], report[0]["rejected"]) == (2, 0), report

            def allowed() -> dict[str, Any] | None:
                body = client.post(
                    "/v1/decisions", json={"subject": city.listed, "action": FLIGHT}
                ).json()
                return body if body["decision"] == "allow" else None

            allow = wait_for(allowed, 30, "the delisted person to be allowed", interval=0.02)
            allowed_at = time.monotonic()
            poller.join(60)
            assert not poller.is_alive(), "the long-poll never returned"
            yield Walk(
                data,
                city,
                server,
                receiver,
                partner,
                deny,
                allow,
                cursor_before,
                ingested_at,
                allowed_at,
                polled,
            )
    finally:
        receiver.stop()


def _ended_for(events: list[dict[str, Any]], ref: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == ENDED and e["data"]["subject_ref"] == ref]


def _deny_measures(walk: Walk) -> set[str]:
    return {r["measure"] for r in walk.deny["reasons"]}


# -- decisions -----------------------------------------------------------------------------------


def test_the_delisted_person_is_allowed_within_a_second(walk: Walk) -> None:
    assert walk.allowed_at - walk.ingested_at <= 1.0, (
        f"allowed {walk.allowed_at - walk.ingested_at:.2f} s after the ingest returned"
    )
    allow = walk.allow
    assert allow["reasons"] == [] and allow["remedy"] is None
    assert allow["subject_ref"] == walk.deny["subject_ref"]
    assert allow["purpose"] == PURPOSE and walk.deny["purpose"] == ASKED_FOR


# -- the feed ------------------------------------------------------------------------------------


def _check_event(event: dict[str, Any]) -> None:
    assert event["specversion"] == "1.0"
    assert event["source"] and event["time"].endswith("Z")
    assert event["datacontenttype"] == "application/json"
    assert event["id"] == str(event["data"]["cursor"])
    assert event["subject"] == event["data"]["subject_ref"]
    assert event["type"] == f"cn.xinyong.measure.{event['data']['status']}"
    # Only what the partner's grant covers.
    assert event["data"]["actions"] == [FLIGHT], event


def test_the_long_poll_delivers_the_ended_event_within_a_second(walk: Walk) -> None:
    polled = walk.long_poll
    assert "error" not in polled, polled.get("error")
    assert polled["status"] == 200
    events = polled["body"]["events"]
    assert events, "the long-poll returned empty-handed"
    for event in events:
        _check_event(event)
        assert event["data"]["cursor"] > walk.cursor_before
    ended = _ended_for(events, walk.deny["subject_ref"])
    assert ended, events
    assert {e["data"]["measure"] for e in ended} <= _deny_measures(walk)
    assert all(e["data"]["cause"] == "records" for e in ended)
    assert polled["arrived_at"] - walk.ingested_at <= 1.0, (
        f"the feed heard {polled['arrived_at'] - walk.ingested_at:.2f} s after the ingest"
    )


def test_the_feed_ends_exactly_the_measures_that_denied(walk: Walk) -> None:
    with walk.client() as client:
        events, _ = feed(client)
    for event in events:
        _check_event(event)
    assert [e["data"]["cursor"] for e in events] == sorted(e["data"]["cursor"] for e in events)
    ref = walk.deny["subject_ref"]
    mine = [e for e in events if e["data"]["subject_ref"] == ref]
    active = {e["data"]["measure"] for e in mine if e["type"] == ACTIVE}
    ended = {e["data"]["measure"] for e in mine if e["type"] == ENDED}
    assert active == ended == _deny_measures(walk), mine
    # Paging by the returned cursor with a small limit gives the same events.
    paged: list[dict[str, Any]] = []
    after = 0
    with walk.client() as client:
        while True:
            body = client.get("/v1/changes", params={"after": after, "limit": 2}).json()
            assert len(body["events"]) <= 2
            paged += body["events"]
            if body["cursor"] == after:
                break
            after = body["cursor"]
    assert paged == events


def _sse_events(response: httpx.Response, until: Any, timeout: float) -> list[dict[str, Any]]:
    """Parse server-sent events until ``until(event)`` holds (or fail at the timeout)."""
    found: list[dict[str, Any]] = []
    fields: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    for line in response.iter_lines():
        if time.monotonic() > deadline:
            pytest.fail(f"no matching SSE event within {timeout} s; got {found}")
        if line.startswith(":"):
            continue
        if line == "":
            if "data" in fields:
                event = json.loads(fields["data"])
                assert fields.get("id") == event["id"]
                assert fields.get("event") == event["type"]
                found.append(event)
                if until(event):
                    return found
            fields = {}
            continue
        name, _, value = line.partition(":")
        fields[name] = value.removeprefix(" ")
    pytest.fail(f"the SSE stream ended; got {found}")


def test_sse_honours_last_event_id_and_carries_the_ended_event(walk: Walk) -> None:
    ref = walk.deny["subject_ref"]
    headers = {"Accept": "text/event-stream", "Last-Event-ID": str(walk.cursor_before)}
    with (
        walk.client() as client,
        client.stream("GET", "/v1/changes", headers=headers, timeout=30) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _sse_events(
            response, lambda e: e["type"] == ENDED and e["data"]["subject_ref"] == ref, 30
        )
    assert all(e["data"]["cursor"] > walk.cursor_before for e in events)
    for event in events:
        _check_event(event)
    assert events[-1] in walk.long_poll["body"]["events"]


# -- the webhook ---------------------------------------------------------------------------------


def test_the_webhook_got_active_then_ended_with_valid_signatures(walk: Walk) -> None:
    ref = walk.deny["subject_ref"]
    wait_for(
        lambda: _ended_for(walk.receiver.acknowledged_events(), ref),
        30,
        "the webhook to receive the ended event",
    )
    deliveries = walk.receiver.snapshot()
    secret = walk.partner["webhook_secret"]
    assert secret.startswith("whsec_")
    for delivery in deliveries:
        assert delivery.headers["content-type"] == "application/cloudevents-batch+json"
        assert verify_signature(secret, delivery), delivery.headers
        cursors = [e["data"]["cursor"] for e in delivery.events]
        assert cursors == sorted(cursors) and delivery.events
    events = walk.receiver.acknowledged_events()
    for event in events:
        _check_event(event)
    mine = [e for e in events if e["data"]["subject_ref"] == ref]
    kinds = [(e["type"], e["data"]["measure"]) for e in mine]
    for measure in _deny_measures(walk):
        assert (ACTIVE, measure) in kinds and (ENDED, measure) in kinds, kinds
        assert kinds.index((ACTIVE, measure)) < kinds.index((ENDED, measure))
    active = next(e for e in mine if e["type"] == ACTIVE)
    assert active["data"]["cause"] == "evaluation"  # from the feed's history (cursor 0)
    # The webhook and the long-poll tell the same events.
    with walk.client() as client:
        polled, _ = feed(client)
    by_id = {e["id"]: e for e in events}
    assert [by_id.get(e["id"]) for e in polled] == polled


def test_a_tampered_webhook_fails_verification(walk: Walk) -> None:
    """The check the receiver makes is not vacuous: a changed body or key fails it."""
    wait_for(walk.receiver.snapshot, 30, "a webhook delivery")
    delivery = walk.receiver.snapshot()[0]
    secret = walk.partner["webhook_secret"]
    assert verify_signature(secret, delivery)
    tampered = type(delivery)(delivery.headers, delivery.body + b" ", 200, delivery.received_at)
    assert not verify_signature(secret, tampered)
    assert not verify_signature("whsec_" + "A" * 44, delivery)


# -- the subject's access log --------------------------------------------------------------------


def _decisions(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["decision_id"]: e for e in entries if e["kind"] == "decision"}


def test_the_access_log_shows_both_decisions_on_the_command_line_and_over_http(
    walk: Walk,
) -> None:
    listed = walk.city.listed
    issued = cli_json(walk.data, "subject", "credential", listed)
    on_cli = cli_json(walk.data, "subject", "access-log", listed)
    assert on_cli["subject"] == walk.deny["subject"]  # masked the same way
    logged = _decisions(on_cli["entries"])
    deny = logged[walk.deny["decision_id"]]
    allow = logged[walk.allow["decision_id"]]
    assert (deny["who"], deny["action"], deny["outcome"], deny["purpose"]) == (
        "air",
        FLIGHT,
        "deny",
        ASKED_FOR,
    )
    assert (allow["who"], allow["action"], allow["outcome"], allow["purpose"]) == (
        "air",
        FLIGHT,
        "allow",
        PURPOSE,
    )
    assert deny["channel"] == allow["channel"] == "api"
    assert deny["at"] < allow["at"]
    assert all(listed not in json.dumps(e) for e in on_cli["entries"])
    assert all("subject_key" not in e for e in on_cli["entries"])
    # The text form names the partner and purpose too.
    table = cli(walk.data, "subject", "access-log", listed).stdout
    assert "air" in table and ASKED_FOR in table and "deny" in table and "allow" in table

    with walk.server.client(issued["credential"]) as client:
        # The service learns of the new credential from the store within a moment.
        response = wait_for(
            lambda: (r := client.get(f"/v1/subjects/{listed}/access-log")).status_code == 200 and r,
            10,
            "the service to accept the subject's credential",
        )
    assert response.json() == on_cli


def test_the_access_log_is_the_subjects_alone(walk: Walk) -> None:
    listed = walk.city.listed
    other = cli_json(walk.data, "subject", "credential", UNKNOWN)["credential"]
    path = f"/v1/subjects/{listed}/access-log"
    with walk.server.client(other) as client:
        refused = wait_for(
            lambda: (r := client.get(path)).status_code != 401 and r,
            10,
            "the service to know the other subject's credential",
        )
        own = client.get(f"/v1/subjects/{UNKNOWN}/access-log")
        malformed = client.get("/v1/subjects/12345/access-log")
    assert_problem(refused, 403, "credential_other_subject")
    assert own.status_code == 200, own.text
    assert_problem(malformed, 422, "identifier_invalid")
    with walk.server.client(walk.partner["credential"]) as client:
        assert_problem(client.get(path), 401, "credential_invalid")
    with httpx.Client(base_url=walk.server.url, trust_env=False) as client:
        assert_problem(client.get(path), 401, "credential_invalid")
