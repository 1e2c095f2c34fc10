"""The change feed on a real NATS JetStream server (127.0.0.1:4222, or
XINYONG_TEST_NATS_URL): `xinyong serve` with XINYONG_NATS_URL publishes every change to
the stream XINYONG_CHANGES, subject xinyong.changes.<measure>, de-duplicated by the
header Nats-Msg-Id xinyong-<deployment>-change-<seq>; a JetStream consumer reads them back.

The stream is shared by whatever else uses the server, so the test deletes it first.
Outside CI the test skips, saying so, when no NATS server answers; in CI it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.api.live import (
    FLIGHT,
    City,
    Server,
    cli_json,
    delisting,
    listing,
    wait_for,
)
from tests.factories import person
from xinyong.context import Context
from xinyong.ids import subject_key
from xinyong.settings import load_settings

NATS_URL = os.environ.get("XINYONG_TEST_NATS_URL", "nats://127.0.0.1:4222")
STREAM = "XINYONG_CHANGES"
ENDED = "cn.xinyong.measure.ended"
ACTIVE = "cn.xinyong.measure.active"
NEWLY_LISTED = person(random.Random(777), year=1979, region="110105")


@dataclass(frozen=True)
class Published:
    subject: str
    msg_id: str | None
    event: dict[str, Any]


async def _connect() -> Any:
    import nats

    return await nats.connect(NATS_URL, connect_timeout=3, max_reconnect_attempts=0)


async def _delete_stream() -> None:
    from nats.js.errors import NotFoundError

    nc = await _connect()
    try:
        with contextlib.suppress(NotFoundError):
            await nc.jetstream().delete_stream(STREAM)
    finally:
        await nc.close()


async def _consume(enough: Any, timeout: float) -> list[Published]:
    """Read the stream from its start with an ephemeral pull consumer until ``enough``
    holds for what was read, or ``timeout`` passes."""
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.errors import NotFoundError

    nc = await _connect()
    found: list[Published] = []
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + timeout
        while True:  # the service creates the stream when it first connects
            try:
                await js.stream_info(STREAM)
                break
            except NotFoundError:
                if time.monotonic() > deadline:
                    return found
                await asyncio.sleep(0.1)
        sub = await js.pull_subscribe("xinyong.changes.>", stream=STREAM)
        while not enough(found) and time.monotonic() < deadline:
            try:
                messages = await sub.fetch(batch=200, timeout=1)
            except NatsTimeout:
                continue
            for msg in messages:
                headers = msg.headers or {}
                found.append(
                    Published(msg.subject, headers.get("Nats-Msg-Id"), orjson.loads(msg.data))
                )
                await msg.ack()
        await sub.unsubscribe()
        return found
    finally:
        await nc.close()


async def _duplicate_window() -> float:
    nc = await _connect()
    try:
        return float((await nc.jetstream().stream_info(STREAM)).config.duplicate_window or 0)
    finally:
        await nc.close()


async def _stream_messages() -> int:
    nc = await _connect()
    try:
        return int((await nc.jetstream().stream_info(STREAM)).state.messages)
    finally:
        await nc.close()


def _consume_sync(enough: Any, timeout: float = 60) -> list[Published]:
    return asyncio.run(_consume(enough, timeout))


@pytest.fixture
def nats_server() -> str:
    try:
        asyncio.run(_delete_stream())
    except Exception as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"NATS is not reachable at {NATS_URL} in CI: {exc!r}")
        pytest.skip(f"no NATS server answers at {NATS_URL} ({exc!r}); NATS tests skipped")
    return NATS_URL


def _latest(server: Server) -> int:
    with server.client() as client:
        return int(client.get("/v1/health").json()["feed_cursor"])


def _nats_cursor(data: Path) -> int:
    path = data / "feed" / "nats.cursor"
    return int(path.read_text().strip() or 0) if path.exists() else 0


def test_changes_reach_jetstream_once_each_across_a_crash(
    city: City, tmp_path: Path, nats_server: str
) -> None:
    data = city.copy(tmp_path / "data")
    key = subject_key(Context(load_settings(data_dir=data)).secret, city.listed)
    server = Server(data, nats_url=nats_server)
    try:
        server.start()
        report = cli_json(data, "ingest", str(delisting(city, tmp_path)), "--source", "demo-court")
        assert report[0]["accepted"] == 2, report

        def ended(found: list[Published]) -> bool:
            return any(p.event["type"] == ENDED and p.event["subject"] == key for p in found)

        published = _consume_sync(ended)
        assert ended(published), f"no ended event for the delisted person in {len(published)}"
        for p in published:
            event = p.event
            # Unique per deployment (the secret's fingerprint) and per change.
            assert p.msg_id is not None and p.msg_id.startswith("xinyong-")
            assert p.msg_id.endswith(f"-change-{event['id']}")
            # One deployment name in both: the message id and the CloudEvents source.
            fingerprint = p.msg_id.removeprefix("xinyong-").split("-change-")[0]
            assert event["source"] == f"urn:xinyong:{fingerprint}:internal"
            assert p.subject == f"xinyong.changes.{event['data']['measure']}"
            assert event["specversion"] == "1.0" and event["datacontenttype"] == "application/json"
            assert event["type"] == f"cn.xinyong.measure.{event['data']['status']}"
            assert event["id"] == str(event["data"]["cursor"])
        mine = [p.event for p in published if p.event["subject"] == key]
        travel = [e for e in mine if e["data"]["measure"] == "high_consumption_travel"]
        assert [e["type"] for e in travel] == [ACTIVE, ENDED], mine
        assert FLIGHT in travel[-1]["data"]["actions"]
        assert travel[-1]["data"]["cause"] == "records"
        # The de-duplication window covers a restart (nats-py reports it in seconds).
        assert asyncio.run(_duplicate_window()) == 600.0
        # Every change of the outbox, in order, each once.
        latest = _latest(server)
        published = _consume_sync(lambda found: len(found) >= latest)
        assert [int(p.event["id"]) for p in published] == list(range(1, latest + 1))
        wait_for(lambda: _nats_cursor(data) == latest, 10, f"nats.cursor to reach {latest}")

        # A crash, a restart and a new change: the stream holds each change once.
        server.kill()
        server.start()
        report = cli_json(
            data,
            "ingest",
            str(listing(NEWLY_LISTED, tmp_path, "nats-new")),
            "--source",
            "demo-court",
        )
        assert report[0]["accepted"] == 1, report
        new_key = subject_key(Context(load_settings(data_dir=data)).secret, NEWLY_LISTED)
        again = _consume_sync(
            lambda found: any(
                p.event["type"] == ACTIVE and p.event["subject"] == new_key for p in found
            )
        )
        latest = _latest(server)
        again = _consume_sync(lambda found: len(found) >= latest)
        assert [int(p.event["id"]) for p in again] == list(range(1, latest + 1))
        assert asyncio.run(_stream_messages()) == latest
        wait_for(lambda: _nats_cursor(data) == latest, 10, f"nats.cursor to reach {latest}")
    finally:
        server.stop()
