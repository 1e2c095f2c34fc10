"""What a public site needs: headers on every page, CSRF tokens on every form.

CSRF uses signed double submission: a random cookie (``xy_csrf``, HttpOnly, SameSite=Strict)
and a hidden form field holding the cookie's HMAC under the deployment's portal key. A
cross-site form can send the cookie but cannot read or compute the field. No page runs
JavaScript, so the Content-Security-Policy forbids every script.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xinyong.errors import Forbidden

CSRF_COOKIE = "xy_csrf"
CSRF_FIELD = "csrf"

POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"strict-transport-security", b"max-age=31536000"),
]
# The API keeps its own headers; everything else is the portal.
API_PREFIXES = ("/v1/", "/openapi.json", "/docs")


class SecurityHeaders:
    """Adds the portal's headers to every response outside the API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        private = scope["path"].startswith("/me")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] not in dict(HEADERS)]
                headers += HEADERS
                if private:  # a subject's own pages are never cached anywhere
                    headers = [h for h in headers if h[0] != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def portal_key(secret: bytes) -> bytes:
    """The key of the portal's cookies and tokens, derived from the deployment secret."""
    return hmac.new(secret, b"xinyong-portal", hashlib.sha256).digest()


def _sign(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def csrf_cookie(request: Request) -> tuple[str, bool]:
    """The request's CSRF cookie value, and whether it is new (to be set on the answer)."""
    value = request.cookies.get(CSRF_COOKIE, "")
    if len(value) == 43 and value.replace("-", "").replace("_", "").isalnum():
        return value, False
    return secrets.token_urlsafe(32), True


def csrf_token(key: bytes, cookie: str) -> str:
    return _sign(key, cookie)


def check_csrf(request: Request, key: bytes, form: Any) -> None:
    """Refuse a form post whose token does not match its cookie (or that has neither)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = form.get(CSRF_FIELD, "") if form is not None else ""
    if not cookie or not isinstance(sent, str) or not hmac.compare_digest(sent, _sign(key, cookie)):
        raise Forbidden(
            "This form has expired or did not come from this site. Reload the page and send "
            "it again.",
            code="csrf_failed",
        )
