"""Every error class, through both edges: its HTTP problem document and its CLI exit code.

One table in api/problems.py maps each class of errors.py to a status; server faults say
nothing internal. A new class fails here until it has a status and a row below.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import anyio
import httpx
import pytest
import typer
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Route

from xinyong import errors
from xinyong.api.app import _error
from xinyong.api.problems import MEDIA_TYPE, STATUS
from xinyong.cli.output import fail

SRC = Path(errors.__file__).parent

# class -> (HTTP status, CLI exit code). Server faults are 5xx; usage errors exit 2.
EXPECTED: dict[type[errors.XinyongError], tuple[int, int]] = {
    errors.XinyongError: (500, 1),
    errors.InternalError: (500, 1),
    errors.ConfigurationError: (500, 2),
    errors.CalendarYearMissing: (500, 2),
    errors.CatalogError: (500, 2),
    errors.ProhibitedDataClassError: (500, 2),
    errors.PolicyError: (500, 2),
    errors.StoreError: (500, 1),
    errors.EngineError: (500, 1),
    errors.DeliveryFailed: (500, 1),
    errors.StoreBusy: (503, 4),
    errors.NotEvaluated: (503, 2),
    errors.Unauthenticated: (401, 2),
    errors.Forbidden: (403, 2),
    errors.NotFound: (404, 3),
    errors.MethodNotAllowed: (405, 2),
    errors.TooLarge: (413, 2),
    errors.RequestInvalid: (422, 2),
    errors.InvalidIdentifier: (422, 2),
    errors.FileFormatError: (422, 2),
    errors.SourceError: (422, 2),
    errors.ConsentError: (422, 2),
    errors.DecisionError: (422, 2),
}

SECRET = "/var/lib/xinyong/secret.key is unreadable"  # what a server fault must not tell


def _all_classes() -> list[type[errors.XinyongError]]:
    found, todo = [], [errors.XinyongError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: c.__name__)


def _make(cls: type[errors.XinyongError]) -> errors.XinyongError:
    if cls is errors.MethodNotAllowed:
        return errors.MethodNotAllowed(SECRET, allowed=["GET", "POST"], hint="do this")
    return cls(SECRET, hint="do this")


def test_every_class_is_in_errors_py_and_in_both_tables() -> None:
    classes = _all_classes()
    assert {c.__module__ for c in classes} == {"xinyong.errors"}
    assert set(classes) == set(EXPECTED), "a class without a row in EXPECTED"
    assert set(classes) <= set(STATUS), "a class without a status in api/problems.py"


def test_no_exception_class_is_defined_outside_errors_py() -> None:
    defined = []
    for path in SRC.rglob("*.py"):
        if path.name == "errors.py" and path.parent == SRC:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b) for b in node.bases}
                if any(b.endswith(("Error", "Exception")) or b == "Forbidden" for b in bases):
                    defined.append(f"{path.relative_to(SRC)}: {node.name}")
    assert not defined, defined


def _get(app: Starlette, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get(path)

    return anyio.run(go)


def _app(error: BaseException) -> Starlette:
    async def boom(request: Request) -> None:
        raise error

    return Starlette(
        routes=[Route("/boom", boom, methods=["GET"])],
        exception_handlers={errors.XinyongError: _error, HTTPException: _error, Exception: _error},
    )


@pytest.mark.parametrize("cls", _all_classes(), ids=lambda c: c.__name__)
def test_each_class_renders_its_status_and_exit_code(cls: type[errors.XinyongError]) -> None:
    status, exit_code = EXPECTED[cls]
    error = _make(cls)
    response = _get(_app(error), "/boom")
    assert response.status_code == status
    assert response.headers["content-type"] == MEDIA_TYPE
    doc = response.json()
    assert set(doc) >= {"type", "title", "status", "detail", "code", "instance"}
    assert doc["status"] == status and doc["instance"] == "/boom"
    assert doc["type"] == f"/problems/{doc['code']}"
    if status >= 500 and cls is not errors.NotEvaluated:
        assert SECRET not in response.text  # a server fault tells nothing internal
        assert doc["code"] in {"internal", error.code}
    else:
        assert doc["detail"] == SECRET and doc["code"] == error.code and doc["hint"] == "do this"
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    if status == 405:
        assert response.headers["allow"] == "GET, POST"
    if status == 503:
        assert "retry-after" in response.headers or cls is errors.NotEvaluated

    exit_ = fail(error)
    assert isinstance(exit_, typer.Exit)
    assert exit_.exit_code == exit_code != 0


def test_an_unexpected_exception_is_a_500_that_says_nothing() -> None:
    response = _get(_app(RuntimeError(SECRET)), "/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal"
    assert SECRET not in response.text


def test_the_fast_decision_path_uses_the_same_renderer() -> None:
    from xinyong.api import app

    source = inspect.getsource(app.FastDecisions)
    assert "render(" in source and "Problem(" not in source
