"""The fairness audit of the commercial score: approval by age band and by sex, per threshold.

The scorecard never reads personal characteristics. The audit derives two, for the audit
only, from the resident identity number (GB 11643: birth date and sex) and checks that the
partners' thresholds treat the groups alike. For each attribute on its own and each
threshold (approved = score >= threshold, good = the bad outcome did not happen), per group:
the approval rate with its 95% bootstrap interval, the true positive rate (approval among
the goods), the false positive rate (approval among the bads) and the observed bad rate;
between the groups: fairlearn's demographic parity and equalized odds differences, against
``Limits``.

Groups smaller than ``Limits.min_group`` are listed with their count only: their rates are
suppressed and they are left out of the differences, and the report says so. A group without
goods (or without bads) has no true (false) positive rate: it is shown as undefined and left
out of the equalized odds difference, where fairlearn would count the rate as 0.

The intervals come from fairlearn's ``MetricFrame`` bootstrap: ``n_boot`` resamples of the
whole population with replacement (not stratified by group), the 2.5% and 97.5% quantiles
of each rate. Its cost grows with subjects x resamples x rates and is paid in Python (about
7 microseconds per subject, resample and rate with fairlearn 0.15): ``n_boot=0`` skips the
intervals.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    selection_rate,
)

SCORE_MIN, SCORE_MAX = 350, 950
CI_QUANTILES = (0.025, 0.975)
AGE_BANDS = ("18-29", "30-44", "45-59", "60+")
UNDER_18 = "under 18"  # never scored; a band of its own so that a stray one shows

_RESIDENT = re.compile(r"[0-9]{17}[0-9X]")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"

DEMOGRAPHIC_PARITY = "demographic parity"
EQUALIZED_ODDS = "equalized odds"


# ---- audit attributes from the resident identity number -------------------------------


def audit_attributes(identifier: str, as_of: dt.date) -> tuple[str, str]:
    """(age band, sex) of the person with resident identity number ``identifier``.

    The age is in completed years on ``as_of``; the bands are "18-29", "30-44", "45-59" and
    "60+" ("under 18" for a minor, who is never scored). The sex is "male" when the 17th
    character is odd, "female" when it is even. Raise ValueError for anything that is not an
    18-character resident identity number (17 digits and a digit or X) with a correct MOD 11-2
    check character and a real birth date on or before ``as_of``. The region code is not
    checked.
    """
    if not isinstance(identifier, str):
        raise ValueError(f"{identifier!r} is not a resident identity number: not a string.")
    number = identifier.upper()
    if len(number) != 18:
        raise ValueError(
            f"{identifier!r} has {len(number)} characters; a resident identity number has 18."
        )
    if not _RESIDENT.fullmatch(number):
        raise ValueError(
            f"{identifier!r} is not a resident identity number: 17 digits and a final digit or X."
        )
    expected = _check_character(number)
    if number[17] != expected:
        raise ValueError(
            f"{identifier!r} has a wrong check character: the 18th character should be "
            f"{expected!r}, not {number[17]!r}."
        )
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValueError(
            f"{identifier!r} has no real birth date in positions 7 to 14 ({number[6:14]})."
        ) from None
    day = as_of.date() if isinstance(as_of, dt.datetime) else as_of
    if birth > day:
        raise ValueError(f"{identifier!r} gives a birth date {birth} after {day}.")
    age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
    return _age_band(age), "male" if int(number[16]) % 2 else "female"


def _check_character(number: str) -> str:
    """The GB 11643 MOD 11-2 check character of the first 17 digits."""
    return _CHECK[sum(int(c) * w for c, w in zip(number[:17], _WEIGHTS, strict=True)) % 11]


def _age_band(age: int) -> str:
    if age < 18:
        return UNDER_18
    if age < 30:
        return AGE_BANDS[0]
    if age < 45:
        return AGE_BANDS[1]
    if age < 60:
        return AGE_BANDS[2]
    return AGE_BANDS[3]


# ---- results ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """The largest differences between groups that pass, and the smallest group reported."""

    demographic_parity: float = 0.10
    equalized_odds: float = 0.10
    min_group: int = 30

    def __post_init__(self) -> None:
        for name in ("demographic_parity", "equalized_odds"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"Limits.{name} is {value!r}; a difference limit is in [0, 1].")
        if self.min_group < 1:
            raise ValueError(f"Limits.min_group is {self.min_group!r}; it must be at least 1.")


@dataclass(frozen=True)
class Rate:
    """A rate and its 95% bootstrap interval (None without a bootstrap or when undefined)."""

    value: float
    ci: tuple[float, float] | None = None


@dataclass(frozen=True)
class GroupRates:
    """One group at one threshold. Every rate is None when the group is suppressed (fewer
    than ``Limits.min_group`` subjects); the true (false) positive rate is also None when the
    group has no goods (no bads)."""

    group: str
    n: int
    suppressed: bool
    approval: Rate | None = None
    tpr: Rate | None = None
    fpr: Rate | None = None
    bad_rate: Rate | None = None


@dataclass(frozen=True)
class ThresholdAudit:
    """One attribute at one threshold: the groups, the whole population and the differences.

    A difference is None when fewer than two groups could be compared; ``left_out`` names the
    suppressed groups (left out of both differences), ``notes`` says every other omission.
    """

    attribute: str
    threshold: str
    cutoff: int  # approved when score >= cutoff
    groups: tuple[GroupRates, ...]
    overall: GroupRates
    demographic_parity_difference: float | None
    equalized_odds_difference: float | None
    left_out: tuple[str, ...]
    notes: tuple[str, ...]

    def group(self, name: str) -> GroupRates:
        for g in self.groups:
            if g.group == name:
                return g
        raise KeyError(f"no group {name!r} for {self.attribute!r}")


@dataclass(frozen=True)
class Breach:
    """A difference above its limit."""

    attribute: str
    threshold: str
    cutoff: int
    difference: str  # DEMOGRAPHIC_PARITY or EQUALIZED_ODDS
    value: float
    limit: float

    def sentence(self) -> str:
        return (
            f"{self.attribute}, threshold {self.threshold} (score >= {self.cutoff}): "
            f"the {self.difference} difference is {self.value:.4f}, "
            f"above its limit of {self.limit:.4f}."
        )


@dataclass(frozen=True)
class Audit:
    """The audit of every attribute at every threshold, in the order they were given."""

    results: tuple[ThresholdAudit, ...]
    limits: Limits
    subjects: int
    n_boot: int
    seed: int

    def result(self, attribute: str, threshold: str) -> ThresholdAudit:
        """The result for ``attribute`` at the threshold named ``threshold``."""
        for r in self.results:
            if r.attribute == attribute and r.threshold == threshold:
                return r
        raise KeyError(f"no result for attribute {attribute!r} at threshold {threshold!r}")

    def differences(self) -> list[tuple[ThresholdAudit, str, float | None, float]]:
        """(result, which difference, its value or None, its limit) for every result."""
        limits = self.limits
        out: list[tuple[ThresholdAudit, str, float | None, float]] = []
        for r in self.results:
            dp, eo = r.demographic_parity_difference, r.equalized_odds_difference
            out.append((r, DEMOGRAPHIC_PARITY, dp, limits.demographic_parity))
            out.append((r, EQUALIZED_ODDS, eo, limits.equalized_odds))
        return out

    def breach_list(self) -> list[Breach]:
        """Every difference above its limit, as data (``breaches`` says them)."""
        return [
            Breach(r.attribute, r.threshold, r.cutoff, kind, value, limit)
            for r, kind, value, limit in self.differences()
            if value is not None and value > limit
        ]

    def breaches(self) -> list[str]:
        """A sentence for every difference above its limit (none: an empty list)."""
        return [b.sentence() for b in self.breach_list()]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: floats rounded to 4 places, None for a suppressed or undefined rate."""
        return {
            "subjects": self.subjects,
            "limits": {
                "demographic_parity": _num(self.limits.demographic_parity),
                "equalized_odds": _num(self.limits.equalized_odds),
                "min_group": self.limits.min_group,
            },
            "bootstrap": {
                "n_boot": self.n_boot,
                "ci_quantiles": [_num(q) for q in CI_QUANTILES] if self.n_boot else None,
                "seed": self.seed,
            },
            "results": [_result_dict(r) for r in self.results],
            "breaches": self.breaches(),
        }

    def to_markdown(self) -> str:
        """A Markdown section: a table per attribute and threshold, then the differences."""
        return _markdown(self)


# ---- the audit --------------------------------------------------------------------------


def audit(
    bad: npt.ArrayLike,
    score: npt.ArrayLike,
    groups: pd.DataFrame,
    thresholds: Mapping[str, int],
    limits: Limits,
    n_boot: int = 200,
    seed: int = 0,
) -> Audit:
    """Audit ``score`` against ``bad`` (1 = the bad outcome happened) for every column of
    ``groups`` (one row per subject, in the same order; e.g. "age_band", "sex") and every
    threshold of ``thresholds`` (name -> lowest approved score).

    ``n_boot`` bootstrap resamples (seeded with ``seed``; see ``_bootstrap``) give the intervals;
    ``n_boot=0`` computes none. Raise ValueError for inputs that do not line up.
    """
    outcome = _outcomes(bad)
    scores = _scores(score, len(outcome))
    columns = _columns(groups, len(outcome))
    cutoffs = _thresholds(thresholds)
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 0:
        raise ValueError(f"n_boot is {n_boot!r}; it is a whole number, 0 for no intervals.")
    good = 1 - outcome
    results = [
        _audit_one(name, values, order, label, cutoff, good, scores, limits, int(n_boot), seed)
        for name, (values, order) in columns.items()
        for label, cutoff in cutoffs.items()
    ]
    return Audit(
        results=tuple(results), limits=limits, subjects=len(outcome), n_boot=int(n_boot), seed=seed
    )


def _tpr(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> float:
    """Approval among the goods; NaN without goods (fairlearn's true_positive_rate says 0)."""
    goods = y_true == 1
    return float(np.mean(y_pred[goods])) if goods.any() else math.nan


def _fpr(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> float:
    """Approval among the bads; NaN without bads (fairlearn's false_positive_rate says 0)."""
    bads = y_true == 0
    return float(np.mean(y_pred[bads])) if bads.any() else math.nan


def _bad_rate(y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> float:
    return float(1 - np.mean(y_true))


# MetricFrame column -> metric. The group counts come from the data, not the bootstrap.
_METRICS = {"approval": selection_rate, "tpr": _tpr, "fpr": _fpr, "bad_rate": _bad_rate}


def _audit_one(
    attribute: str,
    values: npt.NDArray[Any],
    order: list[str],
    label: str,
    cutoff: int,
    good: npt.NDArray[np.int_],
    scores: npt.NDArray[np.int_],
    limits: Limits,
    n_boot: int,
    seed: int,
) -> ThresholdAudit:
    approved = (scores >= cutoff).astype(int)
    frame = MetricFrame(
        metrics=_METRICS,
        y_true=good,
        y_pred=approved,
        sensitive_features=pd.Series(values, name="group"),  # never y_true or y_pred
    )
    sizes = {str(k): int(v) for k, v in zip(*np.unique(values, return_counts=True), strict=True)}
    group_ci = _bootstrap(values, order, good, approved, n_boot, seed) if n_boot else None
    rows = [
        GroupRates(group=name, n=sizes[name], suppressed=True)
        if sizes[name] < limits.min_group
        else _group_rates(
            name,
            sizes[name],
            frame.by_group.loc[name],
            group_ci[name] if group_ci is not None else None,
        )
        for name in order
    ]
    overall = _group_rates(
        "(all)", len(values), frame.overall, group_ci[ALL] if group_ci is not None else None
    )

    left_out = tuple(name for name in order if sizes[name] < limits.min_group)
    compared = [r for r in rows if not r.suppressed]
    notes: list[str] = []
    if left_out:
        notes.append(
            f"Left out of both differences (fewer than {limits.min_group} subjects): "
            + ", ".join(f"{name} (n = {sizes[name]})" for name in left_out)
            + "."
        )
    dp = eo = None
    if len(compared) < 2:
        notes.append(
            f"Fewer than two groups have at least {limits.min_group} subjects: "
            "no differences computed."
        )
    else:
        keep = np.isin(values, [r.group for r in compared])
        dp = float(
            demographic_parity_difference(
                good[keep], approved[keep], sensitive_features=values[keep]
            )
        )
        odds = [r for r in compared if r.tpr is not None and r.fpr is not None]
        undefined = [r.group for r in compared if r.tpr is None or r.fpr is None]
        if undefined:
            notes.append(
                "Left out of the equalized odds difference (no goods or no bads, so a "
                "rate is undefined): " + ", ".join(undefined) + "."
            )
        if len(odds) >= 2:
            keep = np.isin(values, [r.group for r in odds])
            eo = float(
                equalized_odds_difference(
                    good[keep], approved[keep], sensitive_features=values[keep]
                )
            )
        else:
            notes.append(
                "Fewer than two groups have both goods and bads: "
                "no equalized odds difference computed."
            )
    return ThresholdAudit(
        attribute=attribute,
        threshold=label,
        cutoff=cutoff,
        groups=tuple(rows),
        overall=overall,
        demographic_parity_difference=dp,
        equalized_odds_difference=eo,
        left_out=left_out,
        notes=tuple(notes),
    )


ALL = "(all)"


def _bootstrap(
    values: npt.NDArray[Any],
    order: list[str],
    good: npt.NDArray[np.int_],
    approved: npt.NDArray[np.int_],
    n_boot: int,
    seed: int,
) -> dict[str, list[dict[str, float]]]:
    """Per group (and ``ALL``), the lower and upper bootstrap quantiles of each rate: the
    rows resampled with replacement ``n_boot`` times, as MetricFrame's bootstrap does, but
    counted with one bincount per resample instead of a pandas group-by per group and metric
    (which took minutes for a city's tens of thousands of subjects)."""
    codes = np.asarray(pd.Categorical(values, categories=order).codes, dtype=np.int64)
    k = len(order)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[npt.NDArray[np.float64]]] = {m: [] for m in _METRICS}
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(n_boot):
            pick = rng.integers(0, len(values), len(values))
            g, a, y = codes[pick], approved[pick], good[pick]
            count = np.append(np.bincount(g, minlength=k), len(pick)).astype(float)
            appr = np.append(np.bincount(g, a, minlength=k), a.sum())
            goods = np.append(np.bincount(g, y, minlength=k), y.sum())
            tp = np.append(np.bincount(g, a * y, minlength=k), (a * y).sum())
            bads = count - goods
            draws["approval"].append(appr / count)
            draws["tpr"].append(tp / goods)
            draws["fpr"].append((appr - tp) / bads)
            draws["bad_rate"].append(bads / count)
    bounds = {m: np.nanquantile(np.vstack(d), list(CI_QUANTILES), axis=0) for m, d in draws.items()}
    return {
        name: [{m: float(bounds[m][q][i]) for m in _METRICS} for q in range(2)]
        for i, name in enumerate([*order, ALL])
    }


def _group_rates(name: str, n: int, point: Any, bounds: Sequence[Any] | None) -> GroupRates:
    """A group's rates from MetricFrame values (``point``: metric -> value) and the lower and
    upper bootstrap quantiles (``bounds``, the same shape; None without a bootstrap)."""

    def rate(metric: str) -> Rate | None:
        value = point[metric]
        if value is None or not math.isfinite(float(value)):
            return None
        ci = None
        if bounds is not None:
            low, high = (float(b[metric]) for b in bounds)
            if math.isfinite(low) and math.isfinite(high):
                ci = (low, high)
        return Rate(float(value), ci)

    return GroupRates(name, n, False, rate("approval"), rate("tpr"), rate("fpr"), rate("bad_rate"))


# ---- input checks -----------------------------------------------------------------------


def _outcomes(bad: npt.ArrayLike) -> npt.NDArray[np.int_]:
    arr = np.asarray(bad)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError("bad must be a non-empty one-dimensional array of 0 and 1.")
    if arr.dtype != bool and (
        not np.issubdtype(arr.dtype, np.number) or not np.isin(arr, (0, 1)).all()
    ):
        raise ValueError("bad must hold only 0 (good) and 1 (the bad outcome happened).")
    return arr.astype(int)


def _scores(score: npt.ArrayLike, n: int) -> npt.NDArray[np.int_]:
    arr = np.asarray(score)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(
            f"score has {arr.size} values and bad {n}: both are one value per subject."
        )
    if not np.issubdtype(arr.dtype, np.number) or arr.dtype == bool:
        raise ValueError("score must be numeric.")
    if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
        raise ValueError("score must hold whole numbers.")
    if arr.min() < SCORE_MIN or arr.max() > SCORE_MAX:
        raise ValueError(
            f"score runs from {arr.min()} to {arr.max()}; scores are {SCORE_MIN} to {SCORE_MAX}."
        )
    return arr.astype(int)


def _columns(groups: pd.DataFrame, n: int) -> dict[str, tuple[npt.NDArray[Any], list[str]]]:
    """Each column's labels as strings, and its groups in order (categories, else sorted)."""
    if not isinstance(groups, pd.DataFrame):
        raise ValueError("groups must be a pandas DataFrame, one column per attribute.")
    if len(groups) != n:
        raise ValueError(f"groups has {len(groups)} rows; there are {n} subjects.")
    if groups.shape[1] == 0:
        raise ValueError("groups has no columns: there is nothing to audit.")
    if not groups.columns.is_unique or not all(isinstance(c, str) for c in groups.columns):
        raise ValueError("groups' column names must be unique strings.")
    out: dict[str, tuple[npt.NDArray[Any], list[str]]] = {}
    for name in groups.columns:
        column = groups[name]
        if column.isna().any():
            raise ValueError(f"groups column {name!r} has missing values.")
        values = np.asarray([str(v) for v in column], dtype=object)
        present = set(values.tolist())
        if isinstance(column.dtype, pd.CategoricalDtype):
            order = [str(c) for c in column.cat.categories if str(c) in present]
        else:
            order = sorted(present)
        out[name] = (values, order)
    return out


def _thresholds(thresholds: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(thresholds, Mapping) or not thresholds:
        raise ValueError("thresholds must map at least one name to a score.")
    out: dict[str, int] = {}
    for name, cutoff in thresholds.items():
        if isinstance(cutoff, bool) or not isinstance(cutoff, numbers.Integral):
            raise ValueError(f"threshold {name!r} is {cutoff!r}; a threshold is a whole score.")
        out[str(name)] = int(cutoff)
    return out


# ---- output -----------------------------------------------------------------------------


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 4)


def _rate_dict(prefix: str, rate: Rate | None) -> dict[str, Any]:
    return {
        prefix: _num(rate.value) if rate else None,
        f"{prefix}_ci": [_num(rate.ci[0]), _num(rate.ci[1])] if rate and rate.ci else None,
    }


def _group_dict(g: GroupRates) -> dict[str, Any]:
    return {
        "group": g.group,
        "n": g.n,
        "suppressed": g.suppressed,
        **_rate_dict("approval_rate", g.approval),
        **_rate_dict("tpr", g.tpr),
        **_rate_dict("fpr", g.fpr),
        **_rate_dict("bad_rate", g.bad_rate),
    }


def _result_dict(r: ThresholdAudit) -> dict[str, Any]:
    return {
        "attribute": r.attribute,
        "threshold": r.threshold,
        "cutoff": r.cutoff,
        "groups": [_group_dict(g) for g in r.groups],
        "overall": _group_dict(r.overall),
        "demographic_parity_difference": _num(r.demographic_parity_difference),
        "equalized_odds_difference": _num(r.equalized_odds_difference),
        "left_out": list(r.left_out),
        "notes": list(r.notes),
    }


def _fmt(rate: Rate | None) -> str:
    return "n/a" if rate is None else f"{rate.value:.3f}"


def _fmt_ci(rate: Rate | None) -> str:
    if rate is None:
        return "n/a"
    if rate.ci is None:
        return f"{rate.value:.3f}"
    return f"{rate.value:.3f} [{rate.ci[0]:.3f}, {rate.ci[1]:.3f}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    """An aligned Markdown table; the columns in ``right`` are right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]

    def line(cells: Sequence[str]) -> str:
        padded = (
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths)
        )
        + "|"
    )
    return [line(header), rule, *(line(r) for r in rows)]


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, width=80, subsequent_indent=indent, break_on_hyphens=False)


def _markdown(a: Audit) -> str:
    interval = (
        f"with its 95% bootstrap interval ({a.n_boot} resamples of the whole population, "
        f"seed {a.seed})"
        if a.n_boot
        else "(no bootstrap intervals: n_boot = 0)"
    )
    lines = ["## Fairness audit", ""]
    lines += _wrap(
        f"{a.subjects} subjects. A subject is approved at a threshold when the score is at "
        f"least the threshold. Per group: n, the approval rate {interval}, TPR (approval "
        "among subjects whose outcome was good), FPR (approval among those whose outcome "
        "was bad) and the observed bad rate. Groups under "
        f"{a.limits.min_group} subjects show their count only and are left out of the "
        "differences; n/a marks a rate that is undefined."
    )
    header = (
        "group",
        "n",
        "approval (95% CI)" if a.n_boot else "approval",
        "TPR",
        "FPR",
        "bad rate",
    )
    for r in a.results:
        lines += ["", f"### {r.attribute} at {r.threshold} (score >= {r.cutoff})", ""]
        rows = []
        for g in (*r.groups, r.overall):
            if g.suppressed:
                rows.append(
                    (g.group, str(g.n), f"suppressed (n < {a.limits.min_group})", "-", "-", "-")
                )
            else:
                rows.append(
                    (
                        g.group,
                        str(g.n),
                        _fmt_ci(g.approval),
                        _fmt(g.tpr),
                        _fmt(g.fpr),
                        _fmt(g.bad_rate),
                    )
                )
        lines += _table(header, rows, right={1, 3, 4, 5})
        for note in r.notes:
            lines += ["", *_wrap(note)]

    lines += ["", "### Differences between groups", ""]
    rows = []
    for r, kind, value, limit in a.differences():
        verdict = "not computed" if value is None else ("**breach**" if value > limit else "ok")
        shown = "n/a" if value is None else f"{value:.4f}"
        rows.append((r.attribute, r.threshold, kind, shown, f"{limit:.4f}", verdict))
    lines += _table(
        ("attribute", "threshold", "difference", "value", "limit", "result"), rows, right={3, 4}
    )
    lines += ["", "### Breaches", ""]
    found = a.breaches()
    if found:
        for sentence in found:
            lines += _wrap(f"- {sentence}", indent="  ")
    else:
        lines.append("No difference exceeds its limit.")
    return "\n".join(lines) + "\n"
