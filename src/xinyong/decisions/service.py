"""The decision service's state in one process: snapshot, grants, feed, access log.

A sync thread polls the store (for the embedded file, only when the file changed; for
PostgreSQL, one small query) and applies new ``measure_changes`` to the snapshot and the
feed, so that what ``xinyong ingest`` or another worker writes reaches decisions within a
fraction of a second. Requests never wait on the store.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from xinyong import credentials
from xinyong.access.partners import Partner, list_partners
from xinyong.clock import today
from xinyong.context import Context
from xinyong.decisions.decide import Outcome, decide
from xinyong.decisions.snapshot import Snapshot, load_rows
from xinyong.errors import StoreBusy
from xinyong.ledger.objections import open_disputes
from xinyong.ledger.sources import Source, list_sources
from xinyong.state.outbox import Change, changes_after, latest_seq, sweep_expiries
from xinyong.state.runs import current_run
from xinyong.state.tail import FeedBuffer
from xinyong.store.embedded import EmbeddedStore

log = logging.getLogger("xinyong.service")

POLL_SECONDS = 0.05
BATCH_LIMIT = 10_000


class Service:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.policy = ctx.policy
        self.secret = ctx.secret
        self.snapshot = Snapshot(None, None, None)
        self.snapshot_day: dt.date | None = None
        self.partners: dict[str, Partner] = {}
        self.sources: dict[str, Source] = {}
        self.subject_keys: dict[str, str] = {}
        self.feed = FeedBuffer()
        self.cursor = 0
        self.store_lock = threading.Lock()  # one store connection at a time in this process
        self._stamp: object = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refreshes = 0

    # -- keeping current ----------------------------------------------------------------

    def start(self) -> None:
        self.refresh(force=True)
        self._thread = threading.Thread(target=self._poll, name="snapshot-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _poll(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            try:
                self.refresh()
            except StoreBusy:
                pass  # another process holds the embedded file: try again next tick
            except Exception:  # keep serving the last good snapshot
                log.exception("refreshing the snapshot failed; serving the previous one")
                time.sleep(1)

    def _store_stamp(self) -> object:
        store = self.ctx.store
        if not isinstance(store, EmbeddedStore):
            return None  # PostgreSQL: ask every tick
        stamp: list[tuple[int, int] | None] = []
        for path in (store.path, Path(str(store.path) + ".wal")):
            try:
                st = os.stat(path)
                stamp.append((st.st_mtime_ns, st.st_size))
            except FileNotFoundError:
                stamp.append(None)
        return tuple(stamp)

    def refresh(self, force: bool = False) -> bool:
        """Apply what changed in the store; True when something did."""
        day = today(self.ctx.settings.timezone)
        stamp = self._store_stamp()
        if not force and stamp is not None and stamp == self._stamp and day == self.snapshot_day:
            return False
        with self.store_lock, self.ctx.store.transaction() as conn:
            run = current_run(conn)
            run_id = int(run["run_id"]) if run else None
            if run_id is not None and day != self.snapshot_day:
                self.ctx.store.lock_for_merge(conn)
                sweep_expiries(conn, run_id, day)
            fresh: list[Change] = []
            disputes = open_disputes(conn)
            if force or run_id != self.snapshot.run_id or day != self.snapshot_day:
                snapshot = Snapshot.load(conn, day)
                snapshot.disputes = disputes  # before answers can see the new snapshot
                self.snapshot = snapshot
                self.snapshot_day = day
                self.cursor = latest_seq(conn)
                if force:
                    self.feed.reset(self.cursor)
                else:
                    fresh = changes_after(conn, self.feed.latest, 1_000_000)
            else:
                fresh = changes_after(conn, self.cursor, 1_000_000)
                self.snapshot.refresh_consents(conn)
                keys = sorted({c.subject_key for c in fresh})
                for start in range(0, len(keys), 1000):
                    chunk = keys[start : start + 1000]
                    self.snapshot.patch(load_rows(conn, run_id, day, chunk))  # type: ignore[arg-type]  # None (no run yet) selects no rows
                if fresh:
                    self.cursor = fresh[-1].seq
            holders = credentials.holders(conn)
            partners = {p.partner_id: p for p in list_partners(conn)}
            sources = {s.source_id: s for s in list_sources(conn)}
            self.partners = {h: partners[i] for h, i in holders.partners.items()}
            self.sources = {h: sources[i] for h, i in holders.sources.items()}
            self.subject_keys = holders.subjects
        self.snapshot.disputes = disputes
        # The stamp is taken before reading, so a write that lands meanwhile is seen next tick.
        self._stamp = stamp
        self.feed.extend(fresh)
        self.refreshes += 1
        return True

    def changes_from_store(self, cursor: int, limit: int) -> list[Change]:
        with self.store_lock, self.ctx.store.transaction() as conn:
            return changes_after(conn, cursor, limit)

    # -- answering ----------------------------------------------------------------------

    def decide(self, partner: Partner, request: dict[str, Any], *, channel: str = "api") -> Outcome:
        """One decision for a partner from the snapshot (decisions.decide.decide)."""
        # The sync thread moves the day at midnight (it polls every 50 ms).
        day = self.snapshot_day or today(self.ctx.settings.timezone)
        return decide(
            self.policy,
            self.secret,
            self.snapshot,
            request,
            partner=partner,
            day=day,
            channel=channel,
        )

    def partner(self, credential: str | None) -> Partner | None:
        if not credential:
            return None
        return self.partners.get(_hash(credential))

    def source(self, credential: str | None) -> Source | None:
        if not credential:
            return None
        return self.sources.get(_hash(credential))

    def subject_of(self, credential: str | None) -> str | None:
        if not credential:
            return None
        return self.subject_keys.get(_hash(credential))


def _hash(credential: str) -> str:
    return credentials.hash_credential(credential)


__all__ = ["BATCH_LIMIT", "Outcome", "Service"]
