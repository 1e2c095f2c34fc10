"""The fairness audit: audit attributes from resident numbers, and the audit itself.

Populations are synthetic and seeded: a latent risk drives both the bad outcome and the
score, and sex is drawn independently of both. The planted bias shifts women's scores down
by 100 points after the outcome is drawn, so at an ordinary threshold fewer good women are
approved than good men; at a threshold almost nobody reaches the groups stay alike.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import numpy as np
import pandas as pd
import pytest

from xinyong.score.fairness import (
    AGE_BANDS,
    DEMOGRAPHIC_PARITY,
    EQUALIZED_ODDS,
    Audit,
    Limits,
    audit,
    audit_attributes,
)

# -- resident numbers, written from GB 11643 independently of src/ -----------------------

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
AS_OF = dt.date(2026, 12, 1)


def resident_id(birth: str, sequence: int, region: str = "110105") -> str:
    """A valid resident number: region, birth date YYYYMMDD, 3-digit sequence, check."""
    body = f"{region}{birth}{sequence:03d}"
    assert len(body) == 17
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 11]


def test_the_helper_reproduces_the_standards_examples() -> None:
    assert resident_id("19491231", 2) == "11010519491231002X"
    assert resident_id("18800101", 1, region="440524") == "440524188001010014"


@pytest.mark.parametrize(
    ("birth", "sequence", "expected"),
    [
        ("19900501", 123, ("30-44", "male")),  # 36
        ("19900501", 124, ("30-44", "female")),
        ("19961201", 11, ("30-44", "male")),  # 30 on the day
        ("19961202", 11, ("18-29", "male")),  # 30 tomorrow
        ("20081201", 2, ("18-29", "female")),  # 18 on the day
        ("20081202", 2, ("under 18", "female")),
        ("19811201", 7, ("45-59", "male")),  # 45
        ("19671202", 8, ("45-59", "female")),  # 59
        ("19661201", 9, ("60+", "male")),  # 60
        ("19300101", 10, ("60+", "female")),
    ],
)
def test_audit_attributes(birth: str, sequence: int, expected: tuple[str, str]) -> None:
    assert audit_attributes(resident_id(birth, sequence), AS_OF) == expected


def test_a_leap_day_birthday_counts_from_the_first_of_march() -> None:
    number = resident_id("20000229", 5)
    assert audit_attributes(number, dt.date(2018, 2, 28)) == ("under 18", "male")
    assert audit_attributes(number, dt.date(2018, 3, 1)) == ("18-29", "male")


def test_a_lower_case_check_x_is_accepted() -> None:
    number = next(n for s in range(1000) if (n := resident_id("19850615", s)).endswith("X"))
    assert audit_attributes(number.lower(), AS_OF) == audit_attributes(number, AS_OF)


def _wrong_check(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


GOOD = resident_id("19900501", 123)


@pytest.mark.parametrize(
    "bad",
    [
        _wrong_check(GOOD),
        GOOD[:17],  # 17 characters
        GOOD + "1",  # 19 characters
        "",
        "11010519900501123",  # no check character
        "110105900501123",  # the old 15-digit number
        "A10105199005011234",  # a letter in the body
        " " + GOOD[:17],  # 18 characters, but not digits
        resident_id("19900230", 123),  # 30 February, with a correct check character
        resident_id("19901301", 123),  # month 13
        resident_id("20270101", 123),  # born after AS_OF
        "91350100M000100Y43",  # an organisation's credit code
    ],
)
def test_anything_else_is_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        audit_attributes(bad, AS_OF)


def test_a_non_string_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        audit_attributes(110105199005011234, AS_OF)  # type: ignore[arg-type]  # on purpose


# -- synthetic populations ---------------------------------------------------------------

THRESHOLDS = {"deposit_600": 600, "premium_900": 900}


def population(n: int, seed: int, shift: int = 0) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(bad, score, groups): women's scores shifted down by ``shift`` after the outcome."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n)
    age = rng.choice(AGE_BANDS, n)
    risk = rng.normal(size=n)
    bad = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * risk - 0.8)))).astype(int)
    score = np.round(650 - 80 * risk + rng.normal(0, 30, n)) - np.where(sex == "female", shift, 0)
    groups = pd.DataFrame({"age_band": age, "sex": sex})
    return bad, np.clip(score, 350, 950).astype(int), groups


@pytest.fixture(scope="module")
def fair() -> Audit:
    bad, score, groups = population(3000, seed=0)
    return audit(bad, score, groups[["sex"]], THRESHOLDS, Limits(), n_boot=10)


@pytest.fixture(scope="module")
def biased() -> Audit:
    bad, score, groups = population(3000, seed=0, shift=100)
    return audit(bad, score, groups, THRESHOLDS, Limits(), n_boot=10)


def test_scores_independent_of_sex_pass(fair: Audit) -> None:
    for threshold in THRESHOLDS:
        r = fair.result("sex", threshold)
        assert r.demographic_parity_difference is not None
        assert r.demographic_parity_difference < 0.03
        assert r.equalized_odds_difference is not None
        assert r.equalized_odds_difference < 0.05
        assert [g.group for g in r.groups] == ["female", "male"]
        assert sum(g.n for g in r.groups) == r.overall.n == 3000
    assert fair.breaches() == []
    assert "No difference exceeds its limit." in fair.to_markdown()


def test_a_planted_bias_is_a_breach_naming_the_attribute_and_threshold(biased: Audit) -> None:
    r = biased.result("sex", "deposit_600")
    female, male = r.group("female"), r.group("male")
    assert female.approval is not None and male.approval is not None
    assert male.approval.value - female.approval.value > 0.3
    assert female.bad_rate is not None and male.bad_rate is not None
    assert abs(female.bad_rate.value - male.bad_rate.value) < 0.05  # the same risk
    assert female.tpr is not None and male.tpr is not None
    assert male.tpr.value - female.tpr.value > 0.3  # good women are refused more often
    assert r.demographic_parity_difference == pytest.approx(
        male.approval.value - female.approval.value
    )

    found = {(b.attribute, b.threshold, b.difference) for b in biased.breach_list()}
    assert found == {
        ("sex", "deposit_600", DEMOGRAPHIC_PARITY),
        ("sex", "deposit_600", EQUALIZED_ODDS),
    }
    sentences = biased.breaches()
    assert len(sentences) == 2
    for sentence in sentences:
        assert sentence.startswith("sex, threshold deposit_600 (score >= 600): the ")
        assert "above its limit of 0.1000" in sentence
    assert f"{r.demographic_parity_difference:.4f}" in sentences[0]
    assert "demographic parity" in sentences[0] and "equalized odds" in sentences[1]
    # Nobody reaches 900, so there the groups are alike; age was never biased.
    assert (biased.result("sex", "premium_900").demographic_parity_difference or 1) < 0.01
    age = biased.result("age_band", "deposit_600")
    assert [g.group for g in age.groups] == list(AGE_BANDS)
    assert age.demographic_parity_difference is not None
    assert age.demographic_parity_difference < 0.1


def test_a_stricter_limit_turns_a_pass_into_a_breach() -> None:
    bad, score, groups = population(600, seed=1, shift=20)
    loose = audit(bad, score, groups[["sex"]], {"t": 600}, Limits(0.5, 0.5), n_boot=0)
    strict = audit(bad, score, groups[["sex"]], {"t": 600}, Limits(0.0, 0.0), n_boot=0)
    assert loose.breaches() == []
    assert len(strict.breaches()) == 2


# -- suppression and undefined rates ------------------------------------------------------


def _blocks(*blocks: tuple[str, list[int], list[int]]) -> tuple[list[int], list[int], pd.DataFrame]:
    """Concatenate (group, bad, score) blocks into audit inputs."""
    bad = [b for _, bads, _ in blocks for b in bads]
    score = [s for _, _, scores in blocks for s in scores]
    labels = [g for g, bads, _ in blocks for _ in bads]
    return bad, score, pd.DataFrame({"g": labels})


# 100 subjects, half scoring 500 and half 700, every other one bad: approval, TPR and FPR 0.5.
HALF = ([0, 1] * 50, [500] * 50 + [700] * 50)


def test_a_small_group_is_counted_but_suppressed_and_left_out() -> None:
    # C approves everyone: in the differences it would make the parity difference 0.5.
    bad, score, groups = _blocks(("A", *HALF), ("B", *HALF), ("C", [0, 1] * 5, [950] * 10))
    result = audit(bad, score, groups, {"t": 600}, Limits(), n_boot=10)
    r = result.result("g", "t")
    c = r.group("C")
    assert (c.n, c.suppressed) == (10, True)
    assert (c.approval, c.tpr, c.fpr, c.bad_rate) == (None, None, None, None)
    assert r.left_out == ("C",)
    assert r.demographic_parity_difference == pytest.approx(0.0)
    assert r.equalized_odds_difference == pytest.approx(0.0)
    assert any("C (n = 10)" in note for note in r.notes)
    assert r.overall.n == 210 and r.overall.approval is not None  # the whole population
    assert result.breaches() == []

    row = next(g for g in result.as_dict()["results"][0]["groups"] if g["group"] == "C")
    assert row == {
        "group": "C",
        "n": 10,
        "suppressed": True,
        **{k: None for k in ("approval_rate", "tpr", "fpr", "bad_rate")},
        **{f"{k}_ci": None for k in ("approval_rate", "tpr", "fpr", "bad_rate")},
    }
    text = result.to_markdown()
    assert re.search(r"\| C +\| +10 \| suppressed \(n < 30\)", text)
    assert "C (n = 10)" in text

    # With a lower minimum C counts, and breaches.
    counted = audit(bad, score, groups, {"t": 600}, Limits(min_group=5), n_boot=0)
    assert counted.result("g", "t").demographic_parity_difference == pytest.approx(0.5)
    assert len(counted.breaches()) == 2


def test_one_large_group_has_no_differences() -> None:
    bad, score, groups = _blocks(("A", *HALF), ("B", [0, 1] * 5, [700] * 10))
    result = audit(bad, score, groups, {"t": 600}, Limits(), n_boot=0)
    r = result.result("g", "t")
    assert r.demographic_parity_difference is None and r.equalized_odds_difference is None
    assert any("Fewer than two groups" in note for note in r.notes)
    assert result.breaches() == []
    assert "not computed" in result.to_markdown()


def test_a_group_without_bads_has_no_fpr_and_is_left_out_of_equalized_odds() -> None:
    bad, score, groups = _blocks(("A", *HALF), ("B", *HALF), ("D", [0] * 40, [700] * 40))
    r = audit(bad, score, groups, {"t": 600}, Limits(), n_boot=0).result("g", "t")
    d = r.group("D")
    assert d.fpr is None and d.tpr is not None and d.tpr.value == 1.0
    assert r.demographic_parity_difference == pytest.approx(0.5)  # D counts here
    assert r.equalized_odds_difference == pytest.approx(0.0)  # not here
    assert any("equalized odds" in note and "D" in note for note in r.notes)


def test_categorical_groups_keep_their_order() -> None:
    bad, score, groups = _blocks(("A", *HALF), ("B", *HALF))
    groups["g"] = pd.Categorical(groups["g"], categories=["B", "Z", "A"])
    r = audit(bad, score, groups, {"t": 600}, Limits(), n_boot=0).result("g", "t")
    assert [g.group for g in r.groups] == ["B", "A"]


# -- intervals and output -----------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> tuple[Audit, tuple[np.ndarray, np.ndarray, pd.DataFrame]]:
    data = population(600, seed=2)
    return audit(*data, {"deposit_600": 600}, Limits(), n_boot=50, seed=7), data


def test_intervals_bracket_the_rates_and_are_reproducible(
    small: tuple[Audit, tuple[np.ndarray, np.ndarray, pd.DataFrame]],
) -> None:
    result, data = small
    for r in result.results:
        for g in (*r.groups, r.overall):
            for rate in (g.approval, g.tpr, g.fpr, g.bad_rate):
                assert rate is not None and rate.ci is not None
                low, high = rate.ci
                assert low <= rate.value <= high
        for g in r.groups:  # about 150 subjects: a 95% interval of some 0.08 to 0.30
            assert g.approval is not None and g.approval.ci is not None
            assert 0.05 < g.approval.ci[1] - g.approval.ci[0] < 0.35
    # The same seed gives the same intervals; another seed others, around the same rates.
    bad, score, groups = data
    again = audit(bad, score, groups[["sex"]], {"deposit_600": 600}, Limits(), n_boot=50, seed=7)
    other = audit(bad, score, groups[["sex"]], {"deposit_600": 600}, Limits(), n_boot=50, seed=8)
    first = result.result("sex", "deposit_600")
    assert again.result("sex", "deposit_600") == first
    moved = other.result("sex", "deposit_600")
    assert moved != first
    for g, h in zip(moved.groups, first.groups, strict=True):
        assert g.approval is not None and h.approval is not None
        assert g.approval.value == h.approval.value
    assert moved.demographic_parity_difference == first.demographic_parity_difference


def test_the_markdown_has_a_table_per_attribute_and_threshold_with_intervals(
    small: tuple[Audit, tuple[np.ndarray, np.ndarray, pd.DataFrame]],
) -> None:
    result, _ = small
    text = result.to_markdown()
    assert text.startswith("## Fairness audit\n")
    assert "95% bootstrap interval (50 resamples" in " ".join(text.split())
    for r in result.results:
        assert f"### {r.attribute} at deposit_600 (score >= 600)" in text
        for g in (*r.groups, r.overall):
            assert g.approval is not None and g.approval.ci is not None
            low, high = g.approval.ci
            cell = f"{g.approval.value:.3f} [{low:.3f}, {high:.3f}]"
            assert re.search(rf"\| {re.escape(g.group)} +\| +{g.n} \| {re.escape(cell)} ", text)
    header = r"\| group +\| +n \| approval \(95% CI\) +\| +TPR \| +FPR \| bad rate \|"
    assert len(re.findall(header, text)) == 2
    assert "### Differences between groups" in text
    for r in result.results:
        dp = r.demographic_parity_difference
        assert dp is not None
        assert re.search(
            rf"\| {r.attribute} +\| deposit_600 \| demographic parity \| {dp:.4f} \| 0.1000 \|",
            text,
        )
    for line in text.splitlines():
        if not line.startswith("|"):
            assert len(line) <= 80, line


def test_without_a_bootstrap_there_are_no_intervals() -> None:
    bad, score, groups = _blocks(("A", *HALF), ("B", *HALF))
    result = audit(bad, score, groups, {"t": 600}, Limits(), n_boot=0)
    g = result.result("g", "t").group("A")
    assert g.approval is not None and g.approval.value == 0.5 and g.approval.ci is None
    assert "no bootstrap intervals" in result.to_markdown()
    assert result.as_dict()["bootstrap"]["ci_quantiles"] is None


def test_as_dict_round_trips_through_json(biased: Audit) -> None:
    data = biased.as_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["breaches"] == biased.breaches()
    row = data["results"][0]
    assert (row["attribute"], row["threshold"], row["cutoff"]) == ("age_band", "deposit_600", 600)
    group = row["groups"][0]
    assert isinstance(group["n"], int)
    assert group["approval_rate"] == round(group["approval_rate"], 4)
    assert len(group["approval_rate_ci"]) == 2


# -- inputs that do not line up -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bad": [0, 2, 1, 0]}, "0 .*and 1"),
        ({"bad": [0, 1, 1]}, "score has 4 values and bad 3"),
        ({"score": [600, 700, 1000, 500]}, "350 to 950"),
        ({"score": [600.5, 700, 800, 500]}, "whole numbers"),
        ({"groups": pd.DataFrame({"g": ["a", None, "b", "a"]})}, "missing"),
        ({"groups": pd.DataFrame({"g": ["a", "b", "a"]})}, "3 rows"),
        ({"thresholds": {}}, "at least one"),
        ({"thresholds": {"t": 600.0}}, "whole score"),
        ({"n_boot": -1}, "n_boot"),
    ],
)
def test_inputs_that_do_not_line_up_are_refused(change: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "bad": [0, 1, 1, 0],
        "score": [600, 700, 800, 500],
        "groups": pd.DataFrame({"g": ["a", "b", "a", "b"]}),
        "thresholds": {"t": 600},
        "limits": Limits(),
        "n_boot": 0,
    }
    with pytest.raises(ValueError, match=message):
        audit(**{**args, **change})  # type: ignore[arg-type]  # wrong on purpose


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        Limits(demographic_parity=1.5)
    with pytest.raises(ValueError):
        Limits(min_group=0)
