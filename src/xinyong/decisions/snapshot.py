"""The serving snapshot: every measure in force, in memory, looked up by subject key.

Decisions never touch the store. The snapshot is loaded once from the current run as
compact columns (numpy arrays sorted by key, strings interned), and kept current by an
overlay of the subjects whose measures changed since (``measure_changes``). A million
measures take about 80 MB of columns; subjects without measures take nothing at all.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from xinyong.errors import NotEvaluated
from xinyong.ledger.consents import consent_changes, consents_in_force
from xinyong.ledger.objections import Dispute, open_disputes
from xinyong.policy.model import Policy
from xinyong.state.runs import current_run, require_current
from xinyong.store.base import Connection

EPOCH = dt.date(1970, 1, 1)
NO_END = np.iinfo(np.int32).max
PRESENCE_BITS = 24


@dataclass(frozen=True, slots=True)
class MeasureRow:
    """One measure in force for one subject, with what triggered it."""

    measure_id: str
    trigger_kind: str
    trigger_id: str
    trigger_ref: str | None
    via: str | None  # the organisation's public code, when it reaches a person through one
    role: str
    valid_until: dt.date | None
    records: tuple[int, ...]


def key_halves(key: str) -> tuple[int, int]:
    """A subject key (32 hex characters) as two unsigned 64-bit integers."""
    return int(key[:16], 16), int(key[16:32], 16)


def _rows_sql(where: str) -> str:
    # string_agg(... ORDER BY ...) reads the same in DuckDB and PostgreSQL.
    return f"""
WITH m AS (
    SELECT * FROM active_measures
    WHERE run_id = ? AND (valid_until IS NULL OR valid_until > ?) {where}
), ev AS (
    SELECT entry_id, string_agg(CAST(event_id AS VARCHAR), ',' ORDER BY event_id) AS events
    FROM list_evidence WHERE run_id = ?
      AND entry_id IN (SELECT trigger_ref FROM m WHERE trigger_kind = 'list')
    GROUP BY entry_id
), si AS (
    SELECT score_id, subject_key,
           string_agg(CAST(event_id AS VARCHAR), ',' ORDER BY event_id) AS events
    FROM score_items WHERE run_id = ?
      AND subject_key IN (SELECT COALESCE(via_subject_key, subject_key) FROM m)
    GROUP BY score_id, subject_key
)
SELECT m.subject_key, m.measure_id, m.trigger_kind, m.trigger_id, m.trigger_ref,
       s.identifier AS via, m.role, m.valid_until, COALESCE(ev.events, si.events) AS events
FROM m
LEFT JOIN ev ON m.trigger_kind = 'list' AND ev.entry_id = m.trigger_ref
LEFT JOIN si ON m.trigger_kind <> 'list' AND si.score_id = m.trigger_id
    AND si.subject_key = COALESCE(m.via_subject_key, m.subject_key)
LEFT JOIN subjects s ON s.subject_key = m.via_subject_key
ORDER BY m.subject_key, m.measure_id, m.trigger_id, m.trigger_ref
"""


def load_rows(
    conn: Connection, run_id: int, day: dt.date, keys: Sequence[str] | None = None
) -> dict[str, list[MeasureRow]]:
    """Measures in force on ``day`` in run ``run_id``, by subject (all, or only ``keys``)."""
    params: list[Any] = [run_id, day]
    where = ""
    if keys is not None:
        if not keys:
            return {}
        where = "AND subject_key IN (" + ", ".join("?" for _ in keys) + ")"
        params += list(keys)
    params += [run_id, run_id]
    found: dict[str, list[MeasureRow]] = {key: [] for key in keys or ()}
    for key, measure, kind, trigger, ref, via, role, until, events in conn.execute(
        _rows_sql(where), params
    ):
        records = tuple(int(e) for e in events.split(",")) if events else ()
        found.setdefault(key, []).append(
            MeasureRow(measure, kind, trigger, ref, via, role, until, records)
        )
    return found


def iter_rows(
    conn: Connection, run_id: int, day: dt.date
) -> Iterator[tuple[str, list[MeasureRow]]]:
    """Every subject's measures in force, streamed in key order (nothing held whole)."""
    current: str | None = None
    rows: list[MeasureRow] = []
    for key, measure, kind, trigger, ref, via, role, until, events in conn.stream(
        _rows_sql(""), [run_id, day, run_id, run_id]
    ):
        if key != current:
            if current is not None:
                yield current, rows
            current, rows = key, []
        records = tuple(int(e) for e in events.split(",")) if events else ()
        rows.append(MeasureRow(measure, kind, trigger, ref, via, role, until, records))
    if current is not None:
        yield current, rows


class _Interned:
    """Strings to small integers and back."""

    def __init__(self) -> None:
        self.index: dict[str | None, int] = {}
        self.values: list[str | None] = []

    def __call__(self, value: str | None) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.values)
            self.values.append(value)
        return found


class Snapshot:
    """Measures in force by subject: a compact base plus an overlay of later changes."""

    def __init__(self, run_id: int | None, as_of: dt.date | None, policy_digest: str | None):
        self.run_id = run_id
        self.as_of = as_of
        self.policy_digest = policy_digest
        # Records under open objection (few): reloaded whenever the store changed.
        self.disputes: dict[int, Dispute] = {}
        # Purposes each subject consents to (those with any), kept current by the service.
        self.consents: dict[str, frozenset[str]] = {}
        self.consent_event = 0
        self.hi = np.empty(0, dtype=np.uint64)
        self.lo = np.empty(0, dtype=np.uint64)
        self._measure = np.empty(0, dtype=np.uint16)
        self._kind = np.empty(0, dtype=np.uint8)
        self._trigger = np.empty(0, dtype=np.uint16)
        self._ref_prefix = np.empty(0, dtype=np.uint32)
        self._ref_number = np.empty(0, dtype=np.int64)
        self._via = np.empty(0, dtype=np.uint32)
        self._role = np.empty(0, dtype=np.uint8)
        self._until = np.empty(0, dtype=np.int32)
        self._rec_start = np.zeros(1, dtype=np.int64)
        self._records = np.empty(0, dtype=np.int64)
        self._strings: dict[str, _Interned] = {
            name: _Interned() for name in ("measure", "kind", "trigger", "ref", "via", "role")
        }
        self.overlay: dict[str, list[MeasureRow]] = {}
        # One flag per 2**-24 of the key space (16 MiB): most subjects have no measure, and
        # most of them are answered here without a binary search.
        self._present = np.zeros(1 << PRESENCE_BITS, dtype=np.bool_)

    # -- building ------------------------------------------------------------------------

    @classmethod
    def load(cls, conn: Connection, day: dt.date) -> Snapshot:
        run = current_run(conn)
        if run is None:
            return cls(None, None, None)
        snapshot = cls(int(run["run_id"]), run["as_of"], str(run["policy_digest"]))
        snapshot.fill(iter_rows(conn, int(run["run_id"]), day))
        snapshot.refresh_consents(conn)
        return snapshot

    def refresh_consents(self, conn: Connection) -> None:
        """Take up consent given or withdrawn since the last look."""
        keys, self.consent_event = consent_changes(conn, self.consent_event)
        if not keys:
            return
        found = consents_in_force(conn, keys)
        for key in keys:
            if key in found:
                self.consents[key] = found[key]
            else:
                self.consents.pop(key, None)

    def consented(self, key: str) -> frozenset[str]:
        return self.consents.get(key, frozenset())

    def require(self, policy: Policy) -> None:
        """Raise NotEvaluated unless the snapshot holds a run made by ``policy``."""
        if self.run_id is None or self.policy_digest != policy.digest:
            raise NotEvaluated(
                "There is no evaluated state for this policy to decide from.",
                hint="Run `xinyong evaluate`; the service picks the new run up by itself.",
            )

    def fill(self, by_subject: Iterable[tuple[str, list[MeasureRow]]]) -> None:
        """Build the compact base from (subject key, rows) pairs."""
        s = self._strings
        # Typed arrays grow at 1 to 8 bytes an element; Python lists of ints take ~36.
        keys_hi, keys_lo = array("Q"), array("Q")
        cols = {
            "measure": array("H"),
            "kind": array("B"),
            "trigger": array("H"),
            "prefix": array("I"),
            "number": array("q"),
            "via": array("I"),
            "role": array("B"),
        }
        until, counts, records = array("i"), array("q"), array("q")
        for key, rows in by_subject:
            hi, lo = key_halves(key)
            for row in rows:
                keys_hi.append(hi)
                keys_lo.append(lo)
                cols["measure"].append(s["measure"](row.measure_id))
                cols["kind"].append(s["kind"](row.trigger_kind))
                cols["trigger"].append(s["trigger"](row.trigger_id))
                prefix, number = _split_ref(row.trigger_ref)
                cols["prefix"].append(s["ref"](prefix))
                cols["number"].append(number)
                cols["via"].append(s["via"](row.via))
                cols["role"].append(s["role"](row.role))
                until.append(NO_END if row.valid_until is None else _days(row.valid_until))
                counts.append(len(row.records))
                records.extend(row.records)
        hi_arr = np.frombuffer(keys_hi, dtype=np.uint64)
        lo_arr = np.frombuffer(keys_lo, dtype=np.uint64)
        order = np.lexsort((lo_arr, hi_arr))  # stable: keeps each subject's rows in order
        self.hi, self.lo = hi_arr[order], lo_arr[order]
        self._present = np.zeros(1 << PRESENCE_BITS, dtype=np.bool_)
        self._present[self.hi >> np.uint64(64 - PRESENCE_BITS)] = True
        self._measure = np.frombuffer(cols["measure"], dtype=np.uint16)[order]
        self._kind = np.frombuffer(cols["kind"], dtype=np.uint8)[order]
        self._trigger = np.frombuffer(cols["trigger"], dtype=np.uint16)[order]
        self._ref_prefix = np.frombuffer(cols["prefix"], dtype=np.uint32)[order]
        self._ref_number = np.frombuffer(cols["number"], dtype=np.int64)[order]
        self._via = np.frombuffer(cols["via"], dtype=np.uint32)[order]
        self._role = np.frombuffer(cols["role"], dtype=np.uint8)[order]
        self._until = np.frombuffer(until, dtype=np.int32)[order]
        count_arr = np.frombuffer(counts, dtype=np.int64)
        start_arr = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(count_arr, out=start_arr[1:])
        flat = np.frombuffer(records, dtype=np.int64)
        # Re-lay the records in the sorted order of their rows.
        sorted_counts = count_arr[order]
        self._rec_start = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(sorted_counts, out=self._rec_start[1:])
        self._records = flat[_gather(start_arr, order, sorted_counts)]
        self.overlay = {}

    # -- reading -------------------------------------------------------------------------

    def rows(self, key: str) -> list[MeasureRow]:
        """The subject's measures (in force when the snapshot was loaded or patched)."""
        patched = self.overlay.get(key)
        if patched is not None:
            return patched
        hi, lo = key_halves(key)
        if not self._present[hi >> (64 - PRESENCE_BITS)]:
            return []
        hi_u = np.uint64(hi)
        start = int(np.searchsorted(self.hi, hi_u, side="left"))
        stop = int(np.searchsorted(self.hi, hi_u, side="right"))
        return [self._row(i) for i in range(start, stop) if int(self.lo[i]) == lo]

    def _row(self, i: int) -> MeasureRow:
        s = self._strings
        prefix = s["ref"].values[int(self._ref_prefix[i])]
        number = int(self._ref_number[i])
        ref = prefix if number < 0 else f"{prefix}{number}"
        until = int(self._until[i])
        return MeasureRow(
            measure_id=s["measure"].values[int(self._measure[i])],  # type: ignore[arg-type]  # never None here
            trigger_kind=s["kind"].values[int(self._kind[i])],  # type: ignore[arg-type]  # never None here
            trigger_id=s["trigger"].values[int(self._trigger[i])],  # type: ignore[arg-type]  # never None here
            trigger_ref=ref,
            via=s["via"].values[int(self._via[i])],
            role=s["role"].values[int(self._role[i])],  # type: ignore[arg-type]  # never None here
            valid_until=None if until == NO_END else EPOCH + dt.timedelta(days=until),
            records=tuple(
                int(e) for e in self._records[self._rec_start[i] : self._rec_start[i + 1]]
            ),
        )

    def patch(self, rows_by_subject: dict[str, list[MeasureRow]]) -> None:
        """Replace these subjects' measures (an empty list removes them all)."""
        self.overlay.update(rows_by_subject)

    @property
    def measures(self) -> int:
        return len(self.hi)

    def nbytes(self) -> int:
        """Bytes held by the compact columns (the overlay and interned strings excluded)."""
        arrays = (
            self.hi,
            self.lo,
            self._measure,
            self._kind,
            self._trigger,
            self._ref_prefix,
            self._ref_number,
            self._via,
            self._role,
            self._until,
            self._rec_start,
            self._records,
            self._present,
        )
        return int(sum(a.nbytes for a in arrays))


def _days(day: dt.date) -> int:
    return (day - EPOCH).days


def _split_ref(ref: str | None) -> tuple[str | None, int]:
    """'list:12345' is kept as ('list:', 12345): a million list entries share one prefix."""
    if ref is None:
        return None, -1
    head, sep, tail = ref.rpartition(":")
    if sep and tail.isdigit() and not tail.startswith("0"):
        return head + sep, int(tail)
    return ref, -1


def _gather(start: np.ndarray, order: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Indices of each row's records, rows taken in ``order`` (vectorised)."""
    total = int(counts.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    first = np.repeat(start[order], counts)
    offset = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return first + offset


class StoredMeasures:
    """The measures of the current run read from the store, one subject at a time: what the
    command line decides from (the service decides from its ``Snapshot``)."""

    def __init__(self, conn: Connection, day: dt.date) -> None:
        self.conn, self.day = conn, day
        self.run_id: int | None = None
        self.as_of: dt.date | None = None
        self.disputes: dict[int, Dispute] = {}

    def require(self, policy: Policy) -> None:
        run = require_current(self.conn, policy)
        self.run_id, self.as_of = int(run["run_id"]), run["as_of"]

    def consented(self, key: str) -> frozenset[str]:
        return consents_in_force(self.conn, [key]).get(key, frozenset())

    def rows(self, key: str) -> list[MeasureRow]:
        if self.run_id is None:
            raise RuntimeError("call require() first")
        self.disputes = open_disputes(self.conn, [key])
        return load_rows(self.conn, self.run_id, self.day, [key]).get(key, [])
