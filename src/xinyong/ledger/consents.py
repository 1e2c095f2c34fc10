"""Which subjects have consent in force, read from the ledger: a grant is a current
``consent.granted`` record of the built-in source ``subjects``; withdrawing revokes it.

Writing consent is the commercial score's business (``xinyong.score.consent``); reading it
is needed lower down, by decisions, which tell a partner when a reward needs consent."""

from __future__ import annotations

import orjson

from xinyong.catalog.model import CONSENT_CATEGORY
from xinyong.store.base import Connection

SOURCE_ID = "subjects"  # the built-in source of what subjects give themselves


def consents_in_force(conn: Connection, keys: list[str] | None = None) -> dict[str, frozenset[str]]:
    """Purposes each subject consents to now (all subjects with any, or only ``keys``)."""
    where, params = "", [CONSENT_CATEGORY]
    if keys is not None:
        if not keys:
            return {}
        where = " AND subject_key IN (" + ", ".join("?" for _ in keys) + ")"
        params += keys
    found: dict[str, set[str]] = {}
    for key, details in conn.execute(
        "SELECT subject_key, details FROM current_records WHERE category = ?" + where, params
    ):
        found.setdefault(key, set()).add(str(orjson.loads(details).get("purpose")))
    return {k: frozenset(v) for k, v in found.items()}


def consent_changes(conn: Connection, after_event: int) -> tuple[list[str], int]:
    """Subjects whose consent records changed after event ``after_event``, and the last
    such event: what a long-lived reader refreshes."""
    rows = conn.execute(
        "SELECT subject_key, event_id FROM records WHERE source_id = ? AND event_id > ?",
        [SOURCE_ID, after_event],
    )
    keys = sorted({k for k, _ in rows})
    last = max([after_event, *(int(e) for _, e in rows)])
    return keys, last
