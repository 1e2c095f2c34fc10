"""The evaluated state of one subject, explained: every list, score and measure with the
records and the rule that produced it, the rule's file and line and its legal basis.

``explain`` turns the rows of a plan's outputs (stored, or computed for a replay) into that
explanation; ``stored_rows`` reads a subject's rows of a stored run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from xinyong.ledger.objections import Dispute
from xinyong.policy.model import Policy, Score
from xinyong.state.runs import TABLES
from xinyong.store.base import Connection

Rows = dict[str, list[dict[str, Any]]]


def stored_rows(conn: Connection, run_id: int, key: str) -> Rows:
    """The subject's rows of every output of run ``run_id``."""
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


def _records_by_id(conn: Connection, ids: set[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    marks = ", ".join("?" for _ in ids)
    rows = conn.dicts(
        "SELECT event_id, category, occurred_on, document, source_id, source_record_id FROM records"
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


MAX_REASONS = 4  # as bureaus give with an adverse answer


def card_explanation(score: Score, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A scorecard's features for one subject, and its reasons: up to four features that
    cost the most points against the best bin of each, each with what would raise it."""
    by_id = {r["feature_id"]: r for r in rows}
    features: list[dict[str, Any]] = []
    reasons: list[dict[str, Any]] = []
    for feature in score.features:
        row = by_id.get(feature.id)
        best = max(b.points for b in feature.bins)
        if row is None:  # nothing on record: stored only by its absence
            row = {
                "points": feature.empty_points(),
                "value": 0.0 if feature.aggregate == "count" else None,
                "changes_on": None,
            }
        points = int(row["points"])
        value = row["value"]
        features.append(
            {
                "feature": feature.id,
                "label": feature.label,
                "value": None if value is None else float(value),
                "points": points,
                "best": best,
                "changes_on": _iso(row["changes_on"]),
            }
        )
        if best > points:
            reasons.append(
                {
                    "code": feature.id,
                    "label": feature.label,
                    "value": None if value is None else float(value),
                    "points_lost": best - points,
                    "raise_by": feature.advice,
                }
            )
    reasons.sort(key=lambda r: (-int(r["points_lost"]), str(r["code"])))
    return {"features": features, "reasons": reasons[:MAX_REASONS]}


def explain(
    conn: Connection,
    policy: Policy,
    key: str,
    rows: dict[str, list[dict[str, Any]]],
    disputes: Mapping[int, Dispute] | None = None,
) -> dict[str, Any]:
    evidence: dict[str, list[dict[str, Any]]] = {}
    for e in rows["out_list_evidence"]:
        evidence.setdefault(e["entry_id"], []).append(e)
    items: dict[str, list[dict[str, Any]]] = {}
    for i in rows["out_score_items"]:
        items.setdefault(i["score_id"], []).append(i)
    features: dict[str, list[dict[str, Any]]] = {}
    for f in rows.get("out_score_features", []):
        features.setdefault(f["score_id"], []).append(f)
    event_ids = {int(e["event_id"]) for e in rows["out_list_evidence"]}
    event_ids |= {int(i["event_id"]) for i in rows["out_score_items"]}
    event_ids |= {int(f["event_id"]) for f in rows["out_record_flags"]}
    records = _records_by_id(conn, event_ids)
    for event_id, dispute in (disputes or {}).items():
        if event_id in records:
            records[event_id].update(dispute.as_dict())
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
        score = policy.scores.get(s["score_id"])
        grade = next((g for g in score.grades if g.grade == s["grade"]), None) if score else None
        contributions = []
        for i in sorted(items.get(s["score_id"], []), key=lambda r: int(r["event_id"])):
            score_rule = (
                next((r for r in score.rules if r.id == i["rule_id"]), None) if score else None
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
                "label": score.label if score else s["score_id"],
                "base": score.base if score else None,
                "points": int(s["points"]),
                "grade": s["grade"],
                "grade_label": grade.label if grade else None,
                "valid_until": _iso(s["valid_until"]),
                "contributions": contributions,
                **(
                    card_explanation(score, features.get(s["score_id"], []))
                    if score is not None and score.features
                    else {}
                ),
                "rule": score.at if score else None,
                "legal_basis": score.legal_basis if score else None,
            }
        )

    measures = []
    for m in sorted(rows["out_measures"], key=lambda r: (r["measure_id"], r["trigger_id"])):
        measure = policy.measures.get(m["measure_id"])
        via = m["via_subject_key"]
        measures.append(
            {
                "measure": m["measure_id"],
                "label": measure.label if measure else m["measure_id"],
                "kind": measure.kind if measure else None,
                "actions": sorted({a.action for a in measure.actions}) if measure else [],
                "trigger": {
                    "kind": m["trigger_kind"],
                    "id": m["trigger_id"],
                    "ref": m["trigger_ref"],
                },
                "applies_as": m["role"],
                "via": {"identifier": names.get(via, via), "role": m["role"]} if via else None,
                "valid_until": _iso(m["valid_until"]),
                "rule": measure.at if measure else None,
                "legal_basis": measure.legal_basis if measure else None,
                "remedy": measure.remedy if measure else None,
            }
        )
        behind = [int(v["event_id"]) for v in evidence.get(m["trigger_ref"], [])]
        if m["trigger_kind"] != "list":
            behind = [int(i["event_id"]) for i in items.get(m["trigger_id"], [])]
        found = next((disputes[e] for e in behind if e in disputes), None) if disputes else None
        if found is not None:
            measures[-1].update(found.as_dict())

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
