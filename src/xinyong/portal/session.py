"""The signed-in subject's session: a signed, time-limited cookie naming the subject's
pseudonymous key (never its identifier) and a fingerprint of its sign-in secret, so that a
new password or a revoked credential ends every older session."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "xy_session"
MAX_AGE = 2 * 3600  # seconds: a session ends two hours after sign-in


@dataclass(frozen=True)
class Session:
    subject_key: str
    fingerprint: str


def _serializer(key: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt="xinyong-portal-session")


def read(request: Request, key: bytes) -> Session | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(key).loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("k"), str):
        return None
    return Session(data["k"], str(data.get("f", "")))


def start(response: Response, key: bytes, session: Session, secure: bool) -> None:
    token = _serializer(key).dumps({"k": session.subject_key, "f": session.fingerprint})
    response.set_cookie(
        COOKIE, token, max_age=MAX_AGE, httponly=True, secure=secure, samesite="lax", path="/"
    )


def end(response: Response, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, secure=secure, samesite="lax")
