"""Fit the commercial scorecard on the ledger's own history, check it, and publish it.

The features are the policy's own (their definitions stay; their bins and points are
fitted), computed by the same compiled plan on the store's engine as of past observation
dates, for the subjects who consent now. The outcome is a repayment 90 or more days
overdue reported in the 12 months after the observation date. The split is by time: the
card is fitted on earlier observation dates and measured on the latest one whose outcome
window has closed. A card whose fairness differences exceed the configured limits is not
published unless an operator overrides with a reason, which is recorded.

Needs the ``[score]`` extra (optbinning, scikit-learn, pandas, fairlearn).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import yaml

from xinyong import audit as audit_log
from xinyong.clock import today, utcnow
from xinyong.context import Context
from xinyong.engines import get_engine
from xinyong.errors import ConfigurationError, PolicyError
from xinyong.policy.check import require_valid
from xinyong.policy.compiler import compile_policy
from xinyong.policy.loader import load_policy
from xinyong.policy.model import Policy, Score
from xinyong.score import fairness
from xinyong.score.fit import Fitted, apply_card, auc, calibration, fit_scorecard, ks, psi
from xinyong.score.standing import consent_scores

OUTCOME_DAYS = 90
OUTCOME_MONTHS = 12
SCORE_FILE = "scores.yaml"


def months_before(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 - months
    return dt.date(total // 12, total % 12 + 1, min(day.day, 28))


def the_score(policy: Policy, score_id: str | None) -> Score:
    scores = consent_scores(policy)
    found = [s for s in scores if score_id in (None, s.id)]
    if not found:
        raise PolicyError(
            f"The policy {policy.label} has no score by consent"
            + (f" named {score_id!r}" if score_id else "")
            + ".",
            hint="A commercial score is a score with `consent:` and `features:` (docs/scoring.md).",
        )
    return found[0]


def observations(ctx: Context, score: Score, as_of: dt.date, consent_on: dt.date) -> pd.DataFrame:
    """One row per subject who consents now and is in the score's scope as of ``as_of``:
    the feature values then, the outcome in the next 12 months (``bad``), the identifier."""
    plan = compile_policy(ctx.policy, ctx.catalog, as_of, consent_on=consent_on)
    engine = get_engine(ctx.store.name, ctx.store.name)
    with ctx.store.transaction() as conn:
        engine.materialise(ctx.store, conn, plan, None, scoped=False)
        rows = conn.execute(
            "SELECT f.subject_key, f.feature_id, f.value, s.identifier FROM out_score_features f"
            " JOIN subjects s ON s.subject_key = f.subject_key WHERE f.score_id = ?",
            [score.id],
        )
        totals = dict(
            conn.execute(
                "SELECT subject_key, points FROM out_scores WHERE score_id = ?", [score.id]
            )
        )
        ids = dict(
            conn.execute(
                "SELECT s.subject_key, s.identifier FROM out_scores o JOIN subjects s"
                " ON s.subject_key = o.subject_key WHERE o.score_id = ?",
                [score.id],
            )
        )
        engine.cleanup(conn, plan)
        end = months_before(as_of, -OUTCOME_MONTHS)
        late = conn.execute(
            "SELECT subject_key, details FROM current_records WHERE category = ?"
            " AND occurred_on > ? AND occurred_on <= ?",
            ["commercial.loan.overdue", as_of, end],
        )
    if not totals:
        return pd.DataFrame(columns=["subject_key", "identifier", "bad"])
    # Every subject in scope has a score; a feature with nothing on record is not stored
    # (a count of 0, a missing figure otherwise).
    long = pd.DataFrame(rows, columns=["subject_key", "feature_id", "value", "identifier"])
    wide = long.pivot(index="subject_key", columns="feature_id", values="value")
    wide = wide.reindex(index=sorted(totals), columns=[f.id for f in score.features])
    wide = wide.astype(float)
    for feature in score.features:
        if feature.aggregate == "count":
            wide[feature.id] = wide[feature.id].fillna(0.0)
    wide.index.name = "subject_key"
    bad = {
        key
        for key, details in late
        if int(orjson.loads(details).get("days_overdue") or 0) >= OUTCOME_DAYS
    }
    frame = wide.reset_index()
    frame["identifier"] = frame["subject_key"].map(ids)
    frame["bad"] = frame["subject_key"].isin(bad).astype(int)
    frame["policy_score"] = frame["subject_key"].map(totals).astype(int)  # the card in force
    frame["observed_on"] = as_of.isoformat()
    return frame


@dataclass
class Training:
    score: Score
    fitted: Fitted
    train: pd.DataFrame
    test: pd.DataFrame
    train_dates: list[dt.date]
    test_date: dt.date
    test_scores: np.ndarray
    train_scores: np.ndarray
    audit: fairness.Audit
    thresholds: dict[str, int]
    version: str
    override: str | None = None
    notes: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """What the model card and `score train --json` say about the fit."""
        return {
            "version": self.version,
            "trained_at": utcnow().replace(microsecond=0).isoformat() + "Z",
            "method": "optbinning BinningProcess (optimal monotonic binning) + logistic"
            " regression + Scorecard, scaled min-max",
            "scaling": dict(self.fitted.scaling),
            "outcome": f"a repayment {OUTCOME_DAYS} or more days overdue reported within"
            f" {OUTCOME_MONTHS} months of the observation date",
            "population": "subjects in the score's scope who consent now",
            "train": {
                "observed_on": [d.isoformat() for d in self.train_dates],
                "rows": len(self.train),
                "bad_rate": round(float(self.train["bad"].mean()), 4),
            },
            "test": {
                "observed_on": self.test_date.isoformat(),
                "rows": len(self.test),
                "bad_rate": round(float(self.test["bad"].mean()), 4),
            },
            "metrics": {
                "test_auc": round(auc(self.test["bad"], self.test_scores), 4),
                "test_ks": round(ks(self.test["bad"], self.test_scores), 4),
                "train_auc": round(auc(self.train["bad"], self.train_scores), 4),
                "psi_train_to_test": round(psi(self.train_scores, self.test_scores), 4),
            },
            "calibration": calibration(self.test["bad"], self.test_scores),
            "information_value": {f.id: round(f.iv, 4) for f in self.fitted.features},
            "thresholds": self.thresholds,
            "fairness": self.audit.as_dict(),
            "fairness_override": self.override,
            "notes": self.notes,
        }


def thresholds_of(policy: Policy, score: Score) -> dict[str, int]:
    """The partner thresholds: each reward measure's `at_least` on the score."""
    return {
        m.id: int(m.trigger.at_least)
        for m in policy.measures.values()
        if m.trigger.score == score.id and m.trigger.at_least is not None
    }


def train(
    ctx: Context,
    *,
    score_id: str | None = None,
    train_dates: list[dt.date] | None = None,
    test_date: dt.date | None = None,
    n_boot: int = 200,
    say: Any = None,
) -> Training:
    """Fit the card on the ledger's history; nothing is published here."""
    tell = say or (lambda _m: None)
    score = the_score(ctx.policy, score_id)
    now = today(ctx.settings.timezone)
    test_date = test_date or months_before(now, OUTCOME_MONTHS)
    train_dates = train_dates or [months_before(test_date, 12), months_before(test_date, 24)]
    if months_before(test_date, -OUTCOME_MONTHS) > now:
        raise ConfigurationError(
            f"The test date {test_date} leaves no full {OUTCOME_MONTHS}-month outcome window"
            " before today.",
            hint=f"Use a test date on or before {months_before(now, OUTCOME_MONTHS)}.",
        )
    if max(train_dates) >= test_date:
        raise ConfigurationError("Training dates must come before the test date (a time split).")
    frames = []
    for day in sorted(train_dates):
        tell(f"features and outcomes as of {day}")
        frames.append(observations(ctx, score, day, now))
    tell(f"features and outcomes as of {test_date} (test)")
    train_frame = pd.concat(frames, ignore_index=True)
    test_frame = observations(ctx, score, test_date, now)
    for name, frame in (("training", train_frame), ("test", test_frame)):
        if len(frame) < 200 or frame["bad"].sum() < 20:
            raise ConfigurationError(
                f"Too little {name} data: {len(frame)} subjects, {int(frame['bad'].sum())} with"
                " the outcome (at least 200 and 20 are needed).",
                hint="Train on a ledger with more consenting subjects and a longer loan history.",
            )
    low, high = (score.range.min, score.range.max) if score.range else (350, 950)
    # Event rates move with the figure as the policy says (more overdue repayments, more
    # risk). A feature whose fitted points still run the other way (the regression can flip
    # a sign between correlated features) is dropped and the card refitted, so that every
    # reason and its advice hold.
    trend = {"worse": "ascending", "better": "descending"}
    features = [f.id for f in score.features]
    notes: list[str] = []
    while True:
        tell(f"fitting the scorecard on {len(features)} features")
        monotonic = {
            f.id: trend[f.higher_is] for f in score.features if f.higher_is and f.id in features
        }
        fitted = fit_scorecard(
            train_frame,
            test_frame,
            features,
            "bad",
            min_score=low,
            max_score=high,
            monotonic=monotonic,
        )
        wrong = [f.id for f in fitted.features if not _keeps_direction(score, f)]
        if not wrong:
            break
        notes.append(
            "Left out because their fitted points ran against the policy's direction: "
            + ", ".join(wrong)
            + "."
        )
        features = [f for f in features if f not in wrong]
        if not features:
            raise ConfigurationError("No feature keeps its direction: there is no card to fit.")
    kept = {f.id for f in fitted.features}
    dropped = [f.id for f in score.features if f.id not in kept]
    if dropped:
        notes.append("Contribute no points in this card: " + ", ".join(dropped) + ".")
    test_scores = apply_card(fitted, test_frame)
    train_scores = apply_card(fitted, train_frame)
    thresholds = thresholds_of(ctx.policy, score)
    tell("auditing fairness on the test set")
    groups = audit_groups(test_frame, test_date)
    checked = fairness.audit(
        test_frame["bad"].to_numpy(), test_scores, groups, thresholds, limits_of(ctx), n_boot=n_boot
    )
    return Training(
        score=score,
        fitted=fitted,
        train=train_frame,
        test=test_frame,
        train_dates=sorted(train_dates),
        test_date=test_date,
        test_scores=test_scores,
        train_scores=train_scores,
        audit=checked,
        thresholds=thresholds,
        version=utcnow().strftime("%Y%m%d-%H%M%S"),
        notes=notes,
    )


def _keeps_direction(score: Score, fitted: Any) -> bool:
    """True when a fitted feature's band points run the way its policy feature says."""
    feature = next(f for f in score.features if f.id == fitted.id)
    bands = sorted(
        (b for b in fitted.bins if not b.missing and b.values is None),
        key=lambda b: float("-inf") if b.min is None else b.min,
    )
    points = [b.points for b in bands]
    if feature.higher_is == "worse":
        return points == sorted(points, reverse=True)
    if feature.higher_is == "better":
        return points == sorted(points)
    return True


def audit_card(
    ctx: Context,
    *,
    score_id: str | None = None,
    observed_on: dt.date | None = None,
    n_boot: int = 50,
) -> tuple[Score, fairness.Audit, int]:
    """The fairness audit of the card in force: its scores as of a past date (by default the
    test date of its model report), against the outcomes of the 12 months after."""
    score = the_score(ctx.policy, score_id)
    now = today(ctx.settings.timezone)
    default = score.model.get("test", {}).get("observed_on")
    day = observed_on or (dt.date.fromisoformat(default) if default else months_before(now, 12))
    frame = observations(ctx, score, day, now)
    if frame.empty:
        raise ConfigurationError(
            f"No consenting subject was in the score's scope on {day}: nothing to audit."
        )
    groups = audit_groups(frame, day)
    checked = fairness.audit(
        frame["bad"].to_numpy(),
        frame["policy_score"].to_numpy(),
        groups,
        thresholds_of(ctx.policy, score),
        limits_of(ctx),
        n_boot=n_boot,
    )
    return score, checked, len(frame)


def audit_groups(frame: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """The audit-only attributes of each observation, from its identifier as of ``day``."""
    return pd.DataFrame(
        [fairness.audit_attributes(i, day) for i in frame["identifier"]],
        columns=["age_band", "sex"],
    )


def limits_of(ctx: Context) -> fairness.Limits:
    return fairness.Limits(
        demographic_parity=ctx.settings.score_max_parity_difference,
        equalized_odds=ctx.settings.score_max_odds_difference,
        min_group=ctx.settings.score_min_group,
    )


def card_features(training: Training) -> list[dict[str, Any]]:
    """The policy's features with the fitted bins in place of the old ones."""
    fitted = {f.id: f for f in training.fitted.features}
    out = []
    for feature in training.score.features:
        data = feature.model_dump(exclude_none=True, exclude_defaults=True)
        data.update(id=feature.id, label=feature.label, aggregate=feature.aggregate)
        data["category"] = feature.category
        card = fitted.get(feature.id)
        bins = card.bins if card is not None else ()
        if feature.aggregate == "count":  # a count is never missing: no records is 0
            bins = tuple(b for b in bins if not b.missing)
        data["bins"] = [
            {
                k: v
                for k, v in (("missing", b.missing or None), ("min", b.min), ("max", b.max))
                if v is not None
            }
            | {"points": b.points}
            for b in bins
        ] or [{"points": 0}]
        out.append(data)
    return out


def publish(ctx: Context, training: Training, out: Path, *, override: str | None, by: str) -> Path:
    """Write a policy directory: the current policy with the fitted card and its model
    report. Refused when the fairness audit breaches its limits, unless ``override`` gives
    the operator's reason (kept in the card and the audit log)."""
    breaches = training.audit.breaches()
    if breaches and not override:
        raise PolicyError(
            "The fitted card breaches the fairness limits: " + "; ".join(breaches),
            hint="Review `xinyong score audit`; publish anyway only with"
            ' --override-fairness "REASON", which is recorded.',
            code="fairness_limits",
        )
    training.override = override if breaches else None
    source = Path(ctx.settings.policy) if ctx.settings.policy else None
    from xinyong.policy.loader import default_policy_path

    source = source or default_policy_path()
    if out.exists() and any(out.iterdir()):
        raise ConfigurationError(
            f"{out} exists and is not empty.", hint="Choose a new directory for the new policy."
        )
    shutil.copytree(source, out, dirs_exist_ok=True)
    path = out / SCORE_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    entry = data["scores"][training.score.id]
    entry["features"] = card_features(training)
    entry["model"] = orjson.loads(orjson.dumps(training.report()))
    path.write_text(
        "# The commercial score's card was fitted by `xinyong score train`; the model report\n"
        "# under `model:` is what `xinyong score card` prints.\n"
        + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=96),
        encoding="utf-8",
    )
    require_valid(load_policy(out), ctx.catalog)  # it loads and passes `policy check`
    with ctx.store.transaction() as conn:
        audit_log.append(
            conn,
            actor=by,
            action="score.publish",
            obj=training.version,
            payload={
                "score": training.score.id,
                "policy_dir": str(out),
                "test_auc": training.report()["metrics"]["test_auc"],
                "fairness_breaches": breaches,
                "override": training.override,
            },
        )
    return out
