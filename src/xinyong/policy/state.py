"""Reading the evaluated credit state of one subject, with every reason spelled out.

The state comes from the current run, or for ``as_of`` a past date from an evaluation of
that one subject (and the organisations it is linked to) computed on the spot and not kept.
Either way each list, score and measure names the records and the rule that produced it,
with the rule's file and line and its legal basis.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from xinyong.context import Context
from xinyong.errors import NotEvaluated
from xinyong.policy.compiler import compile_policy
from xinyong.policy.evaluate import TABLES, current_run
from xinyong.policy.model import Policy
from xinyong.store.base import Connection


def require_current(conn: Connection, policy: Policy) -> dict[str, Any]:
    run = current_run(conn)
    if run is None:
        raise NotEvaluated(
            "The ledger has not been evaluated yet.",
            hint="Run `xinyong evaluate` (the demo does it for you).",
        )
    if run["policy_digest"] != policy.digest:
        raise NotEvaluated(
            f"The current state was made by policy {run['policy_name']} "
            f"{run['policy_version']} ({run['policy_digest']}), not by the loaded policy "
            f"{policy.label} ({policy.digest}).",
            hint="Run `xinyong evaluate` to re-evaluate with the loaded policy.",
        )
    return run


def subject_state(
    ctx: Context, conn: Connection, key: str, as_of: dt.date | None = None
) -> dict[str, Any]:
    """Lists, scores, measures, links and flags of one subject, explained."""
    policy = ctx.policy
    if as_of is None:
        run = require_current(conn, policy)
        rows = _stored(conn, int(run["run_id"]), key)
        header = {"run_id": run["run_id"], "as_of": run["as_of"].isoformat(), "replay": False}
    else:
        rows = _computed(ctx, conn, key, as_of)
        header = {"run_id": None, "as_of": as_of.isoformat(), "replay": True}
    header["policy"] = policy.label
    header["policy_digest"] = policy.digest
    return {"evaluation": header, **explain(conn, policy, key, rows)}


def _stored(conn: Connection, run_id: int, key: str) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for name, (table, owner) in TABLES.items():
        if name == "out_links":
            sql = f"SELECT * FROM {table} WHERE run_id = ? AND (org_key = ? OR person_key = ?)"
            out[name] = conn.dicts(sql, [run_id, key, key])
        else:
            out[name] = conn.dicts(
                f"SELECT * FROM {table} WHERE run_id = ? AND {owner} = ?", [run_id, key]
            )
    return out


def _computed(
    ctx: Context, conn: Connection, key: str, as_of: dt.date
) -> dict[str, list[dict[str, Any]]]:
    from xinyong.engines import get_engine

    runner = get_engine(ctx.store.name, ctx.store.name)
    plan = compile_policy(ctx.policy, ctx.catalog, as_of)
    conn.execute("CREATE TEMP TABLE ev_scope (subject_key VARCHAR)")
    try:
        conn.execute("INSERT INTO ev_scope VALUES (?)", [key])
        # The organisations whose registrations name this person, as the ledger stands.
        conn.execute(
            "INSERT INTO ev_scope SELECT DISTINCT r.subject_key FROM current_records r"
            " WHERE r.category = 'administrative.registration' AND r.details LIKE ?",
            ["%" + key + "%"],
        )
        runner.materialise(ctx.store, conn, plan, None, scoped=True)
        out = {}
        for name, (_table, owner) in TABLES.items():
            if name == "out_links":
                out[name] = conn.dicts(
                    f"SELECT * FROM {name} WHERE org_key = ? OR person_key = ?", [key, key]
                )
            else:
                out[name] = conn.dicts(f"SELECT * FROM {name} WHERE {owner} = ?", [key])
        runner.cleanup(conn, plan)
    finally:
        conn.execute("DROP TABLE IF EXISTS ev_scope")
    return out


def _records_by_id(conn: Connection, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = conn.dicts(
        "SELECT event_id, category, occurred_on, document, source_id FROM records"
        f" WHERE event_id IN ({marks})",
        sorted(ids),
    )
    out = {}
    for r in rows:
        r["occurred_on"] = r["occurred_on"].isoformat()
        out[int(r["event_id"])] = r
    return out


def _identifiers(conn: Connection, keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    marks = ", ".join("?" for _ in keys)
    rows = conn.execute(
        f"SELECT subject_key, identifier FROM subjects WHERE subject_key IN ({marks})",
        sorted(keys),
    )
    return {k: i for k, i in rows}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def explain(
    conn: Connection, policy: Policy, key: str, rows: dict[str, list[dict[str, Any]]]
) -> dict[str, Any]:
    evidence: dict[str, list[dict[str, Any]]] = {}
    for e in rows["out_list_evidence"]:
        evidence.setdefault(e["entry_id"], []).append(e)
    items: dict[str, list[dict[str, Any]]] = {}
    for i in rows["out_score_items"]:
        items.setdefault(i["score_id"], []).append(i)
    event_ids = {int(e["event_id"]) for e in rows["out_list_evidence"]}
    event_ids |= {int(i["event_id"]) for i in rows["out_score_items"]}
    event_ids |= {int(f["event_id"]) for f in rows["out_record_flags"]}
    records = _records_by_id(conn, event_ids)
    linked = {m["via_subject_key"] for m in rows["out_measures"] if m["via_subject_key"]}
    linked |= {k["org_key"] for k in rows["out_links"]} | {
        k["person_key"] for k in rows["out_links"]
    }
    names = _identifiers(conn, linked - {key})

    lists = []
    for e in sorted(rows["out_list_entries"], key=lambda r: (r["list_id"], str(r["entered_on"]))):
        rule = policy.lists.get(e["list_id"])
        never = next((n for n in rule.never if n.id == e["refused_by"]), None) if rule else None
        lists.append(
            {
                "list": e["list_id"],
                "label": rule.label if rule else e["list_id"],
                "kind": rule.kind if rule else None,
                "status": e["status"],
                "entered_on": _iso(e["entered_on"]),
                "ends_on": _iso(e["ends_on"]),
                "end_reason": e["end_reason"],
                "refused_by": (
                    {"rule": never.id, "reason": never.label, "legal_basis": never.legal_basis}
                    if never
                    else None
                ),
                "records": [
                    {
                        "role": v["role"],
                        **records.get(int(v["event_id"]), {"event_id": v["event_id"]}),
                    }
                    for v in sorted(
                        evidence.get(e["entry_id"], []), key=lambda v: int(v["event_id"])
                    )
                ],
                "rule": rule.at if rule else None,
                "legal_basis": rule.legal_basis if rule else None,
            }
        )

    scores = []
    for s in sorted(rows["out_scores"], key=lambda r: r["score_id"]):
        rule = policy.scores.get(s["score_id"])
        grade = next((g for g in rule.grades if g.grade == s["grade"]), None) if rule else None
        contributions = []
        for i in sorted(items.get(s["score_id"], []), key=lambda r: int(r["event_id"])):
            score_rule = (
                next((r for r in rule.rules if r.id == i["rule_id"]), None) if rule else None
            )
            contributions.append(
                {
                    "event_id": int(i["event_id"]),
                    "rule": i["rule_id"],
                    "points": int(i["points"]),
                    "counts_until": _iso(i["counts_until"]),
                    **{
                        k: v
                        for k, v in records.get(int(i["event_id"]), {}).items()
                        if k != "event_id"
                    },
                    "legal_basis": score_rule.legal_basis if score_rule else None,
                }
            )
        scores.append(
            {
                "score": s["score_id"],
                "label": rule.label if rule else s["score_id"],
                "base": rule.base if rule else None,
                "points": int(s["points"]),
                "grade": s["grade"],
                "grade_label": grade.label if grade else None,
                "valid_until": _iso(s["valid_until"]),
                "contributions": contributions,
                "rule": rule.at if rule else None,
                "legal_basis": rule.legal_basis if rule else None,
            }
        )

    measures = []
    for m in sorted(rows["out_measures"], key=lambda r: (r["measure_id"], r["trigger_id"])):
        rule = policy.measures.get(m["measure_id"])
        via = m["via_subject_key"]
        measures.append(
            {
                "measure": m["measure_id"],
                "label": rule.label if rule else m["measure_id"],
                "kind": rule.kind if rule else None,
                "actions": sorted({a.action for a in rule.actions}) if rule else [],
                "trigger": {
                    "kind": m["trigger_kind"],
                    "id": m["trigger_id"],
                    "ref": m["trigger_ref"],
                },
                "applies_as": m["role"],
                "via": {"identifier": names.get(via, via), "role": m["role"]} if via else None,
                "valid_until": _iso(m["valid_until"]),
                "rule": rule.at if rule else None,
                "legal_basis": rule.legal_basis if rule else None,
                "remedy": rule.remedy if rule else None,
            }
        )

    flags = []
    for f in rows["out_record_flags"]:
        rule = policy.lists.get(f["list_id"])
        never = next((n for n in rule.never if n.id == f["never_id"]), None) if rule else None
        flags.append(
            {
                "event_id": int(f["event_id"]),
                "list": f["list_id"],
                "flag": f["never_id"],
                "reason": never.label if never else f["never_id"],
                "legal_basis": never.legal_basis if never else None,
            }
        )
    links = [
        {
            "organisation": names.get(k["org_key"], k["org_key"]) if k["org_key"] != key else None,
            "person": names.get(k["person_key"], k["person_key"])
            if k["person_key"] != key
            else None,
            "role": k["role"],
            "event_id": int(k["event_id"]),
        }
        for k in rows["out_links"]
    ]
    return {"lists": lists, "scores": scores, "measures": measures, "flags": flags, "links": links}
