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
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xinyong.access import credentials as subject_credentials
from xinyong.access import log as access_log
from xinyong.clock import today
from xinyong.context import Context
from xinyong.decisions.decide import answer, check_request
from xinyong.decisions.partners import Partner, partners_by_credential, subject_ref
from xinyong.decisions.snapshot import Snapshot, load_rows
from xinyong.errors import DecisionError, NotEvaluated, StoreBusy, XinyongError
from xinyong.feed.buffer import FeedBuffer
from xinyong.feed.changes import Change, changes_after, latest_seq, sweep_expiries
from xinyong.ids import parse_subject, subject_key
from xinyong.ids.masking import mask
from xinyong.ledger.sources import Source, hash_credential, sources_by_credential
from xinyong.store.embedded import EmbeddedStore

log = logging.getLogger("xinyong.service")

POLL_SECONDS = 0.05
BATCH_LIMIT = 10_000


class Forbidden(XinyongError):
    """The partner's grant does not cover what it asked."""

    code = "action_not_granted"


@dataclass
class Outcome:
    """One answered request: the body, and the access-log entry to make durable first."""

    body: dict[str, Any]
    entry: dict[str, Any]


class Service:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
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
        stamp = []
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
            run = conn.one("SELECT run_id FROM eval_runs WHERE is_current")
            run_id = int(run[0]) if run else None
            if run_id is not None and day != self.snapshot_day:
                self.ctx.store.lock_for_merge(conn)
                sweep_expiries(conn, run_id, day)
            fresh: list[Change] = []
            if force or run_id != self.snapshot.run_id or day != self.snapshot_day:
                self.snapshot = Snapshot.load(conn, day)
                self.snapshot_day = day
                self.cursor = latest_seq(conn)
                if force:
                    self.feed.reset(self.cursor)
                else:
                    fresh = changes_after(conn, self.feed.latest, 1_000_000)
            else:
                fresh = changes_after(conn, self.cursor, 1_000_000)
                keys = sorted({c.subject_key for c in fresh})
                for start in range(0, len(keys), 1000):
                    chunk = keys[start : start + 1000]
                    self.snapshot.patch(load_rows(conn, run_id, day, chunk))  # type: ignore[arg-type]
                if fresh:
                    self.cursor = fresh[-1].seq
            self.partners = partners_by_credential(conn)
            self.sources = sources_by_credential(conn)
            self.subject_keys = subject_credentials.all_credentials(conn)
        # The stamp is taken before reading, so a write that lands meanwhile is seen next tick.
        self._stamp = stamp
        self.feed.extend(fresh)
        self.refreshes += 1
        return True

    def changes_from_store(self, cursor: int, limit: int) -> list[Change]:
        with self.store_lock, self.ctx.store.transaction() as conn:
            return changes_after(conn, cursor, limit)

    # -- answering ----------------------------------------------------------------------

    def require_evaluated(self) -> None:
        snap = self.snapshot
        if snap.run_id is None or snap.policy_digest != self.policy.digest:
            raise NotEvaluated(
                "There is no evaluated state for this policy to decide from.",
                hint="Run `xinyong evaluate`; the service picks the new run up by itself.",
            )

    def decide(self, partner: Partner, request: dict[str, Any], *, channel: str = "api") -> Outcome:
        """One decision for a partner; raises Forbidden, DecisionError or InvalidIdentifier."""
        action = request["action"]
        if action not in self.policy.actions:
            check_request(self.policy, action, {})  # raises action_unknown, listing the known
        if action not in partner.actions:
            raise Forbidden(
                f"Partner {partner.partner_id!r} may not ask about {action!r}: its grant "
                f"covers {', '.join(partner.actions)}.",
                hint="An administrator can register the partner with that action "
                "(`xinyong partners add ... --actions`).",
            )
        self.require_evaluated()
        typed = check_request(self.policy, action, request.get("context") or {})
        parsed = parse_subject(request["subject"])
        key = subject_key(self.secret, parsed.identifier)
        # The sync thread moves the day at midnight (it polls every 50 ms).
        day = self.snapshot_day or today(self.ctx.settings.timezone)
        snap = self.snapshot
        decision_id = decision_uuid()
        purpose = request.get("purpose") or partner.purpose
        body = {
            "decision_id": decision_id,
            **answer(self.policy, snap.rows(key), action, typed, day),
            "subject": mask(parsed.identifier),
            "subject_ref": subject_ref(self.secret, partner.partner_id, key),
            "action": action,
            "context": typed,
            "purpose": purpose,
            "policy": self.policy.label,
            "evaluated_as_of": snap.as_of.isoformat() if snap.as_of else None,
            "decided_on": day.isoformat(),
        }
        entry = access_log.entry(
            key,
            "decision",
            partner.partner_id,
            action=action,
            purpose=purpose,
            outcome=body["decision"],
            decision_id=decision_id,
            channel=channel,
        )
        return Outcome(body, entry)

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


def decision_uuid() -> str:
    """A version-4 UUID from the process's Mersenne Twister: unique, not secret (it grants
    nothing), and without the system call per decision that ``uuid.uuid4`` makes."""
    h = f"{random.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


def _hash(credential: str) -> str:
    return hash_credential(credential)


__all__ = ["BATCH_LIMIT", "DecisionError", "Forbidden", "Outcome", "Service"]
