"""A subject's commercial score as the current run holds it, with its reasons, or why there
is none: what `xinyong score show`, the subject's file and the consent page say."""

from __future__ import annotations

import datetime as dt
from typing import Any

from xinyong.ledger.consents import consents_in_force
from xinyong.policy.model import Policy, Score
from xinyong.state.explain import card_explanation
from xinyong.state.runs import require_current
from xinyong.store.base import Connection


def consent_scores(policy: Policy) -> list[Score]:
    return [s for s in policy.scores.values() if s.consent is not None]


def standing(conn: Connection, policy: Policy, key: str) -> list[dict[str, Any]]:
    """One entry per score that needs consent: the score and its reasons, or ``none`` with
    the reason (no consent, not covered, under 18, not evaluated since consent)."""
    run = require_current(conn, policy)
    found = conn.dicts("SELECT kind, birth_date FROM subjects WHERE subject_key = ?", [key])
    kind = found[0]["kind"] if found else None
    birth_date = found[0]["birth_date"] if found else None
    consents = consents_in_force(conn, [key]).get(key, frozenset())
    out = []
    for score in consent_scores(policy):
        entry: dict[str, Any] = {"score": score.id, "label": score.label}
        row = conn.dicts(
            "SELECT points, grade, valid_until FROM scores WHERE run_id = ? AND score_id = ?"
            " AND subject_key = ?",
            [run["run_id"], score.id, key],
        )
        if row:
            features = conn.dicts(
                "SELECT * FROM score_features WHERE run_id = ? AND score_id = ?"
                " AND subject_key = ?",
                [run["run_id"], score.id, key],
            )
            grade = next((g for g in score.grades if g.grade == row[0]["grade"]), None)
            entry.update(
                points=int(row[0]["points"]),
                range=[score.range.min, score.range.max] if score.range else None,
                grade=row[0]["grade"],
                grade_label=grade.label if grade else None,
                valid_until=_iso(row[0]["valid_until"]),
                evaluated_as_of=_iso(run["as_of"]),
                **card_explanation(score, features),
            )
        else:
            entry.update(points=None, none=_why_none(score, consents, kind, birth_date, run))
        out.append(entry)
    return out


def _why_none(
    score: Score,
    consents: frozenset[str],
    kind: str | None,
    birth_date: dt.date | None,
    run: dict[str, Any],
) -> dict[str, str]:
    if kind is None:
        return {"code": "unknown_subject", "message": "The ledger holds no records about you."}
    if kind not in score.subject_kinds:
        return {
            "code": "not_covered",
            "message": f"The score covers {', '.join(score.subject_kinds)} only.",
        }
    if score.consent not in consents:
        return {
            "code": "no_consent",
            "message": "No consent is in force: no score is computed, stored or used.",
        }
    if score.adults_only and birth_date is not None:
        adult = dt.date(birth_date.year + 18, birth_date.month, min(birth_date.day, 28))
        if adult > run["as_of"]:
            return {"code": "under_18", "message": "Persons under 18 are never scored."}
    return {
        "code": "pending",
        "message": "Consent was given after the current evaluation; the score appears with"
        " the next one.",
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
