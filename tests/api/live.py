"""Real parts for the HTTP tests: the `xinyong` command, the service started with
`xinyong serve` as its own process group, and a webhook receiver on loopback.

Nothing here is a mock: the server is granian running the app factory, the receiver is
an HTTP server in a thread, and every change comes in through `xinyong ingest`.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import person
from xinyong.clock import today

HOST = "127.0.0.1"
DEMO_ARGS = ("--persons", "300", "--orgs", "30", "--agencies", "3")
FLIGHT = "flight.ticket.purchase"
PROBLEM = "application/problem+json"
# Valid, and in no record of the demo city (a Shenzhen region; the city is in Beijing).
UNKNOWN = person(random.Random(20260101), year=1996, region="440305")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for(probe: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``probe`` until it returns something truthy; fail saying ``what`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# -- the command line -----------------------------------------------------------------------


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(XINYONG_DATA_DIR=str(data_dir), COLUMNS="200", **extra)
    return env


def cli(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["xinyong", *args], env=cli_env(data_dir), capture_output=True, text=True, timeout=300
    )
    if check:
        assert proc.returncode == 0, f"xinyong {' '.join(args)} failed:\n{proc.stderr}{proc.stdout}"
    return proc


def cli_json(data_dir: Path, *args: str) -> Any:
    return json.loads(cli(data_dir, *args, "--json").stdout)


def add_partner(
    data_dir: Path,
    partner_id: str,
    kind: str,
    purpose: str,
    *extra: str,
) -> dict[str, Any]:
    """Register a partner with the command line; its JSON, credential included."""
    return cli_json(
        data_dir,
        "partners",
        "add",
        f"Partner {partner_id}",
        "--id",
        partner_id,
        "--kind",
        kind,
        "--purpose",
        purpose,
        *extra,
    )


# -- the demo city ----------------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    """A small demo city: its data directory (a template, copied before use), the listed
    person it names, and the court document of that person's listing."""

    template: Path
    listed: str
    document: str

    def copy(self, target: Path) -> Path:
        shutil.copytree(self.template, target)
        return target


_CITY: City | None = None


def demo_city(tmp_path_factory: pytest.TempPathFactory) -> City:
    """Build the demo city once per test session; tests copy its data directory."""
    global _CITY
    if _CITY is None:
        template = tmp_path_factory.mktemp("demo-city") / "data"
        summary = cli_json(template, "demo", *DEMO_ARGS, "--no-serve")
        listed = summary["example_subject"]
        assert listed, "the demo city names no listed person"
        shown = cli_json(template, "subject", "show", listed)
        documents = [
            r["document"]
            for r in shown["current_records"]
            if r["category"] == "judicial.defaulter.listed"
        ]
        assert documents and documents[0], "the listed person has no listing document"
        _CITY = City(template, listed, documents[0])
    return _CITY


def delisting(city: City, folder: Path, tag: str = "del") -> Path:
    """The court's JSON Lines file that delists the city's listed person (the obligation
    was performed): defaulter delisted and consumption restriction lifted."""
    common = {
        "subject": city.listed,
        "occurred_on": today().isoformat(),
        "document": city.document,
        "details": {"reason": "performed"},
    }
    rows = [
        {"source_record_id": f"{tag}-1", "category": "judicial.defaulter.delisted", **common},
        {
            "source_record_id": f"{tag}-2",
            "category": "judicial.consumption_restriction.lifted",
            **common,
        },
    ]
    path = folder / f"{tag}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def listing(subject: str, folder: Path, tag: str) -> Path:
    """The court's file that puts ``subject`` on the defaulter list today."""
    row = {
        "source_record_id": f"{tag}-listed",
        "subject": subject,
        "category": "judicial.defaulter.listed",
        "occurred_on": (today() - dt.timedelta(days=3)).isoformat(),
        "document": f"(2026)京0105执{tag}号",
        "details": {"situation": 2, "term_months": 24},
    }
    path = folder / f"{tag}.jsonl"
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n")
    return path


# -- the service --------------------------------------------------------------------------------


class Server:
    """`xinyong serve` in its own process group (granian forks its workers)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        nats_url: str | None = None,
        workers: int = 1,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.env = env or {}
        self.nats_url = nats_url
        self.workers = workers
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 90) -> Server:
        assert self.proc is None, "already running"
        self.port = free_port()
        extra = {"XINYONG_NATS_URL": self.nats_url} if self.nats_url else {}
        extra.update(self.env)
        log_path = self.data_dir.parent / f"serve-{len(self.logs)}.log"
        self.logs.append(log_path)
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    "xinyong",
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=cli_env(self.data_dir, **extra),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: workers go down with it
            )
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=5, trust_env=False) as client:
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError(f"xinyong serve exited early:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/v1/health").status_code == 200:
                        return self
                if time.monotonic() > deadline:
                    self.kill()
                    raise AssertionError(
                        f"xinyong serve did not answer within {timeout} s:\n{self.log_tail()}"
                    )
                time.sleep(0.1)

    def log_tail(self, lines: int = 60) -> str:
        if not self.logs or not self.logs[-1].exists():
            return ""
        return "\n".join(self.logs[-1].read_text(errors="replace").splitlines()[-lines:])

    def _signal_group(self, sig: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(timeout)
        self._signal_group(signal.SIGKILL)  # a worker that outlived its parent
        self.proc = None

    def kill(self) -> None:
        """SIGKILL the whole group at once: a crash, with no chance to clean up."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        self.proc.wait(20)
        self.proc = None

    def client(self, credential: str | None = None, timeout: float = 60) -> httpx.Client:
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=timeout, trust_env=False)


@contextlib.contextmanager
def serving(data_dir: Path, **options: Any) -> Iterator[Server]:
    server = Server(data_dir, **options).start()
    try:
        yield server
    finally:
        server.stop()


# -- problem documents --------------------------------------------------------------------------


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem document with this status and code; returns the body."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0].strip() == PROBLEM, response.headers
    body = response.json()
    for member in ("type", "title", "status", "detail", "code"):
        assert member in body, (member, body)
    assert body["status"] == status
    assert body["code"] == code, body
    assert isinstance(body["type"], str) and body["type"]
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body  # type: ignore[no-any-return]


# -- the webhook receiver -----------------------------------------------------------------------


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    answered: int
    received_at: float

    @property
    def events(self) -> list[dict[str, Any]]:
        return json.loads(self.body)  # type: ignore[no-any-return]


def verify_signature(secret: str, delivery: Delivery, tolerance: float = 300) -> bool:
    """Standard Webhooks: v1 = base64 HMAC-SHA256(key, f"{id}.{timestamp}." + body), the key
    being the base64 after ``whsec_``; the timestamp within ``tolerance`` of now."""
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    message_id = delivery.headers["webhook-id"]
    stamp = delivery.headers["webhook-timestamp"]
    if abs(int(stamp) - delivery.received_at) > tolerance:
        return False
    expected = base64.b64encode(
        hmac.new(key, f"{message_id}.{stamp}.".encode() + delivery.body, hashlib.sha256).digest()
    ).decode()
    offered = [
        part.split(",", 1)[1]
        for part in delivery.headers["webhook-signature"].split()
        if part.startswith("v1,")
    ]
    return any(hmac.compare_digest(expected, sig) for sig in offered)


@dataclass
class Receiver:
    """A webhook endpoint on loopback that records every POST and answers ``status``."""

    port: int = field(default_factory=free_port)
    status: int = 200
    deliveries: list[Delivery] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    status = receiver.status
                    receiver.deliveries.append(
                        Delivery(
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            status,
                            time.time(),
                        )
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def snapshot(self) -> list[Delivery]:
        with self._lock:
            return list(self.deliveries)

    def acknowledged_events(self) -> list[dict[str, Any]]:
        return [e for d in self.snapshot() if 200 <= d.answered < 300 for e in d.events]


def feed(client: httpx.Client, after: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Every event of the partner's feed after ``after`` (long-poll pages, no waiting)."""
    events: list[dict[str, Any]] = []
    while True:
        page = client.get("/v1/changes", params={"after": after, "limit": 1000})
        assert page.status_code == 200, page.text
        body = page.json()
        events.extend(body["events"])
        if body["cursor"] == after:
            return events, after
        after = body["cursor"]
