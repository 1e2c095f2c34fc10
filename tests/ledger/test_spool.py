"""A killed ingestion's spool (raw records, identifiers included) is removed by the next
one, however early it was killed: even right after it made its directory."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from xinyong.ledger.spool import Spool, clean_stale


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_the_spool_of_a_process_that_is_gone_is_removed(tmp_path: Path) -> None:
    root = tmp_path / "spool"
    killed_early = root / f"sub_0123456789abcdef0123.{_dead_pid()}"  # killed after mkdir
    killed_early.mkdir(parents=True)
    (killed_early / "staged-00000.parquet").write_bytes(b"raw records")
    mine = Spool(tmp_path)  # cleans as it starts
    assert not killed_early.exists()
    assert mine.dir.exists() and mine.dir.name.endswith(f".{os.getpid()}")


def test_a_live_owner_keeps_its_spool_and_an_ownerless_one_goes_after_an_hour(
    tmp_path: Path,
) -> None:
    root = tmp_path / "spool"
    live = root / f"sub_live.{os.getpid()}"
    legacy_fresh = root / "sub_legacy_fresh"  # an earlier layout, killed before its pid file
    legacy_old = root / "sub_legacy_old"
    for d in (live, legacy_fresh, legacy_old):
        d.mkdir(parents=True)
    hour_ago = time.time() - 3700
    os.utime(legacy_old, (hour_ago, hour_ago))
    clean_stale(root)
    assert live.exists() and legacy_fresh.exists() and not legacy_old.exists()
