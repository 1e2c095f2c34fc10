"""How soon an objection shows in decisions: from ``POST /v1/subjects/{id}/objections``
to the first ``POST /v1/decisions`` whose reason says ``"disputed": true``.

On the demo city of --persons persons (made once under benchmarks/out/, or --data-dir;
NOTE: each sample leaves an open objection in that ledger for good, and persons whose
listing is disputed already are skipped), before the server starts:

- the bench airline (partner "bench-air") is registered, as removal_latency.py does;
- ``xinyong maintain`` catches up, so the server's own maintain at start has little to do;
- persons listed as judicial defaulters (restricted from air travel only as themselves,
  ``service_common.ledger_subjects``) are picked at random (--seed); for each,
  ``xinyong subject show ID --json`` gives the ``source_record_id`` of a current
  ``judicial.defaulter.listed`` record not under objection, and ``xinyong subject
  credential ID --json`` the subject's own credential.

Then ``xinyong serve --workers N`` runs on 127.0.0.1. The plain decision round trip is
measured first (the baseline). Then for each person: a thread asks for decisions (as the
airline, flight.ticket.purchase) with a 2 ms pause between answers; once it has seen one
deny whose reasons include the record, undisputed, the objection is sent with the
subject's credential. The latency runs from sending it until the first answer received
with a reason ``"disputed": true`` (goal: p99 at most 1 s). The objection's own answer
(201) is timed too: the service refreshes its decisions before it answers, so the dispute
should show no later than that.

    python benchmarks/objection_latency.py                          # 20,000 persons, 20 samples
    python benchmarks/objection_latency.py --persons 100000 --samples 50
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import service_common as common
from removal_latency import decide

LISTED = "judicial.defaulter.listed"


def pick(data_dir: Path, count: int, seed: int) -> tuple[list[dict[str, Any]], int]:
    """``count`` persons with a current listing record not under objection, and their own
    credentials; and how many candidates were passed over (disputed already)."""
    candidates = [ident for ident, _docs in common.ledger_subjects(data_dir)["removable"]]
    random.Random(seed).shuffle(candidates)
    chosen: list[dict[str, Any]] = []
    passed = 0
    for identifier in candidates:
        if len(chosen) == count:
            break
        shown = json.loads(common.cli(data_dir, "subject", "show", identifier, "--json").stdout)
        listed = [
            r for r in shown["current_records"] if r["category"] == LISTED and not r.get("disputed")
        ]
        if not listed:
            passed += 1
            continue
        issued = common.cli(data_dir, "subject", "credential", identifier, "--json").stdout
        chosen.append(
            {
                "identifier": identifier,
                "record": listed[0]["source_record_id"],
                "event_id": int(listed[0]["event_id"]),
                "credential": json.loads(issued)["credential"],
            }
        )
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} listed persons left undisputed: use a fresh city")
    return chosen, passed


class Asker(threading.Thread):
    """Asks for decisions about one person until a reason is disputed (or the deadline)."""

    def __init__(self, base: str, partner: str, person: dict[str, Any], deadline: float):
        super().__init__(daemon=True)
        self.base, self.partner, self.person, self.deadline = base, partner, person, deadline
        self.ready = threading.Event()  # one deny seen, with the record undisputed
        self.unusable: str | None = None
        self.at: float | None = None
        self.asks = 0
        self.error: str | None = None

    def run(self) -> None:
        import httpx

        try:
            with httpx.Client(timeout=10) as http:
                while time.perf_counter() < self.deadline:
                    answer = decide(http, self.base, self.partner, self.person["identifier"])
                    received = time.perf_counter()
                    self.asks += 1
                    reasons = answer["reasons"]
                    if any(r["disputed"] for r in reasons):
                        if not self.ready.is_set():
                            self.unusable = "disputed before the objection"
                        self.at = received
                        return
                    if not self.ready.is_set():
                        if not any(self.person["event_id"] in r["records"] for r in reasons):
                            self.unusable = f"{answer['decision']}, the record behind no reason"
                            return
                        self.ready.set()
                    time.sleep(0.002)
        except Exception as exc:  # reported by the caller
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()


def sample(
    http: Any, base: str, partner: str, person: dict[str, Any], timeout: float
) -> dict[str, Any]:
    asker = Asker(base, partner, person, time.perf_counter() + timeout + 10)
    asker.start()
    asker.ready.wait()
    if asker.error:
        raise SystemExit(f"POST /v1/decisions: {asker.error}")
    if asker.unusable:
        asker.join()
        return {"unusable": asker.unusable}
    sent = time.perf_counter()
    r = http.post(
        f"{base}/v1/subjects/{person['identifier']}/objections",
        json={"record": person["record"], "reason": "Benchmark: I paid in full before listing."},
        headers={"Authorization": f"Bearer {person['credential']}"},
    )
    answered = time.perf_counter()
    if r.status_code != 201:
        raise SystemExit(f"POST objections: {r.status_code} {r.text[:500]}")
    asker.deadline = min(asker.deadline, sent + timeout)
    asker.join()
    if asker.error:
        raise SystemExit(f"POST /v1/decisions: {asker.error}")
    return {
        "answer_after_send": answered - sent,
        "disputed_after_send": None if asker.at is None else asker.at - sent,
        "disputed_after_answer": None if asker.at is None else asker.at - answered,
        "asks": asker.asks,
        "objection": r.json()["objection"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=20_000, help="size of the demo city")
    parser.add_argument("--data-dir", type=Path, help="default: benchmarks/out/serve-PERSONS")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--samples", type=int, default=20, help="objections to time (N)")
    parser.add_argument("--timeout", type=float, default=5, help="seconds to wait for a dispute")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import httpx

    args.data_dir = (args.data_dir or common.default_data_dir(args.persons)).resolve()
    common.ensure_demo(args.data_dir, args.persons)
    partner = common.partner_credential(args.data_dir)
    with common.timed("xinyong maintain (catching up, before serving)"):
        common.cli(args.data_dir, "maintain", "--json")
    with common.timed(f"picking {args.samples} listed persons and issuing their credentials"):
        people, passed = pick(args.data_dir, args.samples, args.seed)
    print(f"xinyong at {common.revision()}")
    print(
        f"data {args.data_dir}: {args.samples} persons picked ({passed} passed over, their"
        f" listing disputed already); {args.workers} worker(s)\n  before: {common.load_note()}",
        flush=True,
    )

    port = common.free_port()
    log = common.OUT / "logs" / "serve-objection.log"
    rows: list[dict[str, Any]] = []
    unusable: list[str] = []
    with (
        common.serve_service(args.data_dir, port, args.workers, log) as svc,
        httpx.Client(timeout=30) as http,
    ):
        common.wait_service(svc, port, args.workers)
        base = f"http://{common.HOST}:{port}"
        time.sleep(2)  # the server's maintain at start (little to do after the catch-up)
        trips = []
        for n in range(220):
            t = time.perf_counter()
            decide(http, base, partner, people[n % len(people)]["identifier"])
            if n >= 20:
                trips.append((time.perf_counter() - t) * 1000)
        for person in people:
            row = sample(http, base, partner, person, args.timeout)
            if "unusable" in row:
                unusable.append(row["unusable"])
            else:
                rows.append(row)
            time.sleep(0.2)

    base_p = common.percentiles(trips)
    print(f"\npersons: {args.persons:,}; {len(rows)} objections timed, {len(unusable)} unusable")
    for why in sorted(set(unusable)):
        print(f"  unusable: {unusable.count(why)} x {why}")
    print(
        f"  baseline: one decision round trip   p50 {base_p['p50']:7.2f}  p99 {base_p['p99']:7.2f}"
        f"  max {base_p['max']:7.2f} ms  (n={len(trips)})"
    )
    labels = {
        "answer_after_send": "objection answered (201)",
        "disputed_after_send": "first disputed decision",
        "disputed_after_answer": "  the same, from the answer",
    }
    results: dict[str, Any] = {"baseline_ms": base_p, "timed": len(rows), "unusable": unusable}
    for key, label in labels.items():
        values = [r[key] * 1000 for r in rows if r[key] is not None]
        never = sum(1 for r in rows if r[key] is None)
        if not values:
            print(f"  {label:34} none")
            continue
        p = common.percentiles(values)
        line = f"  {label:34} p50 {p['p50']:7.1f}  p99 {p['p99']:7.1f}  max {p['max']:7.1f} ms" + (
            f"  ({never} never)" if never else ""
        )
        if key == "disputed_after_send":
            line += (
                f"  goal p99 <= 1000 ms: {'met' if p['p99'] <= 1000 and not never else 'NOT met'}"
            )
            line += f"; ratio p50 / decision p50: {p['p50'] / base_p['p50']:.0f}"
        print(line)
        results[key] = p
    if rows:
        print(
            f"  decisions asked per objection: mean {sum(r['asks'] for r in rows) / len(rows):.0f}"
        )
    print(f"  after: {common.load_note()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
