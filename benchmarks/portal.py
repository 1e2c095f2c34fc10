"""Public disclosure pages under load (``GET /search?q=`` and ``GET /organisations/{code}``),
against the decision service's single decisions in the same server and the same run.

Needs ``wrk`` (Debian: ``apt-get install -y wrk``); exits with status 2 without it.

On the demo city of --persons persons (made once under benchmarks/out/, or --data-dir),
with a partner "bench-air" (airline) registered, one ``xinyong serve --workers N`` on
127.0.0.1 and, for each of --rounds rounds, one after the other:

- **decisions** (the baseline): ``POST /v1/decisions`` bodies ``{"subject": ID, "action":
  "flight.ticket.purchase"}`` with the partner's bearer credential, as serve_decisions.py
  sends them (--subjects identifiers, a --denied-share of them restricted persons);
- **search**: ``GET /search?q=...`` (the portal's HTML page), cycling through --queries
  query strings taken from the city: registered names of organisations and agencies (read
  from the store before the server starts), names on the court list (the published names of
  the entries of ``GET /v1/public/lists/judicial_defaulters``, every page), and a
  --miss-share of names nobody in the city holds;
- **profile**: ``GET /organisations/{code}`` (HTML), cycling through --profiles unified
  codes: those of the organisations and agencies on the public lists (every page of
  ``GET /v1/public/lists/{list}`` of each list of ``GET /v1/public/lists``), topped up with
  registered organisations drawn from the store.

Each gets the same load: ``wrk -t2 -c32 --latency``, first a --warmup run (not counted),
then, once the server is idle again (a slow page's requests in flight when wrk stops are
still computed), a --duration run. Prints each run's requests/s, p50, p90 and p99 and the server's CPU
time per request, then the medians over the rounds, the ratio search/decisions of the
median requests/s (goal: at least 0.3, with the search's p99 at most 50 ms) and the
profile page's median p99 (goal: at most 50 ms).

Before the load, every route is tried once (a hit, a miss, a profile) and any answer but
200 stops the benchmark with the server's answer printed as it came; then 20 requests of
each kind are timed one at a time (latency without load). A run in which no request
finishes has no latencies (shown as inf); requests wrk gives up on after 10 s are left out
of its latencies, so the p99 goals count them as missed.

wrk, the server and anything else running share the machine's cores; the load average is
printed with the figures.

    python benchmarks/portal.py                                 # 100,000 persons, 3 rounds
    python benchmarks/portal.py --persons 20000 --duration 5 --rounds 2
    python benchmarks/portal.py --rounds 3 --duration 10 --json out/portal.json
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import serve_decisions as decisions
import service_common as common

GET_LUA = """-- made by benchmarks/portal.py
local paths = {%(paths)s}
local threads = 0
wrk.method = "GET"
wrk.headers["Accept"] = "text/html"

function setup(thread)
  thread:set("start", threads * 7919)
  threads = threads + 1
end

function init(args)
  counter = start or 0
end

function request()
  counter = counter + 1
  return wrk.format(nil, paths[(counter %% #paths) + 1])
end
"""

SEARCH_GOAL_RATIO = 0.3
P99_GOAL_MS = 50.0
PROBE = 20  # requests of each kind timed one at a time before the load
KINDS = ("decisions", "search", "profile")
REGISTRATION = "administrative.registration"
PUBLIC_BODIES = ("organisation", "agency")
# Characters of no name in the demo city (checked against the city's names below).
MISS_CHARS = "龘靐齉爩麤龖鱻驫灪厵籱"


def get_script(path: Path, paths: list[str]) -> None:
    quoted = ",\n  ".join(json.dumps(p) for p in paths)  # ASCII JSON strings are Lua strings
    path.write_text(GET_LUA % {"paths": "\n  " + quoted + "\n"})


# -- what to ask for ------------------------------------------------------------------------------


def store_bodies(data_dir: Path) -> list[tuple[str, str, str]]:
    """(kind, unified code, registered name) of every organisation and agency with a
    current registration, read-only from the DuckDB file (no server running)."""
    import duckdb

    con = duckdb.connect(str(data_dir / "ledger.duckdb"), read_only=True)
    try:
        rows = con.execute(
            f"""SELECT s.kind, s.identifier, CAST(r.details AS JSON) ->> 'name'
                FROM records r JOIN subjects s ON s.subject_key = r.subject_key
                WHERE r.category = '{REGISTRATION}' AND r.action <> 'revoke'
                  AND s.kind IN {PUBLIC_BODIES!r}
                  AND NOT EXISTS (SELECT 1 FROM records x WHERE x.source_id = r.source_id
                                  AND x.supersedes = r.source_record_id
                                  AND x.event_id > r.event_id)
                  AND NOT EXISTS (SELECT 1 FROM records x WHERE x.source_id = r.source_id
                                  AND x.source_record_id = r.source_record_id
                                  AND x.event_id > r.event_id)
                ORDER BY s.identifier, r.occurred_on, r.event_id"""
        ).fetchall()
    finally:
        con.close()
    latest: dict[str, tuple[str, str, str]] = {}
    for kind, code, name in rows:  # oldest first: the last one wins
        if name:
            latest[code] = (kind, code, name)
    return sorted(latest.values())


def public_entries(base: str) -> dict[str, list[dict[str, Any]]]:
    """Every shown entry of every public list, by list, through the public JSON API."""
    import httpx

    out: dict[str, list[dict[str, Any]]] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        index = checked(client.get("/v1/public/lists"))
        for meta in index["lists"]:
            list_id, page, entries = meta["id"], 1, []
            while True:
                body = checked(
                    client.get(f"/v1/public/lists/{quote(list_id)}?per_page=200&page={page}")
                )
                entries += body["entries"]
                if page >= body["pages"]:
                    break
                page += 1
            out[list_id] = entries
    return out


def checked(r: Any, as_json: bool = True) -> Any:
    """The body of a 200 answer (as JSON, or the response); otherwise stop with the answer as
    it came."""
    if r.status_code != 200:
        raise SystemExit(f"GET {r.request.url} answered {r.status_code}:\n{r.text}")
    return r.json() if as_json else r


def misses(count: int, city_names: set[str], rng: random.Random) -> list[str]:
    """Names nobody in the city holds (no name holds any of their characters)."""
    used = {c for n in city_names for c in n}
    chars = [c for c in MISS_CHARS if c not in used] or ["龘"]
    surnames = "王李张刘陈杨黄赵吴周"
    found: list[str] = []
    while len(found) < count:
        text = rng.choice(surnames) + "".join(rng.choice(chars) for _ in range(rng.randint(2, 3)))
        if rng.random() < 0.5:
            text = "北京市" + text + rng.choice(["有限公司", "协会", "研究会"])
        found.append(text)
    return found


def search_queries(
    bodies: list[tuple[str, str, str]],
    court_names: list[str],
    count: int,
    miss_share: float,
    rng: random.Random,
) -> dict[str, list[str]]:
    """``count`` queries: a ``miss_share`` of misses, half of the rest names on the court
    list (distinct ones first, repeated if too few), the others registered names."""
    want_miss = round(count * miss_share)
    want_court = (count - want_miss) // 2 if court_names else 0
    want_reg = count - want_miss - want_court
    registered = [name for _kind, _code, name in bodies]
    if not registered:
        raise SystemExit("no registered organisation in the store")
    court = rng.sample(court_names, min(want_court, len(court_names)))
    court += [rng.choice(court_names) for _ in range(want_court - len(court))]
    reg = rng.sample(registered, min(want_reg, len(registered)))
    reg += [rng.choice(registered) for _ in range(want_reg - len(reg))]
    miss = misses(want_miss, set(registered) | set(court_names), rng)
    return {"court": court, "registered": reg, "miss": miss}


def profile_codes(
    bodies: list[tuple[str, str, str]], listed: list[str], count: int, rng: random.Random
) -> list[str]:
    """``count`` codes: the listed public bodies (up to half), topped up with registered
    organisations drawn from the store."""
    listed = sorted(set(listed))
    chosen = rng.sample(listed, min(len(listed), count // 2))
    others = sorted({code for _kind, code, _name in bodies} - set(chosen))
    chosen += rng.sample(others, min(len(others), count - len(chosen)))
    rng.shuffle(chosen)
    return chosen


# -- the runs -------------------------------------------------------------------------------------


def try_routes(
    base: str,
    credential: str,
    subjects: dict[str, list[Any]],
    queries: dict[str, list[str]],
    codes: list[str],
) -> None:
    """Each route once, through the page and its JSON twin: stop on anything but 200."""
    import httpx

    port = int(base.rsplit(":", 1)[1])
    decisions.sanity(port, credential, subjects)
    with httpx.Client(base_url=base, timeout=120) as client:
        for label, q in (
            ("registered name", queries["registered"][0]),
            ("court-list name", (queries["court"] or queries["registered"])[0]),
            ("miss", queries["miss"][0] if queries["miss"] else "龘靐齉"),
        ):
            body = checked(client.get("/v1/public/search", params={"q": q}))
            page = checked(client.get("/search", params={"q": q}), as_json=False)
            print(
                f"  search {label} {q!r}: {len(body['results'])} result(s),"
                f" page {len(page.content):,} bytes"
            )
        code = codes[0]
        body = checked(client.get(f"/v1/public/organisations/{quote(code)}"))
        page = checked(client.get(f"/organisations/{quote(code)}"), as_json=False)
        print(
            f"  profile {code} ({body['subject']['name']}): {len(body['lists'])} list entr(ies),"
            f" page {len(page.content):,} bytes"
        )


def settle(server: common.Server, limit: float = 120) -> float:
    """Wait until the server is idle (under 5% of a core over half a second): requests still
    in flight when wrk stopped are still computed after it closed their connections, and
    would load the next run. The seconds waited."""
    t = time.perf_counter()
    while time.perf_counter() - t < limit:
        cpu = server.cpu_seconds()
        time.sleep(0.5)
        if server.cpu_seconds() - cpu < 0.025:
            break
    return time.perf_counter() - t


def timeouts(r: dict[str, Any]) -> int:
    m = re.search(r"timeout (\d+)", r["socket_errors"] or "")
    return int(m.group(1)) if m else 0


def one_run(
    kind: str, server: common.Server, base: str, scripts: dict[str, Path], args: argparse.Namespace
) -> dict[str, Any]:
    url = base + ("/v1/decisions" if kind == "decisions" else "/")
    decisions.run_wrk(url, scripts[kind], args, args.warmup)
    waited = settle(server)
    cpu = server.cpu_seconds()
    r = decisions.run_wrk(url, scripts[kind], args, args.duration)
    r["cpu_ms"] = (server.cpu_seconds() - cpu) * 1000 / max(1, r["requests"])
    r["settled_s"] = waited
    r["timeouts"] = timeouts(r)
    if r["requests"] == 0:  # wrk prints zeros: no request finished within the run
        for pct in ("p50", "p75", "p90", "p99"):
            r[pct] = math.inf
    r.pop("output", None)
    decisions.show(kind, r, f"  server CPU {r['cpu_ms']:.3f} ms/req")
    if r["requests"] == 0:
        print(f"    no request finished within the {args.duration:g} s run", flush=True)
    if r["non2xx"] or r["socket_errors"]:
        print(f"    warning: {kind} had errors (see {server.log})", flush=True)
    if waited > 2:
        print(f"    (waited {waited:.1f} s for the warm-up's requests in flight to end)")
    return r


def unloaded(base: str, credential: str, mix: list[str], paths: dict[str, list[str]]) -> None:
    """Latency of PROBE requests of each kind one after the other (no load)."""
    import httpx

    headers = {"Authorization": f"Bearer {credential}"}
    with httpx.Client(base_url=base, timeout=120) as client:
        for kind in KINDS:
            took = []
            for i in range(PROBE):
                t = time.perf_counter()
                if kind == "decisions":
                    body = {"subject": mix[i % len(mix)], "action": common.ACTION}
                    r = client.post("/v1/decisions", json=body, headers=headers)
                else:
                    r = client.get(paths[kind][i % len(paths[kind])])
                took.append((time.perf_counter() - t) * 1000)
                checked(r, as_json=False)
            p = common.percentiles(took)
            print(
                f"  unloaded {kind:10} {len(took)} requests one at a time: p50 {p['p50']:7.2f} ms"
                f"  max {p['max']:7.2f} ms",
                flush=True,
            )


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, default=100_000, help="size of the demo city")
    parser.add_argument("--data-dir", type=Path, help="default: benchmarks/out/serve-PERSONS")
    parser.add_argument("--workers", type=int, default=1, help="workers of xinyong serve")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three runs")
    parser.add_argument("--duration", type=float, default=10, help="seconds of each measured run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of each warm-up run")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--subjects", type=int, default=2000, help="distinct decision bodies")
    parser.add_argument("--denied-share", type=float, default=0.05)
    parser.add_argument("--queries", type=int, default=500, help="distinct search queries")
    parser.add_argument("--miss-share", type=float, default=0.1, help="share of misses")
    parser.add_argument("--profiles", type=int, default=500, help="distinct organisation codes")
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
    bodies = store_bodies(args.data_dir)
    rng = random.Random(args.seed)
    print(f"xinyong at {common.revision()}")

    results: dict[str, list[dict[str, Any]]] = {k: [] for k in KINDS}
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as tmp:
        scripts = {k: Path(tmp) / f"{k}.lua" for k in KINDS}
        decisions.lua_script(scripts["decisions"], credential, mix)
        port = common.free_port()
        base = f"http://{common.HOST}:{port}"
        log = common.OUT / "logs" / f"portal-{args.persons}.log"
        with common.serve_service(args.data_dir, port, args.workers, log) as svc:
            common.wait_service(svc, port, args.workers)
            t = time.perf_counter()
            listed = public_entries(base)
            court_names = sorted(
                {
                    e["subject"]["name"]
                    for e in listed.get("judicial_defaulters", [])
                    if e["subject"]["name"]
                }
            )
            listed_codes = [
                e["subject"]["identifier"]
                for entries in listed.values()
                for e in entries
                if e["subject"]["kind"] in PUBLIC_BODIES
            ]
            queries = search_queries(bodies, court_names, args.queries, args.miss_share, rng)
            codes = profile_codes(bodies, listed_codes, args.profiles, rng)
            all_queries = queries["registered"] + queries["court"] + queries["miss"]
            rng.shuffle(all_queries)
            print(
                f"data {args.data_dir}: {len(subjects['denied']):,} persons denied air travel,"
                f" {len(subjects['allowed']):,} allowed; {len(bodies):,} registered organisations"
                f" and agencies; {sum(len(v) for v in listed.values()):,} public list entries"
                f" ({len(court_names):,} distinct names on the court list, {len(set(listed_codes)):,}"
                f" listed public bodies), read in {time.perf_counter() - t:.1f} s"
            )
            print(
                f"decisions: {len(mix):,} bodies, {args.denied_share:.0%} denied | search:"
                f" {len(all_queries):,} queries ({len(queries['registered']):,} registered names,"
                f" {len(queries['court']):,} court-list names, {len(queries['miss']):,} misses)"
                f" | profile: {len(codes):,} codes ({len(set(codes) & set(listed_codes)):,}"
                f" listed) | xinyong serve --workers {args.workers}; wrk -t{args.threads}"
                f" -c{args.connections}, {args.warmup:g} s warm-up + {args.duration:g} s per run",
                flush=True,
            )
            try_routes(base, credential, subjects, queries, codes)
            paths = {
                "search": [f"/search?q={quote(q)}" for q in all_queries],
                "profile": [f"/organisations/{quote(c)}" for c in codes],
            }
            unloaded(base, credential, mix, paths)
            get_script(scripts["search"], paths["search"])
            get_script(scripts["profile"], paths["profile"])
            for n in range(1, args.rounds + 1):
                print(f"\nround {n}/{args.rounds}: {common.load_note()}", flush=True)
                for kind in KINDS:
                    results[kind].append(one_run(kind, svc, base, scripts, args))
            print(f"  after: {common.load_note()}", flush=True)

    print(f"\nmedians over {args.rounds} round(s)")
    med: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        med[kind] = {k: median_of(results[kind], k) for k in ("rps", "p50", "p90", "p99", "cpu_ms")}
        m = med[kind]
        print(
            f"  {kind:10} {m['rps']:9,.0f} req/s  p50 {m['p50']:7.2f} ms  p90 {m['p90']:7.2f} ms"
            f"  p99 {m['p99']:7.2f} ms  server CPU {m['cpu_ms']:.3f} ms/req"
        )
    ratio = med["search"]["rps"] / med["decisions"]["rps"]
    per_round = [
        s["rps"] / d["rps"] for s, d in zip(results["search"], results["decisions"], strict=True)
    ]

    def p99_ok(kind: str) -> tuple[bool, str]:
        """The median p99 within the goal, and no request timed out (wrk leaves requests
        that time out out of its latencies) nor failed."""
        runs, p99 = results[kind], med[kind]["p99"]
        lost = sum(r["timeouts"] for r in runs)
        failed = sum(r["non2xx"] for r in runs)
        note = f"{kind} p99 {p99:.2f} ms" + (
            " (no request finished within a run)" if math.isinf(p99) else ""
        )
        if lost:
            note += f", {lost:,} request(s) timed out after 10 s (not in the p99)"
        if failed:
            note += f", {failed:,} answer(s) not 2xx"
        return p99 <= P99_GOAL_MS and not lost and not failed, note

    ratio_ok = ratio >= SEARCH_GOAL_RATIO
    search_p99_ok, search_note = p99_ok("search")
    profile_ok, profile_note = p99_ok("profile")
    search_ok = ratio_ok and search_p99_ok
    verdict = {True: "met", False: "missed"}
    print(
        f"  ratio search/decisions: {ratio:.3f} of requests/s (per round:"
        f" {', '.join(f'{x:.3f}' for x in per_round)})"
    )
    print(
        f"  search goal (ratio >= {SEARCH_GOAL_RATIO}, p99 <= {P99_GOAL_MS:g} ms):"
        f" {verdict[search_ok]} (ratio {verdict[ratio_ok]}; {search_note}: {verdict[search_p99_ok]})"
    )
    print(f"  profile goal (p99 <= {P99_GOAL_MS:g} ms): {verdict[profile_ok]} ({profile_note})")
    print(f"  {common.load_note()}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "persons": args.persons,
                    "runs": results,
                    "medians": med,
                    "ratio": ratio,
                    "ratio_per_round": per_round,
                    "search_goal_met": search_ok,
                    "profile_goal_met": profile_ok,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
