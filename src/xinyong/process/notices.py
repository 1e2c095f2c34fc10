"""Notices to a subject, and to the subject alone.

A notice is a record of its own (``notices``): what happened, the records and rule behind
it, the legal basis, whether and until when the subject may object and how, and the remedy,
in Chinese and English (texts in notices.toml). Notices about measures are made from the
outbox of measure changes by a cursor, in the transaction that wrote the changes (or by
``xinyong maintain`` catching up), so nothing is told twice and nothing is missed. They are
delivered by process/channels.py; nothing is ever addressed to anyone but the subject.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from functools import cache
from importlib import resources
from typing import Any

import orjson

from xinyong.clock import today, utcnow
from xinyong.context import Context
from xinyong.ids.masking import mask
from xinyong.ledger.cases import OBJECTIONS, CaseTable
from xinyong.state.outbox import Change, changes_after
from xinyong.state.runs import current_run
from xinyong.store.base import Connection, get_meta, set_meta

CURSOR = "notices_from_changes_through"
KINDS = (
    "measure_started",
    "measure_ended",
    "record_received",
    "objection_received",
    "objection_decided",
    "objection_overdue",
    "term_ending",
    "repair_received",
    "repair_decided",
    "listing_pending",
    "repair_overdue",
)


@cache
def texts() -> dict[str, Any]:
    raw = resources.files("xinyong.process").joinpath("notices.toml").read_text("utf-8")
    return tomllib.loads(raw)


class _Facts(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""  # a fact that does not apply to this notice reads as nothing


def render(kind: str, facts: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Title and text of a notice in both languages."""
    spec = texts()["kinds"][kind]
    values = _Facts(facts)
    return {
        "title": {lang: spec["title"][lang].format_map(values) for lang in ("zh", "en")},
        "text": {lang: spec["text"][lang].format_map(values) for lang in ("zh", "en")},
    }


def add(
    conn: Connection,
    subject_key: str,
    kind: str,
    facts: dict[str, Any],
    *,
    dedupe_key: str,
    on: dt.date,
    extra: dict[str, Any] | None = None,
) -> int | None:
    """Write one notice; None when a notice with ``dedupe_key`` exists already."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    if conn.scalar("SELECT count(*) FROM notices WHERE dedupe_key = ?", [dedupe_key]):
        return None
    notice_id = int(conn.scalar("SELECT COALESCE(max(notice_id), 0) + 1 FROM notices"))
    body = {"kind": kind, "on": on.isoformat(), **render(kind, facts), **(extra or {})}
    conn.execute(
        "INSERT INTO notices (notice_id, subject_key, kind, dedupe_key, created_at, created_on,"
        " body) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [notice_id, subject_key, kind, dedupe_key, utcnow(), on, orjson.dumps(body).decode()],
    )
    return notice_id


def listing(
    conn: Connection, subject_key: str | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    where, params = ("WHERE n.subject_key = ?", [subject_key]) if subject_key else ("", [])
    rows = conn.dicts(
        "SELECT n.notice_id, n.subject_key, n.kind, n.created_at, n.created_on, n.body,"
        " (SELECT string_agg(d.channel || ':' || d.status, ',' ORDER BY d.channel)"
        "  FROM notice_deliveries d WHERE d.notice_id = n.notice_id) AS delivery"
        f" FROM notices n {where} ORDER BY n.notice_id DESC LIMIT ?",
        [*params, limit],
    )
    for row in rows:
        row["body"] = orjson.loads(row["body"])
        row["delivery"] = dict(
            part.split(":", 1) for part in (row["delivery"] or "").split(",") if part
        )
        row["created_on"] = row["created_on"].isoformat()
        row["created_at"] = row["created_at"].isoformat(timespec="seconds") + "Z"
    return rows


def tell_overdue(conn: Connection, cases: CaseTable, kind: str, day: dt.date) -> int:
    """Tell each subject, once, that its objection or repair application is overdue."""
    key = "objection" if cases is OBJECTIONS else "repair"  # how the texts name the case
    told = 0
    for row in cases.listing(conn, overdue_on=day):
        case_id = row[cases.id_column]
        made = add(
            conn,
            row["subject_key"],
            kind,
            {
                key: case_id,
                "record": row["source_record_id"],
                "source": row["source_id"],
                "due_on": row["due_on"].isoformat(),
            },
            dedupe_key=f"{key}:{case_id}:overdue",
            on=day,
            extra={key: case_id},
        )
        told += made is not None
    return told


# -- from the outbox ---------------------------------------------------------------------


def add_many(
    conn: Connection, rows: list[tuple[str, str, str, dict[str, Any]]], on: dt.date
) -> int:
    """Write notices in bulk: (subject key, kind, dedupe key, body). Those whose dedupe key
    exists already are skipped. Returns how many were written."""
    if not rows:
        return 0
    keys = [r[2] for r in rows]
    seen: set[str] = set()
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        marks = ", ".join("?" for _ in chunk)
        seen |= {
            k
            for (k,) in conn.execute(
                f"SELECT dedupe_key FROM notices WHERE dedupe_key IN ({marks})", chunk
            )
        }
    fresh = [r for r in rows if r[2] not in seen]
    first = int(conn.scalar("SELECT COALESCE(max(notice_id), 0) + 1 FROM notices"))
    now = utcnow()
    for start in range(0, len(fresh), 500):
        batch = fresh[start : start + 500]
        values = ", ".join("(?, ?, ?, ?, ?, ?, ?)" for _ in batch)
        params: list[Any] = []
        for offset, (key, kind, dedupe, body) in enumerate(batch):
            params += [
                first + start + offset,
                key,
                kind,
                dedupe,
                now,
                on,
                orjson.dumps(body).decode(),
            ]
        conn.execute(
            "INSERT INTO notices (notice_id, subject_key, kind, dedupe_key, created_at, created_on,"
            f" body) VALUES {values}",
            params,
        )
    return len(fresh)


def from_changes(ctx: Context, conn: Connection) -> int:
    """Notices for every measure change after the cursor; advances it. Returns how many.

    Set-based: one query for the triggers of all started measures and one for the records
    behind them, however many changes a batch run made."""
    cursor = int(get_meta(conn, CURSOR) or 0)
    day = today(ctx.settings.timezone)
    run = current_run(conn)
    made = 0
    while True:
        changes = changes_after(conn, cursor, 20_000)
        if not changes:
            break
        cursor = changes[-1].seq
        told = [
            c for c in changes if c.cause != "objection" and c.measure_id in ctx.policy.measures
        ]
        triggers = _triggers(conn, run, [c for c in told if c.status != "ended"])
        rows: list[tuple[str, str, str, dict[str, Any]]] = []
        for change in told:
            kind, body = _body(ctx, change, triggers.get((change.subject_key, change.measure_id)))
            rows.append((change.subject_key, kind, f"change:{change.seq}", body))
        made += add_many(conn, rows, day)
    set_meta(conn, CURSOR, str(cursor))
    return made


def _body(
    ctx: Context, change: Change, trigger: dict[str, Any] | None
) -> tuple[str, dict[str, Any]]:
    measure = ctx.policy.measures[change.measure_id]
    facts: dict[str, Any] = {
        "label": measure.label,
        "day": change.recorded_at.date().isoformat(),
        "until": change.valid_until.isoformat() if change.valid_until else "open-ended",
        "legal_basis": measure.legal_basis,
    }
    extra: dict[str, Any] = {
        "measure": measure.id,
        "measure_kind": measure.kind,
        "legal_basis": measure.legal_basis,
        "rule": measure.at,
        "remedy": measure.remedy,
    }
    if change.status == "ended":
        causes = {
            "records": "a record changed",
            "evaluation": "re-evaluation",
            "expiry": "its term ended",
        }
        facts["cause"] = causes.get(change.cause, change.cause)
        kind = "measure_ended"
    else:
        trigger = trigger or {"trigger": "", "via": "", "records": []}
        facts["trigger"] = _trigger_label(ctx, trigger["trigger"])
        facts["via"] = trigger["via"]
        extra["records"] = trigger["records"]
        extra.update(how_to_object(ctx, trigger["records"]))
        kind = "measure_started"
    day = today(ctx.settings.timezone)
    return kind, {"kind": kind, "on": day.isoformat(), **render(kind, facts), **extra}


def _trigger_label(ctx: Context, trigger: str) -> str:
    """"list judicial_defaulters" -> the list's label, as a person reads it."""
    kind, _, rule_id = trigger.partition(" ")
    rule = ctx.policy.lists.get(rule_id) if kind == "list" else ctx.policy.scores.get(rule_id)
    return f"{rule.label} ({rule_id})" if rule else trigger


def _triggers(
    conn: Connection, run: dict[str, Any] | None, started: list[Change]
) -> dict[tuple[str, str], dict[str, Any]]:
    """(subject, measure) -> what triggered it (a list or a score), through which
    organisation, and the records behind it, from the current run."""
    if run is None or not started:
        return {}
    run_id = int(run["run_id"])
    conn.execute("CREATE TEMP TABLE notice_pairs (subject_key VARCHAR, measure_id VARCHAR)")
    try:
        pairs = sorted({(c.subject_key, c.measure_id) for c in started})
        for start in range(0, len(pairs), 500):
            chunk = pairs[start : start + 500]
            conn.execute(
                "INSERT INTO notice_pairs VALUES " + ", ".join("(?, ?)" for _ in chunk),
                [v for pair in chunk for v in pair],
            )
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for row in conn.dicts(
            "SELECT a.subject_key, a.measure_id, min(a.trigger_kind) AS trigger_kind,"
            " min(a.trigger_id) AS trigger_id, min(a.trigger_ref) AS trigger_ref,"
            " min(a.role) AS role, min(s.identifier) AS via FROM active_measures a"
            " JOIN notice_pairs p ON p.subject_key = a.subject_key AND p.measure_id = a.measure_id"
            " LEFT JOIN subjects s ON s.subject_key = a.via_subject_key"
            " WHERE a.run_id = ? GROUP BY a.subject_key, a.measure_id",
            [run_id],
        ):
            via = f"As {row['role']} of {mask(row['via'])}. " if row["via"] else ""
            found[(row["subject_key"], row["measure_id"])] = {
                "trigger": f"{row['trigger_kind']} {row['trigger_id']}",
                "via": via,
                "ref": row["trigger_ref"] if row["trigger_kind"] == "list" else None,
                "records": [],
            }
        by_entry: dict[str, list[dict[str, Any]]] = {}
        for r in conn.dicts(
            "SELECT DISTINCT ev.entry_id, r.source_id, r.source_record_id, r.category, r.document,"
            " CAST(r.occurred_on AS VARCHAR) AS occurred_on FROM list_evidence ev"
            " JOIN records r ON r.event_id = ev.event_id WHERE ev.run_id = ? AND ev.entry_id IN"
            " (SELECT a.trigger_ref FROM active_measures a JOIN notice_pairs p"
            "  ON p.subject_key = a.subject_key AND p.measure_id = a.measure_id"
            "  WHERE a.run_id = ? AND a.trigger_kind = 'list')"
            " ORDER BY ev.entry_id, r.source_record_id",
            [run_id, run_id],
        ):
            entry = r.pop("entry_id")
            by_entry.setdefault(entry, []).append(r)
        for trigger in found.values():
            trigger["records"] = by_entry.get(trigger.pop("ref") or "", [])
        return found
    finally:
        conn.execute("DROP TABLE IF EXISTS notice_pairs")


def how_to_object(ctx: Context, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Whether and until when the subject may object to the first of ``records``, and how."""
    spec = texts()
    first = records[0] if records else None
    category = ctx.catalog.categories.get(first["category"]) if first else None
    decide_within = str(category.objections.decide_within) if category else "30 calendar days"
    source = first["source_id"] if first else "the source"
    facts = _Facts(
        subject="YOUR_ID",  # notices hold no identifier: the subject knows their own
        record=first["source_record_id"] if first else "SOURCE_RECORD_ID",
        source=source,
        decide_within=decide_within,
    )
    return {
        "object_by": None,
        "object_by_text": {lang: spec["object_by"][lang] for lang in ("zh", "en")},
        "how_to_object": {
            lang: spec["how_to_object"][lang].format_map(facts) for lang in ("zh", "en")
        },
    }
