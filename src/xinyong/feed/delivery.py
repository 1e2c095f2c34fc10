"""Delivering the feed: signed webhooks and the NATS JetStream publisher.

Both read the outbox (``measure_changes``) by cursor and move their cursor, kept in a file
under ``DATA_DIR/feed/``, only after the receiver acknowledged: a crash or restart resends
from the last acknowledged change, so nothing is lost (receivers de-duplicate by event
id; JetStream does it by ``Nats-Msg-Id``). With several workers, the one holding the
delivery lock delivers; the others take over if it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import random
import time
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson
from starlette.concurrency import run_in_threadpool

from xinyong.access.partners import Partner
from xinyong.feed.events import deployment_id, for_deployment, for_partner
from xinyong.feed.signatures import sign, webhook_secret
from xinyong.policy.model import Policy
from xinyong.settings import Settings
from xinyong.state.outbox import Change
from xinyong.state.tail import FeedBuffer

log = logging.getLogger("xinyong.feed")

STREAM = "XINYONG_CHANGES"
SUBJECTS = "xinyong.changes.>"
DUPLICATE_WINDOW = 600.0  # seconds
MAX_BACKOFF = 300.0


class Service(Protocol):
    """What the feed needs of the running service (decisions/service.py provides it)."""

    feed: FeedBuffer
    policy: Policy
    secret: bytes
    settings: Settings
    partners: dict[str, Partner]

    def changes_from_store(self, cursor: int, limit: int) -> list[Change]: ...


async def read_changes(service: Service, cursor: int, limit: int) -> list[Change]:
    if service.feed.holds(cursor):
        return service.feed.after(cursor, limit)
    return await run_in_threadpool(service.changes_from_store, cursor, limit)


async def partner_events(
    service: Service, partner: Partner, cursor: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Up to ``limit`` of the partner's events after ``cursor``, and the cursor to go on from
    (past changes that do not concern the partner, too)."""
    events: list[dict[str, Any]] = []
    while len(events) < limit:
        changes = await read_changes(service, cursor, 1000)
        if not changes:
            break
        for change in changes:
            cursor = change.seq
            event = for_partner(service.policy, service.secret, partner, change)
            if event is not None:
                events.append(event)
                if len(events) >= limit:
                    break
    return events, cursor


# Standard Webhooks advises payloads under 20 KB: a batch stops before it would pass this.
MAX_PAYLOAD = 20_000


def fit_payload(events: list[dict[str, Any]], scanned: int) -> tuple[list[dict[str, Any]], int]:
    """The longest prefix of ``events`` whose JSON array stays within MAX_PAYLOAD (at least
    one event), and the cursor to go on from after it."""
    size, kept = 2, 0
    for event in events:
        size += len(orjson.dumps(event)) + (1 if kept else 0)
        if kept and size > MAX_PAYLOAD:
            break
        kept += 1
    if kept == len(events):
        return events, scanned
    return events[:kept], int(events[kept - 1]["id"])


def _write_atomically(target: Path, data: bytes) -> None:
    tmp = target.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


class Cursors:
    """Delivery positions, one small file each, replaced atomically."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def get(self, name: str) -> int:
        try:
            return int((self.folder / f"{name}.cursor").read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def set(self, name: str, value: int) -> None:
        _write_atomically(self.folder / f"{name}.cursor", str(value).encode())


def webhook_cursors(data_dir: str | Path) -> Cursors:
    """Where webhook deliveries keep their positions (`partners add --from` sets one)."""
    return Cursors(Path(data_dir) / "feed")


class Deliveries:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.folder = Path(service.settings.data_dir) / "feed"
        self.cursors = Cursors(self.folder)
        self._lock_fd: int | None = None
        # Message ids unique per deployment: JetStream drops repeats of an id it has seen.
        self.deployment = deployment_id(service.secret)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._lead()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._lock_fd is not None:
            os.close(self._lock_fd)

    def _try_lock(self) -> bool:
        fd = os.open(self.folder / "delivery.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    async def _lead(self) -> None:
        while not self._try_lock():
            await asyncio.sleep(2)
        log.info(
            "this worker delivers webhooks%s",
            " and publishes to NATS" if self.service.settings.nats_url else "",
        )
        jobs = [self._webhooks()]
        if self.service.settings.nats_url:
            jobs.append(self._nats(self.service.settings.nats_url))
        try:
            await asyncio.gather(*jobs)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("feed delivery stopped")
            raise

    # -- webhooks ------------------------------------------------------------------------

    async def _webhooks(self) -> None:
        service = self.service
        due: dict[str, float] = {}
        delay: dict[str, float] = {}
        async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
            while True:
                busy = False
                for partner in list(service.partners.values()):
                    pid = partner.partner_id
                    if not partner.webhook_url or due.get(pid, 0) > time.monotonic():
                        continue
                    try:
                        sent = await self._deliver(client, partner)
                    except Exception:  # one partner's trouble must not stop the others
                        log.exception("webhook delivery to %s failed; will retry", pid)
                        sent = False
                    if sent is None:
                        continue
                    busy = True
                    if sent:
                        delay.pop(pid, None)
                        due.pop(pid, None)
                    else:
                        wait = min(MAX_BACKOFF, delay.get(pid, 0.5) * 2)
                        delay[pid] = wait
                        due[pid] = time.monotonic() + wait * (0.75 + random.random() / 2)
                if not busy:
                    await service.feed.wait(service.feed.latest, 0.5)

    async def _deliver(self, client: httpx.AsyncClient, partner: Partner) -> bool | None:
        """Send the partner's next batch: True if acknowledged, False if not, None if
        there was nothing to send. A batch that was not acknowledged is sent again as it was,
        under the same ``webhook-id`` (consumers de-duplicate by it), even if more events
        arrived meanwhile and across restarts: it is kept on disk until acknowledged."""
        name = f"webhook-{partner.partner_id}"
        pending = self.folder / f"{name}.pending"
        if pending.exists():
            batch = orjson.loads(pending.read_bytes())
        else:
            cursor = self.cursors.get(name)
            events, scanned = await partner_events(self.service, partner, cursor, 100)
            if not events:
                if scanned != cursor:
                    self.cursors.set(name, scanned)
                return None
            events, scanned = fit_payload(events, scanned)
            batch = {
                "id": f"{partner.partner_id}-{events[0]['id']}-{events[-1]['id']}",
                "body": orjson.dumps(events).decode(),
                "cursor": scanned,
            }
            _write_atomically(pending, orjson.dumps(batch))
        if not await self._post(client, partner, batch["id"], batch["body"].encode()):
            return False
        self.cursors.set(name, int(batch["cursor"]))
        pending.unlink(missing_ok=True)
        return True

    async def _post(
        self, client: httpx.AsyncClient, partner: Partner, message_id: str, body: bytes
    ) -> bool:
        stamp = int(time.time())
        headers = {
            "content-type": "application/cloudevents-batch+json",
            "webhook-id": message_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(
                webhook_secret(self.service.secret, partner.partner_id), message_id, stamp, body
            ),
        }
        try:
            response = await client.post(partner.webhook_url or "", content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            log.warning("webhook to %s failed: %s; will retry", partner.partner_id, exc)
            return False
        if 200 <= response.status_code < 300:
            return True
        log.warning(
            "webhook to %s answered %s; will retry", partner.partner_id, response.status_code
        )
        return False

    # -- NATS JetStream ------------------------------------------------------------------

    async def _nats(self, url: str) -> None:
        import nats
        from nats.js.api import StreamConfig

        service = self.service
        wait = 0.5
        while True:
            try:
                nc = await nats.connect(
                    url, connect_timeout=2, max_reconnect_attempts=3, allow_reconnect=True
                )
            except Exception as exc:  # the server may not be up yet
                log.warning("NATS at %s unreachable (%s); retrying", url, exc)
                await asyncio.sleep(wait)
                wait = min(MAX_BACKOFF, wait * 2)
                continue
            wait = 0.5
            try:
                js = nc.jetstream()
                # JetStream drops a message whose id it saw within the duplicate window: ten
                # minutes covers a restart that republishes from the last acknowledged cursor.
                config = StreamConfig(
                    name=STREAM, subjects=[SUBJECTS], duplicate_window=DUPLICATE_WINDOW
                )
                try:
                    await js.add_stream(config)
                except Exception:  # it exists: bring its settings up to date
                    with contextlib.suppress(Exception):
                        await js.update_stream(config)
                cursor = self.cursors.get("nats")
                while True:
                    changes = await read_changes(service, cursor, 500)
                    if not changes:
                        await service.feed.wait(cursor, 1.0)
                        continue
                    for change in changes:
                        await js.publish(
                            f"xinyong.changes.{change.measure_id}",
                            orjson.dumps(for_deployment(service.policy, service.secret, change)),
                            headers={"Nats-Msg-Id": f"{self.deployment}-change-{change.seq}"},
                        )
                        cursor = change.seq
                    self.cursors.set("nats", cursor)
            except asyncio.CancelledError:
                await nc.close()
                raise
            except Exception as exc:
                log.warning("publishing to NATS failed (%s); reconnecting", exc)
                with contextlib.suppress(Exception):
                    await nc.close()
                await asyncio.sleep(wait)
