"""``GET /v1/public/transparency``: the transparency figures as JSON, for anyone.

The same dict the portal's ``/transparency`` page shows (``portal.transparency.figures``),
kept for a minute; counts the equality report would show for fewer than the minimum cell
size are null with the reason in ``suppressed``."""

from __future__ import annotations

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from xinyong.decisions.service import Service
from xinyong.portal.transparency import CACHE_SECONDS, figures


async def public_transparency(request: Request) -> Response:
    service: Service = request.app.state.service
    body = await run_in_threadpool(figures, service)
    return Response(
        orjson.dumps(body),
        media_type="application/json",
        headers={"cache-control": f"public, max-age={int(CACHE_SECONDS)}"},
    )


ROUTES: list[BaseRoute] = [
    Route("/v1/public/transparency", public_transparency, methods=["GET"]),
]
