"""Changes as CloudEvents 1.0 (structured JSON), for one partner or for the deployment.

A partner's event names the subject by the partner's own reference (the ``subject_ref`` it
got in its decisions), and lists only the actions of its grant that the measure covers.
"""

from __future__ import annotations

from typing import Any

from xinyong.access.partners import Partner, subject_ref
from xinyong.ids.pseudonym import secret_fingerprint
from xinyong.policy.model import Policy
from xinyong.state.outbox import Change


def deployment_id(secret: bytes) -> str:
    """The deployment's public name, from its secret's fingerprint: what tells two
    deployments' events apart (CloudEvents ``source``, NATS message ids)."""
    return "xinyong-" + secret_fingerprint(secret)[:8]


def source_of(secret: bytes, stream: str = "changes") -> str:
    """The CloudEvents ``source`` of one of this deployment's feeds: ``changes`` for
    partners, ``internal`` for its own stream (which names subject keys). With the change's
    cursor as ``id``, unique per event across deployments, as the specification requires."""
    return f"urn:xinyong:{secret_fingerprint(secret)[:8]}:{stream}"


TYPES = {"active": "cn.xinyong.measure.active", "ended": "cn.xinyong.measure.ended"}


def measure_actions(policy: Policy, measure_id: str) -> list[str]:
    measure = policy.measures.get(measure_id)
    return sorted({use.action for use in measure.actions}) if measure else []


def _event(
    policy: Policy, source: str, change: Change, subject: str, actions: list[str]
) -> dict[str, Any]:
    measure = policy.measures.get(change.measure_id)
    return {
        "specversion": "1.0",
        "id": str(change.seq),
        "source": source,
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
    return _event(policy, source_of(secret), change, ref, actions)


def for_deployment(policy: Policy, secret: bytes, change: Change) -> dict[str, Any]:
    """The event published on the deployment's own stream (NATS): names the subject key."""
    actions = measure_actions(policy, change.measure_id)
    return _event(policy, source_of(secret, "internal"), change, change.subject_key, actions)
