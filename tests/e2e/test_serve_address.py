"""`xinyong serve` refuses an address it cannot listen on, with one clear message and exit
2, before it says it is serving: a port another server holds (even one that would share it,
as a second granian does with SO_REUSEPORT), a port out of range, a host of another machine."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

HOST = "127.0.0.1"


def _serve(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(XINYONG_DATA_DIR=str(data), COLUMNS="200")
    return subprocess.run(
        ["xinyong", "serve", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_a_port_in_use_is_refused_before_serving(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as granian binds
        held.bind((HOST, 0))
        held.listen()
        port = held.getsockname()[1]
        done = _serve(tmp_path / "data", "--host", HOST, "--port", str(port))
    assert done.returncode == 2, done.stderr
    assert "already in use" in done.stderr
    assert "Serving on" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--port", "70000"), "65535"),
        (("--host", "192.0.2.1", "--port", "8000"), "Cannot listen"),  # TEST-NET-1: not ours
        (("--host", "no-such-host.invalid", "--port", "8000"), "Cannot listen"),
    ],
)
def test_an_address_that_cannot_be_used_is_one_message(
    tmp_path: Path, args: tuple[str, ...], says: str
) -> None:
    done = _serve(tmp_path / "data", *args)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr
    assert "Traceback" not in done.stderr and "Serving on" not in done.stderr
