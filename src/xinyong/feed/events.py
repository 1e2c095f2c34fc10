"""Changes as CloudEvents 1.0 (structured JSON), for one partner or for the deployment.

A partner's event names the subject by the partner's own reference (the ``subject_ref`` it
got in its decisions), and lists only the actions of its grant that the measure covers.
"""

from __future__ import annotations

from typing import Any

from xinyong.access.partners import Partner, subject_ref
from xinyong.policy.model import Policy
from xinyong.state.outbox import Change

SOURCE = "urn:xinyong:decisions"
TYPES = {"active": "cn.xinyong.measure.active", "ended": "cn.xinyong.measure.ended"}


def measure_actions(policy: Policy, measure_id: str) -> list[str]:
    measure = policy.measures.get(measure_id)
    return sorted({use.action for use in measure.actions}) if measure else []


def _event(policy: Policy, change: Change, subject: str, actions: list[str]) -> dict[str, Any]:
    measure = policy.measures.get(change.measure_id)
    return {
        "specversion": "1.0",
        "id": str(change.seq),
        "source": SOURCE,
        "type": TYPES[change.status],
        "time": change.recorded_at.isoformat(timespec="milliseconds") + "Z",
        "subject": subject,
        "datacontenttype": "application/json",
        "data": {
            "cursor": change.seq,
            "subject_ref": subject,
            "measure": change.measure_id,
            "measure_kind": measure.kind if measure else None,
            "label": measure.label if measure else None,
            "actions": actions,
            "status": change.status,
            "valid_until": change.valid_until.isoformat() if change.valid_until else None,
            "cause": change.cause,
            "disputed": change.objection_id is not None,
            "objection": change.objection_id,
            "objection_due": change.objection_due.isoformat() if change.objection_due else None,
        },
    }


def for_partner(
    policy: Policy, secret: bytes, partner: Partner, change: Change
) -> dict[str, Any] | None:
    """The event this partner is told, or None when no action of its grant is affected."""
    granted = set(partner.actions)
    actions = [a for a in measure_actions(policy, change.measure_id) if a in granted]
    if not actions:
        return None
    ref = subject_ref(secret, partner.partner_id, change.subject_key)
    return _event(policy, change, ref, actions)


def for_deployment(policy: Policy, change: Change) -> dict[str, Any]:
    """The event published on the deployment's own stream (NATS): names the subject key."""
    return _event(policy, change, change.subject_key, measure_actions(policy, change.measure_id))
