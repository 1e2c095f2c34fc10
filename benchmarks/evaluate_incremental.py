"""Incremental evaluation of one subject on the embedded engine, against a point query.

Uses the synthetic ledger of evaluate_embedded.py (built there, or here on first use, and
reused from --workdir afterwards). A current run must exist, made by this policy: the
script runs one batch ``evaluate(ctx)`` unless the ledger already has one (--batch forces
it). Then, for K randomly chosen subjects (seeded; persons, organisations and agencies in
their proportions in the ledger), each in its own ``with ctx.store.transaction() as conn:``:

- **baseline**: ``SELECT event_id, category, occurred_on, details FROM records WHERE
  subject_key = ?`` on that connection (no index: the ledger table has none);
- **incremental**: ``evaluate_subjects(ctx, conn, [key])``, which recomputes the subject's
  lists, scores and measures (and those of organisations it is linked to) and rewrites
  them in the current run.

Only the call itself is timed (not opening the store or committing, which are printed
apart). The same is then done for organisations with linked persons (their legal
representatives and controllers are recomputed with them). Prints p50, p95, p99 and max in
ms of each, and the ratios incremental / baseline (goal: p99 at most 10 ms).

    nice -n 19 python benchmarks/evaluate_incremental.py       # 1M subjects, 10M records, K=500
    python benchmarks/evaluate_incremental.py --subjects 100000 --records 1000000 --samples 100
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path
from typing import Any

import evaluate_embedded as bench


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else []

    def pct(p: int) -> float:
        return cuts[p - 1] if cuts else ordered[0]

    return {"p50": pct(50), "p95": pct(95), "p99": pct(99), "max": ordered[-1]}


def show(name: str, ms: list[float]) -> dict[str, float]:
    p = percentiles(ms)
    print(
        f"  {name:34} p50 {p['p50']:8.1f}  p95 {p['p95']:8.1f}  p99 {p['p99']:8.1f}"
        f"  max {p['max']:8.1f} ms  (n={len(ms)})"
    )
    return p


def measure(ctx: Any, keys: list[str], warmup: int) -> dict[str, list[float]]:
    """Time the point query and evaluate_subjects for each key, one transaction each."""
    from xinyong.evaluation.incremental import evaluate_subjects

    out: dict[str, list[float]] = {"baseline": [], "incremental": [], "open+commit": []}
    rewritten: list[int] = []
    for n, key in enumerate(keys):
        t_open = time.perf_counter()
        with ctx.store.transaction() as conn:
            inside = time.perf_counter()
            t = time.perf_counter()
            conn.execute(
                "SELECT event_id, category, occurred_on, details FROM records WHERE subject_key = ?",
                [key],
            )
            base = time.perf_counter() - t
            t = time.perf_counter()
            done = evaluate_subjects(ctx, conn, [key])
            inc = time.perf_counter() - t
            if done is None:
                raise SystemExit("no current run by this policy: run with --batch")
            body = time.perf_counter() - inside
        total = time.perf_counter() - t_open
        if (n + 1) % 100 == 0:
            print(f"  {n + 1} of {len(keys)} calls, last {inc * 1000:.0f} ms", flush=True)
        if n >= warmup:
            out["baseline"].append(base * 1000)
            out["incremental"].append(inc * 1000)
            out["open+commit"].append((total - body) * 1000)
            rewritten.append(done)
    out["rewritten"] = [float(x) for x in rewritten]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=1_000_000, help="a multiple of 1000")
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--samples", type=int, default=500, help="subjects to time (K)")
    parser.add_argument("--org-samples", type=int, default=100, help="organisations to time")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--memory-limit", default="8GB", help="DuckDB memory limit (the store's default is 1GB)"
    )
    parser.add_argument("--workdir", type=Path, default=bench.OUT)
    parser.add_argument("--batch", action="store_true", help="run the batch even if a run exists")
    args = parser.parse_args()

    from xinyong.evaluation.batch import evaluate
    from xinyong.state.runs import current_run

    args.workdir.mkdir(parents=True, exist_ok=True)
    data_dir = bench.ensure_ledger(args.workdir, args.subjects, args.records, args.memory_limit)
    print(f"code: {bench.code_version()}")
    ctx = bench.open_context(data_dir, args.memory_limit)
    with ctx.store.transaction() as conn:
        run = current_run(conn)
    if args.batch or run is None or run["policy_digest"] != ctx.policy.digest:
        print("batch evaluation (once, to make the current run)...")
        t = time.perf_counter()
        summary = evaluate(ctx)
        print(f"  run {summary.run_id} in {time.perf_counter() - t:.1f} s")
    else:
        print(f"reusing the current run {run['run_id']} (made on {run['started_at']:%Y-%m-%d})")

    rng = random.Random(args.seed)
    numbers = rng.sample(range(args.subjects), args.samples + args.warmup)
    keys = [bench.subject_key(n) for n in numbers]
    kinds = [bench.subject_kind(n) for n in numbers[args.warmup :]]
    with ctx.store.transaction() as conn:
        orgs = [
            k
            for (k,) in conn.execute(
                "SELECT org_key FROM subject_links WHERE run_id = (SELECT run_id FROM eval_runs"
                " WHERE is_current) GROUP BY org_key ORDER BY hash(org_key, ?) LIMIT ?",
                [args.seed, args.org_samples + args.warmup],
            )
        ]
    print(
        f"timing {args.samples} subjects ({kinds.count('person')} persons,"
        f" {kinds.count('organisation')} organisations, {kinds.count('agency')} agencies)"
        f" and {len(orgs) - args.warmup} organisations with links"
    )
    timings = bench.time_statements(log=False)
    subjects = measure(ctx, keys, args.warmup)
    per_subject = list(timings)
    linked = measure(ctx, orgs, args.warmup) if len(orgs) > args.warmup else None

    print()
    print(f"subjects: {args.subjects:,}, records: {args.records:,}")
    print("random subjects:")
    base = show("baseline point query", subjects["baseline"])
    inc = show("evaluate_subjects", subjects["incremental"])
    show("(store open + commit, not counted)", subjects["open+commit"])
    print(f"  subjects rewritten per call: mean {statistics.mean(subjects['rewritten']):.2f}")
    print(
        f"  ratio incremental / baseline: p50 {inc['p50'] / base['p50']:.1f},"
        f" p99 {inc['p99'] / base['p99']:.1f}"
    )
    if linked:
        print("organisations with linked persons:")
        lbase = show("baseline point query", linked["baseline"])
        linc = show("evaluate_subjects", linked["incremental"])
        print(f"  subjects rewritten per call: mean {statistics.mean(linked['rewritten']):.2f}")
        print(
            f"  ratio incremental / baseline: p50 {linc['p50'] / lbase['p50']:.1f},"
            f" p99 {linc['p99'] / lbase['p99']:.1f}"
        )
    calls = args.samples + args.warmup
    by_label: dict[str, float] = {}
    for seconds, sql in per_subject:
        name = bench.label(sql)
        by_label[name] = by_label.get(name, 0.0) + seconds * 1000 / calls
    per_call = len(per_subject) / calls
    print(f"where a random subject's transaction goes ({per_call:.0f} statements a call), mean ms:")
    for name, ms in sorted(by_label.items(), key=lambda x: -x[1])[:12]:
        print(f"  {ms:8.2f}  {name}")
    print(f"goal p99 <= 10 ms: {'met' if inc['p99'] <= 10 else 'NOT met'} ({inc['p99']:.1f} ms)")
    print(f"peak memory: {bench.peak_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
