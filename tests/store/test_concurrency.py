"""Several processes on one embedded data directory: ingests run side by side with a
reader that keeps looking things up (as `xinyong serve` will), and none fails."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import PERSON, person, record, write_jsonl
from xinyong.context import Context
from xinyong.ledger.sources import add_source
from xinyong.settings import load_settings

READER = """
import sys, time
from pathlib import Path
from xinyong.context import Context
from xinyong.ledger.queries import subject_file
from xinyong.settings import load_settings
ctx = Context(load_settings(data_dir=Path(sys.argv[1]), secret="conc"))
secret = ctx.secret
waits = []
deadline = time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    t = time.monotonic()
    with ctx.store.transaction() as conn:
        subject_file(conn, sys.argv[3], secret)
    waits.append(time.monotonic() - t)
    time.sleep(0.02)
waits.sort()
print(len(waits), waits[len(waits) // 2], waits[-1])
"""


@pytest.mark.slow
def test_ingests_and_a_reader_share_the_embedded_store(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ctx = Context(load_settings(data_dir=data_dir, secret="conc"))
    with ctx.store.transaction() as conn:
        for n in range(3):
            add_source(conn, ctx.catalog, name=f"Court {n}", kind="court", source_id=f"court{n}")
    rng = random.Random(3)
    files = []
    for n in range(3):
        rows = [
            record(source_record_id=f"{n}-{i}", subject=person(rng), document=f"D{n}-{i}")
            for i in range(15_000)
        ]
        rows.append(record(source_record_id=f"{n}-me", subject=PERSON, document=f"D{n}-me"))
        files.append(write_jsonl(tmp_path / f"court{n}.jsonl", rows))

    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(XINYONG_DATA_DIR=str(data_dir), XINYONG_SECRET="conc", XINYONG_BATCH_ROWS="4000")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(data_dir), "12", PERSON],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)
    ingests = [
        subprocess.Popen(
            [sys.executable, "-m", "xinyong.cli.main", "ingest", str(f), "--source", f"court{n}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n, f in enumerate(files)
    ]
    for proc in ingests:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    lookups, _median_wait, worst_wait = out.split()
    assert int(lookups) > 50
    # The reader never failed; it waited at most for one merge to finish.
    assert float(worst_wait) < 30

    with ctx.store.transaction() as conn:
        assert conn.scalar("SELECT count(*) FROM records") == 3 * 15_001
        assert conn.scalar("SELECT count(DISTINCT event_id) FROM records") == 3 * 15_001
        assert conn.scalar("SELECT max(event_id) FROM records") == 3 * 15_001
        assert conn.scalar("SELECT count(*) FROM submissions") == 3
