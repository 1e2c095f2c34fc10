"""The signed credit report in the portal: the signed-in subject downloads it, anyone
verifies one by upload, and the public key is published for checks away from the portal."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from xinyong import signing
from xinyong.access import log as access_log
from xinyong.clock import today
from xinyong.portal import i18n
from xinyong.portal.me_pages import signed_in
from xinyong.portal.pages import read_form, render, service
from xinyong.portal.report import signed_report

FIELD = "report"


def issuer(request: Request) -> str:
    """Who issued the report: the deployment's public address when it is set (a Host
    header is the client's to choose), else the address the request came to."""
    configured = service(request).settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def download_headers(identifier_masked: str, issued: dt.date) -> dict[str, str]:
    """A file name that says what it is and whose it is (masked), and no caching anywhere."""
    name = f"credit-report-{identifier_masked.replace('*', 'x')}-{issued.isoformat()}.pdf"
    return {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}


async def my_report(request: Request) -> Response:
    me = await signed_in(request)
    if isinstance(me, Response):
        return me
    svc = service(request)
    pdf = await run_in_threadpool(
        functools.partial(
            signed_report, svc, me.identifier, lang=i18n.language(request), issuer=issuer(request)
        )
    )
    await request.app.state.journal.write(
        [access_log.entry(me.subject_key, "lookup", "subject", channel="portal")]
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers=download_headers(me.masked, today(svc.settings.timezone)),
    )


async def _signer(request: Request) -> signing.Signer:
    return await run_in_threadpool(signing.load_or_create, service(request).settings.data_dir)


async def verify_page(request: Request) -> Response:
    signer = await _signer(request)
    if request.method == "GET":
        return render(request, "report/verify.html", {"key_id": signer.key_id, "result": None})
    form = await read_form(request, files=True)
    upload = form.get(FIELD)
    _ = functools.partial(i18n.gettext, i18n.language(request))
    context: dict[str, Any] = {"key_id": signer.key_id, "result": None, "filename": ""}
    if not isinstance(upload, UploadFile) or not upload.filename:
        context["problem"] = _("Choose the report file to verify.")
        return render(request, "report/verify.html", context, status=422)
    data = await upload.read()
    result = signing.verify(data, [signer.public])
    messages = {
        "valid": _(
            "This report was issued by this portal and has not been changed since it was signed."
        ),
        "unsigned": _(
            "This file carries no signature of this portal: it is not a signed "
            "credit report, or the signature was removed."
        ),
        "malformed": _(
            "The signature at the end of the file is damaged, or something was added "
            "after it: the file is not as it was issued."
        ),
        "unknown_key": _(
            "This report was signed with a key this portal does not use. It was "
            "issued elsewhere, under an earlier key, or altered."
        ),
        "altered": _(
            "The file was changed after it was signed: do not rely on what it says. "
            "Ask the subject for the report as it was issued."
        ),
    }
    context.update(result=result, message=messages[result.code], filename=upload.filename)
    return render(request, "report/verify.html", context)


async def public_key(request: Request) -> Response:
    signer = await _signer(request)
    return PlainTextResponse(
        signing.public_pem(signer.public),
        headers={
            "Content-Disposition": 'inline; filename="xinyong-report-key.pem"',
            "X-Key-Id": signer.key_id,
        },
    )


ROUTES: list[BaseRoute] = [
    Route("/me/report.pdf", my_report),
    Route("/report/verify", verify_page, methods=["GET", "POST"]),
    Route("/report/key", public_key),
]
