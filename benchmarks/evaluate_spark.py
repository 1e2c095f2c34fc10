"""Batch evaluation on Spark (local mode) against the embedded engine, with a parity check.

Uses the synthetic ledger of evaluate_embedded.py (built there, or here on first use, and
reused from --workdir afterwards). On that ledger, in this process:

1. ``evaluate(ctx)`` on the embedded engine, as the current run; then a snapshot of every
   output table of the run: its row count and an order-independent checksum,
   ``sum(hash(<all output columns>))``;
2. a Spark session is started (local mode, ``XINYONG_SPARK_MASTER``, default local[2]; bound
   to 127.0.0.1, no web UI), timed apart;
3. ``evaluate(ctx, engine="spark")``, which exports the current records to Parquet, runs the
   transpiled plan on Spark and loads its outputs into the store as the new current run
   (replacing the first); the same snapshot.

Prints both wall times, their ratio, and "parity: identical" or the tables that differ.
Both runs evaluate as of today (the store's time zone); the script says so if the date
changed between them.

    nice -n 19 python benchmarks/evaluate_spark.py          # 1M subjects, 10M records
    python benchmarks/evaluate_spark.py --subjects 100000 --records 1000000
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import evaluate_embedded as bench


def snapshot(ctx: Any, run_id: int) -> dict[str, tuple[int, str]]:
    """Per output table of a run: (rows, order-independent checksum of all output columns)."""
    from xinyong.policy.compiler import OUTPUTS
    from xinyong.state.runs import TABLES

    out: dict[str, tuple[int, str]] = {}
    with ctx.store.transaction() as conn:
        for name, (table, _owner) in TABLES.items():
            cols = ", ".join(OUTPUTS[name])
            rows, checksum = conn.one(
                f"SELECT count(*), COALESCE(sum(hash({cols})), 0) FROM {table} WHERE run_id = ?",
                [run_id],
            ) or (0, 0)
            out[table] = (int(rows), str(checksum))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=1_000_000, help="a multiple of 1000")
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument(
        "--memory-limit", default="8GB", help="DuckDB memory limit (the store's default is 1GB)"
    )
    parser.add_argument("--workdir", type=Path, default=bench.OUT)
    args = parser.parse_args()

    from xinyong.engines.spark import spark_session
    from xinyong.evaluation.batch import evaluate

    args.workdir.mkdir(parents=True, exist_ok=True)
    data_dir = bench.ensure_ledger(args.workdir, args.subjects, args.records, args.memory_limit)
    print(f"code: {bench.code_version()}")
    ctx = bench.open_context(data_dir, args.memory_limit)
    with ctx.store.transaction() as conn:
        conn.scalar("SELECT count(*) FROM eval_runs")  # open and migrate outside the timing
    _ = ctx.policy, ctx.catalog

    print("embedded evaluate(ctx)...")
    t = time.perf_counter()
    duck = evaluate(ctx)
    duck_s = time.perf_counter() - t
    expected = snapshot(ctx, duck.run_id)
    print(f"  {duck_s:.1f} s")

    print(f"starting Spark ({ctx.settings.spark_master})...")
    t = time.perf_counter()
    spark_session(ctx.settings.spark_master)
    start_s = time.perf_counter() - t
    print(f"  {start_s:.1f} s")
    print("Spark evaluate(ctx, engine='spark')...")
    t = time.perf_counter()
    spark = evaluate(ctx, engine="spark")
    spark_s = time.perf_counter() - t
    got = snapshot(ctx, spark.run_id)
    print(f"  {spark_s:.1f} s")

    print()
    print(f"subjects: {args.subjects:,}, records: {args.records:,}")
    print(f"embedded evaluate:          {duck_s:8.1f} s  (run {duck.run_id}, as of {duck.as_of})")
    print(f"Spark session start:        {start_s:8.1f} s")
    print(
        f"Spark evaluate:             {spark_s:8.1f} s  (run {spark.run_id}, as of {spark.as_of})"
    )
    print(f"ratio Spark / embedded:     {spark_s / duck_s:8.1f}")
    if duck.as_of != spark.as_of:
        print("the date changed between the runs: outputs may differ for that reason")
    print(f"{'table':18} {'embedded rows':>14} {'Spark rows':>14}  checksums")
    for table, (rows, checksum) in expected.items():
        other_rows, other_checksum = got[table]
        same = "equal" if (rows, checksum) == (other_rows, other_checksum) else "DIFFER"
        print(f"{table:18} {rows:14,} {other_rows:14,}  {same}")
    differ = [t for t in expected if expected[t] != got[t]]
    print("parity: identical" if not differ else f"parity: differ in {', '.join(differ)}")


if __name__ == "__main__":
    main()
