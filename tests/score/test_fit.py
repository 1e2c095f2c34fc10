"""Fitting the commercial scorecard (xinyong.score.fit): on German Credit against plain
optbinning, the card's bins and range, apply_card's semantics, the metric helpers."""

from __future__ import annotations

import itertools
import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from tests.score import german
from xinyong.score.fit import (
    Bin,
    FeatureCard,
    Fitted,
    apply_card,
    auc,
    calibration,
    fit_scorecard,
    ks,
    psi,
)

# optbinning 1.0.0 under pandas 3 warns about its own table building on every fit.
pytestmark = pytest.mark.filterwarnings("ignore:::optbinning")


class German(NamedTuple):
    train: pd.DataFrame
    test: pd.DataFrame
    features: list[str]
    card: Fitted


@pytest.fixture(scope="module")
def fitted() -> German:
    # Personal characteristics (sex and marital status, age, nationality) are not read:
    # german.features() leaves them out.
    frame = german.load()
    train, test = german.split(frame)
    names = german.features(frame)
    card = fit_scorecard(train, test, names, german.TARGET, categorical=german.CATEGORICAL)
    return German(train, test, names, card)


def feature(card: Fitted, name: str) -> FeatureCard:
    return next(f for f in card.features if f.id == name)


def bands(f: FeatureCard) -> list[Bin]:
    return [b for b in f.bins if b.values is None and not b.missing]


# -- German Credit -------------------------------------------------------------------------


def test_card_does_as_well_as_plain_optbinning(fitted: German) -> None:
    """The integer card against optbinning's own unrounded scores, same split and settings."""
    train, test, names, card = fitted
    plain = german.plain_scores(train, test, names, categorical=german.CATEGORICAL)
    ours = apply_card(card, test)
    bad = test[german.TARGET].to_numpy()
    assert abs(card.metrics["test_auc"] - auc(bad, plain)) <= 0.01
    assert abs(card.metrics["test_ks"] - ks(bad, plain)) <= 0.02
    assert card.metrics["test_auc"] > 0.7  # German Credit's scorecards reach about 0.75-0.8
    # The metrics are those of the integer card.
    assert card.metrics["test_auc"] == pytest.approx(auc(bad, ours))
    assert card.metrics["test_ks"] == pytest.approx(ks(bad, ours))
    assert card.metrics["test_gini"] == pytest.approx(2 * auc(bad, ours) - 1)
    train_scores = apply_card(card, train)
    assert card.metrics["train_auc"] == pytest.approx(auc(train[german.TARGET], train_scores))
    # Rounding moves a row's score by a few points at most.
    assert np.abs(ours - plain).max() < 5


def test_scores_stay_in_range(fitted: German) -> None:
    train, test, _, card = fitted
    lowest = sum(min(b.points for b in f.bins) for f in card.features)
    highest = sum(max(b.points for b in f.bins) for f in card.features)
    assert (lowest, highest) == (350, 950)  # rounding keeps the range exactly
    for frame in (train, test):
        scores = apply_card(card, frame)
        assert scores.dtype == np.int64
        assert scores.min() >= 350 and scores.max() <= 950
    # Values no bin matches (0 points) and missing values are clipped into the range too.
    odd = test.head(3).copy()
    odd["credit_amount"] = [None, 1.5, 10**9]
    odd["purpose"] = ["spaceship", None, "spaceship"]
    scores = apply_card(card, odd)
    assert scores.min() >= 350 and scores.max() <= 950


def test_higher_score_means_lower_risk(fitted: German) -> None:
    _, test, _, card = fitted
    scores = apply_card(card, test)
    bad = test[german.TARGET].to_numpy()
    low, high = np.quantile(scores, [0.25, 0.75])
    assert bad[scores >= high].mean() < bad[scores <= low].mean()
    deciles = calibration(bad, scores)
    assert deciles[0]["bad_rate"] > 0.5 > 0.1 > deciles[-1]["bad_rate"]
    # Features where the direction is known: no checking account is the safest status, an
    # overdrawn one the riskiest; longer loans are riskier.
    status = {b.values: b.points for b in feature(card, "status_of_existing_checking_account").bins}
    assert status[("no checking account",)] > status[("... < 0 DM",)]
    duration = [b.points for b in bands(feature(card, "duration_in_month"))]
    assert duration[0] > duration[-1]


def test_bins_follow_optbinning_intervals(fitted: German) -> None:
    train, _, names, card = fitted
    assert [f.id for f in card.features] == names  # optbinning drops none here; order kept
    for f in card.features:
        assert [b.missing for b in f.bins].count(True) == 1
        assert f.bins[-1].missing
        assert all(isinstance(b.points, int) for b in f.bins)
        if f.id in german.CATEGORICAL:
            values = [v for b in f.bins if b.values for v in b.values]
            assert sorted(values) == sorted(train[f.id].unique())  # a partition, no Special
        else:
            numeric = bands(f)
            assert len(numeric) == len(f.bins) - 1  # no Special bin
            assert numeric[0].min is None and numeric[-1].max is None
            for before, after in itertools.pairwise(numeric):
                assert before.max is not None and after.min == before.max + 1
    assert feature(card, "status_of_existing_checking_account").iv > 0.3
    # optbinning's split 3913.5 is the band ..3913 and 3914..
    amount = bands(feature(card, "credit_amount"))
    assert any(b.max == 3913 for b in amount) and any(b.min == 3914 for b in amount)


def test_numeric_points_are_monotonic(fitted: German) -> None:
    """Numeric features get a monotonic event rate ("auto_asc_desc"), so monotonic points:
    plain optbinning's default ("auto") would give credit_amount a peak."""
    for name in german.NUMERIC:
        points = [b.points for b in bands(feature(fitted.card, name))]
        steps = np.diff(points)
        assert (steps >= 0).all() or (steps <= 0).all(), (name, points)


def test_monotonic_trend_can_be_given(fitted: German) -> None:
    train, test, _, _ = fitted
    names = ["credit_amount", "duration_in_month"]
    default = fit_scorecard(train, test, names, german.TARGET)
    forced = fit_scorecard(
        train, test, names, german.TARGET, monotonic={"credit_amount": "descending"}
    )
    # The bad rate rises with the amount, so points fall; forced to fall, points rise.
    assert np.all(np.diff([b.points for b in bands(feature(default, "credit_amount"))]) <= 0)
    assert np.all(np.diff([b.points for b in bands(feature(forced, "credit_amount"))]) >= 0)


def test_fit_refuses_bad_input(fitted: German) -> None:
    train, test, _, _ = fitted
    with pytest.raises(ValueError, match="not among the features"):
        fit_scorecard(train, test, ["credit_amount"], german.TARGET, categorical=["purpose"])
    halves = train.assign(credit_amount=train["credit_amount"] + 0.5)
    with pytest.raises(ValueError, match="integer-valued"):
        fit_scorecard(halves, test, ["credit_amount"], german.TARGET)
    with pytest.raises(ValueError, match="0 \\(good\\) or 1 \\(bad\\)"):
        fit_scorecard(train, test, ["credit_amount"], "creditability")


# -- apply_card on a hand-made card --------------------------------------------------------

HAND = Fitted(
    features=(
        FeatureCard(
            "months",
            (Bin(30, max=5), Bin(20, min=6, max=11), Bin(10, min=12), Bin(15, missing=True)),
            iv=0.0,
        ),
        FeatureCard(
            "kind",
            (Bin(25, values=("a", "b")), Bin(5, values=("c",)), Bin(12, missing=True)),
            iv=0.0,
        ),
    ),
    min_score=10,
    max_score=50,
    scaling={},
    metrics={},
)


def test_apply_card_reads_bins() -> None:
    frame = pd.DataFrame(
        {
            "months": [0, 5, 6, 11, None, 12, 100, -3, 5.5, 12],
            "kind": ["a", "c", "b", None, "c", "zzz", "c", "c", "c", "a"],
        }
    )
    expected = [
        50,  # 30 + 25 = 55, clipped to 50
        35,  # 30 + 5: bounds are inclusive
        45,  # 20 + 25
        32,  # 20 + 12 (missing kind)
        20,  # 15 (missing months) + 5
        10,  # 10 + 0 (a value no bin holds)
        15,  # 10 + 5: the last band is unbounded
        35,  # 30 + 5: so is the first
        10,  # 0 (5.5 is in no integer band) + 5 = 5, clipped to 10
        35,  # 10 + 25
    ]
    assert apply_card(HAND, frame).tolist() == expected


def test_apply_card_tries_values_before_bands_and_takes_the_first_match() -> None:
    card = Fitted(
        features=(
            FeatureCard(
                "code",
                (
                    Bin(7, min=0, max=9),
                    Bin(1, min=0, max=99),
                    Bin(3, values=("5",)),
                    Bin(4, values=("5", "6", "nan", "None")),
                ),
                iv=0.0,
            ),
        ),
        min_score=0,
        max_score=100,
        scaling={},
        metrics={},
    )
    frame = pd.DataFrame({"code": [5, 4, 50, None, 6]})
    assert apply_card(card, frame).tolist() == [3, 7, 1, 0, 4]  # no missing bin: 0


def test_apply_card_is_monotone_over_descending_bands() -> None:
    months = np.arange(-5, 40)
    scores = apply_card(HAND, pd.DataFrame({"months": months, "kind": "c"}))
    assert np.all(np.diff(scores) <= 0)
    assert sorted(set(scores.tolist())) == [15, 25, 35]
    assert months[scores == 25].tolist() == list(range(6, 12))


# -- metric helpers ------------------------------------------------------------------------


def test_auc_and_ks_of_perfect_and_useless_scores() -> None:
    bad = np.array([1, 1, 1, 0, 0, 0])
    score = np.array([1, 2, 3, 4, 5, 6])
    assert auc(bad, score) == 1.0 and ks(bad, score) == 1.0
    assert auc(bad, -score) == 0.0 and ks(bad, -score) == 1.0
    assert auc(bad, np.zeros(6)) == 0.5 and ks(bad, np.zeros(6)) == 0.0
    assert ks([1, 0, 1, 0], [1, 2, 3, 4]) == 0.5


def test_ks_is_the_two_sample_statistic() -> None:
    rng = np.random.default_rng(7)
    bad = rng.integers(0, 2, 500)
    score = rng.normal(600 - 40 * bad, 50).round()
    assert ks(bad, score) == pytest.approx(ks_2samp(score[bad == 0], score[bad == 1]).statistic)


def test_calibration_per_decile() -> None:
    score = np.arange(1, 101)
    bad = (score <= 30).astype(int)
    groups = calibration(bad, score)
    assert [g["count"] for g in groups] == [10] * 10
    assert [(g["min_score"], g["max_score"]) for g in groups][:2] == [(1, 10), (11, 20)]
    assert [g["bad_rate"] for g in groups] == [1, 1, 1] + [0] * 7
    # Ties stay together: two distinct scores make two groups.
    assert [g["count"] for g in calibration([0] * 10, [1] * 5 + [2] * 5)] == [5, 5]


def test_psi() -> None:
    rng = np.random.default_rng(3)
    expected: npt.NDArray[np.float64] = rng.normal(600, 50, 5000)
    assert abs(psi(expected, expected)) < 1e-12
    assert psi(expected, rng.normal(600, 50, 5000)) < 0.02
    assert psi(expected, expected + 50) > 0.25
    # Everyone in the lowest decile: shares 1 and nine empty ones (floored at 1e-4).
    uniform = np.arange(1000.0)
    known = 0.9 * math.log(10) + 9 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert psi(uniform, np.zeros(100)) == pytest.approx(known)
