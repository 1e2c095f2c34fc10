"""Public disclosure pages: search, the public lists (pages and CSV) and an organisation's
profile. What may be shown is decided in ``portal.public``; this module only renders it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from xinyong.clock import today
from xinyong.decisions.service import Service
from xinyong.portal import i18n, public, public_index
from xinyong.portal.pages import render, service, url_with


def _helpers(request: Request) -> dict[str, Any]:
    """What every public template needs: data labels translated (``label``: list and
    category labels, detail fields and values, from data.po)."""
    lang = i18n.language(request)

    def label(text: Any) -> str:
        return i18n.gettext(lang, str(text)) if text not in (None, "") else ""

    return {"label": label}


async def search_page(request: Request) -> Response:
    q = public.clean_query(request.query_params.get("q"))
    version = public_index.stamp(service(request))
    result = await public_index.answer(public_index.search, service(request), q) if q else None
    shown = public.shown_query(q)
    if shown != q:
        # A resident number is never echoed unmasked: the heading and the language links
        # (which the frame builds from the query) show it masked; the form and the JSON
        # link leave it out.
        request = _with_query(request, q=shown)
        q = ""
        version = None  # two numbers can share a mask: such a page is never cached
    json_url = "/v1/public/search?" + urlencode({"q": q}) if q else None
    return render(
        request,
        "public/search.html",
        {"q": q, "result": result, **_helpers(request)},
        json_url=json_url,
        version=version,
    )


def _with_query(request: Request, **params: str) -> Request:
    """The same request with some query parameters replaced (what the page links to)."""
    scope = dict(request.scope)
    scope["query_string"] = urlencode({**request.query_params, **params}).encode()
    return Request(scope, request.receive)


async def lists_page(request: Request) -> Response:
    version = public_index.stamp(service(request))
    index = await public_index.answer(public_index.lists_index, service(request))
    return render(
        request,
        "public/lists.html",
        {"index": index, **_helpers(request)},
        json_url="/v1/public/lists",
        version=version,
    )


def _columns(page: dict[str, Any]) -> list[dict[str, str]]:
    """Detail fields shown as columns: those any entry of the page has, in catalogue order."""
    seen: dict[str, str] = {}
    for entry in page["entries"]:
        for d in entry["records"][0]["details"] if entry["records"] else []:
            if d["field"] != "name":
                seen[d["field"]] = d["label"]
    return [{"field": f, "label": label} for f, label in seen.items()]


async def list_page(request: Request) -> Response:
    list_id = request.path_params["list"]
    query = public.ListQuery.parse(request.query_params)
    if public.wants_csv(request.query_params):
        return await csv_response(service(request), list_id, query)
    version = public_index.stamp(service(request))
    page = await public_index.answer(public_index.list_page, service(request), list_id, query)
    filters = {k: v for k, v in page["filters"].items() if v}
    page_url: Callable[[int], str] = lambda n: url_with(request, page=n)  # noqa: E731
    return render(
        request,
        "public/list.html",
        {
            "page": page,
            "columns": _columns(page),
            "page_url": page_url,
            "csv_url": f"/lists/{quote(list_id)}.csv"
            + ("?" + urlencode(filters) if filters else ""),
            **_helpers(request),
        },
        json_url=f"/v1/public/lists/{quote(list_id)}?"
        + urlencode({**filters, "page": page["page"], "per_page": page["per_page"]}),
        version=version,
    )


async def list_csv_page(request: Request) -> Response:
    query = public.ListQuery.parse(request.query_params)
    return await csv_response(service(request), request.path_params["list"], query)


async def csv_response(svc: Service, list_id: str, query: public.ListQuery) -> Response:
    """The whole filtered list as a CSV download (the list is checked before streaming, so
    an unknown or non-public list is an error, not an empty file)."""
    await public_index.answer(public_index.public_list, svc, list_id)
    name = f"{list_id}-{today(svc.settings.timezone).isoformat()}.csv"
    return StreamingResponse(
        public_index.list_csv(
            svc, list_id, query
        ),  # a plain iterator: Starlette runs it in threads
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def organisation_page(request: Request) -> Response:
    code = request.path_params["code"]
    version = public_index.stamp(service(request))
    profile = await public_index.answer(public_index.organisation, service(request), code)
    return render(
        request,
        "public/organisation.html",
        {"profile": profile, **_helpers(request)},
        json_url=f"/v1/public/organisations/{quote(code)}",
        version=version,
    )


ROUTES: list[BaseRoute] = [
    Route("/search", search_page, methods=["GET"]),
    Route("/lists", lists_page, methods=["GET"]),
    Route("/lists/{list}.csv", list_csv_page, methods=["GET"]),
    Route("/lists/{list}", list_page, methods=["GET"]),
    Route("/organisations/{code}", organisation_page, methods=["GET"]),
]
