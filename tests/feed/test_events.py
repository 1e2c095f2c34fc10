"""Change events are CloudEvents that the CloudEvents SDK reads, and two deployments never
emit the same source and id for different events (the specification's uniqueness rule)."""

from __future__ import annotations

import datetime as dt

from cloudevents.http import from_dict

from xinyong.access.partners import Partner
from xinyong.feed.events import for_deployment, for_partner, source_of
from xinyong.policy.loader import load_policy
from xinyong.state.outbox import Change

AIRLINE = Partner("air", "Air", "airline", ("flight.ticket.purchase",), "ticket sales", None, True)


def _change(seq: int) -> Change:
    return Change(
        seq=seq,
        subject_key="0" * 32,
        measure_id="high_consumption_travel",
        status="active",
        valid_until=dt.date(2028, 1, 1),
        cause="records",
        recorded_at=dt.datetime(2026, 12, 1, 8, 0, 0),
    )


def test_two_deployments_never_share_a_source_and_id() -> None:
    policy = load_policy()
    first, second = b"deployment-one-secret", b"deployment-two-secret"
    a = for_partner(policy, first, AIRLINE, _change(1))
    b = for_partner(policy, second, AIRLINE, _change(1))
    assert a is not None and b is not None
    assert a["id"] == b["id"] == "1"
    assert (a["source"], a["id"]) != (b["source"], b["id"])
    assert a["source"] == source_of(first) and a["source"].startswith("urn:xinyong:")
    # The deployment's own stream (subject keys, not partner references) is another source.
    assert for_deployment(policy, first, _change(1))["source"] == source_of(first, "internal")


def test_the_cloudevents_sdk_reads_every_event() -> None:
    policy = load_policy()
    secret = b"a-deployment-secret"
    seen = set()
    for seq in range(1, 6):
        for event in (
            for_partner(policy, secret, AIRLINE, _change(seq)),
            for_deployment(policy, secret, _change(seq)),
        ):
            assert event is not None
            parsed = from_dict(event)
            assert parsed["specversion"] == "1.0"
            assert parsed["type"] == "cn.xinyong.measure.active"
            assert parsed.data["cursor"] == seq
            seen.add((parsed["source"], parsed["id"], parsed["subject"]))
    assert len({(s, i) for s, i, _ in seen}) == 10  # every event its own source and id
