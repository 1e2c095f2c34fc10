"""`policy diff`: what a policy change would do to the current ledger, before it is deployed.

Both versions are evaluated as of today on the store's own engine, inside one transaction
whose temporary results are dropped: nothing is stored, the current state is untouched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from xinyong.clock import today
from xinyong.context import Context
from xinyong.engines import get_engine
from xinyong.ids.masking import mask
from xinyong.policy.compiler import compile_policy
from xinyong.policy.model import Policy
from xinyong.store.base import Connection

SAMPLE = 5
_KEPT = {
    "out_list_entries": "SELECT DISTINCT list_id AS item, subject_key FROM out_list_entries"
    " WHERE status = 'active'",
    "out_scores": "SELECT score_id AS item, subject_key, grade FROM out_scores",
    "out_measures": "SELECT DISTINCT measure_id AS item, subject_key FROM out_measures",
}


def policy_diff(
    ctx: Context, old: Policy, new: Policy, on: dt.date | None = None
) -> dict[str, Any]:
    day = on or today(ctx.settings.timezone)
    runner = get_engine(ctx.store.name, ctx.store.name)
    with ctx.store.transaction() as conn:
        for side, policy in (("old", old), ("new", new)):
            plan = compile_policy(policy, ctx.catalog, day)
            runner.materialise(ctx.store, conn, plan, None, scoped=False)
            for name, sql in _KEPT.items():
                conn.execute(f"CREATE TEMP TABLE diff_{side}_{name[4:]} AS {sql}")
            runner.cleanup(conn, plan)
        result = {
            "old": {"policy": old.label, "digest": old.digest},
            "new": {"policy": new.label, "digest": new.digest},
            "as_of": day.isoformat(),
            "subjects": int(conn.scalar("SELECT count(*) FROM subjects")),
            "lists": _membership(conn, "list_entries", sorted(set(old.lists) | set(new.lists))),
            "measures": _membership(
                conn, "measures", sorted(set(old.measures) | set(new.measures))
            ),
            "grades": _grades(conn, sorted(set(old.scores) | set(new.scores))),
        }
        for side in ("old", "new"):
            for name in _KEPT:
                conn.execute(f"DROP TABLE IF EXISTS diff_{side}_{name[4:]}")
    return result


def _identifiers(conn: Connection, sql: str, params: list[Any]) -> list[str]:
    rows = conn.execute(
        f"SELECT s.identifier FROM ({sql}) k JOIN subjects s ON s.subject_key = k.subject_key"
        f" ORDER BY s.identifier LIMIT {SAMPLE}",
        params,
    )
    return [mask(i) for (i,) in rows]


def _membership(conn: Connection, table: str, items: list[str]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        old_sql = f"SELECT subject_key FROM diff_old_{table} WHERE item = ?"
        new_sql = f"SELECT subject_key FROM diff_new_{table} WHERE item = ?"
        entering = f"{new_sql} EXCEPT {old_sql}"
        leaving = f"{old_sql} EXCEPT {new_sql}"
        row = {
            "id": item,
            "before": int(conn.scalar(f"SELECT count(*) FROM ({old_sql}) t", [item])),
            "after": int(conn.scalar(f"SELECT count(*) FROM ({new_sql}) t", [item])),
            "entering": int(conn.scalar(f"SELECT count(*) FROM ({entering}) t", [item, item])),
            "leaving": int(conn.scalar(f"SELECT count(*) FROM ({leaving}) t", [item, item])),
        }
        row["sample_entering"] = _identifiers(conn, entering, [item, item])
        row["sample_leaving"] = _identifiers(conn, leaving, [item, item])
        out.append(row)
    return out


def _grades(conn: Connection, scores: list[str]) -> list[dict[str, Any]]:
    out = []
    for score in scores:
        moves = conn.execute(
            "SELECT COALESCE(o.grade, '-') AS before, COALESCE(n.grade, '-') AS after, count(*)"
            " FROM (SELECT * FROM diff_old_scores WHERE item = ?) o"
            " FULL OUTER JOIN (SELECT * FROM diff_new_scores WHERE item = ?) n"
            " ON n.subject_key = o.subject_key"
            " WHERE o.grade IS DISTINCT FROM n.grade"
            " GROUP BY COALESCE(o.grade, '-'), COALESCE(n.grade, '-') ORDER BY 3 DESC, 1, 2",
            [score, score],
        )
        changes = []
        for before, after, n in moves:
            sample = _identifiers(
                conn,
                "SELECT COALESCE(n.subject_key, o.subject_key) AS subject_key"
                " FROM (SELECT * FROM diff_old_scores WHERE item = ?) o"
                " FULL OUTER JOIN (SELECT * FROM diff_new_scores WHERE item = ?) n"
                " ON n.subject_key = o.subject_key"
                " WHERE COALESCE(o.grade, '-') = ? AND COALESCE(n.grade, '-') = ?",
                [score, score, before, after],
            )
            changes.append({"from": before, "to": after, "subjects": int(n), "sample": sample})
        out.append({"id": score, "changed": sum(c["subjects"] for c in changes), "moves": changes})
    return out
