"""The subject's own routes (with the subject's credential) and a source's decision on an
objection (with the source's credential). Logic lives in process/; this only translates."""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from xinyong.access import log as access_log
from xinyong.api.problems import unauthorized
from xinyong.api.schemas import (
    MAX_EVIDENCE_BODY,
    ConsentRequest,
    EvidenceFile,
    ObjectionDecisionRequest,
    ObjectionRequest,
    RepairDecisionRequest,
    RepairRequest,
    load_json,
    parse_model,
)
from xinyong.decisions.service import Service
from xinyong.errors import Forbidden, RequestInvalid, TooLarge
from xinyong.ids import SubjectId, parse_subject, subject_key
from xinyong.ids.masking import mask
from xinyong.portal.file import whole_file
from xinyong.process import notices
from xinyong.process.hooks import after_merge
from xinyong.process.objections import decide_objection, file_objection, list_objections
from xinyong.process.repairs import apply_for_repair, decide_repair, list_repairs
from xinyong.score import consent

JSON = "application/json"


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body, default=str), status_code=status, media_type=JSON)


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def holder(request: Request) -> tuple[SubjectId, str]:
    """The subject named in the path, whose credential the request must carry."""
    service = _service(request)
    key = service.subject_of(_bearer(request))
    if key is None:
        raise unauthorized("subject")
    parsed = parse_subject(request.path_params["subject_id"])
    if subject_key(service.secret, parsed.identifier) != key:
        raise Forbidden(
            "This credential belongs to another subject: each subject reads and acts on its "
            "own file only.",
            code="credential_other_subject",
        )
    return parsed, key


async def read_json(request: Request, limit: int) -> Any:
    """The body as JSON, refused unread when it announces more than ``limit`` bytes, and
    cut off when it sends more."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The body has {int(declared):,} bytes; at most {limit:,} are taken.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The body has more than {limit:,} bytes; at most {limit:,} are taken.")
        chunks.append(chunk)
    return load_json(b"".join(chunks))


async def subject_whole_file(request: Request) -> Response:
    """GET /v1/subjects/{id}: everything held about the subject, its evaluated state
    explained, the remedies of its measures and its objections (the right of access)."""
    service = _service(request)
    parsed, key = holder(request)

    data = await run_in_threadpool(whole_file, service, parsed.identifier)
    entry = access_log.entry(key, "lookup", "subject", channel="api")
    await request.app.state.journal.write([entry])
    return _json(data)


async def subject_notices(request: Request) -> Response:
    service = _service(request)
    parsed, key = holder(request)

    def work() -> list[dict[str, Any]]:
        with service.store_lock, service.ctx.store.transaction() as conn:
            found = notices.listing(conn, key)
        for n in found:
            n.pop("subject_key", None)
        return found

    return _json({"subject": mask(parsed.identifier), "notices": await run_in_threadpool(work)})


async def subject_objections(request: Request) -> Response:
    service = _service(request)
    parsed, _key = holder(request)
    if request.method == "GET":

        def listing() -> list[dict[str, Any]]:
            with service.store_lock:
                return list_objections(service.ctx, identifier=parsed.identifier)

        found = await run_in_threadpool(listing)
        return _json({"subject": mask(parsed.identifier), "objections": found})
    wanted: ObjectionRequest = parse_model(
        ObjectionRequest, await read_json(request, MAX_EVIDENCE_BODY)
    )
    files = _evidence(wanted.evidence)

    def work() -> dict[str, Any]:
        with service.store_lock:
            filed = file_objection(
                service.ctx,
                parsed.identifier,
                wanted.record,
                wanted.reason,
                files=files,
                channel="api",
            )
        service.refresh()  # decisions show the dispute before we answer
        return filed

    return _json(await run_in_threadpool(work), status=201)


def _evidence(files: list[EvidenceFile]) -> list[tuple[str, bytes]]:
    decoded = []
    for index, f in enumerate(files):
        try:
            decoded.append((f.name, base64.b64decode(f.content_base64, validate=True)))
        except (binascii.Error, ValueError):
            raise RequestInvalid(
                "An evidence file is not valid base64.",
                errors=[{"loc": f"evidence.{index}.content_base64", "msg": "not base64"}],
            ) from None
    return decoded


async def subject_repairs(request: Request) -> Response:
    service = _service(request)
    parsed, _key = holder(request)
    if request.method == "GET":

        def listing() -> list[dict[str, Any]]:
            with service.store_lock:
                return list_repairs(service.ctx, identifier=parsed.identifier)

        found = await run_in_threadpool(listing)
        return _json({"subject": mask(parsed.identifier), "repairs": found})
    wanted: RepairRequest = parse_model(RepairRequest, await read_json(request, MAX_EVIDENCE_BODY))
    files = _evidence(wanted.evidence)

    def work() -> dict[str, Any]:
        with service.store_lock:
            return apply_for_repair(
                service.ctx,
                parsed.identifier,
                wanted.record,
                wanted.commitment,
                files=files,
                channel="api",
            )

    return _json(await run_in_threadpool(work), status=201)


async def subject_consents(request: Request) -> Response:
    """GET: the subject's consents and the texts to read; POST: give or withdraw one."""
    parsed, _key = holder(request)
    service = _service(request)
    if request.method == "GET":

        def listing() -> dict[str, Any]:
            with service.store_lock, service.ctx.store.transaction() as conn:
                found = consent.history(conn, _key)
            return {
                "subject": mask(parsed.identifier),
                "consents": [c.as_dict() for c in found],
                "texts": {
                    t.purpose: {"version": t.version, "zh": t.zh, "en": t.en}
                    for t in consent.texts().values()
                },
            }

        return _json(await run_in_threadpool(listing))
    wanted: ConsentRequest = parse_model(ConsentRequest, await read_json(request, 8 * 1024))
    if wanted.decision == "give" and not wanted.text_version:
        raise RequestInvalid(
            "Giving consent needs the version of the text the subject read.",
            hint="GET /v1/subjects/{id}/consents shows the current text and its version.",
            code="consent_text_missing",
        )

    def work() -> dict[str, Any]:
        with service.store_lock:
            if wanted.decision == "give":
                done = consent.grant(
                    service.ctx,
                    parsed.identifier,
                    wanted.purpose,
                    text_version=str(wanted.text_version),
                    channel="api",
                    after_merge=after_merge(service.ctx),
                    by="subject",
                )
            else:
                done = consent.withdraw(
                    service.ctx,
                    parsed.identifier,
                    wanted.purpose,
                    channel="api",
                    after_merge=after_merge(service.ctx),
                    by="subject",
                )
        service.refresh()  # decisions answer from the new state at once
        return done

    done = await run_in_threadpool(work)
    return _json(done, status=201 if done["changed"] and wanted.decision == "give" else 200)


async def repair_decision(request: Request) -> Response:
    service = _service(request)
    source = service.source(_bearer(request))
    if source is None:
        raise unauthorized("source")
    wanted: RepairDecisionRequest = parse_model(
        RepairDecisionRequest, await read_json(request, 64 * 1024)
    )

    def work() -> dict[str, Any]:
        with service.store_lock:
            decided = decide_repair(
                service.ctx,
                request.path_params["repair_id"],
                grant=wanted.grant,
                reason=wanted.reason,
                by=f"source:{source.source_id}",
                as_source=source.source_id,
            )
        service.refresh()
        return decided

    return _json(await run_in_threadpool(work))


async def objection_decision(request: Request) -> Response:
    service = _service(request)
    source = service.source(_bearer(request))
    if source is None:
        raise unauthorized("source")
    wanted: ObjectionDecisionRequest = parse_model(
        ObjectionDecisionRequest, await read_json(request, 64 * 1024)
    )

    def work() -> dict[str, Any]:
        with service.store_lock:
            decided = decide_objection(
                service.ctx,
                request.path_params["objection_id"],
                uphold=wanted.uphold,
                reason=wanted.reason,
                by=f"source:{source.source_id}",
                as_source=source.source_id,
            )
        service.refresh()
        return decided

    return _json(await run_in_threadpool(work))
