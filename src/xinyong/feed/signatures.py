"""Webhook signatures (Standard Webhooks): the per-partner key and the signing of a body."""

from __future__ import annotations

import base64
import hashlib
import hmac


def webhook_secret(secret: bytes, partner_id: str) -> str:
    """The key a partner checks webhook signatures with. Derived from the deployment secret,
    so it is never stored and can be shown again by an administrator."""
    digest = hmac.new(secret, b"webhook:" + partner_id.encode(), hashlib.sha256).digest()
    return "whsec_" + base64.b64encode(digest).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Standard Webhooks signature: base64 HMAC-SHA256 of ``id.timestamp.body``."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
