"""A subject's whole file, as the subject sees it: every record with its provenance, the
evaluated state explained (as of today, or replayed as of a past date), the remedies of its
measures, its objections and repair applications. One function, served as JSON by the API
(``GET /v1/subjects/{id}``), as pages and downloads by the portal, and as the signed report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from xinyong.decisions.service import Service
from xinyong.errors import NotEvaluated
from xinyong.evaluation.replay import subject_state
from xinyong.ledger.queries import subject_file
from xinyong.process.objections import list_objections
from xinyong.process.remedies import remedies
from xinyong.process.repairs import list_repairs
from xinyong.score.consent import history as consent_history
from xinyong.score.standing import standing
from xinyong.store.base import Connection


def whole_file(service: Service, identifier: str, as_of: dt.date | None = None) -> dict[str, Any]:
    """Everything held about ``identifier`` (run it off the event loop: it reads the store)."""
    with service.store_lock, service.ctx.store.transaction() as conn:
        data = subject_file(conn, identifier, service.secret)
        try:
            data["state"] = subject_state(service.ctx, conn, data["subject_key"], as_of)
            data["remedies"] = remedies(service.ctx, conn, identifier)["measures"]
            data["commercial_score"] = commercial_standing(service, conn, data["subject_key"])
        except NotEvaluated as exc:
            data["state"] = {"not_evaluated": exc.message}
            data["remedies"] = []
            data["commercial_score"] = []
        data["consents"] = [c.as_dict() for c in consent_history(conn, data["subject_key"])]
    with service.store_lock:
        data["objections"] = list_objections(service.ctx, identifier=identifier)
        data["repairs"] = list_repairs(service.ctx, identifier=identifier)
    data.pop("subject_key", None)
    return data


def commercial_standing(service: Service, conn: Connection, key: str) -> list[dict[str, Any]]:
    """The scores that need consent: each with its reasons, or why there is none."""
    return standing(conn, service.ctx.policy, key)


def current_records(service: Service, identifier: str) -> list[dict[str, Any]]:
    """Only the subject's current records (what an objection or a repair can name)."""
    with service.store_lock, service.ctx.store.transaction() as conn:
        found: list[dict[str, Any]] = subject_file(conn, identifier, service.secret)[
            "current_records"
        ]
    return found


def measures_in_force(service: Service, subject_key: str) -> list[dict[str, Any]]:
    """Only the explained measures in force (beside the denials of the access log)."""
    with service.store_lock, service.ctx.store.transaction() as conn:
        try:
            found: list[dict[str, Any]] = subject_state(service.ctx, conn, subject_key)["measures"]
        except NotEvaluated:
            return []
    return found


def identifier_of(service: Service, subject_key: str) -> str | None:
    """The identifier behind a pseudonymous key (for a signed-in subject's own pages)."""
    with service.store_lock, service.ctx.store.transaction() as conn:
        found = conn.scalar("SELECT identifier FROM subjects WHERE subject_key = ?", [subject_key])
    return str(found) if found is not None else None
