"""Every page of the portal, gathered from the modules that serve them."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from xinyong.portal import (
    consent_pages,
    public_pages,
    report_pages,
    self_pages,
    transparency_pages,
)
from xinyong.portal.pages import render


async def home(request: Request) -> Response:
    return render(request, "home.html")


ROUTES: list[BaseRoute] = [
    Route("/", home),
    *public_pages.ROUTES,
    *self_pages.ROUTES,
    *consent_pages.ROUTES,
    *report_pages.ROUTES,
    *transparency_pages.ROUTES,
    Mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
]
