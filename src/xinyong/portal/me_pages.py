"""The signed-in subject's own area: the whole file (as of today or a past date), who
looked, notices, objections and repair applications, and the file as JSON and CSV.

Every page reads through the same functions as the API (``portal.file.whole_file``,
``process.objections``, ``process.repairs``, ``access.log``); nothing here decides."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from xinyong import credentials
from xinyong.access import log as access_log
from xinyong.clock import today
from xinyong.errors import XinyongError
from xinyong.ids.masking import mask
from xinyong.portal import session
from xinyong.portal.file import (
    current_records,
    identifier_of,
    measures_in_force,
    whole_file,
)
from xinyong.portal.pages import current_session, portal, read_form, render, service
from xinyong.process import notices
from xinyong.process.objections import file_objection, list_objections
from xinyong.process.repairs import apply_for_repair, list_repairs

MAX_TEXT = 4000


@dataclass(frozen=True)
class Me:
    subject_key: str
    identifier: str

    @property
    def masked(self) -> str:
        return mask(self.identifier)


async def signed_in(request: Request) -> Me | Response:
    """The signed-in subject, or the way to the sign-in page. A session whose password has
    changed since (or whose subject is gone) is over."""
    found = current_session(request)
    if found is not None:
        svc = service(request)

        def check() -> str | None:
            with svc.store_lock, svc.ctx.store.transaction() as conn:
                now = credentials.login(conn, found.subject_key).fingerprint
            if now != found.fingerprint:
                return None
            return identifier_of(svc, found.subject_key)

        identifier = await run_in_threadpool(check)
        if identifier is not None:
            return Me(found.subject_key, identifier)
    response = RedirectResponse(f"/sign-in?next={request.url.path}", status_code=303)
    session.end(response, portal(request).secure)
    return response


def _as_of(request: Request) -> dt.date | None:
    """A past date to replay the file as of (today or a future date shows today's)."""
    raw = request.query_params.get("as_of", "")
    try:
        day = dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    return day if day is not None and day < today(service(request).settings.timezone) else None


def _record_refs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records a subject may object to, each named as the API names it: its own id, or
    SOURCE:ID where two sources used the same id."""
    seen: dict[str, int] = {}
    for r in records:
        seen[r["source_record_id"]] = seen.get(r["source_record_id"], 0) + 1
    return [
        {
            **r,
            "ref": r["source_record_id"]
            if seen[r["source_record_id"]] == 1
            else f"{r['source_id']}:{r['source_record_id']}",
        }
        for r in records
    ]


async def my_file(request: Request) -> Response:
    me = await signed_in(request)
    if isinstance(me, Response):
        return me
    as_of = _as_of(request)
    data = await run_in_threadpool(whole_file, service(request), me.identifier, as_of)
    entry = access_log.entry(me.subject_key, "lookup", "subject", channel="portal")
    await request.app.state.journal.write([entry])
    return render(
        request,
        "me/file.html",
        {
            "me": me,
            "file": data,
            "records": _record_refs(data.get("current_records", [])),
            "as_of": as_of,
            "password_set": request.query_params.get("password") == "set",
        },
        json_url=None,
    )


def _denials(entries: list[dict[str, Any]], measures: list[dict[str, Any]]) -> None:
    """Beside each denial, the measures in force that cover its action (why, and the remedy)."""
    for e in entries:
        if e.get("outcome") == "deny" and e.get("action"):
            e["because"] = [m for m in measures if e["action"] in m.get("actions", [])]


async def my_access_log(request: Request) -> Response:
    me = await signed_in(request)
    if isinstance(me, Response):
        return me
    svc = service(request)

    def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        entries = access_log.read(svc.settings.data_dir, me.subject_key)
        for e in entries:
            e.pop("subject_key", None)
        return list(reversed(entries)), measures_in_force(svc, me.subject_key)

    entries, measures = await run_in_threadpool(load)
    _denials(entries, measures)
    return render(request, "me/access_log.html", {"me": me, "entries": entries})


async def my_notices(request: Request) -> Response:
    me = await signed_in(request)
    if isinstance(me, Response):
        return me
    svc = service(request)

    def load() -> list[dict[str, Any]]:
        with svc.store_lock, svc.ctx.store.transaction() as conn:
            return notices.listing(conn, me.subject_key)

    return render(request, "me/notices.html", {"me": me, "notices": await run_in_threadpool(load)})


async def _files(form: Any) -> list[tuple[str, bytes]]:
    found = []
    for item in form.getlist("evidence"):
        if isinstance(item, UploadFile) and item.filename:
            found.append((item.filename, await item.read()))
    return found


async def _case_page(request: Request, kind: str) -> Response:
    """The objections or repair applications page: the list, and the form to file one."""
    me = await signed_in(request)
    if isinstance(me, Response):
        return me
    svc = service(request)
    error: XinyongError | None = None
    filed: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        form = await read_form(request, files=True)
        record = str(form.get("record", ""))[:200]
        text = str(form.get("text", ""))[:MAX_TEXT]
        files = await _files(form)

        def file_case() -> dict[str, Any]:
            with svc.store_lock:
                if kind == "objections":
                    made = file_objection(
                        svc.ctx, me.identifier, record, text, files=files, channel="portal"
                    )
                else:
                    made = apply_for_repair(
                        svc.ctx, me.identifier, record, text, files=files, channel="portal"
                    )
            svc.refresh()  # decisions and the file show the dispute at once
            return made

        try:
            filed = await run_in_threadpool(file_case)
            status = 201
        except XinyongError as exc:
            error, status = exc, 422

    def load() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        with svc.store_lock:
            cases = (list_objections if kind == "objections" else list_repairs)(
                svc.ctx, identifier=me.identifier
            )
        return cases, _record_refs(current_records(svc, me.identifier))

    cases, records = await run_in_threadpool(load)
    return render(
        request,
        f"me/{kind}.html",
        {
            "me": me,
            "cases": cases,
            "records": records,
            "chosen": request.query_params.get("record", ""),
            "error": error,
            "filed": filed,
        },
        status=status,
    )


async def my_objections(request: Request) -> Response:
    return await _case_page(request, "objections")


async def my_repairs(request: Request) -> Response:
    return await _case_page(request, "repairs")


async def _download_data(request: Request) -> tuple[Me, dict[str, Any]] | Response:
    me = await signed_in(request)
    if isinstance(me, Response):
        return me
    svc = service(request)

    def load() -> dict[str, Any]:
        data = whole_file(svc, me.identifier)
        entries = access_log.read(svc.settings.data_dir, me.subject_key)
        for e in entries:
            e.pop("subject_key", None)
        data["access_log"] = entries
        with svc.store_lock, svc.ctx.store.transaction() as conn:
            data["notices"] = notices.listing(conn, me.subject_key)
        for n in data["notices"]:
            n.pop("subject_key", None)
        return data

    data = await run_in_threadpool(load)
    await request.app.state.journal.write(
        [access_log.entry(me.subject_key, "lookup", "subject", channel="portal")]
    )
    return me, data


async def download_json(request: Request) -> Response:
    found = await _download_data(request)
    if isinstance(found, Response):
        return found
    _me, data = found
    return Response(
        orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="xinyong-file.json"'},
    )


CSV_COLUMNS = [
    "section", "id", "label", "date", "until", "source", "document", "legal_basis", "status",
    "details",
]  # fmt: skip


def file_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The whole file flattened: one row per record, list entry, score, measure, objection,
    repair application and access, each tagged with its section."""
    state = data.get("state", {})
    rows: list[dict[str, Any]] = []
    for r in data.get("history", []):
        rows.append({
            "section": "record", "id": r["source_record_id"], "label": r["category"],
            "date": r["occurred_on"], "source": r["source_id"], "document": r.get("document"),
            "legal_basis": r.get("legal_basis"), "status": r.get("status"),
            "details": orjson.dumps(r.get("details")).decode(),
        })  # fmt: skip
    for e in state.get("lists", []):
        rows.append({
            "section": "list", "id": e["list"], "label": e["label"], "date": e["entered_on"],
            "until": e["ends_on"], "legal_basis": e["legal_basis"], "status": e["status"],
        })  # fmt: skip
    for s in state.get("scores", []):
        rows.append({
            "section": "score", "id": s["score"], "label": s["label"], "until": s["valid_until"],
            "legal_basis": s["legal_basis"], "status": f"{s['points']} {s['grade'] or ''}".strip(),
        })  # fmt: skip
    for m in state.get("measures", []):
        rows.append({
            "section": "measure", "id": m["measure"], "label": m["label"],
            "until": m["valid_until"], "legal_basis": m["legal_basis"], "status": m["kind"],
            "details": m.get("remedy"),
        })  # fmt: skip
    for o in data.get("objections", []):
        rows.append({
            "section": "objection", "id": o["objection"], "label": o["record"],
            "date": o["filed_on"], "until": o["due_on"], "source": o["source"],
            "status": o["status"], "details": o["reason"],
        })  # fmt: skip
    for a in data.get("repairs", []):
        rows.append({
            "section": "repair", "id": a.get("repair"), "label": a.get("record"),
            "date": a.get("applied_on"), "until": a.get("due_on"), "source": a.get("source"),
            "status": a.get("status"),
        })  # fmt: skip
    for e in data.get("access_log", []):
        rows.append({
            "section": "access", "id": e.get("decision_id"), "label": e.get("action"),
            "date": e["at"], "source": e["who"], "status": e.get("outcome"),
            "details": e.get("purpose"),
        })  # fmt: skip
    return rows


async def download_csv(request: Request) -> Response:
    found = await _download_data(request)
    if isinstance(found, Response):
        return found
    _me, data = found
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in file_rows(data):
        # A spreadsheet would run a cell that starts with = + - @ as a formula.
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return Response(
        "\ufeff" + out.getvalue(),  # the BOM makes Excel read the file as UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="xinyong-file.csv"'},
    )


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


ROUTES: list[BaseRoute] = [
    Route("/me", my_file),
    Route("/me/access-log", my_access_log),
    Route("/me/notices", my_notices),
    Route("/me/objections", my_objections, methods=["GET", "POST"]),
    Route("/me/repairs", my_repairs, methods=["GET", "POST"]),
    Route("/me/file.json", download_json),
    Route("/me/file.csv", download_csv),
]
