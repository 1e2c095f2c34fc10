"""Due-process work that `xinyong serve` does on its own: `maintain` at start and at each new
day, and delivery of notices every few seconds. With several workers, the one that holds
the lock on DATA_DIR/notices/maintain.lock does it; another takes over when it exits."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import fcntl
import logging
import os
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from xinyong.clock import today
from xinyong.decisions.service import Service
from xinyong.process import channels
from xinyong.process.maintenance import maintain

log = logging.getLogger("xinyong.maintain")
DELIVERY_SECONDS = 5.0


class Maintainer:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.folder = Path(service.settings.data_dir) / "notices"
        self._fd: int | None = None
        self._task: asyncio.Task[None] | None = None
        self.maintained_on: dt.date | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._fd is not None:
            os.close(self._fd)

    def _try_lock(self) -> bool:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.folder / "maintain.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    async def _run(self) -> None:
        while not self._try_lock():
            await asyncio.sleep(5)
        while True:
            try:
                await run_in_threadpool(self._tick)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep serving; the next tick tries again
                log.exception("maintenance failed; retrying")
            await asyncio.sleep(DELIVERY_SECONDS)

    def _tick(self) -> None:
        service = self.service
        day = today(service.settings.timezone)
        # The store lock only around each transaction: sending never holds up decisions.
        if day != self.maintained_on:
            report = maintain(service.ctx, day, guard=lambda: service.store_lock)
            log.info("maintained as of %s: %s", day, report)
            self.maintained_on = day
        else:
            channels.deliver(service.ctx, guard=lambda: service.store_lock)
