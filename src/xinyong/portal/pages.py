"""Rendering a page: the Jinja2 environment of each language, the context every template
gets (language links, CSRF token, sign-in state) and the form reader that checks CSRF.

Templates live in ``templates/``, autoescaped; their text is English msgids translated
through the gettext catalogues of ``i18n``.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from xinyong.decisions.service import Service
from xinyong.errors import TooLarge
from xinyong.portal import i18n, security, session

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM = 64 * 1024  # bytes of a form without files
MAX_UPLOAD = 8 * 1024 * 1024  # bytes of a form with evidence files


@dataclass(frozen=True)
class Portal:
    """Per-app portal state: the cookie key and whether cookies need HTTPS."""

    key: bytes
    secure: bool


def service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found


def portal(request: Request) -> Portal:
    state = request.app.state
    found: Portal | None = getattr(state, "portal", None)
    if found is None:
        svc = service(request)
        found = Portal(security.portal_key(svc.secret), svc.settings.portal_secure_cookies)
        state.portal = found
    return found


def current_session(request: Request) -> session.Session | None:
    return session.read(request, portal(request).key)


@functools.cache
def environment(lang: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]  # added by the i18n extension
    where = i18n.BABEL_LOCALES[lang]
    env.filters["date"] = lambda d: format_date(_as_date(d), "medium", locale=where) if d else ""
    env.filters["datetime"] = lambda d: format_datetime(d, "medium", locale=where) if d else ""
    env.filters["number"] = lambda n: format_decimal(n, locale=where) if n is not None else ""
    env.filters["percent"] = (
        lambda n: format_percent(n, "#,##0.0%", locale=where) if n is not None else ""
    )
    # Labels that come from the catalogue and policies (data, not template text) are
    # translated through the same catalogues (locale/<lang>/data.po).
    env.filters["t"] = lambda text: i18n.translations(lang).gettext(text) if text else ""
    env.globals["lang"] = lang
    env.globals["html_lang"] = i18n.TAGS[lang]
    return env


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def url_with(request: Request, **params: Any) -> str:
    """This page's URL with ``params`` replaced (None removes one)."""
    query = dict(request.query_params)
    for name, value in params.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = str(value)
    return request.url.path + ("?" + urlencode(query) if query else "")


class PageCache:
    """Rendered public pages, for visitors who are not signed in (whose pages hold no token):
    the same data, language and address give the same HTML, so it is rendered once per
    version of the data. Least recently used pages leave first."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._pages: OrderedDict[tuple[Any, ...], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> str | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple[Any, ...], page: str) -> None:
        with self._lock:
            self._pages[key] = page
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


PAGES = PageCache()


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    json_url: str | None = None,
    version: object = None,
) -> Response:
    """The page, in the request's language, with its CSRF cookie and language cookie.
    ``version`` names the data the context was made from: a public page of the same
    version, address and language is rendered once (see ``PageCache``)."""
    lang = i18n.language(request)
    state = portal(request)
    cookie, fresh = security.csrf_cookie(request)
    signed_in = current_session(request) is not None
    key = None
    if version is not None and not signed_in:
        key = (version, template, lang, request.url.path, request.url.query, json_url, status)
    page = PAGES.get(key) if key is not None else None
    if page is None:
        page = environment(lang).get_template(template).render(
            request=request,
            path=request.url.path,
            languages=[
                (code, label, url_with(request, lang=code), code == lang)
                for code, label in i18n.LANGUAGES.items()
            ],
            csrf=security.csrf_token(state.key, cookie),
            csrf_field=security.CSRF_FIELD,
            signed_in=signed_in,
            json_url=json_url,
            **(context or {}),
        )
        if key is not None:
            PAGES.put(key, page)
    response = HTMLResponse(page, status_code=status)
    if fresh:
        response.set_cookie(
            security.CSRF_COOKIE, cookie, httponly=True, secure=state.secure, samesite="strict"
        )
    if request.query_params.get("lang") in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, lang, max_age=365 * 86400, secure=state.secure, samesite="lax"
        )
    return response


def error_page(request: Request, status: int, title: str, detail: str, hint: str = "") -> Response:
    return render(
        request, "error.html", {"status": status, "title": title, "detail": detail, "hint": hint},
        status=status,
    )


async def read_form(request: Request, *, files: bool = False) -> FormData:
    """The posted form, refused when larger than allowed or without a valid CSRF token."""
    limit = MAX_UPLOAD if files else MAX_FORM
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The form has {int(declared):,} bytes; at most {limit:,} are taken.")
    form = await request.form(max_files=8 if files else 0, max_fields=64, max_part_size=limit)
    security.check_csrf(request, portal(request).key, form)
    return form


def gettext(request: Request, message: str) -> str:
    return i18n.gettext(i18n.language(request), message)
