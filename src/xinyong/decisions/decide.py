"""The decision function: may this subject do this action, in this context, today?

It reads the evaluated state (active measures of the current run, from the service's
snapshot or from the store); it never evaluates.
A restrict measure whose action and context conditions match denies; a reward measure that
matches is returned as a reward. A subject the ledger does not know is allowed, with no
reasons: that is not an error.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NotRequired, Protocol, TypedDict

from xinyong.access import log as access_log
from xinyong.access.partners import Partner, subject_ref
from xinyong.decisions.snapshot import MeasureRow
from xinyong.errors import DecisionError, Forbidden
from xinyong.ids import parse_subject, subject_key
from xinyong.ids.masking import mask
from xinyong.ledger.objections import Dispute
from xinyong.policy.model import Action, Match, Policy, Scalar

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


class _Reason(TypedDict):
    measure: str
    label: str
    trigger: dict[str, str | None]
    applies_as: str
    via: str | None
    records: list[int]
    legal_basis: str
    valid_until: str | None
    # True while a record behind it is under objection: then also the objection's id and
    # the day its source must decide by.
    disputed: bool
    objection: NotRequired[str]
    objection_due: NotRequired[str]


class _Restriction(_Reason):
    remedy: str


class _Reward(_Reason):
    reward: dict[str, Scalar]


def _by_consent(policy: Policy, row: MeasureRow) -> bool:
    score = policy.scores.get(row.trigger_id) if row.trigger_kind == "score" else None
    return score is not None and score.consent is not None


def answer(
    policy: Policy,
    rows: list[MeasureRow],
    action: str,
    typed: dict[str, Any],
    day: dt.date,
    disputes: Mapping[int, Dispute] | None = None,
) -> dict[str, Any]:
    """The outcome for a subject whose measures in force are ``rows``: deny if a restrict
    measure covers the action in this context, with every reason; rewards alongside."""
    reasons: list[_Restriction] = []
    rewards: list[_Reward] = []
    for row in rows:
        if row.valid_until is not None and row.valid_until <= day:
            continue
        if not applies(policy, row.measure_id, action, typed):
            continue
        measure = policy.measures[row.measure_id]
        reason: _Reason = {
            "measure": measure.id,
            "label": measure.label,
            # A score given by consent is never told, not even as its grade.
            "trigger": {
                "kind": row.trigger_kind,
                "id": row.trigger_id,
                "ref": None if _by_consent(policy, row) else row.trigger_ref,
            },
            "applies_as": row.role,
            "via": row.via,
            "records": list(row.records),
            "legal_basis": measure.legal_basis,
            "valid_until": row.valid_until.isoformat() if row.valid_until else None,
            "disputed": False,
        }
        dispute = (
            next((disputes[e] for e in row.records if e in disputes), None) if disputes else None
        )
        if dispute is not None:
            reason["disputed"] = True
            reason["objection"] = dispute.objection_id
            reason["objection_due"] = dispute.due_on.isoformat()
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
        "valid_until": (
            None if not until or None in until else min(u for u in until if u is not None)
        ),
        "remedy": " ".join(dict.fromkeys(r["remedy"] for r in reasons if r["remedy"])) or None,
    }


class Measures(Protocol):
    """Where the measures in force come from: the service's snapshot or the store."""

    as_of: dt.date | None

    @property
    def disputes(self) -> Mapping[int, Dispute]:
        """Records under open objection: at least those of the subject ``rows`` last read."""

    def require(self, policy: Policy) -> None: ...

    def rows(self, key: str) -> list[MeasureRow]: ...

    def consented(self, key: str) -> frozenset[str]:
        """The purposes the subject consents to now."""


@dataclass
class Outcome:
    """One answered request: the body, and the access-log entry to make durable before
    the body is sent (the service's journal or the command line's append)."""

    body: dict[str, Any]
    entry: dict[str, Any]


def decide(
    policy: Policy,
    secret: bytes,
    measures: Measures,
    request: dict[str, Any],
    *,
    partner: Partner | None,
    day: dt.date,
    channel: str,
) -> Outcome:
    """Answer one question: ``request`` holds ``subject``, ``action`` and optionally
    ``context`` and ``purpose``. The one path for the command line and both HTTP routes:
    the action, the partner's grant, the evaluated state, the context and the identifier are
    checked in that order (raising DecisionError, Forbidden, NotEvaluated, InvalidIdentifier),
    and the access-log entry names who asked, why and what they were told."""
    action = request["action"]
    if action not in policy.actions:
        check_request(policy, action, {})  # raises action_unknown, listing the known
    if partner is not None and action not in partner.actions:
        raise Forbidden(
            f"Partner {partner.partner_id!r} may not ask about {action!r}: its grant "
            f"covers {', '.join(partner.actions)}.",
            hint="An administrator can register the partner with that action "
            "(`xinyong partners add ... --actions`).",
        )
    measures.require(policy)
    typed = check_request(policy, action, request.get("context") or {})
    transaction = check_transaction(policy, action, request.get("transaction"))
    parsed = parse_subject(request["subject"])
    key = subject_key(secret, parsed.identifier)
    decision_id = decision_uuid()
    purpose = request.get("purpose") or (partner.purpose if partner else None)
    rows = measures.rows(key)
    body: dict[str, Any] = {
        "decision_id": decision_id,
        **answer(policy, rows, action, typed, day, measures.disputes),
        "subject": mask(parsed.identifier),
    }
    withheld = needs_consent(policy, action, typed, measures.consented(key))
    if withheld:
        body["rewards_withheld"] = withheld
    if partner is not None:
        body["subject_ref"] = subject_ref(secret, partner.partner_id, key)
    body.update(
        action=action,
        context=typed,
        **({"transaction": transaction} if transaction else {}),
        purpose=purpose,
        policy=policy.label,
        evaluated_as_of=measures.as_of.isoformat() if measures.as_of else None,
        decided_on=day.isoformat(),
    )
    entry = access_log.entry(
        key,
        "decision",
        partner.partner_id if partner else "cli",
        action=action,
        purpose=purpose,
        outcome=body["decision"],
        decision_id=decision_id,
        channel=channel,
    )
    if transaction:
        entry["transaction"] = transaction
    return Outcome(body, entry)


MAX_TRANSACTION = 64


def check_transaction(policy: Policy, action: str, value: Any) -> str | None:
    """The transaction reference an action asked only within a transaction must carry: the
    partner's own reference, which the access log keeps and the subject sees."""
    if value is None or value == "":
        if policy.actions[action].transaction:
            raise DecisionError(
                f"Action {action!r} may be asked only about a customer in a transaction: the"
                " request needs its reference in `transaction`.",
                hint="Pass the booking or order number, e.g. --transaction ORDER-2026-0001.",
                code="transaction_missing",
            )
        return None
    text = str(value)
    if len(text) > MAX_TRANSACTION or not all(c.isprintable() and c != " " for c in text):
        raise DecisionError(
            f"A transaction reference is at most {MAX_TRANSACTION} printable characters"
            " without spaces.",
            code="transaction_invalid",
        )
    return text


def needs_consent(
    policy: Policy, action: str, typed: dict[str, Any], consented: frozenset[str]
) -> list[dict[str, str]]:
    """Rewards this question could bring that rest on a score the subject has not consented
    to: named with the reason "no consent", never with a score."""
    out = []
    for measure in policy.measures.values():
        score_id = measure.trigger.score
        score = policy.scores.get(score_id) if score_id else None
        if score is None or score.consent is None or score.consent in consented:
            continue
        if applies(policy, measure.id, action, typed):
            out.append(
                {
                    "measure": measure.id,
                    "label": measure.label,
                    "reason": "no_consent",
                    "purpose": score.consent,
                    "message": "The subject has not consented to the score this reward needs.",
                }
            )
    return out


def decision_uuid() -> str:
    """A version-4 UUID from the process's Mersenne Twister: unique, not secret (it grants
    nothing), and without the system call per decision that ``uuid.uuid4`` makes."""
    h = f"{random.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
