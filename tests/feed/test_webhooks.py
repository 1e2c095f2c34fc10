"""Webhook delivery among several partners and several workers.

One partner's unusable webhook must not stop delivery to the others, and with
`--workers 2` only the worker holding the delivery lock sends: each event arrives once.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.api.live import (
    FLIGHT,
    City,
    Receiver,
    Server,
    add_partner,
    cli,
    cli_json,
    delisting,
    feed,
    verify_signature,
    wait_for,
)

ENDED = "cn.xinyong.measure.ended"


def _ended(events: list[dict[str, Any]], ref: str) -> bool:
    return any(e["type"] == ENDED and e["data"]["subject_ref"] == ref for e in events)


def test_an_unusable_webhook_url_does_not_stop_delivery_to_other_partners(
    city: City, tmp_path: Path
) -> None:
    """`http://127.0.0.1:abc/hook` passes `partners add` (it matches its URL pattern), but
    httpx refuses it with InvalidURL, which is not an httpx.HTTPError."""
    data = city.copy(tmp_path / "data")
    bad = cli(
        data,
        "partners",
        "add",
        "Broken Air",
        "--id",
        "a-broken",
        "--kind",
        "airline",
        "--purpose",
        "ticket sales",
        "--webhook",
        "http://127.0.0.1:abc/hook",
        check=False,
    )
    receiver = Receiver().start()
    good = add_partner(
        data, "air", "airline", "ticket sales", "--webhook", receiver.url, "--from", "0"
    )
    server = Server(data)
    try:
        server.start()
        with server.client(good["credential"]) as client:
            ref = client.post(
                "/v1/decisions", json={"subject": city.listed, "action": FLIGHT}
            ).json()["subject_ref"]
            report = cli_json(
                data, "ingest", str(delisting(city, tmp_path)), "--source", "demo-court"
            )
            assert report[0]["accepted"] == 2, report
            wait_for(lambda: _ended(feed(client)[0], ref), 10, "the ended event in the feed")
        wait_for(
            lambda: _ended(receiver.acknowledged_events(), ref),
            30,
            "the good partner's webhook to receive the ended event"
            + ("" if bad.returncode else " (a partner with an unusable webhook URL was accepted)"),
        )
    finally:
        server.stop()
        receiver.stop()


def test_with_two_workers_each_event_is_delivered_once(city: City, tmp_path: Path) -> None:
    data = city.copy(tmp_path / "data")
    receiver = Receiver().start()
    partner = add_partner(
        data, "air", "airline", "ticket sales", "--webhook", receiver.url, "--from", "0"
    )
    server = Server(data, workers=2)
    try:
        server.start()
        with server.client(partner["credential"]) as client:
            ref = client.post(
                "/v1/decisions", json={"subject": city.listed, "action": FLIGHT}
            ).json()["subject_ref"]
            report = cli_json(
                data, "ingest", str(delisting(city, tmp_path)), "--source", "demo-court"
            )
            assert report[0]["accepted"] == 2, report
            wait_for(lambda: _ended(feed(client)[0], ref), 10, "the ended event in the feed")
            expected, _ = feed(client)
        wait_for(lambda: _ended(receiver.acknowledged_events(), ref), 30, "the ended event")
        wait_for(lambda: len(receiver.acknowledged_events()) >= len(expected), 30, "every event")
        # A second sender would start from cursor 0 too: give it time to show itself.
        time.sleep(3)
        ids = [e["id"] for e in receiver.acknowledged_events()]
        twice = [i for i, n in Counter(ids).items() if n > 1]
        assert twice == [], f"events delivered more than once: {twice}"
        assert ids == [e["id"] for e in expected]
        for delivery in receiver.snapshot():
            assert verify_signature(partner["webhook_secret"], delivery)
    finally:
        server.stop()
        receiver.stop()


def test_a_retried_batch_keeps_its_id_and_body_and_the_official_library_verifies_it(
    city: City, tmp_path: Path
) -> None:
    """Standard Webhooks: the webhook-id is the idempotency key, so a batch that was not
    acknowledged goes out again with the same id and body even when new events arrive
    before the retry (they wait for later batches), and every body stays under the
    standard's advised 20 KB. The standard's own library verifies every delivery."""
    from standardwebhooks.webhooks import Webhook

    data = city.copy(tmp_path / "data")
    receiver = Receiver(status=500).start()
    partner = add_partner(
        data, "air", "airline", "ticket sales", "--webhook", receiver.url, "--from", "0"
    )
    server = Server(data)
    try:
        server.start()
        wait_for(lambda: len(receiver.snapshot()) >= 2, 30, "two refused deliveries")
        refused = receiver.snapshot()
        # New events arrive while the first batch is still refused.
        report = cli_json(data, "ingest", str(delisting(city, tmp_path)), "--source", "demo-court")
        assert report[0]["accepted"] == 2, report
        time.sleep(2)
        receiver.status = 200
        with server.client(partner["credential"]) as client:
            wait_for(lambda: feed(client)[0], 10, "the feed")
            expected, _ = feed(client)
        wait_for(lambda: len(receiver.acknowledged_events()) >= len(expected), 60, "every event")
        deliveries = receiver.snapshot()
        first = refused[0].headers["webhook-id"]
        same = [d for d in deliveries if d.headers["webhook-id"] == first]
        assert len(same) >= 3 and {d.body for d in same} == {refused[0].body}
        assert any(200 <= d.answered < 300 for d in same)
        bodies: dict[str, bytes] = {}
        for d in deliveries:
            assert bodies.setdefault(d.headers["webhook-id"], d.body) == d.body
            assert len(d.body) <= 20_000
        assert len(bodies) > 1  # the feed from cursor 0 did not fit one batch
        assert [e["id"] for e in receiver.acknowledged_events()] == [e["id"] for e in expected]
        hook = Webhook(partner["webhook_secret"])
        for d in deliveries:
            hook.verify(d.body, d.headers)  # raises on a bad signature
    finally:
        server.stop()
        receiver.stop()


def test_a_new_partners_webhook_starts_now_unless_told_otherwise(
    city: City, tmp_path: Path
) -> None:
    """`partners add --webhook` starts after the latest change (a partner registered today
    is not sent the history of subjects it never asked about); `--from 0` sends it all."""
    data = city.copy(tmp_path / "data")
    receiver = Receiver().start()
    fresh = add_partner(data, "air", "airline", "ticket sales", "--webhook", receiver.url)
    starts = int(fresh["webhook_starts_after"])
    assert starts > 0  # the demo city's evaluation made changes already
    everything = Receiver().start()
    whole = add_partner(
        data, "rail", "railway", "ticket sales", "--webhook", everything.url, "--from", "0"
    )
    assert whole["webhook_starts_after"] == 0
    server = Server(data)
    try:
        server.start()
        report = cli_json(data, "ingest", str(delisting(city, tmp_path)), "--source", "demo-court")
        assert report[0]["accepted"] == 2, report
        wait_for(receiver.acknowledged_events, 30, "the new changes on the fresh webhook")
        wait_for(
            lambda: any(int(e["id"]) <= starts for e in everything.acknowledged_events()),
            30,
            "the history on the webhook that asked for it",
        )
        time.sleep(2)
        assert all(int(e["id"]) > starts for e in receiver.acknowledged_events())
    finally:
        server.stop()
        receiver.stop()
        everything.stop()
