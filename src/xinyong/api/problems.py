"""RFC 9457 problem documents: every error the API returns, from one table.

``STATUS`` maps each class of xinyong/errors.py to its HTTP status. Client errors (4xx)
carry the error's own sentence; server faults (5xx) say only what a client can act on and
are logged in full, so nothing internal (paths, SQL, settings) reaches a client. Every
route, the fast decision path included, renders through ``render``.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response

from xinyong import errors as e

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("xinyong.api")

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}

# Every error class, its status; tests/test_errors.py requires each class to be listed.
STATUS: dict[type, int] = {
    e.XinyongError: 500,
    e.InternalError: 500,
    e.ConfigurationError: 500,
    e.CalendarYearMissing: 500,
    e.CatalogError: 500,
    e.ProhibitedDataClassError: 500,
    e.PolicyError: 500,
    e.StoreError: 500,
    e.EngineError: 500,
    e.DeliveryFailed: 500,
    e.StoreBusy: 503,
    e.NotEvaluated: 503,
    e.Unauthenticated: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    e.MethodNotAllowed: 405,
    e.TooLarge: 413,
    e.RequestInvalid: 422,
    e.InvalidIdentifier: 422,
    e.FileFormatError: 422,
    e.SourceError: 422,
    e.ConsentError: 422,
    e.DecisionError: 422,
}

# What a client is told of a server fault, by status (its own message goes to the log).
PUBLIC = {
    500: ("The service failed on this request; it is logged.", None),
    503: ("The service cannot answer right now; try again shortly.", None),
}
# 503s whose own sentence is for the client: it tells the operator's next step.
SPEAKS_FOR_ITSELF: tuple[type[e.XinyongError], ...] = (e.NotEvaluated,)


def status_of(error: e.XinyongError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


class Problem:
    """One problem document and the headers that go with it."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        hint: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status, self.code, self.detail = status, code, detail
        self.hint, self.errors, self.headers = hint, errors, headers or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "type": f"urn:xinyong:problem:{self.code}",
            "title": TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.hint:
            doc["hint"] = self.hint
        if self.errors:
            doc["errors"] = self.errors
        if instance:
            doc["instance"] = instance
        return doc

    def encode(self, instance: str | None = None) -> bytes:
        return orjson.dumps(self.body(instance))

    def response(self, instance: str | None = None) -> Response:
        return Response(
            self.encode(instance),
            status_code=self.status,
            media_type=MEDIA_TYPE,
            headers=self.headers or None,
        )


def problem(error: e.XinyongError) -> Problem:
    """The problem document of an error: the one translation from errors to HTTP."""
    status = status_of(error)
    headers: dict[str, str] = {}
    if isinstance(error, e.Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="xinyong"'
    if isinstance(error, e.MethodNotAllowed):
        headers["Allow"] = ", ".join(error.allowed)
    if status >= 500 and not isinstance(error, SPEAKS_FOR_ITSELF):
        log.error("%s (%s): %s", type(error).__name__, error.code, error, exc_info=error)
        detail, hint = PUBLIC.get(status, PUBLIC[500])
        code = error.code if status == 503 else "internal"
        if status == 503:
            headers["Retry-After"] = "1"
        return Problem(status, code, detail, hint=hint, headers=headers)
    return Problem(
        status, error.code, error.message, hint=error.hint, errors=error.errors, headers=headers
    )


def crash(exc: BaseException, where: str) -> Problem:
    """A fault nobody raised on purpose: logged with its traceback, told as a 500."""
    log.error("unhandled error on %s", where, exc_info=exc)
    return problem(e.InternalError("unhandled error"))


def render(exc: BaseException, where: str) -> Problem:
    return problem(exc) if isinstance(exc, e.XinyongError) else crash(exc, where)


def unauthorized(what: str) -> e.Unauthenticated:
    return e.Unauthenticated(
        f"Missing or unknown credential: send `Authorization: Bearer <{what} credential>`.",
        hint=f"A {what} credential is printed once when it is issued"
        + (" (`xinyong partners add`)." if what == "partner" else "."),
    )
