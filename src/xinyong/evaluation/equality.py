"""`report equality`: listing and measure rates by subject kind, ownership and region.

Rules may not depend on ownership or region (`policy check` refuses them), but enforcement
can still be uneven: sources may report some kinds of owner more than others. This report
shows the rates with their counts, from the current evaluated state, so that it shows.
Ownership comes from the latest registration record; region from the identifier (a person's
region of birth registration, an organisation's registration area), at prefecture level.

Rates are of the population: every subject of the group that the ledger knows, whether or not
it has a current record. Ownership and region rows are per subject kind, so persons and
organisations are never counted in one row. The report holds every count, however small;
what is published is suppressed below a minimum cell size (portal/transparency.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xinyong.context import Context
from xinyong.engines import get_engine
from xinyong.ids.regions import region_name
from xinyong.sql import literal_list
from xinyong.state.runs import require_current
from xinyong.store.base import Connection

_GROUPS = {
    "kind": "s.kind",
    "ownership": "COALESCE(o.ownership, 'unregistered')",
    "region": "COALESCE(substr(s.region_code, 1, 4) || '00', 'unknown')",
}


def equality_report(ctx: Context, conn: Connection | None = None) -> dict[str, Any]:
    """The report from the current run; in its own transaction, or in ``conn``'s."""
    if conn is not None:
        return _report(ctx, conn)
    with ctx.store.transaction() as own:
        return _report(ctx, own)


def _report(ctx: Context, conn: Connection) -> dict[str, Any]:
    policy = ctx.policy
    run = require_current(conn, policy)
    run_id = int(run["run_id"])
    black = [k for k, v in policy.lists.items() if v.kind == "black"]
    red = [k for k, v in policy.lists.items() if v.kind == "red"]
    restrict = [k for k, v in policy.measures.items() if v.kind == "restrict"]
    reward = [k for k, v in policy.measures.items() if v.kind == "reward"]
    translate = get_engine(ctx.store.name, ctx.store.name).translate
    _prepare(conn, translate, run_id, black, red, restrict, reward)
    report: dict[str, Any] = {
        "policy": policy.label,
        "as_of": run["as_of"].isoformat(),
        "run_id": run_id,
    }
    for name, expr in _GROUPS.items():
        where = " WHERE s.kind <> 'person'" if name == "ownership" else ""
        # Ownership and region rows are per kind: never persons and organisations in one.
        kind = "" if name == "kind" else "s.kind AS kind, "
        keys = expr if name == "kind" else f"s.kind, {expr}"
        order = "2 DESC, 1" if name == "kind" else "1, 3 DESC, 2"
        rows = conn.dicts(
            f"SELECT {kind}{expr} AS grp, count(*) AS subjects,"
            " sum(f.black) AS black_listed, sum(f.red) AS red_listed,"
            " sum(f.restricted) AS restricted, sum(f.rewarded) AS rewarded"
            " FROM subjects s JOIN eq_flags f ON f.subject_key = s.subject_key"
            " LEFT JOIN eq_ownership o ON o.subject_key = s.subject_key"
            f"{where} GROUP BY {keys} ORDER BY {order}"
        )
        for r in rows:
            n = int(r["subjects"])
            for c in ("black_listed", "red_listed", "restricted", "rewarded"):
                r[c] = int(r[c] or 0)
                r[c + "_rate"] = round(r[c] / n, 4) if n else 0.0
            r["subjects"] = n
            if name == "region":
                r["label"] = _region_label(str(r["grp"]))
        report[f"by_{name}"] = rows
    for table in ("eq_flags", "eq_ownership"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    return report


# Prefecture-level entries that name no place of their own: the province's name says where.
_UNNAMED = {
    "市辖区",
    "县",
    "省直辖县级行政区划",
    "省直辖县级行政单位",
    "自治区直辖县级行政区划",
    "自治区直辖县级行政单位",
}


def _region_label(code: str) -> str:
    name = region_name(code) or ""
    if name and name not in _UNNAMED:
        return name
    return region_name(code[:2] + "0000") or name


def _in(values: list[str]) -> str:
    return literal_list(values)


def _prepare(
    conn: Connection,
    translate: Callable[[str], str],
    run_id: int,
    black: list[str],
    red: list[str],
    restrict: list[str],
    reward: list[str],
) -> None:
    """Per subject: 1/0 for black-listed, red-listed, restricted, rewarded; and ownership."""
    for table in ("eq_flags", "eq_ownership"):
        conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"""
CREATE TEMP TABLE eq_flags AS
SELECT s.subject_key,
  CASE WHEN EXISTS (SELECT 1 FROM list_entries e WHERE e.run_id = {run_id}
       AND e.subject_key = s.subject_key AND e.status = 'active'
       AND e.list_id IN {_in(black)}) THEN 1 ELSE 0 END AS black,
  CASE WHEN EXISTS (SELECT 1 FROM list_entries e WHERE e.run_id = {run_id}
       AND e.subject_key = s.subject_key AND e.status = 'active'
       AND e.list_id IN {_in(red)}) THEN 1 ELSE 0 END AS red,
  CASE WHEN EXISTS (SELECT 1 FROM active_measures m WHERE m.run_id = {run_id}
       AND m.subject_key = s.subject_key AND m.measure_id IN {_in(restrict)})
       THEN 1 ELSE 0 END AS restricted,
  CASE WHEN EXISTS (SELECT 1 FROM active_measures m WHERE m.run_id = {run_id}
       AND m.subject_key = s.subject_key AND m.measure_id IN {_in(reward)})
       THEN 1 ELSE 0 END AS rewarded
FROM subjects s""")
    conn.execute(
        translate("""
CREATE TEMP TABLE eq_ownership AS
SELECT subject_key, ownership FROM (
  SELECT r.subject_key,
         json_extract_string(CAST(r.details AS JSON), '$.ownership') AS ownership,
         row_number() OVER (PARTITION BY r.subject_key ORDER BY r.occurred_on DESC,
                            r.event_id DESC) AS rn
  FROM current_records r WHERE r.category = 'administrative.registration'
) t WHERE rn = 1""")
    )
