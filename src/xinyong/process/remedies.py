"""Remedies, computed: for each measure in force on a subject, what would lift it and when.

The answer the stranded traveller needs at the airport: the earliest day the measure ends
by itself, the record whose removal, correction or repair would end it, the authority to
ask (the source of that record), whether repair may be applied for and from when, and any
objection already open against it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from xinyong.catalog.model import Category
from xinyong.clock import today
from xinyong.context import Context
from xinyong.evaluation.replay import subject_state
from xinyong.ids import parse_subject, subject_key
from xinyong.ids.masking import mask
from xinyong.process.calendar import add_months
from xinyong.store.base import Connection


def repair_from(category: Category, occurred_on: dt.date, severity: str | None) -> dt.date | None:
    """The first day repair of a record may be applied for, or None when the category is
    not repairable (a court's listing ends by the court's own decision)."""
    rule = category.repair
    if rule.tier == "none":
        return None
    months = rule.min_months
    if rule.tier == "by_severity" and rule.min_months_by:
        months = rule.min_months_by.get(severity or "", rule.min_months)
    return add_months(occurred_on, months or 0)


def remedies(ctx: Context, conn: Connection, identifier: str) -> dict[str, Any]:
    parsed = parse_subject(identifier)
    key = subject_key(ctx.secret, parsed.identifier)
    state = subject_state(ctx, conn, key)
    day = today(ctx.settings.timezone)
    sources = {sid: name for sid, name in conn.execute("SELECT source_id, name FROM sources")}
    entries = {e["list"]: e for e in state["lists"] if e["status"] == "active"}
    out: list[dict[str, Any]] = []
    for m in state["measures"]:
        entry = entries.get(m["trigger"]["id"]) if m["trigger"]["kind"] == "list" else None
        records = [r for r in (entry or {}).get("records", []) if r.get("role") == "entry"]
        ways = []
        for r in records:
            details = _details(conn, int(r["event_id"]))
            category = ctx.catalog.categories.get(r.get("category", ""))
            occurred = dt.date.fromisoformat(r["occurred_on"]) if r.get("occurred_on") else day
            repair = repair_from(category, occurred, details.get("severity")) if category else None
            ways.append(
                {
                    "record": r.get("source_record_id"),
                    "event_id": r["event_id"],
                    "category": r.get("category"),
                    "document": r.get("document"),
                    "authority": {"source": r.get("source_id"), "name": sources.get(r.get("source_id"))},
                    "ends_it": "a removal of this case by its source, or an upheld objection"
                    if not category or category.repair.tier == "none"
                    else "a removal by its source, a granted repair, or an upheld objection",
                    "repair_from": repair.isoformat() if repair else None,
                    "repair_note": category.repair.note if category else None,
                    "disputed": r.get("disputed", False),
                    "objection": r.get("objection"),
                    "objection_due": r.get("objection_due"),
                }
            )
        same = next((o for o in out if o["measure"] == m["measure"]), None)
        if same is not None:  # one measure, several triggers: one answer, every way out
            same["records"] += ways
            ends = [same["ends_by_itself_on"], m["valid_until"]]
            same["ends_by_itself_on"] = None if None in ends else max(ends)
            same["disputed"] = same["disputed"] and m.get("disputed", False)
            continue
        out.append(
            {
                "measure": m["measure"],
                "label": m["label"],
                "kind": m["kind"],
                "actions": m["actions"],
                "ends_by_itself_on": m["valid_until"],
                "via": m["via"],
                "remedy": m["remedy"],
                "legal_basis": m["legal_basis"],
                "records": ways,
                "disputed": m.get("disputed", False),
            }
        )
    return {"subject": mask(parsed.identifier), "as_of": day.isoformat(), "measures": out}


def _details(conn: Connection, event_id: int) -> dict[str, Any]:
    raw = conn.scalar("SELECT details FROM records WHERE event_id = ?", [event_id])
    return dict(orjson.loads(raw)) if raw else {}
