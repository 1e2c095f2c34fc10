"""The German Credit data (tests/data/german_credit.csv, see tests/data/README.md) for the
scorecard tests and benchmarks/score_german_credit.py: loading, a seeded split, and the
plain optbinning pipeline the xinyong card is compared with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
from optbinning import BinningProcess, Scorecard
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

CSV = Path(__file__).resolve().parent.parent / "data" / "german_credit.csv"
TARGET = "bad"
SEED = 20240601

# A credit score here may not read personal characteristics: sex and marital status
# (personal_status_and_sex), age (age_in_years) and nationality (foreign_worker) are left
# out of the features.
EXCLUDED = ("personal_status_and_sex", "age_in_years", "foreign_worker")
NUMERIC = [
    "duration_in_month",
    "credit_amount",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
]
CATEGORICAL = [
    "status_of_existing_checking_account",
    "credit_history",
    "purpose",
    "savings_account_and_bonds",
    "present_employment_since",
    "other_debtors_or_guarantors",
    "property",
    "other_installment_plans",
    "housing",
    "job",
    "telephone",
]


def load(path: Path | str | None = None) -> pd.DataFrame:
    """The 1,000 applicants, with ``bad`` = 1 where ``creditability`` is "bad"."""
    frame = pd.read_csv(path or CSV)
    numeric = [*NUMERIC, "age_in_years"]
    frame[numeric] = frame[numeric].astype("int64")
    frame[TARGET] = (frame["creditability"] == "bad").astype("int64")
    return frame


def features(frame: pd.DataFrame) -> list[str]:
    """The columns a score may read, in the file's order."""
    allowed = set(NUMERIC) | set(CATEGORICAL)
    return [c for c in frame.columns if c in allowed]


def split(
    frame: pd.DataFrame, test_share: float = 0.3, seed: int = SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test). German Credit has no application dates, so there is no out-of-time
    split: a seeded random split, stratified on ``bad`` so both parts keep its 30% share."""
    train, test = train_test_split(
        frame, test_size=test_share, random_state=seed, stratify=frame[TARGET]
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


def plain_scores(
    train: pd.DataFrame,
    test: pd.DataFrame,
    names: list[str],
    *,
    categorical: list[str],
    min_score: int = 350,
    max_score: int = 950,
) -> npt.NDArray[np.float64]:
    """optbinning as documented, with the settings of ``fit_scorecard`` (numeric features
    monotonic "auto_asc_desc", a logistic regression, min-max scaling): the test rows'
    scores from its own ``Scorecard.score``, unrounded."""
    process = BinningProcess(
        names,
        categorical_variables=categorical,
        binning_fit_params={
            n: {"monotonic_trend": "auto_asc_desc"} for n in names if n not in categorical
        },
    )
    scorecard = Scorecard(
        binning_process=process,
        estimator=LogisticRegression(max_iter=1000),
        scaling_method="min_max",
        scaling_method_params={"min": min_score, "max": max_score},
    )
    scorecard.fit(train[names], train[TARGET].to_numpy())
    scores: npt.NDArray[np.float64] = np.asarray(scorecard.score(test[names]), dtype=float)
    return scores
