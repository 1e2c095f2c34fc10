"""Validated ingestion from Parquet into the embedded store, against a plain load.

Prints records per second of `ingest_file` (validation, spool, merge, audit) and of a
plain `CREATE TABLE AS SELECT * FROM read_parquet(...)` of the same file into the same
engine, their ratio, and each run's peak memory. Both runs happen in this invocation, in
fresh processes, one after the other, so the machine's noise hits both alike.

    python benchmarks/ingest_parquet.py                  # 10 million records (the issue's figure)
    python benchmarks/ingest_parquet.py --records 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

CATEGORIES = [
    # (category, weight, details JSON, amount)
    ("commercial.loan.repaid", 40, '{"loan_type":"consumer"}', "1200.00"),
    ("commercial.loan.overdue", 15, '{"days_overdue":45}', "300.50"),
    (
        "commercial.contract.breach",
        10,
        '{"matter":"vehicle not returned","found_by":"counterparty"}',
        None,
    ),
    ("commercial.utility.arrears", 20, '{"service":"electricity","months_in_arrears":2}', "88.20"),
    ("social.honor", 15, '{"kind":"volunteer_service","hours":120}', None),
]
SOURCE_KINDS = {
    "lender": ["commercial.loan.repaid", "commercial.loan.overdue", "commercial.contract.breach"]
}


def make_file(path: Path, records: int, subjects: int) -> None:
    """A Parquet file of valid records about a pool of valid persons (deterministic)."""
    import duckdb
    import pyarrow as pa
    from stdnum.cn import ric

    rng = random.Random(1)
    people = []
    for _ in range(subjects):
        born = f"{rng.randint(1950, 2000)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        body = f"110105{born}{rng.randint(0, 999):03d}"
        people.append(body + ric.calc_check_digit(body + "0"))
    con = duckdb.connect()
    con.register("people_arrow", pa.table({"i": range(subjects), "subject": people}))
    con.execute("CREATE TABLE people AS SELECT * FROM people_arrow")
    # Only lender categories: one source submits the whole file, as a real bulk load would.
    cats = [c for c in CATEGORIES if c[0] in SOURCE_KINDS["lender"]]
    cases = " ".join(
        f"WHEN i % {len(cats)} = {n} THEN {{'c': '{c}', 'd': '{d}', 'a': {repr(a) if a else 'NULL'}}}"
        for n, (c, _w, d, a) in enumerate(cats)
    )
    con.execute(f"""
        COPY (
          SELECT 'L' || lpad(CAST(r.i AS VARCHAR), 10, '0') AS source_record_id,
                 p.subject,
                 x.c AS category,
                 DATE '2021-01-01' + CAST(r.i % 1500 AS INTEGER) AS occurred_on,
                 x.a AS amount,
                 '(2025)贷字' || CAST(r.i % 100000 AS VARCHAR) || '号' AS document,
                 x.d AS details
          FROM (SELECT i, CASE {cases} END AS x FROM range({records}) t(i)) r
          JOIN people p ON p.i = (r.i * 7919) % {subjects}
          ORDER BY r.i
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 500000)
    """)


PLAIN = """
import duckdb, json, resource, sys, time
con = duckdb.connect(sys.argv[1], config={"threads": 2, "memory_limit": "1GB"})
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
con.execute(f"CREATE TABLE records AS SELECT * FROM read_parquet('{sys.argv[2]}')")
con.close()
print(json.dumps({"seconds": time.perf_counter() - t,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

VALIDATED = """
import json, resource, sys, time
from pathlib import Path
from xinyong.context import Context
from xinyong.ledger.ingest import ingest_file
from xinyong.ledger.sources import add_source
from xinyong.settings import load_settings
ctx = Context(load_settings(data_dir=Path(sys.argv[1]), secret="bench"))
with ctx.store.transaction() as conn:
    add_source(conn, ctx.catalog, name="Bench lender", kind="lender", source_id="lender")
_ = ctx.secret
t = time.perf_counter()
report = ingest_file(ctx, Path(sys.argv[2]), "lender")
print(json.dumps({"seconds": time.perf_counter() - t, "accepted": report.accepted,
                  "rejected": report.rejected, "read": report.read,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(script: str, *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", script, *args], check=True, capture_output=True, text=True
    )
    lines = out.stdout.strip().splitlines()
    result = next(line for line in reversed(lines) if line.startswith('{"seconds"'))
    for line in lines:
        if line != result:
            print(f"  (from the run: {line})")
    return json.loads(result)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--subjects", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    data = args.workdir / f"records-{args.records}.parquet"
    if not data.exists():
        t = time.perf_counter()
        make_file(data, args.records, min(args.subjects, args.records))
        print(
            f"generated {data} ({data.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - t:.1f} s"
        )

    plain_dir = args.workdir / "plain"
    shutil.rmtree(plain_dir, ignore_errors=True)
    plain_dir.mkdir()
    plain = run(PLAIN, str(plain_dir / "plain.duckdb"), str(data))
    store_dir = args.workdir / "store"
    shutil.rmtree(store_dir, ignore_errors=True)
    validated = run(VALIDATED, str(store_dir), str(data))
    assert validated["accepted"] == args.records, validated

    plain_rate = args.records / plain["seconds"]
    rate = args.records / validated["seconds"]
    print(f"records:                  {args.records:,}")
    for name, run_, r in (
        ("plain load", plain, plain_rate),
        ("validated ingestion", validated, rate),
    ):
        print(
            f"{name + ':':26}{run_['seconds']:.1f} s, {r:,.0f} records/s, peak {run_['peak_mib']:,.0f} MiB"
        )
    print(f"ratio validated / plain:  {rate / plain_rate:.2f}  (goal >= 0.25)")
    print(
        f"goal >= 200,000 records/s: {'met' if rate >= 200_000 else 'NOT met'}; "
        f"goal peak < 2 GiB: {'met' if validated['peak_mib'] < 2048 else 'NOT met'}"
    )
    shutil.rmtree(plain_dir, ignore_errors=True)
    shutil.rmtree(store_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
