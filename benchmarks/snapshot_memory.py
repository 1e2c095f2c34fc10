"""Memory and look-up speed of the decision service's Snapshot, against a plain dict.

Synthesises --measures active measures (default 1,000,000) for subjects drawn from a
population of --population subject keys (default 10,000,000; 32-hex keys, BLAKE2b of
the subject's number), shaped after the demo city's current run under the default policy:
organisations with an enterprise grade A deposit waiver, some with the tax-A fast track
(ref ``tax_a_level:<32 hex>``); persons on the city honour roll (ref
``city_honour_roll:<32 hex>``); judicial defaulters with their four measures (ref
``judicial_defaulters:<event>``), some also consumption-restricted (three more), some
restricted only; persons restricted through an organisation they represent or control
(``via`` its 18-character code); points-grade rewards; procurement exclusions. Each
measure has 1 to 3 record event ids and, for about a third, an end date. Strings are
fresh objects per row, as DuckDB returns them to ``load_rows``.

Each variant runs in its own process, so that resident memory is its own:

- **baseline**: the rows as ``load_rows`` returns them, a dict of lists of ``MeasureRow``
  by subject key (the naive serving structure);
- **snapshot**: ``Snapshot(...).fill(rows)`` fed from a generator (no dict ever held);
- **snapshot via a dict**: as ``Snapshot.load`` did before it streamed (it now streams
  rows from the store into ``fill``, which is the "snapshot" variant): the ``load_rows`` dict first,
  then ``fill(dict.items())``, then the dict dropped.

Each reports resident memory after building and ``gc.collect()`` minus resident memory
before (RSS from /proc/self/statm; and again after ``malloc_trim(0)`` hands freed heap back
to the system), the peak (VmHWM) above the start, ``Snapshot.nbytes()``, the build time,
and look-ups per second of ``rows(key)`` (``dict.get(key, [])`` for the baseline) for
keys that are present and keys that are not. Prints the ratios snapshot/baseline (goal:
the snapshot at most 1 GiB).

    python benchmarks/snapshot_memory.py                                  # 1M measures
    python benchmarks/snapshot_memory.py --measures 100000 --population 1000000
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MIB = 1 << 20
DAY0 = 20_000  # days after 1970-01-01 for end dates (2024-10-04 onwards)

# (weight, profile name): see _rows
PROFILES = [
    (45, "org_grade_a"),
    (12, "org_tax_a"),
    (13, "person_honour"),
    (5, "person_defaulter"),
    (4, "person_defaulter_restricted"),
    (3, "person_restricted"),
    (3, "person_via_org"),
    (1, "person_points_aa"),
    (1, "org_excluded"),
]
LIST_MEASURES = {
    "judicial_defaulters": [
        "high_consumption_travel",
        "high_consumption_lodging",
        "high_consumption_purchases",
        "procurement_exclusion",
    ],
    "consumption_restricted": [
        "high_consumption_travel",
        "high_consumption_lodging",
        "high_consumption_purchases",
    ],
}
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def fresh(s: str | None) -> str | None:
    """A new string object equal to ``s`` (as a database driver returns one per row)."""
    return None if s is None else s.encode().decode()


def subject_key(number: int) -> str:
    return hashlib.blake2b(number.to_bytes(8, "little"), digest_size=16).hexdigest()


class Population:
    """Subject j (0, 1, ...) is population member (A*j + B) mod N: distinct for j < N."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.a = 2_654_435_761 % size or 1
        while _gcd(self.a, size) != 1:
            self.a += 1
        self.b = 12_345 % size

    def key(self, j: int) -> str:
        return subject_key((self.a * j + self.b) % self.size)


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _rows(rng: random.Random, profile: str, MeasureRow: Any) -> list[Any]:
    def until() -> Any:
        import datetime as dt

        if rng.random() < 0.65:
            return None
        return dt.date(1970, 1, 1) + dt.timedelta(days=DAY0 + rng.randrange(2000))

    def events(k: int | None = None) -> tuple[int, ...]:
        return tuple(sorted(rng.randrange(1, 10**9) for _ in range(k or rng.randint(1, 3))))

    def hex32() -> str:
        return f"{rng.getrandbits(128):032x}"

    def org_code() -> str:
        return "91" + "".join(rng.choice(ALPHABET) for _ in range(16))

    def row(
        measure: str,
        kind: str,
        trigger: str,
        ref: str | None,
        role: str = "subject",
        via: str | None = None,
        end: Any = None,
        recs: tuple[int, ...] | None = None,
    ) -> Any:
        return MeasureRow(
            fresh(measure),
            fresh(kind),
            fresh(trigger),
            fresh(ref),
            fresh(via),
            fresh(role),
            end,
            recs if recs is not None else events(),
        )

    def listed(list_id: str, role: str = "subject", via: str | None = None) -> list[Any]:
        ref, end = f"{list_id}:{rng.randrange(1, 10**9)}", until()
        recs = events(rng.randint(1, 2))
        return [row(m, "list", list_id, ref, role, via, end, recs) for m in LIST_MEASURES[list_id]]

    if profile == "org_grade_a":
        return [row("enterprise_deposit_waiver", "score", "enterprise_grade", "A", end=until())]
    if profile == "org_tax_a":
        return [
            row(
                "tax_a_green_channel",
                "list",
                "tax_a_level",
                f"tax_a_level:{hex32()}",
                end=until(),
                recs=events(1),
            ),
            row("enterprise_deposit_waiver", "score", "enterprise_grade", "A", end=until()),
        ]
    if profile == "person_honour":
        return [
            row(
                "honour_roll_transit",
                "list",
                "city_honour_roll",
                f"city_honour_roll:{hex32()}",
                end=until(),
            )
        ]
    if profile == "person_defaulter":
        return listed("judicial_defaulters")
    if profile == "person_defaulter_restricted":
        return listed("consumption_restricted") + listed("judicial_defaulters")
    if profile == "person_restricted":
        return listed("consumption_restricted")
    if profile == "person_via_org":
        role = rng.choice(["legal_representative", "actual_controller"])
        found = listed(
            rng.choice(["judicial_defaulters", "consumption_restricted"]), role, org_code()
        )
        return [r for r in found if r.measure_id != "procurement_exclusion"]
    if profile == "person_points_aa":
        grade = rng.choice(["AA", "AAA"])
        return [
            row("deposit_waiver", "score", "city_points", grade, end=until()),
            row("loan_green_channel", "score", "city_points", grade, end=until()),
        ]
    list_id = rng.choice(["serious_illegal", "major_tax_violation"])
    return [
        row(
            "procurement_exclusion",
            "list",
            list_id,
            f"{list_id}:{rng.randrange(10**9)}",
            end=until(),
            recs=events(1),
        )
    ]


def generate(args: argparse.Namespace, counts: dict[str, int]) -> Iterator[tuple[str, list]]:
    """(subject key, rows) until --measures rows; subjects are population members 0..k-1."""
    from xinyong.decisions.snapshot import MeasureRow

    rng = random.Random(args.seed)
    population = Population(args.population)
    names = [name for _, name in PROFILES]
    weights = [w for w, _ in PROFILES]
    left, j = args.measures, 0
    while left > 0:
        rows = _rows(rng, rng.choices(names, weights)[0], MeasureRow)[:left]
        left -= len(rows)
        yield population.key(j), rows
        j += 1
    counts["subjects"] = j


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def trim() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def lookups(get: Any, keys: list[str]) -> float:
    t = time.perf_counter()
    for key in keys:
        get(key)
    return len(keys) / (time.perf_counter() - t)


def child(args: argparse.Namespace) -> dict[str, Any]:
    """Build one variant in this process and measure it."""
    import numpy  # noqa: F401 - imported before the start figure, as the service has it

    from xinyong.decisions.snapshot import Snapshot

    gc.collect()
    trim()
    start, start_peak = rss(), peak()
    counts: dict[str, int] = {}
    t = time.perf_counter()
    snap: Any = None
    table: Any = None
    if args.mode == "dict":
        table = dict(generate(args, counts))
    elif args.mode == "snapshot":
        snap = Snapshot(1, None, "bench")
        snap.fill(generate(args, counts))
    else:  # the earlier Snapshot.load: load_rows' dict, then fill from it
        loaded = dict(generate(args, counts))
        middle = rss()
        snap = Snapshot(1, None, "bench")
        snap.fill(loaded.items())
        del loaded
    build = time.perf_counter() - t
    gc.collect()
    after = rss()
    trim()
    trimmed = rss()
    out: dict[str, Any] = {
        "mode": args.mode,
        "subjects": counts["subjects"],
        "build_s": build,
        "rss_mib": (after - start) / MIB,
        "rss_trimmed_mib": (trimmed - start) / MIB,
        "peak_mib": (max(peak(), start_peak) - start) / MIB,
    }
    if args.mode == "load":
        out["dict_held_mib"] = (middle - start) / MIB
    if snap is not None:
        out["nbytes_mib"] = snap.nbytes() / MIB
        out["measures"] = snap.measures
        out["interned_refs"] = len(snap._strings["ref"].values)
    else:
        out["measures"] = sum(len(v) for v in table.values())

    population = Population(args.population)
    rng = random.Random(args.seed + 1)
    present = [population.key(rng.randrange(counts["subjects"])) for _ in range(args.lookups)]
    absent = [population.key(counts["subjects"] + i) for i in range(args.lookups)]
    if snap is not None:
        out["rows_per_lookup"] = sum(len(snap.rows(k)) for k in present[:1000]) / 1000
        get = snap.rows
    else:
        out["rows_per_lookup"] = sum(len(table.get(k, [])) for k in present[:1000]) / 1000

        def get(key: str) -> Any:
            return table.get(key, [])

    out["present_per_s"] = lookups(get, present)
    out["absent_per_s"] = lookups(get, absent)
    return out


def run_child(mode: str, args: argparse.Namespace) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--mode", mode]
    argv += ["--measures", str(args.measures), "--population", str(args.population)]
    argv += ["--seed", str(args.seed), "--lookups", str(args.lookups)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} process failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def show(name: str, r: dict[str, Any]) -> None:
    extra = ""
    if "nbytes_mib" in r:
        extra = f", nbytes {r['nbytes_mib']:.1f} MiB, {r['interned_refs']:,} interned refs"
    if "dict_held_mib" in r:
        extra += f", dict held first {r['dict_held_mib']:.0f} MiB"
    print(
        f"  {name:22} RSS +{r['rss_mib']:7.1f} MiB (after malloc_trim +{r['rss_trimmed_mib']:7.1f})"
        f"  peak +{r['peak_mib']:7.1f} MiB  build {r['build_s']:5.1f} s{extra}",
        flush=True,
    )
    print(
        f"  {'':22} look-ups: present {r['present_per_s']:,.0f}/s"
        f" ({r['rows_per_lookup']:.2f} rows each), absent {r['absent_per_s']:,.0f}/s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--measures", type=int, default=1_000_000)
    parser.add_argument("--population", type=int, default=10_000_000)
    parser.add_argument("--lookups", type=int, default=200_000, help="keys timed, each kind")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", choices=["dict", "snapshot", "load"], help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(child(args)))
        return

    import service_common

    print(f"xinyong at {service_common.revision()}")
    print(
        f"{args.measures:,} measures over subjects from a population of {args.population:,};"
        f" each variant in its own process"
    )
    one, five, _ = os.getloadavg()
    print(f"  before: load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores")
    base = run_child("dict", args)
    print(f"  {base['subjects']:,} subjects, {base['measures']:,} measures")
    show("baseline (dict)", base)
    snap = run_child("snapshot", args)
    show("snapshot", snap)
    loaded = run_child("load", args)
    show("snapshot via a dict", loaded)
    gib = snap["rss_mib"] / 1024
    print(
        f"  ratio snapshot/baseline: RSS {snap['rss_mib'] / base['rss_mib']:.3f}"
        f" (after trim {snap['rss_trimmed_mib'] / base['rss_trimmed_mib']:.3f}),"
        f" look-ups present {snap['present_per_s'] / base['present_per_s']:.3f},"
        f" absent {snap['absent_per_s'] / base['absent_per_s']:.3f}"
    )
    print(
        f"  goal <= 1 GiB: snapshot {gib:.3f} GiB resident "
        f"({'met' if gib <= 1 else 'NOT met'}); via a dict (the earlier load), peak "
        f"{loaded['peak_mib'] / 1024:.3f} GiB and {loaded['rss_mib'] / 1024:.3f} GiB after"
    )
    one, five, _ = os.getloadavg()
    print(f"  after: load average {one:.2f} (1 min), {five:.2f} (5 min)")
    if args.json:
        args.json.write_text(json.dumps({"dict": base, "snapshot": snap, "load": loaded}, indent=2))


if __name__ == "__main__":
    main()
