"""Single decisions over HTTP (``POST /v1/decisions``) under load, against a bare ASGI app.

Needs ``wrk`` (Debian: ``apt-get install -y wrk``); exits with status 2 without it.

On the demo city of --persons persons (made once under benchmarks/out/, or --data-dir),
with a partner "bench-air" (airline) registered, for each --workers count, one after the
other on 127.0.0.1:

- **baseline**: benchmarks/hello_asgi.py, a bare ASGI app answering a small fixed JSON
  body, served by granian with the settings of ``xinyong serve`` (ASGI, uvloop, the same
  worker count, backlog 2048, access log off);
- **service**: ``xinyong serve --workers N`` on the data directory.

Each gets the same load: ``wrk -t2 -c32 --latency`` with a Lua script POSTing decision
bodies ``{"subject": ID, "action": "flight.ticket.purchase"}`` with the partner's
bearer credential, cycling through --subjects identifiers from the ledger (a
--denied-share of them persons with the travel restriction in force, the rest persons in
the ledger without it), first a --warmup run (not counted), then a --duration run.
Prints requests/s, p50 and p99 latency of both, the ratio service/baseline of requests/s
(goal: at least 0.5, with the service's p99 at most 5 ms), the server's CPU time per
request, and a durability check: every decision is fsynced to DATA_DIR/access-log/
before it is answered, so the log must grow by about the requests wrk counted (plus at
most the requests in flight when it stopped).

wrk, the servers and anything else running share the machine's cores; the load average
is printed with the figures.

    python benchmarks/serve_decisions.py                       # 100,000 persons, 1 worker
    python benchmarks/serve_decisions.py --workers 1 2 --duration 15
    python benchmarks/serve_decisions.py --persons 20000 --duration 5 --warmup 2
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import service_common as common

LUA = """-- made by benchmarks/serve_decisions.py
local bodies = {%(bodies)s}
local threads = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(credential)s"

function setup(thread)
  thread:set("start", threads * 7919)
  threads = threads + 1
end

function init(args)
  counter = start or 0
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter %% #bodies) + 1])
end
"""

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def lua_script(path: Path, credential: str, subjects: list[str]) -> None:
    bodies = [json.dumps({"subject": s, "action": common.ACTION}) for s in subjects]
    quoted = ",\n  ".join(json.dumps(b) for b in bodies)  # JSON strings are Lua strings here
    path.write_text(LUA % {"bodies": "\n  " + quoted + "\n", "credential": credential})


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def run_wrk(url: str, script: Path, args: argparse.Namespace, seconds: float) -> dict[str, Any]:
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s"]
    argv += ["--timeout", "10s", "--latency", "-s", str(script), url]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    out = done.stdout
    result: dict[str, Any] = {"output": out}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    if not m:
        raise SystemExit(f"cannot read wrk's output:\n{out}\n{done.stderr}")
    result["requests"] = int(m.group(1))
    result["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    for pct in ("50", "75", "90", "99"):
        found = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        result[f"p{pct}"] = _ms(found.group(1)) if found else float("nan")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1).strip() if errors else None
    return result


def show(name: str, r: dict[str, Any], extra: str = "") -> None:
    print(
        f"  {name:22} {r['rps']:9,.0f} req/s  p50 {r['p50']:6.2f} ms  p90 {r['p90']:6.2f} ms"
        f"  p99 {r['p99']:6.2f} ms  ({r['requests']:,} requests"
        + (f", {r['non2xx']:,} not 2xx" if r["non2xx"] else "")
        + (f", socket errors {r['socket_errors']}" if r["socket_errors"] else "")
        + ")"
        + extra,
        flush=True,
    )


def sanity(port: int, credential: str, subjects: dict[str, list[Any]]) -> None:
    """One denied and one allowed person answer as the ledger says."""
    import httpx

    url = f"http://{common.HOST}:{port}/v1/decisions"
    headers = {"Authorization": f"Bearer {credential}"}
    for pool, expect in (("denied", "deny"), ("allowed", "allow")):
        if not subjects[pool]:
            continue
        r = httpx.post(
            url, json={"subject": subjects[pool][0], "action": common.ACTION}, headers=headers
        )
        if r.status_code != 200 or r.json().get("decision") != expect:
            raise SystemExit(f"expected {expect} for a {pool} person, got {r.status_code} {r.text}")


def one_config(
    workers: int,
    args: argparse.Namespace,
    script: Path,
    subjects: dict[str, list[Any]],
    credential: str,
    logs: Path,
) -> dict[str, Any]:
    print(f"\n{workers} worker(s): {common.load_note()}", flush=True)
    out: dict[str, Any] = {"workers": workers}

    port = common.free_port()
    with common.serve_hello(port, workers, logs / f"hello-{workers}.log") as hello:
        hello.wait_ready(f"http://{common.HOST}:{port}/")
        url = f"http://{common.HOST}:{port}/v1/decisions"
        run_wrk(url, script, args, args.warmup)
        cpu = hello.cpu_seconds()
        r = run_wrk(url, script, args, args.duration)
        r["cpu_ms"] = (hello.cpu_seconds() - cpu) * 1000 / max(1, r["requests"])
        show("baseline (hello ASGI)", r, f"  server CPU {r['cpu_ms']:.3f} ms/req")
        out["hello"] = r

    port = common.free_port()
    data_dir = args.data_dir
    with common.serve_service(data_dir, port, workers, logs / f"serve-{workers}.log") as svc:
        health = common.wait_service(svc, port, workers)
        sanity(port, credential, subjects)
        url = f"http://{common.HOST}:{port}/v1/decisions"
        run_wrk(url, script, args, args.warmup)
        time.sleep(0.5)
        before = common.access_log_lines(data_dir)
        cpu = svc.cpu_seconds()
        r = run_wrk(url, script, args, args.duration)
        r["cpu_ms"] = (svc.cpu_seconds() - cpu) * 1000 / max(1, r["requests"])
        time.sleep(1.0)  # requests in flight when wrk stopped finish and are logged
        r["logged"] = common.access_log_lines(data_dir) - before
        show("service", r, f"  server CPU {r['cpu_ms']:.3f} ms/req")
        out["service"] = r
        out["measures"] = health.get("measures_in_snapshot")
    hello_r, svc_r = out["hello"], out["service"]
    ratio = svc_r["rps"] / hello_r["rps"]
    print(
        f"  ratio service/baseline: {ratio:.3f} of requests/s (goal >= 0.5: "
        f"{'met' if ratio >= 0.5 else 'NOT met'}); service p99 {svc_r['p99']:.2f} ms "
        f"(goal <= 5 ms: {'met' if svc_r['p99'] <= 5 else 'NOT met'})"
    )
    ok_requests = svc_r["requests"] - svc_r["non2xx"]
    slack = args.connections
    verdict = "ok" if ok_requests <= svc_r["logged"] <= ok_requests + slack else "MISMATCH"
    print(
        f"  durability: access log grew by {svc_r['logged']:,} lines for {ok_requests:,} "
        f"answered requests counted by wrk (+ up to {slack} in flight): {verdict}"
    )
    print(f"  after: {common.load_note()}", flush=True)
    out["ratio"] = ratio
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=100_000, help="size of the demo city")
    parser.add_argument("--data-dir", type=Path, help="default: benchmarks/out/serve-PERSONS")
    parser.add_argument("--workers", type=int, nargs="+", default=[1], help="e.g. --workers 1 2")
    parser.add_argument("--duration", type=float, default=15, help="seconds of each measured run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of each warm-up run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--subjects", type=int, default=2000, help="distinct request bodies")
    parser.add_argument("--denied-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    if shutil.which("wrk") is None:
        print("wrk is not installed; on Debian or Ubuntu: apt-get install -y wrk", file=sys.stderr)
        raise SystemExit(2)
    args.data_dir = (args.data_dir or common.default_data_dir(args.persons)).resolve()
    common.ensure_demo(args.data_dir, args.persons)
    credential = common.partner_credential(args.data_dir)
    subjects = common.ledger_subjects(args.data_dir)
    mix = common.subject_mix(subjects, args.subjects, args.denied_share, args.seed)
    print(f"xinyong at {common.revision()}")
    print(
        f"data {args.data_dir}: {len(subjects['denied']):,} persons denied air travel, "
        f"{len(subjects['allowed']):,} allowed; {len(mix):,} request bodies, "
        f"{args.denied_share:.0%} of them denied; wrk -t{args.threads} -c{args.connections}, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s"
    )

    results = []
    with tempfile.TemporaryDirectory(prefix="serve-bench-") as tmp:
        script = Path(tmp) / "decisions.lua"
        lua_script(script, credential, mix)
        logs = common.OUT / "logs"
        for workers in args.workers:
            results.append(one_config(workers, args, script, subjects, credential, logs))

    print("\nsummary")
    for r in results:
        h, s = r["hello"], r["service"]
        print(
            f"  workers {r['workers']}: service {s['rps']:,.0f} req/s p50 {s['p50']:.2f} ms "
            f"p99 {s['p99']:.2f} ms | hello {h['rps']:,.0f} req/s p50 {h['p50']:.2f} ms "
            f"p99 {h['p99']:.2f} ms | ratio {r['ratio']:.3f} | logged {s['logged']:,} "
            f"of {s['requests']:,}"
        )
    if args.json:
        for r in results:
            for side in ("hello", "service"):
                r[side].pop("output", None)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
