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
from xinyong.engines import get_engine
from xinyong.ledger.objections import open_disputes
from xinyong.policy.compiler import compile_policy
from xinyong.state.explain import Rows, explain, stored_rows
from xinyong.state.runs import TABLES, require_current
from xinyong.store.base import Connection


def subject_state(
    ctx: Context, conn: Connection, key: str, as_of: dt.date | None = None
) -> dict[str, Any]:
    """Lists, scores, measures, links and flags of one subject, explained."""
    policy = ctx.policy
    if as_of is None:
        run = require_current(conn, policy)
        rows = stored_rows(conn, int(run["run_id"]), key)
        header = {"run_id": run["run_id"], "as_of": run["as_of"].isoformat(), "replay": False}
    else:
        rows = _computed(ctx, conn, key, as_of)
        header = {"run_id": None, "as_of": as_of.isoformat(), "replay": True}
    header["policy"] = policy.label
    header["policy_digest"] = policy.digest
    disputes = open_disputes(conn, [key])
    return {"evaluation": header, **explain(conn, policy, key, rows, disputes)}


def _computed(ctx: Context, conn: Connection, key: str, as_of: dt.date) -> Rows:
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


