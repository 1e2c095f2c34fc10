"""`report equality`: listing and measure rates by subject kind, ownership and region.

Rules may not depend on ownership or region (`policy check` refuses them), but enforcement
can still be uneven: sources may report some kinds of owner more than others. This report
shows the rates with their counts, from the current evaluated state, so that it shows.
Ownership comes from the latest registration record; region from the identifier (a person's
region of birth registration, an organisation's registration area), at prefecture level.
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
    "region": "substr(s.region_code, 1, 4) || '00'",
}


def equality_report(ctx: Context) -> dict[str, Any]:
    policy = ctx.policy
    with ctx.store.transaction() as conn:
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
            rows = conn.dicts(
                f"SELECT {expr} AS grp, count(*) AS subjects,"
                " sum(f.black) AS black_listed, sum(f.red) AS red_listed,"
                " sum(f.restricted) AS restricted, sum(f.rewarded) AS rewarded"
                " FROM subjects s JOIN eq_flags f ON f.subject_key = s.subject_key"
                " LEFT JOIN eq_ownership o ON o.subject_key = s.subject_key"
                f"{where} GROUP BY {expr} ORDER BY 2 DESC, 1"
            )
            for r in rows:
                n = int(r["subjects"])
                for c in ("black_listed", "red_listed", "restricted", "rewarded"):
                    r[c] = int(r[c] or 0)
                    r[c + "_rate"] = round(r[c] / n, 4) if n else 0.0
                r["subjects"] = n
                if name == "region":
                    r["label"] = region_name(str(r["grp"])) or ""
            report[f"by_{name}"] = rows
        for table in ("eq_flags", "eq_ownership"):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    return report


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
