"""RFC 9457 problem documents: every error the API returns, from one table.

``STATUS`` maps each class of xinyong/errors.py to its HTTP status. Client errors (4xx)
carry the error's own sentence; server faults (5xx) say only what a client can act on and
are logged in full, so nothing internal (paths, SQL, settings) reaches a client. Every
route, the fast decision path included, renders through ``render``.
"""

from __future__ import annotations

import html
import logging
import tomllib
from functools import cache
from importlib import resources
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


@cache
def problem_types() -> dict[str, dict[str, Any]]:
    """Every problem type: code -> title, status and description (problem_types.toml)."""
    raw = resources.files("xinyong").joinpath("problem_types.toml").read_text("utf-8")
    return tomllib.loads(raw)


def type_uri(code: str) -> str:
    """A problem's ``type``: its documentation page, relative to the service (RFC 9457
    resolves it against the request's address)."""
    return f"/problems/{code}"


def _title(status: int, code: str) -> str:
    found = problem_types().get(code)
    return str(found["title"]) if found else TITLES.get(status, "Error")


def type_page(code: str | None) -> str | None:
    """The documentation page of one problem type, or of all (``code`` None); None for an
    unknown code."""
    types = problem_types()
    head = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>{title}</title></head><body><main>{body}</main></body></html>"
    )
    if code is None:
        items = "".join(
            f'<li><a href="{type_uri(c)}"><code>{html.escape(c)}</code></a>:'
            f" {html.escape(str(t['title']))} ({t['status']})</li>"
            for c, t in sorted(types.items())
        )
        body = f"<h1>Problem types of the xinyong API</h1><ul>{items}</ul>"
        return head.format(title="Problem types", body=body)
    found = types.get(code)
    if found is None:
        return None
    body = (
        f"<h1>{html.escape(str(found['title']))}</h1>"
        f"<p><code>{html.escape(code)}</code>, HTTP status {found['status']}</p>"
        f"<p>{html.escape(' '.join(str(found['description']).split()))}</p>"
        f'<p><a href="/problems">Every problem type</a></p>'
    )
    return head.format(title=html.escape(str(found["title"])), body=body)


def types_markdown() -> str:
    """docs/problems.md: every problem type, generated from problem_types.toml."""
    lines = [
        "# Problem types",
        "",
        "Every error of the HTTP API is a problem document (RFC 9457) whose `type` is the",
        "address of its page on the service (`/problems/<code>`) and whose `code` is the",
        "machine-readable code below; the command line prints the same code with its message.",
        "This page is generated from `src/xinyong/problem_types.toml`.",
        "",
        "| code | status | title |",
        "|---|---|---|",
    ]
    types = problem_types()
    lines += [f"| [`{c}`](#{c}) | {t['status']} | {t['title']} |" for c, t in sorted(types.items())]
    for c, t in sorted(types.items()):
        lines += ["", f"## {c}", "", f"**{t['title']}** (HTTP {t['status']})", ""]
        lines.append(" ".join(str(t["description"]).split()))
    return "\n".join(lines) + "\n"


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
            "type": type_uri(self.code),
            "title": _title(self.status, self.code),
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
