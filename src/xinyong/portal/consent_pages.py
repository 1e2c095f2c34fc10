"""The subject's consent page: the text to read, an unticked box, give or withdraw, and the
commercial score with its reasons while consent is in force."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from xinyong.errors import ConsentError, XinyongError
from xinyong.portal.file import commercial_standing
from xinyong.portal.i18n import language
from xinyong.portal.me_pages import signed_in
from xinyong.portal.pages import read_form, render, service
from xinyong.process.hooks import after_merge
from xinyong.score import consent

PURPOSE = "commercial_score"


async def my_consent(request: Request) -> Response:
    me = await signed_in(request)
    if isinstance(me, Response):
        return me
    svc = service(request)
    text = consent.consent_text(PURPOSE)
    error: XinyongError | None = None
    done: str | None = None
    status = 200
    if request.method == "POST":
        form = await read_form(request)
        decision = str(form.get("decision", ""))

        def act() -> str:
            with svc.store_lock:
                if decision == "give":
                    # Never defaulted: the box starts unticked and must be ticked by the subject.
                    if form.get("agree") != "yes":
                        raise ConsentError(
                            "Tick the box to show that you have read the text and agree.",
                            code="consent_not_ticked",
                        )
                    consent.grant(
                        svc.ctx,
                        me.identifier,
                        PURPOSE,
                        text_version=str(form.get("text_version", "")),
                        channel="portal",
                        after_merge=after_merge(svc.ctx),
                        by="subject",
                    )
                elif decision == "withdraw":
                    consent.withdraw(
                        svc.ctx,
                        me.identifier,
                        PURPOSE,
                        channel="portal",
                        after_merge=after_merge(svc.ctx),
                        by="subject",
                    )
                else:
                    raise ConsentError("Choose to give or to withdraw consent.")
            svc.refresh()  # partners' answers follow at once
            return decision

        try:
            done = await run_in_threadpool(act)
        except XinyongError as exc:
            error, status = exc, 422

    def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with svc.store_lock, svc.ctx.store.transaction() as conn:
            history = [c.as_dict() for c in consent.history(conn, me.subject_key, PURPOSE)]
            try:
                scores = commercial_standing(svc, conn, me.subject_key)
            except XinyongError:
                scores = []
        return history, scores

    history, scores = await run_in_threadpool(load)
    return render(
        request,
        "me/consent.html",
        {
            "me": me,
            "text": text.text(language(request)),
            "version": text.version,
            "history": history,
            "in_force": any(c["in_force"] for c in history),
            "scores": scores,
            "error": error,
            "done": done,
        },
        status=status,
    )


ROUTES = [Route("/me/consent", my_consent, methods=["GET", "POST"])]
