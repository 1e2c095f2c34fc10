"""GET /v1/subjects/{id}/report: the subject's signed credit report as a PDF, with the
subject's own credential. The report is made by ``portal.report``; this only translates."""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from xinyong.access import log as access_log
from xinyong.api.subjects import holder
from xinyong.clock import today
from xinyong.decisions.service import Service
from xinyong.errors import RequestInvalid
from xinyong.ids.masking import mask
from xinyong.portal import i18n
from xinyong.portal.report import signed_report
from xinyong.portal.report_pages import download_headers, issuer


def _language(request: Request) -> str:
    lang = request.query_params.get("lang", i18n.DEFAULT)
    if lang not in i18n.LANGUAGES:
        raise RequestInvalid(
            f"Query parameter 'lang' must be one of {', '.join(i18n.LANGUAGES)}, not {lang!r}.",
            hint="Leave it out for Chinese.",
            code="parameter_invalid",
        )
    return lang


async def subject_report(request: Request) -> Response:
    service: Service = request.app.state.service
    parsed, key = holder(request)
    lang = _language(request)
    pdf = await run_in_threadpool(
        functools.partial(
            signed_report, service, parsed.identifier, lang=lang, issuer=issuer(request)
        )
    )
    entry = access_log.entry(key, "lookup", "subject", channel="api")
    await request.app.state.journal.write([entry])
    return Response(
        pdf,
        media_type="application/pdf",
        headers=download_headers(mask(parsed.identifier), today(service.settings.timezone)),
    )


ROUTES: list[BaseRoute] = [
    Route("/v1/subjects/{subject_id}/report", subject_report, methods=["GET"]),
]
