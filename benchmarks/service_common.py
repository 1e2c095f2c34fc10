"""Shared by the decision-service benchmarks (serve_decisions.py, batch_decisions.py,
removal_latency.py): a demo data directory, bench credentials, subjects drawn from the
ledger, and servers started and stopped on 127.0.0.1.

Nothing here measures anything. The data directory is made once per size with
``xinyong demo --no-serve`` under benchmarks/out/ (gitignored) and reused; the bench
partner's and source's credentials are kept beside it in ``bench-credentials.json``
(a partner already registered without a kept credential is rotated).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out"
HERE = Path(__file__).parent
HOST = "127.0.0.1"  # loopback only: nothing here talks to any other address
ACTION = "flight.ticket.purchase"
TRAVEL = "high_consumption_travel"


# -- the data directory -----------------------------------------------------------------------


def default_data_dir(persons: int) -> Path:
    return OUT / f"serve-{persons}"


def env_for(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["XINYONG_DATA_DIR"] = str(data_dir)
    env.pop("XINYONG_DATABASE_URL", None)  # the embedded store of this directory
    return env


def cli(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["xinyong", *args],
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        check=check,
    )


def ensure_demo(data_dir: Path, persons: int) -> None:
    """Make the demo city in ``data_dir`` unless its ledger exists."""
    if (data_dir / "ledger.duckdb").exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    orgs, agencies = max(1, persons // 10), max(1, min(50, persons // 2000))
    print(
        f"building the demo city in {data_dir} ({persons:,} persons, {orgs:,} organisations,"
        f" {agencies} agencies) ...",
        flush=True,
    )
    t = time.perf_counter()
    done = cli(
        data_dir,
        "demo",
        "--persons",
        str(persons),
        "--orgs",
        str(orgs),
        "--agencies",
        str(agencies),
        "--no-serve",
        "--json",
    )
    summary = json.loads(done.stdout)
    print(
        f"  {summary['ledger']['subjects']:,} subjects, {summary['ledger']['records']:,} records"
        f" in {time.perf_counter() - t:.0f} s",
        flush=True,
    )


def _kept(data_dir: Path) -> dict[str, str]:
    path = data_dir / "bench-credentials.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _keep(data_dir: Path, name: str, credential: str) -> None:
    kept = _kept(data_dir)
    kept[name] = credential
    path = data_dir / "bench-credentials.json"
    path.write_text(json.dumps(kept, indent=2))
    path.chmod(0o600)


def partner_credential(data_dir: Path, partner_id: str = "bench-air") -> str:
    """The bench airline's credential: registered on first use, rotated if not kept."""
    name = f"partner:{partner_id}"
    kept = _kept(data_dir).get(name)
    if kept:
        return kept
    done = cli(
        data_dir,
        "partners",
        "add",
        "Bench Air",
        "--kind",
        "airline",
        "--purpose",
        "bench",
        "--id",
        partner_id,
        "--json",
        check=False,
    )
    if done.returncode != 0:
        done = cli(data_dir, "partners", "rotate", partner_id, "--json")
    credential = str(json.loads(done.stdout)["credential"])
    _keep(data_dir, name, credential)
    return credential


def source_credential(data_dir: Path, source_id: str = "bench-court") -> tuple[str, str]:
    """A court source's (id, credential): registered on first use (sources cannot be
    rotated, so a registered id whose credential was not kept gives way to id-2, ...)."""
    for n in range(1, 50):
        sid = source_id if n == 1 else f"{source_id}-{n}"
        kept = _kept(data_dir).get(f"source:{sid}")
        if kept:
            return sid, kept
        done = cli(
            data_dir,
            "sources",
            "add",
            "Bench Court" if n == 1 else f"Bench Court {n}",
            "--kind",
            "court",
            "--id",
            sid,
            "--json",
            check=False,
        )
        if done.returncode == 0:
            credential = str(json.loads(done.stdout)["credential"])
            _keep(data_dir, f"source:{sid}", credential)
            return sid, credential
    raise SystemExit(f"could not register a bench court source: {done.stderr.strip()}")


# -- subjects from the ledger (read before the server starts) ----------------------------------


def ledger_subjects(data_dir: Path) -> dict[str, list[Any]]:
    """Persons of the current run, read-only from the DuckDB file (no server running):

    - ``denied``: persons with the travel restriction in force (any trigger);
    - ``allowed``: persons in the ledger without it;
    - ``removable``: (identifier, [listing documents]) of persons restricted from travel
      only as themselves (not through an organisation) by an active judicial_defaulters
      entry, all of whose active judicial_defaulters and consumption_restricted entries
      are of one document, so that the delisting and lifting of that case should end it.
    """
    import duckdb

    con = duckdb.connect(str(data_dir / "ledger.duckdb"), read_only=True)
    try:
        run = con.execute("SELECT run_id FROM eval_runs WHERE is_current").fetchone()
        if run is None:
            raise SystemExit(f"no current evaluation run in {data_dir}: run `xinyong evaluate`")
        run_id = int(run[0])
        denied = [
            r[0]
            for r in con.execute(
                """SELECT DISTINCT s.identifier FROM active_measures m
                   JOIN subjects s ON s.subject_key = m.subject_key
                   WHERE m.run_id = ? AND m.measure_id = ? AND s.kind = 'person'
                   ORDER BY 1""",
                [run_id, TRAVEL],
            ).fetchall()
        ]
        allowed = [
            r[0]
            for r in con.execute(
                """SELECT s.identifier FROM subjects s WHERE s.kind = 'person'
                   AND s.subject_key NOT IN (SELECT subject_key FROM active_measures
                                             WHERE run_id = ? AND measure_id = ?)
                   ORDER BY 1""",
                [run_id, TRAVEL],
            ).fetchall()
        ]
        removable = [
            (r[0], list(r[1]))
            for r in con.execute(
                """
                WITH e AS (
                    SELECT e.subject_key, e.list_id, r.document
                    FROM list_entries e
                    JOIN records r
                      ON r.event_id = CAST(split_part(e.entry_id, ':', 2) AS BIGINT)
                    WHERE e.run_id = ? AND e.status = 'active'
                      AND e.list_id IN ('judicial_defaulters', 'consumption_restricted')
                ), per AS (
                    SELECT subject_key,
                           count(*) FILTER (WHERE list_id = 'judicial_defaulters') AS jd,
                           list(DISTINCT document) AS docs
                    FROM e GROUP BY subject_key
                )
                SELECT s.identifier, per.docs FROM per
                JOIN subjects s ON s.subject_key = per.subject_key
                WHERE s.kind = 'person' AND per.jd >= 1 AND len(per.docs) = 1
                  AND per.docs[1] IS NOT NULL
                  AND per.subject_key NOT IN (
                      SELECT subject_key FROM active_measures
                      WHERE run_id = ? AND via_subject_key IS NOT NULL)
                ORDER BY 1
                """,
                [run_id, run_id],
            ).fetchall()
        ]
    finally:
        con.close()
    return {"denied": denied, "allowed": allowed, "removable": removable}


def subject_mix(subjects: dict[str, list[Any]], count: int, denied_share: float, seed: int) -> list:
    """``count`` identifiers, a ``denied_share`` of them restricted persons, shuffled."""
    import random

    rng = random.Random(seed)
    want_denied = round(count * denied_share)
    pool_d, pool_a = subjects["denied"], subjects["allowed"]
    if not pool_a or (want_denied and not pool_d):
        raise SystemExit("the ledger has too few persons for a subject mix")
    mix = [rng.choice(pool_d) for _ in range(want_denied)]
    mix += [rng.choice(pool_a) for _ in range(count - want_denied)]
    rng.shuffle(mix)
    return mix


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """A server in its own process group on 127.0.0.1, stopped (SIGINT, then SIGKILL to
    that group only) on exit."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name, self.argv, self.env, self.log = name, argv, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.log, "wb")
        self.proc = subprocess.Popen(
            self.argv, env=self.env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True
        )
        fh.close()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def pids(self) -> list[int]:
        """The server's process and its workers (same process group)."""
        assert self.proc is not None
        pgid = self.proc.pid
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as fh:
                        fields = fh.read().rsplit(")", 1)[1].split()
                    if int(fields[2]) == pgid:
                        found.append(int(entry))
                except (OSError, IndexError, ValueError):
                    pass
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's processes so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / tick
            except (OSError, IndexError, ValueError):
                pass
        return total

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # Workers left behind in the group, if any.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def wait_ready(self, url: str, timeout: float = 120, ok: Any = None) -> dict[str, Any]:
        """Poll ``url`` until it answers 200 (and ``ok(body)`` holds); the body as JSON."""
        import httpx

        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            try:
                r = httpx.get(url, timeout=2)
                if r.status_code == 200:
                    body = r.json()
                    if ok is None or ok(body):
                        return body  # type: ignore[no-any-return]
                last = f"{r.status_code} {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.1)
        raise SystemExit(f"{self.name} not ready after {timeout:.0f} s: {last}")


def serve_service(data_dir: Path, port: int, workers: int, log: Path) -> Server:
    argv = ["xinyong", "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    return Server(f"xinyong serve --workers {workers}", argv, env_for(data_dir), log)


def serve_hello(port: int, workers: int, log: Path) -> Server:
    argv = [sys.executable, str(HERE / "hello_asgi.py"), "--port", str(port)]
    argv += ["--workers", str(workers)]
    return Server(f"hello ASGI --workers {workers}", argv, dict(os.environ), log)


def wait_service(server: Server, port: int, workers: int) -> dict[str, Any]:
    """Until /v1/health is ok (on as many connections as workers, so each worker is up)."""
    url = f"http://{HOST}:{port}/v1/health"
    health = server.wait_ready(url, ok=lambda b: b.get("status") == "ok")
    for _ in range(4 * workers):
        server.wait_ready(url, ok=lambda b: b.get("status") == "ok")
    return health


# -- the access log -----------------------------------------------------------------------------


def access_log_lines(data_dir: Path) -> int:
    """Complete lines in every file of DATA_DIR/access-log/."""
    folder = data_dir / "access-log"
    total = 0
    if folder.exists():
        for path in folder.glob("*.jsonl"):
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    total += chunk.count(b"\n")
    return total


# -- reporting ----------------------------------------------------------------------------------


def revision() -> str:
    """The commit measured, and whether src/ differs from it (others edit it meanwhile)."""
    root = HERE.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown revision"
    return f"commit {head or '?'}" + (" with uncommitted changes in src/" if dirty else "")


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if len(ordered) < 2:
        v = ordered[0] if ordered else float("nan")
        return {"p50": v, "p95": v, "p99": v, "max": v}
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": ordered[-1]}


@contextlib.contextmanager
def timed(label: str) -> Iterator[None]:
    t = time.perf_counter()
    yield
    print(f"  {label}: {time.perf_counter() - t:.1f} s", flush=True)
