"""Delivering notices: a file outbox (default), e-mail over SMTP, and an HTTP SMS gateway.

Each notice gets one delivery per configured channel. A delivery is retried with growing
waits until it succeeds or runs out of attempts (then it is reported as failed); a channel
that needs an address the subject did not give is recorded as ``no_address``. Notices go to
the subject's own address only: there is no field for anyone else's.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import smtplib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from xinyong.clock import utcnow
from xinyong.context import Context
from xinyong.errors import ConfigurationError, DeliveryFailed, RequestInvalid
from xinyong.sql import literal_list
from xinyong.store.base import Connection

CHANNELS = ("file", "email", "sms")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")


@dataclass
class DeliveryReport:
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    retrying: int = 0
    by_channel: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempted": self.attempted,
            "delivered": self.delivered,
            "failed": self.failed,
            "retrying": self.retrying,
            "by_channel": self.by_channel,
        }


def channels(ctx: Context) -> list[str]:
    chosen = [c.strip() for c in ctx.settings.notice_channels.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in CHANNELS]
    if unknown:
        raise ConfigurationError(
            f"XINYONG_NOTICE_CHANNELS names {', '.join(unknown)}.",
            hint="Use file, email and sms, comma-separated.",
        )
    if "email" in chosen and not ctx.settings.smtp_url:
        raise ConfigurationError("Notices by e-mail need XINYONG_SMTP_URL (smtp://host:port).")
    if "sms" in chosen and not ctx.settings.sms_url:
        raise ConfigurationError("Notices by SMS need XINYONG_SMS_URL (the gateway's URL).")
    return chosen


# -- the subject's address -----------------------------------------------------------------


def set_contact(
    conn: Connection, subject_key: str, *, email: str | None, phone: str | None
) -> dict[str, str | None]:
    """Where the subject's notices go (only the subject's own; replaced as a whole)."""
    if email is not None and email and not _EMAIL.match(email):
        raise RequestInvalid(f"{email!r} is not an e-mail address.", code="contact_invalid")
    if phone is not None and phone and not _PHONE.match(phone.replace(" ", "")):
        raise RequestInvalid(
            f"{phone!r} is not a phone number (digits, optionally with a leading +).",
            code="contact_invalid",
        )
    email = email or None
    phone = phone.replace(" ", "") if phone else None
    conn.execute("DELETE FROM subject_contacts WHERE subject_key = ?", [subject_key])
    if email or phone:
        conn.execute(
            "INSERT INTO subject_contacts (subject_key, email, phone, updated_at)"
            " VALUES (?, ?, ?, ?)",
            [subject_key, email, phone, utcnow()],
        )
    return {"email": email, "phone": phone}


# -- delivering ---------------------------------------------------------------------------


def deliver(
    ctx: Context,
    now: dt.datetime | None = None,
    guard: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> DeliveryReport:
    """Deliver what is due on every configured channel; safe to run at any time.
    ``guard`` is held around each use of the store (the service's store lock), not while
    sending."""
    chosen = channels(ctx)
    now = now or utcnow()
    report = DeliveryReport()
    with guard(), ctx.store.transaction() as conn:
        ctx.store.lock_for_merge(conn)
        for channel in chosen:  # every notice gets one delivery per channel
            conn.execute(
                "INSERT INTO notice_deliveries (notice_id, channel, status, attempts,"
                " next_attempt_at) SELECT n.notice_id, ?, 'pending', 0, ? FROM notices n"
                " WHERE NOT EXISTS (SELECT 1 FROM notice_deliveries d"
                " WHERE d.notice_id = n.notice_id AND d.channel = ?)",
                [channel, now, channel],
            )
    after = 0
    while (after := _deliver_batch(ctx, chosen, now, report, guard, after)) >= 0:
        pass
    return report


def _deliver_batch(
    ctx: Context,
    chosen: list[str],
    now: dt.datetime,
    report: DeliveryReport,
    guard: Callable[[], AbstractContextManager[Any]],
    after: int,
    size: int = 5000,
) -> int:
    """Deliver up to ``size`` due deliveries of notices after ``after``; returns the last
    notice id handled, or -1 when none was due."""
    with guard(), ctx.store.transaction() as conn:
        due = conn.dicts(
            "SELECT d.notice_id, d.channel, d.attempts, n.subject_key, n.kind, n.body,"
            " c.email, c.phone FROM notice_deliveries d JOIN notices n ON n.notice_id = d.notice_id"
            " LEFT JOIN subject_contacts c ON c.subject_key = n.subject_key"
            " WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND d.notice_id > ?"
            f" AND d.channel IN {literal_list(chosen)} ORDER BY d.notice_id LIMIT ?",
            [now, after, size],
        )
    if not due:
        return -1
    outcomes: list[tuple[dict[str, Any], str, str | None]] = []
    for row in due:
        status, error = _send(ctx, row)
        outcomes.append((row, status, error))
    if any(row["channel"] == "file" for row, _, _ in outcomes):
        os.sync()  # the outbox files of the batch are on disk before they count as delivered
    # One UPDATE per (channel, outcome, attempts, error), not one per notice.
    groups: dict[tuple[str, str, int, str | None], list[int]] = {}
    for row, status, error in outcomes:
        attempts = int(row["attempts"]) + (status != "no_address")
        if status == "error":
            status = "failed" if attempts >= ctx.settings.notice_attempts else "pending"
        groups.setdefault((row["channel"], status, attempts, error), []).append(row["notice_id"])
    with guard(), ctx.store.transaction() as conn:
        for (channel, status, attempts, error), ids in groups.items():
            wait = dt.timedelta(minutes=2 ** min(attempts, 10))
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                conn.execute(
                    "UPDATE notice_deliveries SET status = ?, attempts = ?, last_error = ?,"
                    " next_attempt_at = ?, delivered_at = ? WHERE channel = ? AND notice_id IN"
                    f" ({', '.join('?' for _ in chunk)})",
                    [
                        status,
                        attempts,
                        error,
                        now + wait if status == "pending" else None,
                        now if status == "delivered" else None,
                        channel,
                        *chunk,
                    ],
                )
            per_channel = report.by_channel.setdefault(channel, {})
            per_channel[status] = per_channel.get(status, 0) + len(ids)
            report.attempted += len(ids) if status != "no_address" else 0
            report.delivered += len(ids) if status == "delivered" else 0
            report.failed += len(ids) if status == "failed" else 0
            report.retrying += len(ids) if status == "pending" else 0
    return int(due[-1]["notice_id"])


def _send(ctx: Context, row: dict[str, Any]) -> tuple[str, str | None]:
    """(delivered | no_address | error, the error) for one delivery."""
    body = orjson.loads(row["body"])
    try:
        if row["channel"] == "file":
            _to_file(Path(ctx.settings.data_dir), row["notice_id"], body)
        elif row["channel"] == "email":
            if not row["email"]:
                return "no_address", None
            _to_email(ctx, row["email"], row["notice_id"], body)
        else:
            if not row["phone"]:
                return "no_address", None
            _to_sms(ctx, row["phone"], row["notice_id"], body)
    except (OSError, smtplib.SMTPException, httpx.HTTPError, DeliveryFailed) as exc:
        return "error", f"{type(exc).__name__}: {exc}"[:500]
    return "delivered", None


def _to_file(data_dir: Path, notice_id: int, body: dict[str, Any]) -> None:
    folder = data_dir / "notices" / "outbox"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = folder / f"{notice_id:012d}.json"
    tmp = target.with_suffix(".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, orjson.dumps({"notice_id": notice_id, **body}, option=orjson.OPT_INDENT_2))
    finally:
        os.close(fd)
    os.replace(tmp, target)  # synced with its batch


def _text(body: dict[str, Any]) -> str:
    parts = [body["text"]["zh"], "", body["text"]["en"]]
    for key in ("legal_basis", "remedy"):
        if body.get(key):
            parts += ["", f"{key.replace('_', ' ').capitalize()}: {body[key]}"]
    if body.get("how_to_object"):
        parts += ["", body["how_to_object"]["zh"], body["how_to_object"]["en"]]
    return "\n".join(parts)


def _to_email(ctx: Context, to: str, notice_id: int, body: dict[str, Any]) -> None:
    url = urlsplit(ctx.settings.smtp_url or "")
    message = EmailMessage()
    message["From"] = ctx.settings.smtp_from
    message["To"] = to
    message["Subject"] = f"{body['title']['zh']} / {body['title']['en']}"
    message["Message-ID"] = f"<notice-{notice_id}@xinyong>"
    message.set_content(_text(body))
    cls = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    with cls(url.hostname or "127.0.0.1", url.port or 25, timeout=10) as smtp:
        if url.username:
            smtp.login(url.username, url.password or "")
        smtp.send_message(message)


def _to_sms(ctx: Context, to: str, notice_id: int, body: dict[str, Any]) -> None:
    text = f"{body['title']['zh']} {body['text']['zh']}"[:600]
    with httpx.Client(timeout=10, trust_env=False) as client:
        response = client.post(
            ctx.settings.sms_url or "", json={"to": to, "text": text, "id": f"notice-{notice_id}"}
        )
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"the gateway answered {response.status_code}")
