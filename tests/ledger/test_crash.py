"""Crash safety with a real killed process: `xinyong ingest` is sent SIGKILL at moments
spread over its whole run (reading, validating, spooling, merging). Afterwards the
ledger holds either none or all of the file's records, the audit log verifies, and a
re-run completes the job with every record exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import person, record, write_jsonl
from xinyong.audit import verify_chain, verify_records
from xinyong.context import Context
from xinyong.ledger.sources import add_source
from xinyong.settings import load_settings

RECORDS = 20_000


def _env(data_dir: Path, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(
        XINYONG_DATA_DIR=str(data_dir), XINYONG_SECRET="crash-secret", XINYONG_BATCH_ROWS="5000"
    )
    if url:
        env["XINYONG_DATABASE_URL"] = url
    return env


def _context(data_dir: Path, url: str | None) -> Context:
    return Context(load_settings(data_dir=data_dir, database_url=url, secret="crash-secret"))


def _start(path: Path, data_dir: Path, url: str | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "xinyong.cli.main",
            "ingest",
            str(path),
            "--source",
            "court",
            "--json",
        ],
        env=_env(data_dir, url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _state(ctx: Context) -> tuple[int, int, bool]:
    with ctx.store.transaction() as conn:
        records = int(conn.scalar("SELECT count(*) FROM records"))
        distinct = int(conn.scalar("SELECT count(DISTINCT source_record_id) FROM records"))
        _, chain = verify_chain(conn)
        _, stored = verify_records(conn, ctx.store)
    return records, distinct, not chain and not stored


def _fresh(tmp_path: Path, name: str, url: str | None, reset_pg: object) -> tuple[Path, Context]:
    if url:
        reset_pg()  # type: ignore[operator]
    data_dir = tmp_path / name
    ctx = _context(data_dir, url)
    with ctx.store.transaction() as conn:
        add_source(conn, ctx.catalog, name="Court", kind="court", source_id="court")
    return data_dir, ctx


@pytest.mark.slow
def test_killed_ingest_leaves_all_or_nothing_and_rerun_completes(
    store_kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue("pg_server") if store_kind == "postgres" else None

    def reset_pg() -> None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as con:
            con.execute("DROP SCHEMA public CASCADE")
            con.execute("CREATE SCHEMA public")

    import random

    rng = random.Random(7)
    people = [person(rng) for _ in range(1_000)]
    rows = [
        # Each record its own case, as a court's are.
        record(source_record_id=f"r{i}", subject=people[i % len(people)], document=f"D{i}")
        for i in range(RECORDS)
    ]
    path = write_jsonl(tmp_path / "court.jsonl", rows)

    # How long a whole run takes here, so that kill moments cover every phase. The faster
    # of two runs: the first can be slowed by cold caches, and a too-long estimate would
    # put the late kills after the run had finished.
    timings = []
    for attempt in range(2):
        data_dir, ctx = _fresh(tmp_path, f"timing{attempt}", url, reset_pg)
        started = time.monotonic()
        done = _start(path, data_dir, url)
        assert done.wait(timeout=300) == 0, done.stderr.read() if done.stderr else ""
        timings.append(time.monotonic() - started)
        assert _state(ctx) == (RECORDS, RECORDS, True)
    full = min(timings)

    outcomes = []
    # Spread over the run, weighted early: a run under load can finish sooner than the
    # timing runs did, and a kill after the end interrupts nothing.
    for n, fraction in enumerate((0.2, 0.35, 0.5, 0.65, 0.8, 0.95)):
        data_dir, ctx = _fresh(tmp_path, f"trial{n}", url, reset_pg)
        proc = _start(path, data_dir, url)
        time.sleep(full * fraction)
        killed = proc.poll() is None
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        records, _distinct, intact = _state(ctx)
        assert intact, f"audit verify failed after a kill at {fraction:.0%} of the run"
        assert records in (0, RECORDS), (
            f"half a batch visible after a kill at {fraction:.0%}: {records}"
        )
        outcomes.append((killed, records))

        rerun = _start(path, data_dir, url)
        assert rerun.wait(timeout=300) == 0
        assert _state(ctx) == (RECORDS, RECORDS, True)
        spool = data_dir / "spool"
        assert not any(spool.iterdir()), "the killed run's spool was not cleaned up"

    # The kills must really have interrupted runs, before and after the data was validated.
    assert sum(1 for killed, _ in outcomes if killed) >= 4, outcomes
    assert any(killed and records == 0 for killed, records in outcomes), outcomes
