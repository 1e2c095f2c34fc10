"""How soon a removal reaches decisions and the change feed, over HTTP and from the CLI.

On the demo city of --persons persons (made once under benchmarks/out/, or --data-dir;
NOTE: each sample delists one person in that ledger for good), persons are picked,
before the server starts, read-only from the DuckDB file: listed as judicial defaulters
(active entry of the current run), restricted from air travel only as themselves (not
through an organisation), all their active defaulter and consumption-restriction
entries of one case document. Then ``xinyong serve --workers N`` runs on 127.0.0.1, and
for each of --samples persons, per variant:

1. a decision (partner "bench-air", flight.ticket.purchase) must deny; it gives the
   person's ``subject_ref``, and /v1/health the feed cursor C;
2. a thread long-polls ``GET /v1/changes?after=C&wait=5`` (partner credential) until an
   event ``cn.xinyong.measure.ended`` for that subject_ref arrives;
3. the removal, two records of the same document dated today (Asia/Shanghai):
   ``judicial.defaulter.delisted`` and ``judicial.consumption_restriction.lifted``, reason
   ``performed``, is sent
   - **http**: ``POST /v1/records`` by the court source "bench-court" (registered here);
     "acknowledged" is its 200 answer;
   - **cli**: written to a JSONL file and ingested by ``xinyong ingest FILE --source
     demo-court`` in another process; "acknowledged" is that process's exit;
4. decisions are asked back to back until one allows.

Prints p50/p95/p99/max of the time until (a) the first allow and (b) the ended event,
counted from the acknowledgement and from the send (goal: p99 at most 1 s), and how many
persons were skipped because no allow came within --timeout seconds (restricted some
other way). A negative time from the acknowledgement means the event came first: the
service applies a removal it receives over HTTP before it answers, and the CLI process
exits a little after its commit. There is no other baseline than the goal: removal latency has no natural
floor to compare with besides the round trip of one decision, which is printed.

    python benchmarks/removal_latency.py                           # 100,000 persons, 20 samples
    python benchmarks/removal_latency.py --persons 20000 --samples 10 --variants http
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import service_common as common

ENDED = "cn.xinyong.measure.ended"


def removal(identifier: str, document: str, tag: str) -> list[dict[str, Any]]:
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    return [
        {
            "source_record_id": f"{tag}-{category.rsplit('.', 1)[-1]}",
            "subject": identifier,
            "category": category,
            "occurred_on": today,
            "document": document,
            "details": {"reason": "performed"},
        }
        for category in ("judicial.defaulter.delisted", "judicial.consumption_restriction.lifted")
    ]


class Watch(threading.Thread):
    """Long-polls the change feed from ``cursor`` until an ended event for ``ref``."""

    def __init__(self, base: str, credential: str, cursor: int, ref: str, deadline: float):
        super().__init__(daemon=True)
        self.base, self.credential, self.cursor = base, credential, cursor
        self.ref, self.deadline = ref, deadline
        self.at: float | None = None
        self.error: str | None = None
        self.polls = 0

    def run(self) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.credential}"}
        with httpx.Client(timeout=15) as http:
            while self.at is None and time.perf_counter() < self.deadline:
                r = http.get(
                    f"{self.base}/v1/changes",
                    params={"after": self.cursor, "wait": 5, "limit": 1000},
                    headers=headers,
                )
                self.polls += 1
                if r.status_code != 200:
                    self.error = f"{r.status_code} {r.text[:300]}"
                    return
                page = r.json()
                for event in page["events"]:
                    if event["type"] == ENDED and event["data"]["subject_ref"] == self.ref:
                        self.at = time.perf_counter()
                        return
                self.cursor = page["cursor"]


def decide(http: Any, base: str, credential: str, identifier: str) -> dict[str, Any]:
    r = http.post(
        f"{base}/v1/decisions",
        json={"subject": identifier, "action": common.ACTION},
        headers={"Authorization": f"Bearer {credential}"},
    )
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


def sample(
    variant: str,
    n: int,
    person: tuple[str, list[str]],
    ctx: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any] | None:
    """One removal; its timings, or None when the person was not denied to start with."""
    http, base, partner = ctx["http"], ctx["base"], ctx["partner"]
    identifier, (document,) = person
    first = decide(http, base, partner, identifier)
    if first["decision"] != "deny":
        return None
    cursor = int(http.get(f"{base}/v1/health").json()["feed_cursor"])
    records = removal(identifier, document, f"bench-rm-{ctx['run']}-{variant}-{n}")
    watch = Watch(base, partner, cursor, first["subject_ref"], time.perf_counter() + 30)
    watch.start()
    time.sleep(0.05)  # let the long-poll reach the server first (it would not miss it anyway)

    sent = time.perf_counter()
    if variant == "http":
        r = http.post(
            f"{base}/v1/records",
            json={"records": records},
            headers={"Authorization": f"Bearer {ctx['source']}"},
        )
        acked = time.perf_counter()
        if r.status_code != 200:
            raise SystemExit(f"POST /v1/records: {r.status_code} {r.text}")
        result = r.json()
        if result["accepted"] != len(records):
            raise SystemExit(f"the removal was not accepted: {json.dumps(result)}")
    else:
        path = ctx["tmp"] / f"removal-{n}.jsonl"
        path.write_text("".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records))
        done = subprocess.run(
            ["xinyong", "ingest", str(path), "--source", args.cli_source, "--json"],
            env=common.env_for(args.data_dir),
            capture_output=True,
            text=True,
        )
        acked = time.perf_counter()
        if done.returncode != 0:
            raise SystemExit(f"xinyong ingest failed: {done.stderr[-2000:]}")
        reports = json.loads(done.stdout)
        report = reports[0] if isinstance(reports, list) else reports
        if report.get("accepted") != len(records):
            raise SystemExit(f"the removal was not accepted: {done.stdout[-2000:]}")

    allowed_at = None
    asks = 0
    while time.perf_counter() < acked + args.timeout:
        answer = decide(http, base, partner, identifier)
        asks += 1
        if answer["decision"] == "allow":
            allowed_at = time.perf_counter()
            break
    watch.deadline = min(watch.deadline, acked + args.timeout)
    watch.join(timeout=args.timeout + 16)
    if watch.error:
        raise SystemExit(f"GET /v1/changes: {watch.error}")
    return {
        "ack_after_send": acked - sent,
        "allow_after_ack": None if allowed_at is None else allowed_at - acked,
        "allow_after_send": None if allowed_at is None else allowed_at - sent,
        "feed_after_ack": None if watch.at is None else watch.at - acked,
        "feed_after_send": None if watch.at is None else watch.at - sent,
        "asks": asks,
        "polls": watch.polls,
    }


def report(variant: str, rows: list[dict[str, Any]], skipped: int) -> dict[str, Any]:
    print(
        f"\n  {variant}: {len(rows)} removals timed, {skipped} skipped (no allow within the timeout)"
    )
    out: dict[str, Any] = {"timed": len(rows), "skipped": skipped}
    labels = {
        "ack_after_send": "acknowledged, from send",
        "allow_after_ack": "(a) first allow, from ack",
        "allow_after_send": "(a) first allow, from send",
        "feed_after_ack": "(b) ended event, from ack",
        "feed_after_send": "(b) ended event, from send",
    }
    for key, label in labels.items():
        values = [r[key] * 1000 for r in rows if r[key] is not None]
        missing = sum(1 for r in rows if r[key] is None)
        if not values:
            print(f"    {label:28} none")
            continue
        p = common.percentiles(values)
        goal = ""
        if key != "ack_after_send":
            goal = "  goal p99 <= 1000 ms: " + ("met" if p["p99"] <= 1000 else "NOT met")
        print(
            f"    {label:28} p50 {p['p50']:7.1f}  p95 {p['p95']:7.1f}  p99 {p['p99']:7.1f}"
            f"  max {p['max']:7.1f} ms" + (f"  ({missing} never)" if missing else "") + goal
        )
        out[key] = p
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=100_000, help="size of the demo city")
    parser.add_argument("--data-dir", type=Path, help="default: benchmarks/out/serve-PERSONS")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--samples", type=int, default=20, help="removals per variant")
    parser.add_argument("--variants", nargs="+", default=["http", "cli"], choices=["http", "cli"])
    parser.add_argument("--timeout", type=float, default=5, help="seconds to wait for an allow")
    parser.add_argument("--cli-source", default="demo-court", help="source of the CLI variant")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import random

    import httpx

    args.data_dir = (args.data_dir or common.default_data_dir(args.persons)).resolve()
    common.ensure_demo(args.data_dir, args.persons)
    partner = common.partner_credential(args.data_dir)
    source_id, source = common.source_credential(args.data_dir)
    removable = common.ledger_subjects(args.data_dir)["removable"]
    need = args.samples * len(args.variants)
    random.Random(args.seed).shuffle(removable)
    print(f"xinyong at {common.revision()}")
    print(
        f"data {args.data_dir}: {len(removable):,} listed persons removable by one document; "
        f"{need} will be delisted (sources: http {source_id}, cli {args.cli_source}); "
        f"{args.workers} worker(s)\n  before: {common.load_note()}",
        flush=True,
    )
    if len(removable) < need:
        raise SystemExit("too few listed persons left: use a bigger or a fresh demo city")

    results: dict[str, Any] = {}
    port = common.free_port()
    log = common.OUT / "logs" / "serve-removal.log"
    with (
        common.serve_service(args.data_dir, port, args.workers, log) as svc,
        tempfile.TemporaryDirectory(prefix="removal-bench-") as tmp,
        httpx.Client(timeout=30) as http,
    ):
        common.wait_service(svc, port, args.workers)
        base = f"http://{common.HOST}:{port}"
        ctx = {
            "http": http,
            "base": base,
            "partner": partner,
            "source": source,
            "tmp": Path(tmp),
            "run": time.strftime("%Y%m%d%H%M%S"),
        }
        # The round trip of one decision, for scale.
        trips = []
        for _ in range(200):
            t = time.perf_counter()
            decide(http, base, partner, removable[0][0])
            trips.append((time.perf_counter() - t) * 1000)
        p = common.percentiles(trips)
        print(f"  one decision round trip: p50 {p['p50']:.2f} ms, p99 {p['p99']:.2f} ms")
        people = iter(removable)
        for variant in args.variants:
            rows, skipped, n = [], 0, 0
            while len(rows) + skipped < args.samples:
                person = next(people, None)
                if person is None:
                    raise SystemExit("ran out of listed persons")
                n += 1
                row = sample(variant, n, person, ctx, args)
                if row is None:
                    continue  # not denied to start with (already removed by an earlier run)
                if row["allow_after_ack"] is None:
                    skipped += 1
                else:
                    rows.append(row)
                time.sleep(0.2)
            results[variant] = report(variant, rows, skipped)
    print(f"\n  after: {common.load_note()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
