"""Signing in and out, and choosing a password: the door to the subject's own area."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from xinyong import credentials
from xinyong.portal import me_pages, session
from xinyong.portal.file import identifier_of
from xinyong.portal.pages import portal, read_form, render, service
from xinyong.portal.signin import (
    THROTTLED,
    Authenticator,
    LetterOrPassword,
    Refused,
    SignedIn,
    Throttle,
    check_new_password,
)

AUTHENTICATOR: Authenticator = LetterOrPassword()
THROTTLE = Throttle(limit=30)  # attempts per client address per 15 minutes
MAX_FIELD = 200


def _next(value: object) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    text = value if isinstance(value, str) else ""
    parts = urlsplit(text)
    if text.startswith("/me") and not parts.netloc and not parts.scheme and "\\" not in text:
        return text
    return "/me"


def _field(form: object, name: str) -> str:
    value = form.get(name, "") if hasattr(form, "get") else ""
    return value.strip()[:MAX_FIELD] if isinstance(value, str) else ""


async def sign_in(request: Request) -> Response:
    if request.method == "GET":
        return render(request, "me/sign_in.html", {"next": _next(request.query_params.get("next"))})
    form = await read_form(request)
    identifier, secret = _field(form, "identifier").upper(), _field(form, "secret")
    target = _next(form.get("next"))
    client = request.client.host if request.client else "unknown"
    signed: SignedIn | Refused = Refused(THROTTLED, 429)
    if THROTTLE.allow(client):
        signed = await run_in_threadpool(
            AUTHENTICATOR.authenticate, service(request), identifier, secret
        )
    if isinstance(signed, Refused):
        return render(
            request,
            "me/sign_in.html",
            {"next": target, "error": signed.reason, "until": signed.until},
            status=signed.status,
        )
    state = portal(request)
    response = RedirectResponse(
        "/me/password?first=1" if signed.choose_password else target, status_code=303
    )
    session.start(
        response, state.key, session.Session(signed.subject_key, signed.fingerprint), state.secure
    )
    return response


async def sign_out(request: Request) -> Response:
    await read_form(request)
    response = RedirectResponse("/", status_code=303)
    session.end(response, portal(request).secure)
    return response


async def password(request: Request) -> Response:
    me = await me_pages.signed_in(request)
    if isinstance(me, Response):
        return me
    first = request.query_params.get("first") == "1"
    if request.method == "GET":
        return render(request, "me/password.html", {"first": first, "me": me})
    form = await read_form(request)
    new, again = str(form.get("password", ""))[:MAX_FIELD], str(form.get("repeat", ""))[:MAX_FIELD]
    identifier = await run_in_threadpool(identifier_of, service(request), me.subject_key)
    problem = check_new_password(new, again, identifier or "")
    if problem:
        return render(
            request, "me/password.html", {"first": first, "me": me, "error": problem}, status=422
        )
    svc = service(request)

    def store() -> str:
        with svc.store_lock, svc.ctx.store.transaction() as conn:
            credentials.set_password(conn, me.subject_key, new)
            return credentials.login(conn, me.subject_key).fingerprint

    fingerprint = await run_in_threadpool(store)
    state = portal(request)
    response = RedirectResponse("/me?password=set", status_code=303)
    # The new password ends every other session; this one carries on under it.
    session.start(response, state.key, session.Session(me.subject_key, fingerprint), state.secure)
    return response


ROUTES: list[BaseRoute] = [
    Route("/sign-in", sign_in, methods=["GET", "POST"]),
    Route("/sign-out", sign_out, methods=["POST"]),
    Route("/me/password", password, methods=["GET", "POST"]),
    *me_pages.ROUTES,
]
