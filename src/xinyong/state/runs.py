"""Evaluation runs and where their results are stored: the one place that knows which run
is current and whether the loaded policy made it.

A batch run stores its results under a new run id with the policy version and the date it
was evaluated as of. The current run is the state decisions read; runs ``as_of`` a past
date are kept beside it for replay.
"""

from __future__ import annotations

from typing import Any

from xinyong.errors import NotEvaluated
from xinyong.policy.model import Policy
from xinyong.store.base import Connection

# Output relation of a plan -> stored table, and the column that says whose row it is.
TABLES: dict[str, tuple[str, str]] = {
    "out_list_entries": ("list_entries", "subject_key"),
    "out_list_evidence": ("list_evidence", "subject_key"),
    "out_record_flags": ("record_flags", "subject_key"),
    "out_score_items": ("score_items", "subject_key"),
    "out_score_features": ("score_features", "subject_key"),
    "out_scores": ("scores", "subject_key"),
    "out_links": ("subject_links", "org_key"),
    "out_measures": ("active_measures", "subject_key"),
}


def current_run(conn: Connection) -> dict[str, Any] | None:
    """The current run's row of ``eval_runs``, or None before the first evaluation."""
    rows = conn.dicts("SELECT * FROM eval_runs WHERE is_current")
    return rows[0] if rows else None


def made_by(run: dict[str, Any] | None, policy: Policy) -> bool:
    """True when ``run`` exists and was evaluated with exactly this policy."""
    return run is not None and run["policy_digest"] == policy.digest


def require_current(conn: Connection, policy: Policy) -> dict[str, Any]:
    """The current run, which must have been made by ``policy``; raises NotEvaluated."""
    run = current_run(conn)
    if run is None:
        raise NotEvaluated(
            "The ledger has not been evaluated yet.",
            hint="Run `xinyong evaluate` (the demo does it for you).",
        )
    if not made_by(run, policy):
        raise NotEvaluated(
            f"The current state was made by policy {run['policy_name']} "
            f"{run['policy_version']} ({run['policy_digest']}), not by the loaded policy "
            f"{policy.label} ({policy.digest}).",
            hint="Run `xinyong evaluate` to re-evaluate with the loaded policy.",
        )
    return run
