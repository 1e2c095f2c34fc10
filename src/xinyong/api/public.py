"""Public disclosure as JSON (anyone, no credential): search, the public lists and an
organisation's profile. The same functions as the portal's pages (``portal.public``), so a
page and its JSON twin never disagree on what is public."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from xinyong.decisions.service import Service
from xinyong.portal import public, public_index
from xinyong.portal.public_pages import csv_response

JSON = "application/json"


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body, default=str), status_code=status, media_type=JSON)


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


async def search(request: Request) -> Response:
    q = request.query_params.get("q")
    return _json(await public_index.answer(public_index.search, _service(request), q))


async def lists(request: Request) -> Response:
    return _json(await public_index.answer(public_index.lists_index, _service(request)))


async def list_entries(request: Request) -> Response:
    list_id = request.path_params["list"]
    query = public.ListQuery.parse(request.query_params)
    if public.wants_csv(request.query_params):
        return await csv_response(_service(request), list_id, query)
    return _json(
        await public_index.answer(public_index.list_page, _service(request), list_id, query)
    )


async def organisation(request: Request) -> Response:
    code = request.path_params["code"]
    return _json(await public_index.answer(public_index.organisation, _service(request), code))


ROUTES: list[BaseRoute] = [
    Route("/v1/public/search", search, methods=["GET"]),
    Route("/v1/public/lists", lists, methods=["GET"]),
    Route("/v1/public/lists/{list}", list_entries, methods=["GET"]),
    Route("/v1/public/organisations/{code}", organisation, methods=["GET"]),
]
