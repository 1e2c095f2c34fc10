"""The command line's way of deciding (the one decision function over the stored state),
for tests that compare it with the service's snapshot."""

from __future__ import annotations

from typing import Any

from xinyong.clock import today
from xinyong.context import Context
from xinyong.decisions.decide import decide
from xinyong.decisions.snapshot import StoredMeasures
from xinyong.store.base import Connection


def decide_from_store(
    ctx: Context, conn: Connection, identifier: str, action: str, context: dict[str, Any]
) -> dict[str, Any]:
    day = today(ctx.settings.timezone)
    request = {"subject": identifier, "action": action, "context": context}
    outcome = decide(
        ctx.policy, ctx.secret, StoredMeasures(conn, day), request, partner=None, day=day,
        channel="cli",
    )
    return outcome.body
