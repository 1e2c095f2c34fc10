"""Daily maintenance (``maintain``) after a batch evaluation, against that evaluation.

Uses the synthetic ledger of evaluate_embedded.py (built there, or here on first use, and
reused from --workdir). Each round works on a fresh copy of it (--workdir/maintain-S-R/,
so the shared ledger gets no notices and every round starts from the same state) and
times, one after the other in this process:

- **baseline**: one batch ``xinyong.evaluation.batch.evaluate(ctx)``;
- **first maintain**: ``maintain(ctx)`` right after it. No notice has been made on the
  copy yet, so this tells every subject about every measure change in the outbox (for a
  ledger never evaluated before: every measure in force), and delivers those notices on
  the configured channels (XINYONG_NOTICE_CHANNELS; ``file`` by default, one JSON file per
  notice under notices/outbox/, synced per batch of 2,000);
- **second maintain**: ``maintain(ctx)`` again the same day, which should find nothing to
  do (the steady state of a daily run).

Prints each wall time, the ratios maintain / evaluate (goal: at most 0.2), what maintain
reported (notices made and delivered), the notices by kind, and the statements where the
first maintain spent its time (timed by wrapping the store connection's ``execute``, as
evaluate_embedded.py does). With --rounds above 1 it also prints the medians.

    nice -n 19 python benchmarks/maintain.py                        # 1M subjects, 10M records
    python benchmarks/maintain.py --subjects 100000 --records 1000000   # a quick look
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

import evaluate_embedded as bench

GOAL = 0.2


def fresh_copy(ledger: Path, scratch: Path) -> None:
    """``scratch`` as a copy of the ledger directory (without its notices and work files)."""
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(
        ledger, scratch, ignore=shutil.ignore_patterns("notices", "work", "bench-running.txt")
    )


def by_statement(timings: list[tuple[float, str]], top: int = 6) -> list[tuple[Any, ...]]:
    """(total s, calls, mean ms of the first and of the last tenth of the calls, label) of
    the costliest statements: the two means show a cost that grows as a table grows."""
    calls: dict[str, list[float]] = {}
    for seconds, sql in timings:
        calls.setdefault(bench.label(sql), []).append(seconds)
    rows = []
    for name, took in calls.items():
        tenth = max(1, len(took) // 10)
        first, last = (statistics.mean(part) * 1000 for part in (took[:tenth], took[-tenth:]))
        rows.append((sum(took), len(took), first, last, name))
    return sorted(rows, reverse=True)[:top]


def state(ctx: Any) -> dict[str, Any]:
    """The copy's current run, measures in force and changes not yet told, before a round."""
    from xinyong.process.notices import CURSOR
    from xinyong.state.runs import current_run
    from xinyong.store.base import get_meta

    with ctx.store.transaction() as conn:
        run = current_run(conn)
        return {
            "run": f"run {run['run_id']} of {run['started_at']:%Y-%m-%d}" if run else "none",
            "cursor": int(get_meta(conn, CURSOR) or 0),
            "notices": int(conn.scalar("SELECT count(*) FROM notices")),
        }


def round_once(
    data_dir: Path, scratch: Path, memory_limit: str, timings: list[tuple[float, str]]
) -> dict[str, Any]:
    from xinyong.evaluation.batch import evaluate
    from xinyong.process.maintenance import maintain

    t = time.perf_counter()
    fresh_copy(data_dir, scratch)
    print(f"  fresh copy of the ledger in {time.perf_counter() - t:.1f} s", flush=True)
    ctx = bench.open_context(scratch, memory_limit)
    _ = ctx.policy, ctx.catalog, ctx.secret  # loaded outside the timing
    before = state(ctx)  # also opens (and migrates) the store
    print(
        f"  before: current run {before['run']}, notices cursor {before['cursor']},"
        f" {before['notices']} notices; channels {ctx.settings.notice_channels}",
        flush=True,
    )
    timings.clear()
    t = time.perf_counter()
    summary = evaluate(ctx)
    evaluate_s = time.perf_counter() - t
    print(f"  evaluate: {evaluate_s:.2f} s (run {summary.run_id})", flush=True)
    with ctx.store.transaction() as conn:
        in_force = int(
            conn.scalar(
                "SELECT count(*) FROM (SELECT DISTINCT subject_key, measure_id FROM"
                " active_measures WHERE run_id = ?)",
                [summary.run_id],
            )
        )
        untold = int(
            conn.scalar("SELECT count(*) FROM measure_changes WHERE seq > ?", [before["cursor"]])
        )

    first_sql = len(timings)
    t = time.perf_counter()
    first = maintain(ctx)
    first_s = time.perf_counter() - t
    first_timings = timings[first_sql:]
    print(f"  first maintain: {first_s:.2f} s", flush=True)
    t = time.perf_counter()
    second = maintain(ctx)
    second_s = time.perf_counter() - t
    second_timings = timings[first_sql + len(first_timings) :]
    print(f"  second maintain: {second_s:.2f} s", flush=True)

    with ctx.store.transaction() as conn:
        kinds = conn.execute(
            "SELECT kind, count(*), count(DISTINCT subject_key) FROM notices GROUP BY 1 ORDER BY 2 DESC"
        )
        deliveries = dict(
            conn.execute(
                "SELECT channel || ':' || status, count(*) FROM notice_deliveries GROUP BY 1"
            )
        )
    outbox = scratch / "notices" / "outbox"
    files = len(os.listdir(outbox)) if outbox.exists() else 0
    return {
        "evaluate": evaluate_s,
        "first": first_s,
        "second": second_s,
        "first_report": first,
        "second_report": second,
        "in_force": in_force,
        "untold": untold,
        "kinds": kinds,
        "deliveries": deliveries,
        "files": files,
        "sql": {"first": first_timings, "second": second_timings},
    }


def show_round(n: int, r: dict[str, Any]) -> None:
    first, second = r["first_report"], r["second_report"]
    print(f"\nround {n}:")
    print(f"  evaluate (baseline)      {r['evaluate']:8.2f} s")
    for name, seconds, rep in (("first", r["first"], first), ("second", r["second"], second)):
        d = rep.get("delivery") or {}
        print(
            f"  {name} maintain          {seconds:8.2f} s   ratio {seconds / r['evaluate']:.3f}"
            f"  (goal <= {GOAL}: {'met' if seconds / r['evaluate'] <= GOAL else 'NOT met'})"
        )
        print(
            f"    expired {rep['expired']:,}, grace ended {rep['grace_ended']:,}; notices made:"
            f" {rep['notices_from_changes']:,} for changes, {rep['notices_ending']:,} for terms"
            f" ending, {rep['notices_overdue']:,} overdue; delivered {d.get('delivered', 0):,}"
            f" of {d.get('attempted', 0):,} attempted (failed {d.get('failed', 0):,},"
            f" retrying {d.get('retrying', 0):,})"
        )
    made = first["notices_from_changes"]
    print(
        f"  the first maintain told {made:,} measure changes ({r['untold']:,} changes in the"
        f" outbox; {r['in_force']:,} (subject, measure) pairs in force in the new run)"
    )
    for kind, count, subjects in r["kinds"]:
        print(f"    {kind:18} {count:9,} notices to {subjects:,} subjects")
    print(f"  deliveries {r['deliveries']}; {r['files']:,} files in the outbox")
    for name, timed in r["sql"].items():
        total = sum(s for s, _q in timed)
        print(f"  {name} maintain: {len(timed):,} statements, {total:.1f} s in SQL; the costliest:")
        print(f"    {'total':>8}  {'calls':>9}  {'ms/call, first tenth':>20}  {'last tenth':>10}")
        for s, calls, early, late, what in by_statement(timed):
            print(f"    {s:8.2f}  {calls:9,}  {early:20.2f}  {late:10.2f}  {what}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=1_000_000, help="a multiple of 1000")
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=2, help="(evaluate, maintain, maintain)")
    parser.add_argument(
        "--memory-limit", default="8GB", help="DuckDB memory limit (the store's default is 1GB)"
    )
    parser.add_argument("--workdir", type=Path, default=bench.OUT)
    parser.add_argument("--keep", action="store_true", help="keep the last round's copy")
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    data_dir = bench.ensure_ledger(args.workdir, args.subjects, args.records, args.memory_limit)
    scratch = args.workdir / f"maintain-{args.subjects}-{args.records}"
    print(f"code: {bench.code_version()}")
    print(f"memory limit: {args.memory_limit}, DuckDB threads: 2, cores: {os.cpu_count()}")
    timings = bench.time_statements(log=False)  # every statement of this process from now
    rounds = []
    for n in range(1, args.rounds + 1):
        print(f"round {n} of {args.rounds} (load average {os.getloadavg()[0]:.2f})", flush=True)
        rounds.append(round_once(data_dir, scratch, args.memory_limit, timings))
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)

    print()
    print(f"subjects: {args.subjects:,}, records: {args.records:,}")
    for n, r in enumerate(rounds, 1):
        show_round(n, r)
    if len(rounds) > 1:
        med = {k: statistics.median(r[k] for r in rounds) for k in ("evaluate", "first", "second")}
        ratios = {
            k: statistics.median(r[k] / r["evaluate"] for r in rounds) for k in ("first", "second")
        }
        print(f"\nmedians of {len(rounds)} rounds:")
        print(f"  evaluate (baseline)      {med['evaluate']:8.2f} s")
        for k in ("first", "second"):
            print(
                f"  {k} maintain          {med[k]:8.2f} s   ratio {ratios[k]:.3f}"
                f"  (goal <= {GOAL}: {'met' if ratios[k] <= GOAL else 'NOT met'})"
            )
    print(f"peak memory: {bench.peak_mib():,.0f} MiB; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
