"""The tail of the outbox in memory: recent changes, and the wake-up that long-polls,
streams and webhook delivery wait on."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from itertools import islice

from xinyong.state.outbox import Change

KEEP = 200_000


class FeedBuffer:
    """The latest changes the service has applied; older ones are read from the store."""

    def __init__(self, start: int = 0) -> None:
        self._changes: deque[Change] = deque(maxlen=KEEP)
        self.start = start  # every change with seq > start is held here (or was, if dropped)
        self.latest = start
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def reset(self, start: int) -> None:
        with self._lock:
            self._changes.clear()
            self.start = self.latest = start

    def extend(self, changes: list[Change]) -> None:
        if not changes:
            return
        with self._lock:
            for change in changes:
                if change.seq > self.latest:
                    if len(self._changes) == self._changes.maxlen:
                        self.start = self._changes[0].seq
                    self._changes.append(change)
                    self.latest = change.seq
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    def holds(self, cursor: int) -> bool:
        return cursor >= self.start

    def after(self, cursor: int, limit: int) -> list[Change]:
        with self._lock:
            if cursor >= self.latest:
                return []
            # Sequence numbers are consecutive, so the position is arithmetic.
            first = self._changes[0].seq if self._changes else self.latest + 1
            skip = max(0, cursor + 1 - first)
            found = list(islice(self._changes, skip, skip + limit))
        return [c for c in found if c.seq > cursor]

    async def wait(self, cursor: int, timeout: float) -> bool:
        """Until a change after ``cursor`` arrives (True) or the timeout passes (False)."""
        event = asyncio.Event()
        with self._lock:
            if self.latest > cursor:
                return True
            self._waiters.append((asyncio.get_running_loop(), event))
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True
