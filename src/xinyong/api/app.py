"""The ASGI app: routes, authentication and error rendering. Logic lives in the parts
(decisions, feed, ledger, access); this module only translates HTTP to calls and back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from xinyong.access import log as access_log
from xinyong.access.partners import Partner
from xinyong.api import openapi, public, report, subjects, transparency
from xinyong.api.background import Maintainer
from xinyong.api.problems import MEDIA_TYPE, render, type_page, unauthorized
from xinyong.api.schemas import (
    check_decision,
    load_json,
    parse_batch,
    parse_decision,
    parse_records,
)
from xinyong.context import Context, settings_or_explain
from xinyong.decisions.service import Service
from xinyong.errors import (
    MethodNotAllowed,
    NotFound,
    RequestInvalid,
    TooLarge,
    XinyongError,
)
from xinyong.feed.delivery import Deliveries, partner_events
from xinyong.ids.masking import mask
from xinyong.ledger.submit import submit_records
from xinyong.portal import routes as portal_routes
from xinyong.portal.pages import error_page
from xinyong.portal.security import API_PREFIXES, SecurityHeaders
from xinyong.process.hooks import after_merge

log = logging.getLogger("xinyong.api")
JSON = "application/json"


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


# Bodies past these sizes are refused unread (413): a decision is a few hundred bytes, a
# batch of 10,000 requests about 1.5 MB, a submission of 10,000 records a few MB.
MAX_DECISION = 64 * 1024
MAX_BATCH_BODY = 8 * 1024 * 1024
MAX_RECORDS_BODY = 32 * 1024 * 1024


def _service(request: Request) -> Service:
    return request.app.state.service


def _partner(request: Request) -> Partner:
    partner = _service(request).partner(_bearer(request))
    if partner is None:
        raise unauthorized("partner")
    return partner


# -- decisions ----------------------------------------------------------------------------


async def decide_one(app: Starlette, credential: str | None, raw: bytes) -> bytes:
    """POST /v1/decisions: the answer's JSON, or a raised XinyongError."""
    service: Service = app.state.service
    partner = service.partner(credential)
    if partner is None:
        raise unauthorized("partner")
    wanted = parse_decision(load_json(raw))
    outcome = service.decide(partner, wanted)
    await app.state.journal.write([outcome.entry])  # durable before the answer leaves
    return orjson.dumps(outcome.body)


async def decisions(request: Request) -> Response:
    body = await decide_one(request.app, _bearer(request), await request.body())
    return Response(body, media_type=JSON)


async def decisions_batch(request: Request) -> Response:
    service = _service(request)
    partner = _partner(request)
    items = parse_batch(await subjects.read_json(request, MAX_BATCH_BODY))
    results: list[dict[str, Any]] = []
    entries = []
    counts = {"allow": 0, "deny": 0, "failed": 0}
    for index, item in enumerate(items):
        errors = check_decision(item, f"requests.{index}.")
        try:
            if errors:
                raise RequestInvalid("This request does not match the schema.", errors=errors)
            outcome = service.decide(partner, item)
        except XinyongError as exc:
            problem = render(exc, "/v1/decisions/batch")
            counts["failed"] += 1
            results.append({"index": index, "status": problem.status, "problem": problem.body()})
            continue
        entries.append(outcome.entry)
        counts[outcome.body["decision"]] += 1
        results.append({"index": index, "status": 200, "decision": outcome.body})
    if entries:
        await request.app.state.journal.write(entries)
    return _json(
        {
            "results": results,
            "allowed": counts["allow"],
            "denied": counts["deny"],
            "failed": counts["failed"],
        }
    )


# -- change feed --------------------------------------------------------------------------


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise RequestInvalid(
            f"Query parameter {name!r} must be an integer from {low} to {high}.",
            code="parameter_invalid",
        )
    return value


async def changes(request: Request) -> Response:
    service = _service(request)
    partner = _partner(request)
    cursor = _int_param(request, "after", 0, 0, 2**62)
    limit = _int_param(request, "limit", 100, 1, 1000)
    wait = _int_param(request, "wait", 0, 0, 60)
    if "text/event-stream" in request.headers.get("accept", ""):
        last = request.headers.get("last-event-id", "")
        # Only a cursor we could have sent resumes the stream; anything else starts at `after`.
        start = int(last) if last.isascii() and last.isdigit() and len(last) <= 18 else cursor
        return StreamingResponse(
            _stream(service, partner, start),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    events, scanned = await partner_events(service, partner, cursor, limit)
    if not events and wait:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while not events and (left := deadline - loop.time()) > 0:
            await service.feed.wait(scanned, left)
            events, scanned = await partner_events(service, partner, scanned, limit)
    return _json({"events": events, "cursor": scanned})


async def _stream(service: Service, partner: Partner, cursor: int) -> AsyncIterator[bytes]:
    yield b": xinyong change feed\n\n"
    while True:
        events, cursor = await partner_events(service, partner, cursor, 100)
        for event in events:
            yield (
                f"id: {event['id']}\nevent: {event['type']}\n".encode()
                + b"data: "
                + orjson.dumps(event)
                + b"\n\n"
            )
        if not events and not await service.feed.wait(cursor, 15):
            yield b": keep-alive\n\n"


# -- records ------------------------------------------------------------------------------


async def records(request: Request) -> Response:
    service = _service(request)
    source = service.source(_bearer(request))
    if source is None:
        raise unauthorized("source")
    items = parse_records(await subjects.read_json(request, MAX_RECORDS_BODY))

    def work() -> dict[str, Any]:
        with service.store_lock:
            result = submit_records(service.ctx, items, source.source_id, after_merge(service.ctx))
        service.refresh()  # decisions and the feed see the records before we answer
        return result

    return _json(await run_in_threadpool(work))


# -- the subject's own view ---------------------------------------------------------------


async def subject_access_log(request: Request) -> Response:
    service = _service(request)
    parsed, key = subjects.holder(request)
    entries = await run_in_threadpool(access_log.read, service.ctx.settings.data_dir, key)
    for e in entries:
        e.pop("subject_key", None)
    return _json({"subject": mask(parsed.identifier), "entries": entries})


# -- the service itself -------------------------------------------------------------------


async def health(request: Request) -> Response:
    service = _service(request)
    snap = service.snapshot
    return _json(
        {
            "status": "ok" if snap.run_id is not None else "not_evaluated",
            "policy": service.policy.label,
            "run_id": snap.run_id,
            "evaluated_as_of": snap.as_of.isoformat() if snap.as_of else None,
            "measures_in_snapshot": snap.measures,
            "changed_subjects": len(snap.overlay),
            "feed_cursor": service.feed.latest,
            "partners": len(service.partners),
        }
    )


async def openapi_json(request: Request) -> Response:
    return _json(openapi.document(request.app.state.service.policy))


async def docs(request: Request) -> Response:
    return HTMLResponse(openapi.docs_page())


async def problem_type(request: Request) -> Response:
    """The documentation page a problem document's ``type`` points to."""
    page = type_page(request.path_params.get("code"))
    if page is None:
        raise NotFound(
            f"There is no problem type {request.path_params['code']!r}.",
            hint="/problems lists every problem type.",
        )
    return HTMLResponse(page)


async def _error(request: Request, exc: Exception) -> Response:
    """Every error of every Starlette route, rendered by the one table (api/problems.py)."""
    if isinstance(exc, HTTPException):
        if exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            methods = [m.strip() for m in allowed.split(",") if m.strip()]
            exc = MethodNotAllowed(
                f"{request.method} is not allowed on {request.url.path}.",
                allowed=methods,
                hint=f"{request.url.path} takes {', '.join(methods)}.",
            )
        elif exc.status_code == 404:
            exc = NotFound(
                f"There is no {request.method} {request.url.path}.",
                code="route_unknown",
                hint="/openapi.json lists every route of the API.",
            )
        else:
            exc = RequestInvalid(str(exc.detail), code="http_error")
    problem = render(exc, request.url.path)
    if request.url.path.startswith(API_PREFIXES) or not hasattr(request.app.state, "service"):
        return problem.response(request.url.path)
    body = problem.body()
    return error_page(
        request, problem.status, body["title"], body.get("detail", ""), body.get("hint", "")
    )


ROUTES = [
    Route("/docs", docs, include_in_schema=False),
    Route("/problems", problem_type, include_in_schema=False),
    Route("/problems/{code}", problem_type, include_in_schema=False),
    Route("/openapi.json", openapi_json, include_in_schema=False),
    Route("/v1/health", health),
    Route("/v1/decisions", decisions, methods=["POST"]),
    Route("/v1/decisions/batch", decisions_batch, methods=["POST"]),
    Route("/v1/changes", changes, methods=["GET"]),
    Route("/v1/records", records, methods=["POST"]),
    Route("/v1/subjects/{subject_id}/access-log", subject_access_log, methods=["GET"]),
    Route("/v1/subjects/{subject_id}", subjects.subject_whole_file, methods=["GET"]),
    Route("/v1/subjects/{subject_id}/notices", subjects.subject_notices, methods=["GET"]),
    Route(
        "/v1/subjects/{subject_id}/objections",
        subjects.subject_objections,
        methods=["GET", "POST"],
    ),
    Route("/v1/objections/{objection_id}/decision", subjects.objection_decision, methods=["POST"]),
    Route("/v1/subjects/{subject_id}/repairs", subjects.subject_repairs, methods=["GET", "POST"]),
    Route("/v1/subjects/{subject_id}/consents", subjects.subject_consents, methods=["GET", "POST"]),
    Route("/v1/repairs/{repair_id}/decision", subjects.repair_decision, methods=["POST"]),
    *public.ROUTES,
    *transparency.ROUTES,
    *report.ROUTES,
    *portal_routes.ROUTES,
]


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The request body, refused (413) when it announces or sends more than ``limit`` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise TooLarge(f"The body has {int(value):,} bytes; at most {limit:,} are taken.")
    chunks, size = [], 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The body has more than {limit:,} bytes; at most {limit:,} are taken.")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class FastDecisions:
    """POST /v1/decisions in plain ASGI, in front of the Starlette app: the hot path skips
    routing, middleware and request objects. Same checks, same answers, same problems;
    every other request goes to Starlette."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.pages = SecurityHeaders(
            app
        )  # every other request: the portal's headers outside the API

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/v1/decisions"
        ):
            await self.pages(scope, receive, send)
            return
        credential = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token.strip():
                    credential = token.strip()
                break
        try:
            # The credential first: nobody without one makes the server read a byte more.
            if self.app.state.service.partner(credential) is None:
                raise unauthorized("partner")
            raw = await _read_body(scope, receive, MAX_DECISION)
            body = await decide_one(self.app, credential, raw)
            status, headers = 200, [(b"content-type", JSON.encode())]
        except Exception as exc:
            problem = render(exc, scope["path"])
            body, status = problem.encode(scope["path"]), problem.status
            headers = [(b"content-type", MEDIA_TYPE.encode())] + [
                (k.lower().encode(), v.encode()) for k, v in problem.headers.items()
            ]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @property
    def state(self) -> Any:
        return self.app.state


def create_app(ctx: Context | None = None) -> FastDecisions:
    """The app; its lifespan loads the snapshot and starts the sync, the access-log writer
    and (in one worker) webhook and NATS delivery."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        context = ctx or Context(settings_or_explain())
        service = Service(context)
        await run_in_threadpool(service.start)
        app.state.service = service
        app.state.journal = access_log.Journal(context.settings.data_dir)
        deliveries = Deliveries(service)
        await deliveries.start()
        maintainer = Maintainer(service)
        await maintainer.start()
        try:
            yield
        finally:
            await maintainer.stop()
            await deliveries.stop()
            service.stop()
            app.state.journal.close()

    return FastDecisions(
        Starlette(
            routes=ROUTES,
            lifespan=lifespan,
            exception_handlers={XinyongError: _error, HTTPException: _error, Exception: _error},
        )
    )
