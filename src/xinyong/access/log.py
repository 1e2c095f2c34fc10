"""The access log: every decision about a subject and every look-up of its file.

Entries are JSON lines in ``DATA_DIR/access-log/``, one file per writing process, so that
the service's workers and the command line never wait on each other or on the store. An
entry is on disk (``fdatasync``) before the answer it records is sent: the service's
``Journal`` commits the entries of all requests in flight together (group commit), so the
cost of one sync is shared. Entries hold the subject's key, never its identifier.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from xinyong.clock import utcnow

FOLDER = "access-log"


def log_dir(data_dir: Path | str) -> Path:
    path = Path(data_dir) / FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def entry(
    subject_key: str,
    kind: str,
    who: str,
    *,
    action: str | None = None,
    purpose: str | None = None,
    outcome: str | None = None,
    decision_id: str | None = None,
    channel: str = "api",
) -> dict[str, Any]:
    """One access: ``kind`` is decision, lookup or access-log; ``who`` a partner id,
    ``cli`` or ``subject``."""
    return {
        "at": utcnow().isoformat(timespec="microseconds") + "Z",
        "subject_key": subject_key,
        "kind": kind,
        "who": who,
        "action": action,
        "purpose": purpose,
        "outcome": outcome,
        "decision_id": decision_id,
        "channel": channel,
    }


def encode(entries: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(e) + b"\n" for e in entries)


def _file_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{time.time_ns()}.jsonl"


def append(data_dir: Path | str, entries: list[dict[str, Any]]) -> None:
    """Write entries durably from a one-shot process (the command line)."""
    fd = os.open(log_dir(data_dir) / _file_name(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, encode(entries))
        os.fdatasync(fd)
    finally:
        os.close(fd)


def read(data_dir: Path | str, subject_key: str) -> list[dict[str, Any]]:
    """Every access to the subject, oldest first."""
    needle = subject_key.encode()
    found = [orjson.loads(line) for line in _lines(log_dir(data_dir)) if needle in line]
    # A key could appear inside another field only by coincidence of 128 bits; check anyway.
    return sorted((e for e in found if e.get("subject_key") == subject_key), key=lambda e: e["at"])


def _lines(folder: Path) -> Iterator[bytes]:
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, "rb") as fh:
            for line in fh:
                if line.endswith(b"\n"):  # a torn last line was never acknowledged
                    yield line


class Journal:
    """The service's writer: callers await until their entries are synced to disk."""

    def __init__(self, data_dir: Path | str) -> None:
        self.path = log_dir(data_dir) / _file_name()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._pending: list[tuple[bytes, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._cond = threading.Condition()
        self._closed = False
        self.commits = 0
        self._thread = threading.Thread(target=self._run, name="access-log", daemon=True)
        self._thread.start()

    async def write(self, entries: list[dict[str, Any]]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the access log is closed")
            self._pending.append((encode(entries), loop, done))
            self._cond.notify()
        await done

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                batch, self._pending = self._pending, []
                if not batch and self._closed:
                    return
            error: BaseException | None = None
            try:
                os.write(self._fd, b"".join(data for data, _, _ in batch))
                os.fdatasync(self._fd)
                self.commits += 1
            except OSError as exc:  # the answer must not leave unlogged
                error = exc
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for _, loop, fut in batch:
                by_loop.setdefault(loop, []).append(fut)
            for loop, futures in by_loop.items():
                loop.call_soon_threadsafe(_settle, futures, error)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=5)
        os.close(self._fd)


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for fut in futures:
        if fut.done():
            continue
        if error is None:
            fut.set_result(None)
        else:
            fut.set_exception(error)
