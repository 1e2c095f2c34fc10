"""Batch decisions over HTTP (``POST /v1/decisions/batch``), against the same exchange with a
bare ASGI app that does the JSON but no deciding.

On the demo city of --persons persons (made once under benchmarks/out/, or --data-dir),
with the partner "bench-air" (airline), --clients client threads (httpx, one connection
each) POST batches of --batch requests ``{"subject": ID, "action":
"flight.ticket.purchase"}`` (identifiers from the ledger, a --denied-share of them persons
with the travel restriction in force) back to back for --seconds, after --warmup batches
per client that are not counted. Every answer is decoded and its counts checked. Done
against, one after the other on 127.0.0.1, with --workers granian workers each:

- **baseline**: benchmarks/hello_asgi.py served by granian with the settings of
  ``xinyong serve``; its /v1/decisions/batch decodes the same body with orjson and answers
  a canned result per request of the shape and size of the service's (allow, and a deny
  with one reason for the --denied-share), so about the same bytes cross the wire both
  ways and the same JSON is parsed and written: what is left is the cost of HTTP and JSON
  for these payloads, without deciding or logging;
- **service**: ``xinyong serve``.

Prints decisions per second of both and their ratio service/baseline (goal for the
service: at least 1,000,000 decisions/s), batch latency p50/p99, the server's CPU time per
decision, and, for scale, the in-process cost of only ``orjson.loads`` of one request body
plus ``orjson.dumps`` of one service answer (decisions/s on one core, no HTTP). Every
decision is fsynced to DATA_DIR/access-log/ before the answer: the log must grow by the
number of decisions answered (checked and printed).

    python benchmarks/batch_decisions.py                        # 100,000 persons, 1 worker
    python benchmarks/batch_decisions.py --workers 2 --clients 2 --seconds 20
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import service_common as common


def bodies(subjects: dict[str, list[Any]], args: argparse.Namespace) -> list[bytes]:
    """--distinct batch bodies, each of --batch mixed requests."""
    out = []
    for n in range(args.distinct):
        mix = common.subject_mix(subjects, args.batch, args.denied_share, args.seed + n)
        out.append(
            orjson.dumps({"requests": [{"subject": s, "action": common.ACTION} for s in mix]})
        )
    return out


def drive(url: str, credential: str, payloads: list[bytes], args: argparse.Namespace) -> dict:
    """--clients threads posting batches for --seconds; decisions/s and batch latencies."""
    import httpx

    headers = {"Authorization": f"Bearer {credential}", "Content-Type": "application/json"}
    lock = threading.Lock()
    latencies: list[float] = []
    totals = {"decisions": 0, "denied": 0, "failed": 0, "batches": 0, "bytes": 0}
    errors: list[str] = []
    start = threading.Barrier(args.clients + 1)
    window: dict[str, float] = {}

    def client(n: int) -> None:
        try:
            run(n)
        except Exception as exc:  # reported below; the others stop at the barrier
            errors.append(repr(exc))
            start.abort()

    def run(n: int) -> None:
        with httpx.Client(timeout=300) as http:
            for w in range(args.warmup):
                http.post(url, content=payloads[(n + w) % len(payloads)], headers=headers)
            start.wait()
            i = n
            while time.perf_counter() < window["end"]:
                body = payloads[i % len(payloads)]
                i += 1
                t = time.perf_counter()
                r = http.post(url, content=body, headers=headers)
                took = time.perf_counter() - t
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:300]}")
                    return
                answer = orjson.loads(r.content)
                done = answer["allowed"] + answer["denied"]
                if done + answer["failed"] != args.batch:
                    errors.append(f"answer counts {done} + {answer['failed']} != {args.batch}")
                with lock:
                    latencies.append(took * 1000)
                    totals["decisions"] += done
                    totals["denied"] += answer["denied"]
                    totals["failed"] += answer["failed"]
                    totals["batches"] += 1
                    totals["bytes"] += len(r.content)
            window["last"] = max(window.get("last", 0.0), time.perf_counter())

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for t in threads:
        t.start()
    window["end"] = float("inf")
    # Warm-up batches first; the window opens when every client has done them.
    while start.n_waiting < args.clients and any(t.is_alive() for t in threads):
        time.sleep(0.01)
    window["end"] = time.perf_counter() + args.seconds
    t0 = time.perf_counter()
    with contextlib.suppress(threading.BrokenBarrierError):
        start.wait()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"{url}: {errors[0]}")
    elapsed = window.get("last", time.perf_counter()) - t0
    p = common.percentiles(latencies)
    return {
        **totals,
        "seconds": elapsed,
        "per_second": totals["decisions"] / elapsed,
        "p50_ms": p["p50"],
        "p99_ms": p["p99"],
        "response_bytes": totals["bytes"] / max(1, totals["batches"]),
    }


def show(name: str, r: dict[str, Any]) -> None:
    print(
        f"  {name:22} {r['per_second']:11,.0f} decisions/s  batch p50 {r['p50_ms']:7.1f} ms"
        f"  p99 {r['p99_ms']:7.1f} ms  ({r['batches']} batches, {r['decisions']:,} decisions,"
        f" {r['response_bytes'] / 1e6:.1f} MB per answer; server CPU"
        f" {r['cpu_us']:.1f} us/decision)",
        flush=True,
    )


def json_floor(request: bytes, answer: bytes, repeat: int = 5) -> float:
    """Decisions/s of only decoding one request body and encoding one answer, in process."""
    decoded = orjson.loads(answer)
    items = len(orjson.loads(request)["requests"])
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        orjson.loads(request)
        orjson.dumps(decoded)
        best = min(best, time.perf_counter() - t)
    return items / best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=100_000, help="size of the demo city")
    parser.add_argument("--data-dir", type=Path, help="default: benchmarks/out/serve-PERSONS")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch", type=int, default=10_000, help="requests per batch (max 10000)")
    parser.add_argument("--clients", type=int, default=2, help="client threads (connections)")
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per server")
    parser.add_argument("--warmup", type=int, default=2, help="uncounted batches per client")
    parser.add_argument("--distinct", type=int, default=4, help="distinct batch bodies")
    parser.add_argument("--denied-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    args.data_dir = (args.data_dir or common.default_data_dir(args.persons)).resolve()
    common.ensure_demo(args.data_dir, args.persons)
    credential = common.partner_credential(args.data_dir)
    subjects = common.ledger_subjects(args.data_dir)
    payloads = bodies(subjects, args)
    print(f"xinyong at {common.revision()}")
    print(
        f"data {args.data_dir}: batches of {args.batch:,} ({args.denied_share:.0%} denied), "
        f"{len(payloads[0]) / 1e6:.2f} MB each; {args.clients} client(s), {args.workers} "
        f"worker(s), {args.seconds:g} s per server\n  before: {common.load_note()}",
        flush=True,
    )
    logs = common.OUT / "logs"
    out: dict[str, Any] = {}

    port = common.free_port()
    with common.serve_hello(port, args.workers, logs / "hello-batch.log") as hello:
        hello.wait_ready(f"http://{common.HOST}:{port}/")
        cpu = hello.cpu_seconds()
        every = round(1 / args.denied_share) if args.denied_share > 0 else 0
        url = f"http://{common.HOST}:{port}/v1/decisions/batch?deny_every={every}"
        r = drive(url, credential, payloads, args)
        # Includes the warm-up batches' CPU; they are few.
        total = r["decisions"] + args.warmup * args.clients * args.batch
        r["cpu_us"] = (hello.cpu_seconds() - cpu) * 1e6 / max(1, total)
        show("baseline (hello ASGI)", r)
        out["hello"] = r

    port = common.free_port()
    answer = b""
    with common.serve_service(args.data_dir, port, args.workers, logs / "serve-batch.log") as svc:
        common.wait_service(svc, port, args.workers)
        url = f"http://{common.HOST}:{port}/v1/decisions/batch"
        import httpx

        one = httpx.post(
            url,
            content=payloads[0],
            headers={"Authorization": f"Bearer {credential}", "Content-Type": "application/json"},
            timeout=300,
        )
        one.raise_for_status()
        answer = one.content
        time.sleep(0.5)
        before = common.access_log_lines(args.data_dir)
        cpu = svc.cpu_seconds()
        r = drive(url, credential, payloads, args)
        total = r["decisions"] + args.warmup * args.clients * args.batch
        r["cpu_us"] = (svc.cpu_seconds() - cpu) * 1e6 / max(1, total)
        time.sleep(0.5)
        r["logged"] = common.access_log_lines(args.data_dir) - before
        show("service", r)
        out["service"] = r

    floor = json_floor(payloads[0], answer)
    s, h = out["service"], out["hello"]
    ratio = s["per_second"] / h["per_second"]
    print(
        f"  ratio service/baseline: {ratio:.3f} of decisions/s; service "
        f"{s['per_second']:,.0f}/s against the goal of 1,000,000/s "
        f"({s['per_second'] / 1e6:.3f} of it)"
    )
    print(
        f"  for scale: orjson.loads(request) + orjson.dumps(answer) alone, in process: "
        f"{floor:,.0f} decisions/s on one core"
    )
    expected = s["decisions"] + args.warmup * args.clients * args.batch
    verdict = "ok" if s["logged"] == expected else "MISMATCH"
    print(
        f"  durability: access log grew by {s['logged']:,} lines for {expected:,} decisions "
        f"answered (measured + warm-up batches): {verdict}"
    )
    print(f"  after: {common.load_note()}")
    out.update(ratio=ratio, json_floor=floor)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
