"""RFC 9457 problem documents: every error the API returns, with a machine-readable code."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from xinyong.errors import (
    DecisionError,
    FileFormatError,
    InvalidIdentifier,
    NotEvaluated,
    NotFound,
    SourceError,
    StoreBusy,
    XinyongError,
)

MEDIA_TYPE = "application/problem+json"

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


class Problem(Exception):
    """Raised anywhere in a request; rendered once by the app."""

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
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.hint, self.errors, self.headers = hint, errors, headers

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

    def response(self, instance: str | None = None) -> Response:
        return Response(
            orjson.dumps(self.body(instance)),
            status_code=self.status,
            media_type=MEDIA_TYPE,
            headers=self.headers,
        )


def status_of(error: XinyongError) -> int:
    from xinyong.decisions.service import Forbidden

    if isinstance(error, Forbidden):
        return 403
    if isinstance(error, NotEvaluated | StoreBusy):
        return 503
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, InvalidIdentifier | DecisionError | FileFormatError | SourceError):
        return 422
    return 422


def from_error(error: XinyongError) -> Problem:
    return Problem(status_of(error), error.code, error.message, hint=error.hint)


def unauthorized(what: str) -> Problem:
    return Problem(
        401,
        "credential_invalid",
        f"Missing or unknown credential: send `Authorization: Bearer <{what} credential>`.",
        hint=f"A {what} credential is printed once when it is issued"
        + (" (`xinyong partners add`)." if what == "partner" else "."),
        headers={"WWW-Authenticate": 'Bearer realm="xinyong"'},
    )
