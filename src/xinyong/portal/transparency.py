"""The transparency figures: what the system did, in numbers anyone may see.

One function, ``figures(service)``, serves the portal's page (``/transparency``) and the API
(``GET /v1/public/transparency``). Every figure is computed from the store (one transaction)
and the access log; the result is a plain dict of numbers, strings and lists, the same for
both, and kept for ``CACHE_SECONDS`` because the figures are public and costly.

The figures, and how each is defined:

- **Listings and removals** by month and by list, from the current run's ``list_entries``:
  a listing is an entry that is not refused and has begun (``entered_on`` on or before
  today), counted in the month of ``entered_on``; a removal is such an entry whose
  ``ends_on`` has come, counted in that month, by a removal record (``exit``) or because its
  term ran out (``term``). A listing revoked (an objection upheld, a record revoked) is no
  entry at all and counts in neither.
- **Removals on the feed**: every end of a measure in the outbox (``measure_changes`` with
  status ``ended``), by the month it was published and by its cause, and the time from the
  removal to its publication: from the submission that carried the removal (cause
  ``records``) or from the start of the day the term ended (cause ``expiry``, in the
  deployment's time zone). Readers of the feed (long-poll, stream) get a change as soon as
  it is published. Webhook deliveries are acknowledged by cursor and the time of each
  acknowledgement is not recorded, so for webhook partners the figures are what they have
  acknowledged and what still waits, with the time the oldest has waited.
- **Objections and repair applications**, from their tables: filed, decided each way, open,
  overdue (open past the deadline), decided late (after it), and the days from filing to
  decision (calendar days, ``decided_on - filed_on``).
- **Decisions** answered to partners, from the access log, by the partner's kind and
  the outcome (allow or deny).
- **Equality**: black- and red-listed, restricted and rewarded subjects as rates of the
  population (every subject of the group the ledger knows), by subject kind, and per kind
  by ownership and by region. No group smaller than ``MIN_CELL`` and no count from 1 to
  ``MIN_CELL - 1`` is published: see ``publish_equality``.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from xinyong.access.log import log_dir
from xinyong.clock import today, utcnow
from xinyong.context import Context
from xinyong.decisions.service import Service
from xinyong.errors import NotEvaluated
from xinyong.evaluation.equality import equality_report
from xinyong.feed.delivery import Cursors
from xinyong.feed.events import measure_actions
from xinyong.sql import literal_list
from xinyong.state.runs import require_current
from xinyong.store.base import Connection

MIN_CELL = 10  # no group and no count smaller than this is published
CACHE_SECONDS = 60.0
CHUNK = 8 * 1024 * 1024  # bytes of the access log read at a time
MEASURES = ("black_listed", "red_listed", "restricted", "rewarded")
# Why a published cell holds no number.
SMALL = "fewer_than_min_cell"  # the count itself is from 1 to MIN_CELL - 1
COMPLEMENTARY = "complementary"  # it would let a suppressed count be worked out from a total


# -- the cache --------------------------------------------------------------------------------


class _Cache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at = 0.0
        self.value: dict[str, Any] | None = None


_CACHES: dict[int, _Cache] = {}
_CACHES_LOCK = threading.Lock()


def figures(service: Service, *, max_age: float = CACHE_SECONDS) -> dict[str, Any]:
    """The figures, at most ``max_age`` seconds old (run it off the event loop: it reads the
    store). Concurrent callers wait for one computation rather than each making their own."""
    with _CACHES_LOCK:
        cache = _CACHES.setdefault(id(service), _Cache())
    with cache.lock:
        if cache.value is None or time.monotonic() - cache.at > max_age:
            cache.value = compute(service)
            cache.at = time.monotonic()
        return cache.value


def compute(service: Service) -> dict[str, Any]:
    ctx = service.ctx
    day = today(ctx.settings.timezone)
    with service.store_lock, ctx.store.transaction() as conn:
        kinds = {
            str(r[0]): str(r[1]) for r in conn.execute("SELECT partner_id, kind FROM partners")
        }
        result: dict[str, Any] = {
            "generated_at": utcnow().isoformat(timespec="seconds") + "Z",
            "as_of": day.isoformat(),
            "policy": ctx.policy.label,
            "min_cell": MIN_CELL,
            "lists": _lists(ctx, conn, day),
            "feed": _feed(ctx, conn),
            "objections": _cases(conn, "objections", day),
            "repairs": _cases(conn, "repairs", day),
        }
        try:
            result["equality"] = publish_equality(equality_report(ctx, conn), MIN_CELL)
        except NotEvaluated:
            result["equality"] = None
    result["decisions"] = _decisions(ctx.settings.data_dir, kinds)
    return result


def _month(year: Any, month: Any) -> str:
    return f"{int(year):04d}-{int(month):02d}"


def _year_month(column: str) -> str:
    return f"CAST(EXTRACT(YEAR FROM {column}) AS INTEGER), CAST(EXTRACT(MONTH FROM {column}) AS INTEGER)"


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


# -- listings and removals --------------------------------------------------------------------


def _lists(ctx: Context, conn: Connection, day: dt.date) -> dict[str, Any] | None:
    try:
        run = require_current(conn, ctx.policy)
    except NotEvaluated:
        return None
    run_id = int(run["run_id"])
    begun = (
        "e.run_id = ? AND e.refused_by IS NULL AND e.entered_on IS NOT NULL AND e.entered_on <= ?"
    )
    per_list: dict[str, dict[str, Any]] = {
        list_id: {
            "list": list_id,
            "label": rule.label,
            "kind": rule.kind,
            "listings": 0,
            "removals": 0,
            "removed_by_record": 0,
            "removed_by_term": 0,
            "in_force": 0,
        }
        for list_id, rule in ctx.policy.lists.items()
    }
    months: dict[str, dict[str, Any]] = {}

    def month(key: str) -> dict[str, Any]:
        return months.setdefault(key, {"month": key, "listings": 0, "removals": 0, "by_list": {}})

    for list_id, y, m, n in conn.execute(
        f"SELECT e.list_id, {_year_month('e.entered_on')}, count(*) FROM list_entries e"
        f" WHERE {begun} GROUP BY 1, 2, 3",
        [run_id, day],
    ):
        row = month(_month(y, m))
        row["listings"] += int(n)
        row["by_list"].setdefault(list_id, {"listings": 0, "removals": 0})["listings"] += int(n)
        if list_id in per_list:
            per_list[list_id]["listings"] += int(n)
    for list_id, reason, y, m, n in conn.execute(
        f"SELECT e.list_id, e.end_reason, {_year_month('e.ends_on')}, count(*) FROM list_entries e"
        f" WHERE {begun} AND e.ends_on IS NOT NULL AND e.ends_on <= ? GROUP BY 1, 2, 3, 4",
        [run_id, day, day],
    ):
        row = month(_month(y, m))
        row["removals"] += int(n)
        row["by_list"].setdefault(list_id, {"listings": 0, "removals": 0})["removals"] += int(n)
        if list_id in per_list:
            per_list[list_id]["removals"] += int(n)
            which = "removed_by_record" if reason == "exit" else "removed_by_term"
            per_list[list_id][which] += int(n)
    for list_id, n in conn.execute(
        f"SELECT e.list_id, count(*) FROM list_entries e WHERE {begun}"
        " AND (e.ends_on IS NULL OR e.ends_on > ?) GROUP BY 1",
        [run_id, day, day],
    ):
        if list_id in per_list:
            per_list[list_id]["in_force"] = int(n)
    return {
        "evaluated_as_of": run["as_of"].isoformat(),
        "lists": list(per_list.values()),
        "by_month": [months[k] for k in sorted(months)],
    }


# -- removals on the feed ---------------------------------------------------------------------


def _feed(ctx: Context, conn: Connection) -> dict[str, Any]:
    """Ends of measures on the feed by month (in the deployment's zone) and by cause, with
    the seconds from each removal to its publication: from the submission that carried it
    (the latest received before the change; merges are serialised), or from the start of
    the day its term ended. Changes of one transaction share their time, so the store is
    asked for one row per transaction, and the submissions once."""
    zone = ZoneInfo(ctx.settings.timezone)
    changes = conn.execute(
        "SELECT cause, recorded_at, valid_until, count(*) FROM measure_changes"
        " WHERE status = 'ended' GROUP BY 1, 2, 3"
    )
    received = sorted(r[0] for r in conn.execute("SELECT received_at FROM submissions"))
    months: dict[str, list[tuple[float | None, int]]] = {}
    causes: dict[str, list[tuple[float | None, int]]] = {}
    for cause, at, until, n in changes:
        lag: float | None = None
        if cause == "records":
            i = bisect.bisect_right(received, at)
            lag = (at - received[i - 1]).total_seconds() if i else None
        elif cause == "expiry" and until is not None:
            midnight = dt.datetime.combine(until, dt.time(), zone).astimezone(dt.UTC)
            lag = (at - midnight.replace(tzinfo=None)).total_seconds()
        local = at.replace(tzinfo=dt.UTC).astimezone(zone)
        months.setdefault(f"{local.year:04d}-{local.month:02d}", []).append((lag, int(n)))
        causes.setdefault(str(cause), []).append((lag, int(n)))
    by_month = [{"month": k, **_timing(months[k])} for k in sorted(months)]
    by_cause = [{"cause": k, **_timing(v)} for k, v in causes.items()]
    by_cause.sort(key=lambda r: (-r["removals"], r["cause"]))
    return {
        "removals": sum(r["removals"] for r in by_cause),
        "by_month": by_month,
        "by_cause": by_cause,
        "webhooks": _webhooks(ctx, conn),
    }


def _timing(lags: list[tuple[float | None, int]]) -> dict[str, Any]:
    """How many removals, how many of them timed, and the median, 90th percentile (linear
    between neighbours, as SQL's percentile_cont) and longest of their times."""
    timed = sorted((lag, n) for lag, n in lags if lag is not None)
    count = sum(n for _lag, n in timed)
    return {
        "removals": sum(n for _lag, n in lags),
        "timed": count,
        "median_seconds": _number(_percentile(timed, count, 0.5)),
        "p90_seconds": _number(_percentile(timed, count, 0.9)),
        "max_seconds": _number(timed[-1][0]) if timed else None,
    }


def _percentile(values: list[tuple[float, int]], count: int, p: float) -> float | None:
    """The ``p`` quantile of sorted (value, how many times) pairs."""
    if not count:
        return None
    position = (count - 1) * p
    low, high = math.floor(position), math.ceil(position)

    def at(index: int) -> float:
        seen = 0
        for value, n in values:
            seen += n
            if index < seen:
                return value
        return values[-1][0]

    a, b = at(low), at(high)
    return a + (b - a) * (position - low)


def _webhooks(ctx: Context, conn: Connection) -> dict[str, Any]:
    """What webhook partners have acknowledged of the removals that concern them, and what
    still waits (their cursor files say how far each has acknowledged)."""
    cursors = Cursors(Path(ctx.settings.data_dir) / "feed")
    partners = conn.execute(
        "SELECT partner_id, actions FROM partners WHERE active AND webhook_url IS NOT NULL"
        " ORDER BY partner_id"
    )
    acknowledged = waiting = up_to_date = 0
    oldest: dt.datetime | None = None
    for partner_id, actions in partners:
        granted = set(orjson.loads(actions))
        measures = [m for m in ctx.policy.measures if granted & set(measure_actions(ctx.policy, m))]
        if not measures:
            up_to_date += 1
            continue
        cursor = cursors.get(f"webhook-{partner_id}")
        done, pending, since = conn.one(
            "SELECT sum(CASE WHEN seq <= ? THEN 1 ELSE 0 END),"
            " sum(CASE WHEN seq > ? THEN 1 ELSE 0 END),"
            " min(CASE WHEN seq > ? THEN recorded_at END)"
            " FROM measure_changes WHERE status = 'ended'"
            f" AND measure_id IN {literal_list(measures)}",
            [cursor, cursor, cursor],
        ) or (0, 0, None)
        acknowledged += int(done or 0)
        waiting += int(pending or 0)
        if not pending:
            up_to_date += 1
        if since is not None and (oldest is None or since < oldest):
            oldest = since
    now = utcnow()
    return {
        "partners": len(partners),
        "up_to_date": up_to_date,
        "acknowledged": acknowledged,
        "waiting": waiting,
        "oldest_waiting_since": oldest.isoformat(timespec="seconds") + "Z" if oldest else None,
        "oldest_waiting_seconds": round((now - oldest).total_seconds()) if oldest else None,
    }


# -- objections and repair applications -------------------------------------------------------

_CASES = {
    # table: (date filed, the outcome that grants, the outcome that refuses)
    "objections": ("filed_on", "upheld", "rejected"),
    "repairs": ("applied_on", "granted", "refused"),
}


def _cases(conn: Connection, table: str, day: dt.date) -> dict[str, Any]:
    filed, yes, no = _CASES[table]
    months: dict[str, dict[str, int]] = {}
    totals: Counter[str] = Counter()
    for y, m, status, n, overdue, late in conn.execute(
        f"SELECT {_year_month(filed)}, status, count(*),"
        " sum(CASE WHEN status = 'open' AND due_on < ? THEN 1 ELSE 0 END),"
        " sum(CASE WHEN decided_on > due_on THEN 1 ELSE 0 END)"
        f" FROM {table} GROUP BY 1, 2, 3",
        [day],
    ):
        row = months.setdefault(
            _month(y, m), {"filed": 0, yes: 0, no: 0, "open": 0, "overdue": 0, "decided_late": 0}
        )
        for key, value in (
            ("filed", n),
            (str(status), n),
            ("overdue", overdue),
            ("decided_late", late),
        ):
            row[key] = row.get(key, 0) + int(value or 0)
            totals[key] += int(value or 0)
    timing = {}
    for status, n, p50, top, mean in conn.execute(
        f"SELECT status, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY decided_on - {filed}),"
        f" max(decided_on - {filed}), avg(decided_on - {filed})"
        f" FROM {table} WHERE decided_on IS NOT NULL GROUP BY 1",
    ):
        timing[str(status)] = {
            "decided": int(n),
            "median_days": _number(p50),
            "max_days": int(top),
            "mean_days": _number(mean),
        }
    overall = conn.one(
        f"SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY decided_on - {filed}),"
        f" max(decided_on - {filed}), avg(decided_on - {filed})"
        f" FROM {table} WHERE decided_on IS NOT NULL"
    ) or (0, None, None, None)
    result: dict[str, Any] = {
        "filed": totals["filed"],
        yes: totals[yes],
        no: totals[no],
        "open": totals["open"],
        "overdue": totals["overdue"],
        "decided_late": totals["decided_late"],
        "days_to_decision": {
            "decided": int(overall[0] or 0),
            "median_days": _number(overall[1]),
            "max_days": int(overall[2]) if overall[2] is not None else None,
            "mean_days": _number(overall[3]),
            "by_outcome": timing,
        },
        "by_month": [{"month": k, **months[k]} for k in sorted(months)],
    }
    if table == "objections":
        result["reconsiderations"] = int(
            conn.scalar("SELECT count(*) FROM objections WHERE reconsiders IS NOT NULL") or 0
        )
    return result


# -- decisions, from the access log -----------------------------------------------------------


class _Tally:
    """Decisions in one data directory's access log by (who asked, outcome). Each file is
    read once, from where the last count stopped; a torn last line waits for its end."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.Lock()
        self.read: dict[str, int] = {}
        self.counts: dict[str, Counter[tuple[str, str]]] = {}

    def update(self) -> Counter[tuple[str, str]]:
        with self.lock:
            seen = set()
            for path in sorted(self.folder.glob("*.jsonl")):
                name = path.name
                seen.add(name)
                try:
                    size = path.stat().st_size
                except FileNotFoundError:
                    continue
                start = self.read.get(name, 0)
                if size < start:  # replaced: count it again
                    start = 0
                    self.counts.pop(name, None)
                if size == start:
                    continue
                counts = self.counts.setdefault(name, Counter())
                with open(path, "rb") as fh:
                    fh.seek(start)
                    while start < size:
                        data = fh.read(min(CHUNK, size - start))
                        end = data.rfind(b"\n") + 1
                        if not end:  # a torn last line, or one longer than a chunk
                            if len(data) < CHUNK:
                                break
                            data += fh.readline()
                            end = data.rfind(b"\n") + 1
                            if not end:
                                break
                        fh.seek(start + end)
                        _count(data[:end], counts)
                        start += end
                self.read[name] = start
            for gone in set(self.read) - seen:
                self.read.pop(gone)
                self.counts.pop(gone, None)
            total: Counter[tuple[str, str]] = Counter()
            for counts in self.counts.values():
                total.update(counts)
            return total


def _count(lines: bytes, counts: Counter[tuple[str, str]]) -> None:
    for line in lines.splitlines():
        if b'"decision"' not in line:
            continue
        entry = orjson.loads(line)
        if entry.get("kind") == "decision":
            counts[(str(entry.get("who")), str(entry.get("outcome")))] += 1


_TALLIES: dict[Path, _Tally] = {}


def _decisions(data_dir: Path | str, kinds: dict[str, str]) -> dict[str, Any]:
    folder = log_dir(data_dir)
    with _CACHES_LOCK:
        tally = _TALLIES.setdefault(folder, _Tally(folder))
    by_kind: dict[str, Counter[str]] = {}
    for (who, outcome), n in tally.update().items():
        kind = "command_line" if who == "cli" else kinds.get(who, "unknown")
        by_kind.setdefault(kind, Counter())[outcome] += n
    rows: list[dict[str, Any]] = [
        {
            "partner_kind": kind,
            "allow": counts["allow"],
            "deny": counts["deny"],
            "total": sum(counts.values()),
        }
        for kind, counts in by_kind.items()
    ]
    rows.sort(key=lambda r: (-r["total"], r["partner_kind"]))
    return {
        "total": sum(r["total"] for r in rows),
        "allow": sum(r["allow"] for r in rows),
        "deny": sum(r["deny"] for r in rows),
        "by_partner_kind": rows,
    }


# -- equality, published ----------------------------------------------------------------------


def publish_equality(report: dict[str, Any], min_cell: int = MIN_CELL) -> dict[str, Any]:
    """The equality report with nothing that could single out a small group:

    - a kind with fewer than ``min_cell`` subjects shows no figures;
    - per kind, ownerships and regions with fewer than ``min_cell`` subjects are pooled into
      one row ("other"); while that pool is smaller than ``min_cell``, the smallest other
      group joins it, so that no group, the pool included, is smaller;
    - a count from 1 to ``min_cell - 1`` is not shown, nor its rate (``fewer_than_min_cell``);
    - where a kind's rows would show every count of a column but one, and the kind's total
      is shown, the smallest other count is withheld too (``complementary``), so that the
      hidden one cannot be worked out by subtraction.

    Each count is ``{"count", "rate", "suppressed"}``: numbers, or None with the reason."""
    by_kind = [_public_row(r, min_cell, kind=str(r["grp"]), group=False) for r in report["by_kind"]]
    totals = {r["kind"]: r for r in by_kind if r["subjects"]["suppressed"] is None}
    published: dict[str, Any] = {
        "policy": report["policy"],
        "as_of": report["as_of"],
        "min_cell": min_cell,
        "by_kind": by_kind,
    }
    for name in ("ownership", "region"):
        rows: list[dict[str, Any]] = []
        for kind, total in totals.items():  # a kind whose row shows nothing shows no parts
            block = [r for r in report[f"by_{name}"] if str(r["kind"]) == kind]
            if block:
                rows.extend(_block(block, total, min_cell))
        published[f"by_{name}"] = rows
    return published


def _block(
    block: list[dict[str, Any]], total: dict[str, Any], min_cell: int
) -> list[dict[str, Any]]:
    """One kind's ownership or region rows, published; ``total`` is the kind's own row."""
    kind = str(total["kind"])
    ordered = sorted(block, key=lambda r: (-int(r["subjects"]), str(r["grp"])))
    visible = [r for r in ordered if int(r["subjects"]) >= min_cell]
    pooled = [r for r in ordered if int(r["subjects"]) < min_cell]
    while pooled and visible and sum(int(r["subjects"]) for r in pooled) < min_cell:
        pooled.append(visible.pop())  # the smallest shown group joins the pool
    rows = [_public_row(r, min_cell, kind=kind) for r in visible]
    if pooled:
        pool: dict[str, Any] = {"grp": None, "subjects": sum(int(r["subjects"]) for r in pooled)}
        for c in MEASURES:
            pool[c] = sum(int(r[c]) for r in pooled)
        rows.append(_public_row(pool, min_cell, kind=kind, pooled=True))
    # Complementary suppression: the kind's total is shown, so one hidden count per column
    # could be had by subtraction; withhold the smallest other count too.
    for c in MEASURES:
        hidden = [r for r in rows if r[c]["suppressed"] is not None]
        if len(hidden) != 1 or total[c]["suppressed"] is not None:
            continue
        others = [r for r in rows if r[c]["suppressed"] is None]
        if not others:
            continue
        positive = [r for r in others if r[c]["count"]] or others
        victim = min(positive, key=lambda r: r[c]["count"])
        victim[c] = {"count": None, "rate": None, "suppressed": COMPLEMENTARY}
    return rows


def _public_row(
    row: dict[str, Any], min_cell: int, *, kind: str, group: bool = True, pooled: bool = False
) -> dict[str, Any]:
    """One published row: a kind's (``group`` False) or one ownership's or region's of a kind,
    or the pool of a kind's small groups."""
    n = int(row["subjects"])
    out: dict[str, Any] = {"kind": kind}
    if group:
        out["group"] = None if pooled else row["grp"]
        out["label"] = None if pooled else row.get("label") or None
        out["pooled"] = pooled
    if n < min_cell:
        out["subjects"] = {"count": None, "suppressed": SMALL}
        for c in MEASURES:
            out[c] = {"count": None, "rate": None, "suppressed": SMALL}
        return out
    out["subjects"] = {"count": n, "suppressed": None}
    for c in MEASURES:
        count = int(row[c])
        if 0 < count < min_cell:
            out[c] = {"count": None, "rate": None, "suppressed": SMALL}
        else:
            out[c] = {"count": count, "rate": round(count / n, 4), "suppressed": None}
    return out
