"""The decision function: may this subject do this action, in this context, today?

It reads the evaluated state (active measures of the current run); it never evaluates.
A restrict measure whose action and context conditions match denies; a reward measure that
matches is returned as a reward. A subject the ledger does not know is allowed, with no
reasons: that is not an error.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from xinyong.clock import today
from xinyong.context import Context
from xinyong.decisions.snapshot import MeasureRow, load_rows
from xinyong.errors import DecisionError
from xinyong.ids import parse_subject, subject_key
from xinyong.ids.masking import mask
from xinyong.policy.model import Action, Match, Policy
from xinyong.policy.state import require_current
from xinyong.store.base import Connection

_NEEDED: dict[tuple[str, str], frozenset[str]] = {}


def context_needed(policy: Policy, action: str) -> frozenset[str]:
    """Context keys that some measure's conditions on ``action`` read: requests must carry
    them whoever the subject is, so that the question itself reveals nothing."""
    memo = (policy.digest, action)
    found = _NEEDED.get(memo)
    if found is None:
        found = _NEEDED[memo] = frozenset(
            key
            for m in policy.measures.values()
            for use in m.actions
            if use.action == action
            for key in use.when
        )
    return found


def check_request(policy: Policy, action: str, context: dict[str, Any]) -> dict[str, Any]:
    """The request's context, typed; raises DecisionError naming what is wrong."""
    spec: Action | None = policy.actions.get(action)
    if spec is None:
        raise DecisionError(
            f"Unknown action {action!r}.",
            hint="Known actions: " + ", ".join(sorted(policy.actions)) + ".",
            code="action_unknown",
        )
    typed: dict[str, Any] = {}
    for key, value in context.items():
        field = spec.context.get(key)
        if field is None:
            known = ", ".join(sorted(spec.context)) or "none"
            raise DecisionError(
                f"Action {action!r} takes no context {key!r} (it takes: {known}).",
                code="context_invalid",
            )
        if field.type == "integer":
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise DecisionError(
                    f"Context {key!r} must be an integer, not {value!r}.", code="context_invalid"
                ) from None
            if (field.min is not None and number < field.min) or (
                field.max is not None and number > field.max
            ):
                raise DecisionError(
                    f"Context {key!r} must be between {field.min} and {field.max}.",
                    code="context_invalid",
                )
            typed[key] = number
        else:
            if str(value) not in field.values:
                raise DecisionError(
                    f"Context {key!r} must be one of {', '.join(field.values)}; got {value!r}.",
                    code="context_invalid",
                )
            typed[key] = str(value)
    missing = sorted(context_needed(policy, action) - set(typed))
    if missing:
        raise DecisionError(
            f"Action {action!r} needs context {', '.join(missing)}.",
            hint="Pass it, e.g. " + " ".join(f"--context {k}=..." for k in missing) + ".",
            code="context_missing",
        )
    return typed


def _matches(match: Match, value: Any) -> bool:
    if match.values is not None and str(value) not in {str(v) for v in match.values}:
        return False
    if match.min is not None and not (isinstance(value, int) and value >= match.min):
        return False
    return not (match.max is not None and not (isinstance(value, int) and value <= match.max))


def applies(policy: Policy, measure_id: str, action: str, context: dict[str, Any]) -> bool:
    measure = policy.measures.get(measure_id)
    if measure is None:
        return False
    return any(
        use.action == action and all(_matches(m, context.get(k)) for k, m in use.when.items())
        for use in measure.actions
    )


def answer(
    policy: Policy, rows: list[MeasureRow], action: str, typed: dict[str, Any], day: dt.date
) -> dict[str, Any]:
    """The outcome for a subject whose measures in force are ``rows``: deny if a restrict
    measure covers the action in this context, with every reason; rewards alongside."""
    reasons, rewards = [], []
    for row in rows:
        if row.valid_until is not None and row.valid_until <= day:
            continue
        if not applies(policy, row.measure_id, action, typed):
            continue
        measure = policy.measures[row.measure_id]
        reason = {
            "measure": measure.id,
            "label": measure.label,
            "trigger": {"kind": row.trigger_kind, "id": row.trigger_id, "ref": row.trigger_ref},
            "applies_as": row.role,
            "via": row.via,
            "records": list(row.records),
            "legal_basis": measure.legal_basis,
            "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        }
        if measure.kind == "restrict":
            reasons.append({**reason, "remedy": measure.remedy})
        else:
            rewards.append({**reason, "reward": measure.reward})
    denied = bool(reasons)
    until = [r["valid_until"] for r in (reasons if denied else rewards)]
    return {
        "decision": "deny" if denied else "allow",
        "rewards": rewards,
        "reasons": reasons,
        "valid_until": None if not until or None in until else min(until),
        "remedy": " ".join(dict.fromkeys(r["remedy"] for r in reasons if r["remedy"])) or None,
    }


def decide(
    ctx: Context,
    conn: Connection,
    identifier: str,
    action: str,
    context: dict[str, Any] | None = None,
    *,
    on: dt.date | None = None,
) -> dict[str, Any]:
    """Answer one question from the current evaluated state in the store (the command
    line's path; the service answers from its in-memory snapshot with ``answer``)."""
    policy = ctx.policy
    typed = check_request(policy, action, context or {})
    parsed = parse_subject(identifier)
    key = subject_key(ctx.secret, parsed.identifier)
    run = require_current(conn, policy)
    day = on or today(ctx.settings.timezone)
    rows = load_rows(conn, int(run["run_id"]), day, [key]).get(key, [])
    return {
        "decision_id": str(uuid.uuid4()),
        **answer(policy, rows, action, typed, day),
        "subject": mask(parsed.identifier),
        "action": action,
        "context": typed,
        "policy": policy.label,
        "evaluated_as_of": run["as_of"].isoformat(),
        "decided_on": day.isoformat(),
    }
