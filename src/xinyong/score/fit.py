"""Fitting the commercial scorecard: optimal binning, a logistic regression, integer points.

Pure functions over pandas DataFrames, no database. Only the training command imports this
module, and it needs the ``[score]`` extra (optbinning, scikit-learn, pandas): hence the
imports at the top. Scoring itself runs on the policy engines from the card's points table.

The pipeline is optbinning's: ``BinningProcess`` (optimal binning; numeric features with a
monotonic event rate, "auto_asc_desc" unless ``monotonic`` names a trend), scikit-learn's
``LogisticRegression`` on the weights of evidence, and ``Scorecard`` with min-max scaling to
``[min_score, max_score]``. The target is 1 for the bad outcome (default). optbinning's
points are then turned into a card of integer points per bin (``Bin``), which
``apply_card`` reads with the policy engine's semantics.

Direction: with ``reverse_scorecard=False`` (optbinning's default), min-max scaling maps the
largest log-odds of the event (target 1, bad) to the minimum score. Points therefore fall
as the estimated risk rises: a higher score means a lower risk (tests/score/test_fit.py
checks this on German Credit).

Rounding (``_round_points``): the scaled points of a feature are shifted by a constant
(which moves no row's total as long as the shifts over all features sum to zero) so that
its lowest points are an integer, and its other points are rounded relative to that
lowest bin. Concretely:

1. The features' lowest points (which add up to ``min_score`` after min-max scaling) are
   apportioned by largest remainder (Hamilton's method): each gets its floor, and the
   features with the largest fractional parts get one more, until the integers add up to
   exactly ``min_score``.
2. The features' ranges (highest minus lowest points, adding up to ``max_score -
   min_score``) are apportioned the same way, so the highest bins add up to exactly
   ``max_score``.
3. Every other bin gets its lowest bin's integer plus its distance from the lowest points
   rounded to the nearest integer, clipped into the feature's integer range.

So the lowest possible total is exactly ``min_score`` and the highest exactly
``max_score``, and bins keep their order within a feature. Against optbinning's scaled
points shifted by the per-feature constants (which sum to zero, up to the less than one
point that ``min_score`` may exceed the lowest float total by), a bin is off by at most half
a point, a feature's highest bin by less than one; a row's total by the sum of those
per-feature errors, which mostly cancel (on German Credit within about 3 points).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from optbinning import BinningProcess, Scorecard
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

# Numeric features get a monotonic event rate, ascending or descending, whichever optbinning
# finds better (a points table that goes up and down is hard to explain).
DEFAULT_TREND = "auto_asc_desc"
# The share ``psi`` counts for an empty bucket, so that the logarithm stays finite.
PSI_FLOOR = 1e-4


@dataclass(frozen=True)
class Bin:
    """One row of a feature's points table: a band of integer values with inclusive bounds
    (``None``: unbounded), a set of categorical values, or the bin of a missing value."""

    points: int
    min: int | None = None
    max: int | None = None
    values: tuple[str, ...] | None = None
    missing: bool = False


@dataclass(frozen=True)
class FeatureCard:
    id: str
    bins: tuple[Bin, ...]
    iv: float  # information value of the binning on the training data


@dataclass(frozen=True)
class Fitted:
    features: tuple[FeatureCard, ...]
    min_score: int
    max_score: int
    scaling: dict[str, float | str]
    metrics: dict[str, float]  # test_auc, test_ks, test_gini, train_auc, of the integer card


def fit_scorecard(
    train: pd.DataFrame,
    test: pd.DataFrame,
    features: list[str],
    target: str,
    *,
    categorical: Sequence[str] = (),
    min_score: int = 350,
    max_score: int = 950,
    monotonic: Mapping[str, str] | None = None,
) -> Fitted:
    """Fit a scorecard on ``train`` (``target`` 1 = bad) and measure it on ``test``.

    ``categorical`` names the features binned as categories (the others must be
    integer-valued); ``monotonic`` gives a feature's event-rate trend in optbinning's terms
    ("ascending", "descending", ...), numeric features default to "auto_asc_desc". Features
    keep the order given; only those optbinning's binning process selects are kept.
    """
    monotonic = dict(monotonic or {})
    unknown = (set(categorical) | set(monotonic)) - set(features)
    if unknown:
        raise ValueError(f"not among the features: {sorted(unknown)}")
    if min_score >= max_score:
        raise ValueError(f"min_score {min_score} must be below max_score {max_score}")
    y_train = _bad(train, target)
    y_test = _bad(test, target)
    for name in features:
        if name not in categorical:
            values = pd.to_numeric(train[name]).dropna()
            if not (values % 1 == 0).all():
                raise ValueError(f"numeric feature {name!r} must be integer-valued")

    fit_params: dict[str, dict[str, Any]] = {}
    for name in features:
        trend = monotonic.get(name, None if name in categorical else DEFAULT_TREND)
        if trend is not None:
            fit_params[name] = {"monotonic_trend": trend}
    process = BinningProcess(
        list(features), categorical_variables=list(categorical), binning_fit_params=fit_params
    )
    scorecard = Scorecard(
        binning_process=process,
        estimator=LogisticRegression(max_iter=1000),
        scaling_method="min_max",
        scaling_method_params={"min": min_score, "max": max_score},
    )
    scorecard.fit(train[list(features)], y_train)

    table = scorecard.table(style="detailed")
    selected = {str(name) for name in scorecard.binning_process_.get_support(names=True)}
    shapes: list[tuple[str, float, list[Bin]]] = []  # bins with 0 points as placeholders
    raw: list[list[float]] = []
    for name in features:
        if name not in selected:
            continue
        rows = table[table["Variable"] == name]
        splits = scorecard.binning_process_.get_binned_variable(name).splits
        bins, points = _feature_bins(rows, splits, name in categorical)
        shapes.append((name, float(rows["IV"].sum()), bins))
        raw.append(points)

    rounded = _round_points(raw, min_score, max_score)
    card = Fitted(
        features=tuple(
            FeatureCard(
                id=name,
                bins=tuple(replace(b, points=p) for b, p in zip(bins, pts, strict=True)),
                iv=iv,
            )
            for (name, iv, bins), pts in zip(shapes, rounded, strict=True)
        ),
        min_score=min_score,
        max_score=max_score,
        scaling={
            "method": "min_max",
            "min": float(min_score),
            "max": float(max_score),
            "rounding": "largest_remainder",
        },
        metrics={},
    )
    test_scores = apply_card(card, test)
    test_auc = auc(y_test, test_scores)
    metrics = {
        "test_auc": test_auc,
        "test_ks": ks(y_test, test_scores),
        "test_gini": 2 * test_auc - 1,
        "train_auc": auc(y_train, apply_card(card, train)),
    }
    return replace(card, metrics=metrics)


def _bad(frame: pd.DataFrame, target: str) -> npt.NDArray[np.int64]:
    values = frame[target].to_numpy()
    if not all(v in (0, 1) for v in values):
        raise ValueError(f"target {target!r} must be 0 (good) or 1 (bad)")
    y: npt.NDArray[np.int64] = values.astype(np.int64)
    return y


def _feature_bins(
    rows: pd.DataFrame, splits: Any, categorical: bool
) -> tuple[list[Bin], list[float]]:
    """A feature's bins (points 0, set later) and optbinning's scaled points for each.

    The bounds come from the binning's exact splits, not the table's rounded labels: a
    numeric bin is the half-open interval [a, b) of optbinning, which for integer values is
    ceil(a) to ceil(b) - 1, inclusive. The "Special" bin is left out (no special codes are
    given, so it is always empty), the "Missing" bin becomes ``missing=True``.
    """
    regular = len(splits) if categorical else len(splits) + 1
    bins: list[Bin] = []
    points: list[float] = []
    for _, row in rows.iterrows():
        i = int(row["Bin id"])
        label = row["Bin"]
        if i >= regular:
            if label == "Missing":
                bins.append(Bin(0, missing=True))
                points.append(float(row["Points"]))
            elif label == "Special" and int(row["Count"]) != 0:
                raise ValueError(f"{row['Variable']}: the Special bin holds {row['Count']} rows")
            continue
        if categorical:
            bins.append(Bin(0, values=tuple(_text(v) for v in splits[i])))
        else:
            low = math.ceil(splits[i - 1]) if i > 0 else None
            high = math.ceil(splits[i]) - 1 if i < len(splits) else None
            bins.append(Bin(0, min=low, max=high))
        points.append(float(row["Points"]))
    return bins, points


def _round_points(points: list[list[float]], min_score: int, max_score: int) -> list[list[int]]:
    """Integer points per feature and bin; see the module docstring."""
    eps = 1e-6
    lows = [min(p) for p in points]
    highs = [max(p) for p in points]
    ranges = [h - lo for h, lo in zip(highs, lows, strict=True)]
    low_total = max(min_score, math.ceil(sum(lows) - eps))
    base = _apportion(lows, low_total)
    span = _apportion(ranges, min(max_score - low_total, math.floor(sum(ranges) + eps)))
    out = []
    for pts, lo, hi, b, s in zip(points, lows, highs, base, span, strict=True):
        row = []
        for p in pts:
            if p == lo:
                row.append(b)
            elif p == hi:
                row.append(b + s)
            else:
                row.append(b + min(max(round(p - lo), 0), s))
        out.append(row)
    return out


def _apportion(values: list[float], total: int) -> list[int]:
    """Integers adding up to ``total``, each the floor or the ceiling of its value when the
    total allows it: the floors, plus one for the largest fractional parts (Hamilton)."""
    out = [math.floor(v) for v in values]
    order = sorted(range(len(values)), key=lambda i: (out[i] - values[i], i))
    missing = total - sum(out)
    while missing > 0:
        for i in order[:missing]:
            out[i] += 1
        missing = total - sum(out)
    while missing < 0:  # only if the total is below the floors (not after min-max scaling)
        shrinkable = [i for i in reversed(order) if out[i] > 0][:-missing]
        if not shrinkable:
            raise ValueError(f"cannot apportion {total} over {values}")
        for i in shrinkable:
            out[i] -= 1
        missing = total - sum(out)
    return out


def apply_card(card: Fitted, frame: pd.DataFrame) -> npt.NDArray[np.int64]:
    """Each row's score: over the card's features, the points of the first bin the value
    matches (bins with values first, compared as text, then the bands in order; the missing
    bin for a NaN or None; no bin: 0 points), the total clipped to the card's range. The
    same semantics as the policy engine's points table."""
    total = np.zeros(len(frame), dtype=np.int64)
    for feature in card.features:
        column = frame[feature.id]
        missing = column.isna().to_numpy()
        points = np.zeros(len(frame), dtype=np.int64)
        # A missing value gets the first missing bin's points (none: 0) and matches nothing else.
        points[missing] = next((b.points for b in feature.bins if b.missing), 0)
        done = missing.copy()
        value_bins = [(b.points, b.values) for b in feature.bins if b.values is not None]
        if value_bins:
            text = column.map(_text).to_numpy()
            for bin_points, values in value_bins:
                hit = ~done & np.isin(text, values)
                points[hit] = bin_points
                done |= hit
        number = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        for b in feature.bins:
            if b.values is None and not b.missing:
                hit = ~done & ~np.isnan(number)
                if b.min is not None:
                    hit &= number >= b.min
                if b.max is not None:
                    hit &= number <= b.max
                points[hit] = b.points
                done |= hit
        total += points
    return np.clip(total, card.min_score, card.max_score)


def _text(value: object) -> str:
    """A value as the card's categorical values spell it: 5.0 (read from a column with
    missing values) is "5"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- metrics: bad is 1 for the bad outcome, a higher score should mean less risk -----------


def auc(bad: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Area under the ROC curve of predicting a good outcome from a higher score."""
    return float(roc_auc_score(1 - np.asarray(bad), np.asarray(score)))


def ks(bad: npt.ArrayLike, score: npt.ArrayLike) -> float:
    """Kolmogorov-Smirnov statistic: the largest distance between the score distributions
    (empirical CDFs) of the goods and of the bads."""
    b = np.asarray(bad).astype(bool)
    s = np.asarray(score, dtype=float)
    goods, bads = np.sort(s[~b]), np.sort(s[b])
    if len(goods) == 0 or len(bads) == 0:
        raise ValueError("ks needs both goods and bads")
    cuts = np.unique(s)
    f_good = np.searchsorted(goods, cuts, side="right") / len(goods)
    f_bad = np.searchsorted(bads, cuts, side="right") / len(bads)
    return float(np.max(np.abs(f_good - f_bad)))


def calibration(bad: npt.ArrayLike, score: npt.ArrayLike, bins: int = 10) -> list[dict[str, float]]:
    """The observed bad rate per score decile (``bins`` quantile groups), lowest scores
    first: each group's lowest and highest score, count and bad rate. Rows with the same
    score stay in one group, so ties can leave fewer groups than ``bins``."""
    b = np.asarray(bad, dtype=float)
    s = np.asarray(score, dtype=float)
    inner = np.unique(np.quantile(s, np.linspace(0, 1, bins + 1)[1:-1]))
    group = np.searchsorted(inner, s, side="right")
    out = []
    for g in np.unique(group):
        mask = group == g
        out.append(
            {
                "min_score": float(s[mask].min()),
                "max_score": float(s[mask].max()),
                "count": float(mask.sum()),
                "bad_rate": float(b[mask].mean()),
            }
        )
    return out


def psi(expected_scores: npt.ArrayLike, actual_scores: npt.ArrayLike, bins: int = 10) -> float:
    """Population stability index of ``actual`` against ``expected``, over the buckets cut
    at the deciles (``bins`` quantiles) of ``expected``: sum of (a - e) * ln(a / e) over the
    buckets' shares, an empty bucket's share counted as ``PSI_FLOOR``."""
    e = np.asarray(expected_scores, dtype=float)
    a = np.asarray(actual_scores, dtype=float)
    inner = np.unique(np.quantile(e, np.linspace(0, 1, bins + 1)[1:-1]))
    n = len(inner) + 1
    e_share = np.bincount(np.searchsorted(inner, e, side="right"), minlength=n) / len(e)
    a_share = np.bincount(np.searchsorted(inner, a, side="right"), minlength=n) / len(a)
    e_share = np.maximum(e_share, PSI_FLOOR)
    a_share = np.maximum(a_share, PSI_FLOOR)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))
