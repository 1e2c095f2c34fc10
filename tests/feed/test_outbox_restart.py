"""Webhook delivery survives crashes: nothing is lost, nothing acknowledged is resent.

The receiver first refuses (it is down, or it answers 500) while the court delists the
demo city's listed person; the service is then killed with SIGKILL, the receiver comes up,
and the restarted service delivers every event of the partner's feed, the `ended` one
included. Once the receiver has acknowledged them the delivery cursor on disk has moved,
so a second crash and restart sends only what is new.
"""

from __future__ import annotations

import random
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from tests.api.live import (
    FLIGHT,
    City,
    Receiver,
    Server,
    add_partner,
    cli_json,
    delisting,
    feed,
    listing,
    verify_signature,
    wait_for,
)
from tests.factories import person

ENDED = "cn.xinyong.measure.ended"
ACTIVE = "cn.xinyong.measure.active"
NEWLY_LISTED = person(random.Random(4242), year=1985, region="110105")


def _cursor(path: Path) -> int:
    return int(path.read_text().strip() or 0) if path.exists() else 0


def _has(events: list[dict[str, Any]], kind: str, ref: str) -> bool:
    return any(e["type"] == kind and e["data"]["subject_ref"] == ref for e in events)


@pytest.mark.parametrize("refusal", ["down", "error-500"])
def test_webhook_events_survive_a_crash_and_are_not_resent(
    city: City, tmp_path: Path, refusal: str
) -> None:
    data = city.copy(tmp_path / "data")
    receiver = Receiver(status=500)
    if refusal == "error-500":
        receiver.start()
    partner = add_partner(
        data, "air", "airline", "ticket sales", "--webhook", receiver.url, "--from", "0"
    )
    secret = partner["webhook_secret"]
    cursor_file = data / "feed" / "webhook-air.cursor"
    server = Server(data)
    try:
        # 1. The service runs; the receiver refuses everything; the court delists.
        server.start()
        with server.client(partner["credential"]) as client:
            ref = client.post(
                "/v1/decisions", json={"subject": city.listed, "action": FLIGHT}
            ).json()["subject_ref"]
            if refusal == "error-500":
                wait_for(receiver.snapshot, 30, "a first (refused) delivery attempt")
            report = cli_json(
                data, "ingest", str(delisting(city, tmp_path)), "--source", "demo-court"
            )
            assert report[0]["accepted"] == 2, report
            wait_for(lambda: _has(feed(client)[0], ENDED, ref), 10, "the ended event in the feed")
            expected, latest = feed(client)
        if refusal == "error-500":
            # It retries, backing off, always the same unacknowledged batch: the same
            # webhook-id and body (Standard Webhooks), however many events arrived since.
            wait_for(lambda: len(receiver.snapshot()) >= 4, 60, "four delivery attempts")
            refused = receiver.snapshot()
            assert all(d.answered == 500 for d in refused)
            assert {d.events[0]["id"] for d in refused} == {expected[0]["id"]}
            assert len({(d.headers["webhook-id"], d.body) for d in refused}) == 1
            times = [d.received_at for d in refused]
            gaps = [b - a for a, b in pairwise(times)]
            assert gaps[2] > gaps[0], f"no backoff between attempts: {gaps}"
        assert _cursor(cursor_file) == 0, "a refused delivery moved the cursor"

        # 2. Crash. The receiver comes up. The restarted service delivers everything.
        server.kill()
        assert _cursor(cursor_file) == 0
        receiver.status = 200
        if refusal == "down":
            receiver.start()
        server.start()
        wait_for(
            lambda: _has(receiver.acknowledged_events(), ENDED, ref),
            60,
            "the ended event delivered after the restart",
        )
        acknowledged = receiver.acknowledged_events()
        assert [e["id"] for e in acknowledged] == [e["id"] for e in expected], "lost or resent"
        assert acknowledged == expected
        assert _has(acknowledged, ACTIVE, ref)  # the listing's event, from the history
        for delivery in receiver.snapshot():
            assert verify_signature(secret, delivery)
        wait_for(lambda: _cursor(cursor_file) == latest, 10, f"the cursor file to reach {latest}")

        # 3. Crash again after the acknowledgement: only new changes are sent.
        server.kill()
        assert _cursor(cursor_file) == latest
        delivered = len(receiver.snapshot())
        server.start()
        report = cli_json(
            data,
            "ingest",
            str(listing(NEWLY_LISTED, tmp_path, "new")),
            "--source",
            "demo-court",
        )
        assert report[0]["accepted"] == 1, report
        with server.client(partner["credential"]) as client:
            new_ref = client.post(
                "/v1/decisions", json={"subject": NEWLY_LISTED, "action": FLIGHT}
            ).json()
            assert new_ref["decision"] == "deny", new_ref
            wait_for(
                lambda: _has(receiver.acknowledged_events(), ACTIVE, new_ref["subject_ref"]),
                60,
                "the new listing delivered",
            )
            fresh, _ = feed(client, after=latest)
        later = receiver.snapshot()[delivered:]
        assert all(d.answered == 200 for d in later)
        resent = [e["id"] for d in later for e in d.events if e["data"]["cursor"] <= latest]
        assert resent == [], f"acknowledged events sent again: {resent}"
        assert [e for d in later for e in d.events] == fresh
    finally:
        server.stop()
        receiver.stop()
