"""Delivering notices to the subject alone: the file outbox, e-mail through a real SMTP server
(aiosmtpd on loopback), and an HTTP SMS gateway (a real local HTTP server) that fails before
it succeeds; retries, failures and subjects without an address are kept and reported."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller

from tests.api.live import free_port
from xinyong.clock import utcnow
from xinyong.context import Context
from xinyong.errors import ConfigurationError, RequestInvalid
from xinyong.process import channels, notices
from xinyong.settings import load_settings

KEY = "a" * 32
OTHER = "b" * 32


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


class Gateway(BaseHTTPRequestHandler):
    fail_first = 0
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        cls = type(self)
        if cls.fail_first > 0:
            cls.fail_first -= 1
            self.send_response(503)
        else:
            cls.received.append(body)
            self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Gateway.fail_first, Gateway.received = 2, []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()


def _context(data_dir: Path, **settings: Any) -> Context:
    return Context(load_settings(data_dir=data_dir, secret="channels", **settings))


def _notice(ctx: Context, key: str, tag: str) -> None:
    with ctx.store.transaction() as conn:
        notices.add(
            conn,
            key,
            "record_received",
            {"source": "city-rental", "record": tag, "category": "Breach", "day": "2026-12-01"},
            dedupe_key=f"test:{tag}",
            on=dt.date(2026, 12, 1),
        )


def test_every_channel_delivers_to_the_subject_alone(
    tmp_path: Path, smtp: tuple[int, Inbox], gateway: str
) -> None:
    port, inbox = smtp
    ctx = _context(
        tmp_path,
        notice_channels="file,email,sms",
        smtp_url=f"smtp://127.0.0.1:{port}",
        sms_url=gateway,
        notice_attempts=3,
    )
    with ctx.store.transaction() as conn:
        channels.set_contact(conn, KEY, email="wang@example.cn", phone="+86 13800000000")
    _notice(ctx, KEY, "B1")
    _notice(ctx, OTHER, "B2")  # gave no address: the file outbox only

    first = channels.deliver(ctx)
    assert first.by_channel["file"] == {"delivered": 2}
    assert first.by_channel["email"] == {"delivered": 1, "no_address": 1}
    assert first.by_channel["sms"] == {"pending": 1, "no_address": 1}  # the gateway said 503
    [mail] = inbox.messages
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert mail.rcpt_tos == ["wang@example.cn"] and message["To"] == "wang@example.cn"
    assert "B1" in message.get_content() and "关于您的新记录" in message["Subject"]
    outbox = sorted((tmp_path / "notices" / "outbox").iterdir())
    assert len(outbox) == 2 and all(p.stat().st_mode & 0o077 == 0 for p in outbox)

    # Not due yet: nothing is retried early.
    assert channels.deliver(ctx).attempted == 0
    later = utcnow() + dt.timedelta(hours=1)
    assert channels.deliver(ctx, later).by_channel["sms"] == {"pending": 1}  # 503 again
    assert channels.deliver(ctx, later + dt.timedelta(hours=1)).delivered == 1
    assert [r["to"] for r in Gateway.received] == ["+8613800000000"]
    with ctx.store.transaction() as conn:
        listed = {n["notice_id"]: n["delivery"] for n in notices.listing(conn)}
    assert sorted(listed.values(), key=len)[-1] == {
        "email": "delivered",
        "file": "delivered",
        "sms": "delivered",
    }


def test_a_channel_that_keeps_failing_is_reported_failed(tmp_path: Path) -> None:
    ctx = _context(
        tmp_path, notice_channels="sms", sms_url=f"http://127.0.0.1:{free_port()}/", notice_attempts=2
    )
    with ctx.store.transaction() as conn:
        channels.set_contact(conn, KEY, email=None, phone="13800000000")
    _notice(ctx, KEY, "B1")
    when = utcnow()
    assert channels.deliver(ctx, when).retrying == 1
    report = channels.deliver(ctx, when + dt.timedelta(days=1))
    assert report.failed == 1
    with ctx.store.transaction() as conn:
        error = conn.scalar("SELECT last_error FROM notice_deliveries")
    assert "ConnectError" in error


def test_bad_settings_and_addresses_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SMTP"):
        channels.deliver(_context(tmp_path, notice_channels="email"))
    with pytest.raises(ConfigurationError, match="carrier-pigeon"):
        channels.deliver(_context(tmp_path, notice_channels="file,carrier-pigeon"))
    ctx = _context(tmp_path)
    with ctx.store.transaction() as conn, pytest.raises(RequestInvalid):
        channels.set_contact(conn, KEY, email="not an address", phone=None)
