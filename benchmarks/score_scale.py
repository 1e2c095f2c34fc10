"""Scoring a million consented subjects on the embedded engine, against the whole default policy.

Uses the synthetic ledger of evaluate_embedded.py (its builder, imported: subjects and records
written by SQL ``INSERT ... SELECT`` from DuckDB's ``range()``, 93% persons, about ten records
per subject, three quarters of them commercial: loans repaid and overdue, utility arrears,
contract breaches), sized so that it holds at least --persons persons, with one more record
per person: a current ``consent.granted`` record of the built-in source ``subjects`` (details
``{"purpose":"commercial_score","text_version":...,"channel":"portal"}``, the current consent
text's version, dated 2 to 700 days before the ledger was built). Every person consents;
minors (about 5%) are still left out of the score, which is for adults only.

The ledger is built once per size under --workdir (benchmarks/out/, gitignored) in its own
directory (the consent rows would change evaluate_embedded.py's figures) and reused by later
runs (--rebuild builds it again); the time the build took is printed either way.

Two policies run on it, both as of yesterday (a replay, so that neither run feeds partners the
difference against the other: alternating current runs of two policies would make every run
end or start every measure of the last one), each run in a fresh process:

- **scoring**: ``evaluate(ctx, policy=scoring, as_of=yesterday)``, where ``scoring`` is a copy
  of the default policy (written to a temporary directory and checked with
  ``xinyong policy check``) holding only its ``policy`` and ``actions`` files and the
  ``commercial_score`` score: no lists, no other score, no measure, so its plan computes only
  the facts, flags, score features and the score;
- **full**: ``evaluate(ctx, as_of=yesterday)`` with the default policy.

They alternate (scoring, full, scoring, full, ...; --runs of each, 3 by default). The script
prints every run's wall time (the whole ``evaluate`` call: compiling, every stage, storing the
run), the medians and the ratio of the medians: the issue's figure, with the goal that scoring
take at most 0.2 of the full evaluation. When the goal is missed (or with --profile), a last
process compiles the scoring plan with ``compile_policy`` and runs its stages one by one as
``SqlEngine.materialise`` does (``CREATE TEMP TABLE <stage> AS ...`` over the views
``in_records`` and ``in_subjects``), and prints them slowest first: where the scoring time
goes. It then runs the scoring ``evaluate`` once more with every statement of the store timed
(by wrapping its ``execute``, as evaluate_embedded.py does) and prints what lies outside the
stages: storing the outputs as a run, and the time outside any statement (COMMIT).

DuckDB's memory limit is --memory-limit (8GB by default, as evaluate_embedded.py; the store's
own default is 1GB), passed through ``load_settings(memory_limit=...)``.

    nice -n 19 python benchmarks/score_scale.py                  # 1,000,000 persons (the goal)
    python benchmarks/score_scale.py --persons 100000 --runs 2   # a quick look
    python benchmarks/score_scale.py --rebuild --profile
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import evaluate_embedded as bench
import yaml

GOAL = 0.2
SCORE = "commercial_score"
CONSENT_SOURCE = "subjects"  # xinyong.ledger.consents.SOURCE_ID


# -- the ledger: evaluate_embedded.py's, plus one consent per person ---------------------------


def ledger_size(persons: int, per_subject: int) -> tuple[int, int]:
    """Subjects (a multiple of 1000 holding at least ``persons`` persons) and records."""
    blocks = -(-persons // bench.PERSONS_PER_1000)
    subjects = blocks * 1000
    return subjects, subjects * per_subject


def _consents_sql(first_event: int, subjects: int, built_on: dt.date, text_version: str) -> str:
    """One current consent to the commercial score per person, in the shape ``xinyong
    consent grant`` stores it (canonical details, a ``consent-<purpose>-<hex>`` record id)."""
    details = json.dumps(
        {"purpose": SCORE, "text_version": text_version, "channel": "portal"},
        separators=(",", ":"),
    )
    return f"""
INSERT INTO records ({bench.RECORD_COLUMNS})
SELECT eid, 'bench-{CONSENT_SOURCE}', '{CONSENT_SOURCE}',
       'consent-{SCORE}-' || printf('%016x', hash(n, 'consent')), {bench.key_sql("n")},
       'consent.granted', DATE '{built_on.isoformat()}' - CAST(2 + hash(n, 'given') % 699 AS INTEGER),
       NULL, NULL, NULL, {bench._q(details)}, NULL, 'add', 'bench', CAST(now() AS TIMESTAMP), eid
FROM (
  SELECT n, {first_event - 1} + row_number() OVER (ORDER BY n) AS eid
  FROM range({subjects}) t(n) WHERE n % 1000 < {bench.PERSONS_PER_1000}
) p"""


def add_consents(data_dir: Path, subjects: int, memory_limit: str, built_on: str) -> int:
    from xinyong.score.consent import consent_text, ensure_source

    ctx = bench.open_context(data_dir, memory_limit)
    with ctx.store.transaction() as conn:
        ensure_source(ctx.catalog, conn)
        first = int(conn.scalar("SELECT max(event_id) FROM records")) + 1
        version = consent_text(SCORE).version
        conn.execute(_consents_sql(first, subjects, dt.date.fromisoformat(built_on), version))
        return int(conn.scalar("SELECT max(event_id) FROM records")) - first + 1


def ledger_stats(data_dir: Path, memory_limit: str) -> dict[str, int]:
    ctx = bench.open_context(data_dir, memory_limit)
    with ctx.store.transaction() as conn:
        conn.execute("CHECKPOINT")
        return {
            "subjects": int(conn.scalar("SELECT count(*) FROM subjects")),
            "persons": int(conn.scalar("SELECT count(*) FROM subjects WHERE kind = 'person'")),
            "records": int(conn.scalar("SELECT count(*) FROM records")),
            "consenting": int(
                conn.scalar(
                    "SELECT count(DISTINCT subject_key) FROM current_records"
                    " WHERE category = 'consent.granted'"
                    f" AND json_extract_string(details, '$.purpose') = {bench._q(SCORE)}"
                )
            ),
        }


def ensure_ledger(
    workdir: Path, persons: int, per_subject: int, memory_limit: str, *, rebuild: bool
) -> tuple[Path, dict[str, Any]]:
    """The ledger directory for this size, built now unless a complete one is there."""
    subjects, records = ledger_size(persons, per_subject)
    data_dir = workdir / f"score-scale-{subjects}-{records}"
    marker = data_dir / "generated.json"
    if rebuild or not marker.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        print(
            f"building {subjects:,} subjects, {records:,} records and one consent per person"
            f" in {data_dir}",
            flush=True,
        )
        t = time.perf_counter()
        built = bench.build_ledger(
            data_dir, subjects, records, memory_limit, lambda m: print(m, flush=True)
        )
        t_consents = time.perf_counter()
        consents = add_consents(data_dir, subjects, memory_limit, built["generated_on"])
        consent_seconds = time.perf_counter() - t_consents
        print(f"  consents: {consents:,} in {consent_seconds:.1f} s", flush=True)
        stats: dict[str, Any] = ledger_stats(data_dir, memory_limit)
        stats.update(
            seconds=time.perf_counter() - t,
            ledger_seconds=built["seconds"],
            consent_seconds=consent_seconds,
            generated_on=built["generated_on"],
            categories=built["categories"],
        )
        marker.write_text(json.dumps(stats, indent=1))
        print(f"built in {stats['seconds']:.1f} s", flush=True)
    else:
        stats = json.loads(marker.read_text())
        print(f"reusing {data_dir} (built on {stats['generated_on']} in {stats['seconds']:.1f} s)")
    return data_dir, stats


def forget_runs(data_dir: Path, memory_limit: str) -> int:
    """Drop the runs earlier invocations left (replays of other policy versions stay
    otherwise), so that every invocation starts from the ledger alone."""
    from xinyong.state.runs import TABLES

    ctx = bench.open_context(data_dir, memory_limit)
    with ctx.store.transaction() as conn:
        runs = int(conn.scalar("SELECT count(*) FROM eval_runs"))
        for table, _owner in TABLES.values():
            conn.execute(f"DELETE FROM {table}")
        conn.execute("DELETE FROM eval_runs")
    with ctx.store.transaction() as conn:
        conn.execute("CHECKPOINT")
    return runs


# -- the scoring policy ------------------------------------------------------------------------


def write_scoring_policy(directory: Path) -> Path:
    """A copy of the default policy with only the commercial score: its ``policy`` and
    ``actions`` files as they are, and scores.yaml with that one score."""
    from xinyong.policy.loader import default_policy_path

    source = default_policy_path()
    directory.mkdir(parents=True, exist_ok=True)
    scores: dict[str, Any] | None = None
    for path in sorted(source.iterdir()):
        if path.suffix not in (".yaml", ".yml"):
            continue
        tree = yaml.safe_load(path.read_text("utf-8")) or {}
        if "scores" in tree and SCORE in tree["scores"]:
            scores = {"scores": {SCORE: tree["scores"][SCORE]}}
            kept = {k: v for k, v in tree.items() if k in ("policy", "actions")}
            if kept:
                (directory / f"kept-{path.name}").write_text(
                    yaml.safe_dump(kept, allow_unicode=True, sort_keys=False), "utf-8"
                )
        elif set(tree) <= {"policy", "actions"}:
            shutil.copy(path, directory / path.name)
        else:  # lists or measures, perhaps beside a policy or actions section
            kept = {k: v for k, v in tree.items() if k in ("policy", "actions")}
            if kept:
                (directory / path.name).write_text(
                    yaml.safe_dump(kept, allow_unicode=True, sort_keys=False), "utf-8"
                )
    if scores is None:
        raise SystemExit(f"the default policy ({source}) has no score {SCORE!r}")
    (directory / "scores.yaml").write_text(
        yaml.safe_dump(scores, allow_unicode=True, sort_keys=False), "utf-8"
    )
    return directory


def write_without_policy(directory: Path) -> Path:
    """The default policy without the commercial score and the measures it triggers: the
    full run minus this one is what scoring adds to a batch evaluation."""
    from xinyong.policy.loader import default_policy_path

    shutil.copytree(default_policy_path(), directory)
    for path in sorted(directory.iterdir()):
        if path.suffix not in (".yaml", ".yml"):
            continue
        tree = yaml.safe_load(path.read_text("utf-8")) or {}
        changed = False
        if SCORE in (tree.get("scores") or {}):
            del tree["scores"][SCORE]
            changed = True
        for measure_id, measure in list((tree.get("measures") or {}).items()):
            if (measure.get("trigger") or {}).get("score") == SCORE:
                del tree["measures"][measure_id]
                changed = True
        if changed:
            path.write_text(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False), "utf-8")
    return directory


def xinyong_cli() -> str:
    found = shutil.which("xinyong") or str(Path(sys.executable).with_name("xinyong"))
    return found


def check_policy(directory: Path, scratch: Path) -> str:
    """``xinyong policy check DIR``; its verdict, or the end of the run when it finds problems."""
    env = dict(os.environ, XINYONG_DATA_DIR=str(scratch))
    for name in ("XINYONG_DATABASE_URL", "XINYONG_POLICY"):
        env.pop(name, None)
    done = subprocess.run(
        [xinyong_cli(), "policy", "check", str(directory)],
        env=env,
        capture_output=True,
        text=True,
    )
    text = " ".join((done.stdout + done.stderr).split())
    if done.returncode != 0:
        raise SystemExit(f"the scoring policy does not pass `xinyong policy check`: {text}")
    return text


# -- measured runs, each in a fresh process ------------------------------------------------


def _evaluate(ctx: Any, options: dict[str, Any], policy: Any) -> dict[str, Any]:
    from xinyong.evaluation.batch import evaluate

    day = dt.date.fromisoformat(options["as_of"])
    t = time.perf_counter()
    try:
        summary = evaluate(ctx, policy=policy, as_of=day)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - t}
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "peak_mib": bench.peak_mib(), "summary": summary.as_dict()}


def child_score(ctx: Any, options: dict[str, Any]) -> dict[str, Any]:
    from xinyong.policy.loader import load_policy

    _ = ctx.catalog
    return _evaluate(ctx, options, load_policy(Path(options["policy_dir"])))


def child_without(ctx: Any, options: dict[str, Any]) -> dict[str, Any]:
    from xinyong.policy.loader import load_policy

    _ = ctx.catalog
    return _evaluate(ctx, options, load_policy(Path(options["without_dir"])))


def child_full(ctx: Any, options: dict[str, Any]) -> dict[str, Any]:
    _ = ctx.catalog
    return _evaluate(ctx, options, ctx.policy)


def child_profile(ctx: Any, options: dict[str, Any]) -> dict[str, Any]:
    """The scoring plan's stages, one by one, as ``SqlEngine.materialise`` runs them."""
    from xinyong.engines.embedded import EmbeddedEngine
    from xinyong.policy.compiler import compile_policy
    from xinyong.policy.loader import load_policy

    policy = load_policy(Path(options["policy_dir"]))
    day = dt.date.fromisoformat(options["as_of"])
    t = time.perf_counter()
    plan = compile_policy(policy, ctx.catalog, day)
    compile_seconds = time.perf_counter() - t
    engine = EmbeddedEngine()
    stages = []
    with ctx.store.transaction() as conn:
        t = time.perf_counter()
        engine.inputs(conn, scoped=False)
        inputs_seconds = time.perf_counter() - t
        for stage in plan.stages:
            t = time.perf_counter()
            conn.execute(f"CREATE TEMP TABLE {stage.name} AS {engine.translate(stage.sql)}")
            seconds = time.perf_counter() - t
            rows = int(conn.scalar(f"SELECT count(*) FROM {stage.name}"))
            stages.append({"stage": stage.name, "seconds": seconds, "rows": rows})
            print(f"    stage {stage.name}: {seconds:.2f} s", file=sys.stderr, flush=True)
        for stage in reversed(plan.stages):
            conn.execute(f"DROP TABLE IF EXISTS {stage.name}")
        conn.execute("DROP VIEW IF EXISTS in_records")
        conn.execute("DROP VIEW IF EXISTS in_subjects")
    # Then the whole call once more, every statement timed: what lies outside the stages.
    from xinyong.evaluation.batch import evaluate

    timings = bench.time_statements(None, log=False)
    t = time.perf_counter()
    evaluate(ctx, policy=policy, as_of=day)
    evaluate_seconds = time.perf_counter() - t
    others: dict[str, list[float]] = {}
    for seconds, sql in timings:
        what = bench.label(sql)
        if not what.startswith("stage "):
            others.setdefault(what, []).append(seconds)
    return {
        "compile_seconds": compile_seconds,
        "inputs_seconds": inputs_seconds,
        "stages": stages,
        "evaluate_seconds": evaluate_seconds,
        "stage_statements_seconds": sum(
            s for s, q in timings if bench.label(q).startswith("stage ")
        ),
        "others": sorted(([sum(v), len(v), k] for k, v in others.items()), reverse=True),
        "peak_mib": bench.peak_mib(),
    }


CHILDREN: dict[str, bench.Child] = {
    "score": child_score,
    "full": child_full,
    "without": child_without,
    "profile": child_profile,
}


def scored(summary: dict[str, Any]) -> int:
    return sum(summary["grades"].get(SCORE, {}).values())


def main() -> None:
    if bench.child_main(sys.argv[1:], CHILDREN):
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--persons", type=int, default=1_000_000, help="at least this many persons consent"
    )
    parser.add_argument("--runs", type=int, default=3, help="measured runs of each policy")
    parser.add_argument(
        "--records-per-subject",
        type=int,
        default=10,
        help="records per subject besides the consents (evaluate_embedded.py's ratio)",
    )
    parser.add_argument(
        "--memory-limit", default="8GB", help="DuckDB memory limit (the store's default is 1GB)"
    )
    parser.add_argument("--workdir", type=Path, default=bench.OUT)
    parser.add_argument("--rebuild", action="store_true", help="build the ledger again")
    parser.add_argument(
        "--profile", action="store_true", help="profile the scoring stages even if the goal is met"
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds allowed per measured run (30 min)"
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    from xinyong.clock import today

    args.workdir.mkdir(parents=True, exist_ok=True)
    data_dir, stats = ensure_ledger(
        args.workdir,
        args.persons,
        args.records_per_subject,
        args.memory_limit,
        rebuild=args.rebuild,
    )
    if forgotten := forget_runs(data_dir, args.memory_limit):
        print(f"dropped {forgotten} evaluation runs that earlier invocations left")
    size = sum(p.stat().st_size for p in data_dir.glob("ledger.duckdb*"))
    timezone = bench.open_context(data_dir, args.memory_limit).settings.timezone
    as_of = today(timezone) - dt.timedelta(days=1)
    print(
        f"ledger: {stats['subjects']:,} subjects ({stats['persons']:,} persons),"
        f" {stats['records']:,} records, {stats['consenting']:,} consenting subjects,"
        f" {size / 2**20:,.0f} MiB"
    )
    print(
        f"build: {stats['seconds']:.1f} s (ledger {stats['ledger_seconds']:.1f} s,"
        f" consents {stats['consent_seconds']:.1f} s) on {stats['generated_on']}"
    )
    print(f"memory limit: {args.memory_limit}, DuckDB threads: 2, cores: {os.cpu_count()}")
    print(f"both policies evaluated as of {as_of} (yesterday: a replay run, no change feed)")

    me = Path(__file__).resolve()
    with tempfile.TemporaryDirectory(prefix="score-scale-") as tmp:
        policy_dir = write_scoring_policy(Path(tmp) / "scoring-policy")
        print(f"scoring policy: {check_policy(policy_dir, Path(tmp) / 'scratch')}")
        without_dir = write_without_policy(Path(tmp) / "without-policy")
        print(f"policy without the score: {check_policy(without_dir, Path(tmp) / 'scratch2')}")
        options = {
            "without_dir": without_dir,
            "data_dir": data_dir,
            "memory_limit": args.memory_limit,
            "policy_dir": policy_dir,
            "as_of": as_of.isoformat(),
        }
        times: dict[str, list[float]] = {"score": [], "full": [], "without": []}
        last: dict[str, dict[str, Any]] = {}
        for n in range(args.runs):
            for mode in ("score", "full", "without"):
                done = bench.run_child(me, mode, options, args.timeout)
                if "error" in done:
                    raise SystemExit(f"{mode} run {n + 1} FAILED: {done['error']}")
                times[mode].append(done["seconds"])
                last[mode] = done
                s = done["summary"]
                print(
                    f"  run {n + 1} {'scoring' if mode == 'score' else mode:7}"
                    f" {done['seconds']:8.2f} s  peak {done['peak_mib']:,.0f} MiB,"
                    f" {scored(s):,} scored, lists {sum(s['lists'].values()):,},"
                    f" measures {sum(s['measures'].values()):,}",
                    flush=True,
                )

        score_median = statistics.median(times["score"])
        full_median = statistics.median(times["full"])
        ratio = score_median / full_median
        met = ratio <= GOAL
        print()
        print(
            f"ledger:             {stats['subjects']:,} subjects, {stats['records']:,} records,"
            f" {stats['consenting']:,} consenting subjects"
        )
        print(
            f"scored subjects:    {scored(last['score']['summary']):,} (adult consenting persons;"
            f" the full run scores {scored(last['full']['summary']):,})"
        )
        print(f"grades:             {last['score']['summary']['grades'].get(SCORE, {})}")
        print(f"scoring runs:       {', '.join(f'{x:.2f}' for x in times['score'])} s")
        print(f"full runs:          {', '.join(f'{x:.2f}' for x in times['full'])} s")
        print(f"median scoring:     {score_median:.2f} s")
        print(f"median full:        {full_median:.2f} s")
        print(f"ratio of medians:   {ratio:.3f}")
        print(f"goal (at most {GOAL}): {'met' if met else 'MISSED'}")
        without_median = statistics.median(times["without"])
        print(f"without runs:       {', '.join(f'{x:.2f}' for x in times['without'])} s")
        print(
            f"what the score adds to a batch run: {full_median - without_median:.2f} s of"
            f" {full_median:.2f} s, {(full_median - without_median) / full_median:.3f} of it"
            f" (the default policy with and without the commercial score)"
        )

        if not met or args.profile:
            print()
            print("profile of the scoring plan (stages run one by one, as materialise does):")
            prof = bench.run_child(me, "profile", options, args.timeout)
            if "error" in prof:
                raise SystemExit(f"profile FAILED: {prof['error']}")
            total = sum(s["seconds"] for s in prof["stages"])
            print(
                f"  compile {prof['compile_seconds']:.3f} s, inputs {prof['inputs_seconds']:.3f} s"
            )
            for s in sorted(prof["stages"], key=lambda s: -s["seconds"]):
                share = s["seconds"] / total if total else 0.0
                print(f"  {s['seconds']:8.2f} s  {share:4.0%}  {s['stage']} ({s['rows']:,} rows)")
            print(f"  stages: {total:.2f} s (the median scoring run: {score_median:.2f} s)")
            rest = sum(x[0] for x in prof["others"])
            print(
                f"the same evaluate() call once more, {prof['evaluate_seconds']:.2f} s, every"
                f" statement timed: stages {prof['stage_statements_seconds']:.2f} s, the rest"
                f" {rest:.2f} s; its slowest statements outside the stages:"
            )
            for seconds, count, what in prof["others"][:8]:
                print(
                    f"  {seconds:8.2f} s  {what}" + (f" ({count} statements)" if count > 1 else "")
                )
            left = prof["evaluate_seconds"] - prof["stage_statements_seconds"] - rest
            print(
                f"  {left:8.2f} s  outside any statement: opening the store, COMMIT (writing the"
                " run to the file), Python"
            )


if __name__ == "__main__":
    main()
