"""A few years of loan history for the demo city, drawn from a known model, and the
consent a share of adults gives to the commercial score.

Each borrower has a hidden propensity ``z`` (standard normal, fixed by the seed and the
identifier alone, never by age, sex or region). Every month of the history one repayment
falls due; it is late with probability ``sigmoid(A + B z)``, and a late one runs past 90
days with probability ``sigmoid(C + D z)``. Loans are repaid in full at a steady rate that
depends weakly on ``z``. Because the model is known, the best any score can do is known too:
``outcome_probability(z)`` is the true chance of a 90-day delinquency in the next 12
months, and its AUC on a test set is the ceiling a fitted scorecard is compared with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections.abc import Callable, Iterable
from statistics import NormalDist
from typing import Any

BORROWER_SHARE = 0.35  # adults with a loan history
HISTORY_MONTHS = 72
A, B = -3.4, 1.1  # a repayment is late: sigmoid(A + B z)
C, D = -1.2, 1.2  # a late repayment runs past 90 days: sigmoid(C + D z)
REPAID_PER_YEAR = 0.8  # loans repaid in full, scaled by exp(-0.3 z)
BREACH = -5.2  # a month with a rental contract breached: sigmoid(BREACH + B z)
ARREARS = -4.6  # a month with a utility bill in arrears: sigmoid(ARREARS + B z)
SERIOUS_DAYS = 90  # the outcome the score predicts: 90 days or more overdue


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def propensity(seed: int, identifier: str) -> float:
    """The borrower's hidden propensity: the same for a seed and identifier, wherever asked."""
    digest = hashlib.sha256(f"{seed}:{identifier}".encode()).digest()
    u = (int.from_bytes(digest[:8], "big") + 0.5) / 2.0**64
    return NormalDist().inv_cdf(u)


def late_probability(z: float) -> float:
    return _sigmoid(A + B * z)


def serious_probability(z: float) -> float:
    return _sigmoid(A + B * z) * _sigmoid(C + D * z)


def outcome_probability(z: float, months: int = 12) -> float:
    """The true chance that a repayment runs 90 days or more overdue within ``months``."""
    return 1.0 - (1.0 - serious_probability(z)) ** months


def borrowers(adults: list[str], seed: int) -> list[str]:
    rng = random.Random(f"borrowers:{seed}")
    return sorted(rng.sample(adults, round(BORROWER_SHARE * len(adults)))) if adults else []


def _months_back(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 - months
    return dt.date(total // 12, total % 12 + 1, min(day.day, 28))


def loan_history(
    people: Iterable[str],
    adult_from: dict[str, dt.date],
    *,
    seed: int,
    today: dt.date,
    add: Callable[[str, str, str, dt.date, dict[str, Any], float], None],
) -> None:
    """Call ``add(source_kind, subject, category, day, details, amount)`` for each repayment
    that fell late, each loan repaid, and the rental breaches and utility arrears that the
    same propensity makes likelier, month by month over the history (never before 18)."""
    for person in people:
        z = propensity(seed, person)
        rng = random.Random(f"loans:{seed}:{person}")
        late, serious = late_probability(z), _sigmoid(C + D * z)
        repaid = REPAID_PER_YEAR * math.exp(-0.3 * z) / 12
        breach, arrears = _sigmoid(BREACH + B * z), _sigmoid(ARREARS + B * z)
        loan = rng.choice(["consumer", "credit_card", "mortgage", "other"])
        for back in range(HISTORY_MONTHS, 0, -1):
            due = _months_back(today, back) + dt.timedelta(days=rng.randrange(28))
            if due < adult_from.get(person, due) or due > today:
                continue
            if rng.random() < late:
                days = (
                    rng.randint(SERIOUS_DAYS, 400) if rng.random() < serious else rng.randint(1, 60)
                )
                # A late repayment is reported once its days overdue are known.
                on = min(today, due + dt.timedelta(days=days))
                add(
                    "lender",
                    person,
                    "commercial.loan.overdue",
                    on,
                    {"days_overdue": days, "loan_type": loan},
                    round(rng.uniform(200, 20_000), 2),
                )
            if rng.random() < repaid:
                add(
                    "lender",
                    person,
                    "commercial.loan.repaid",
                    due,
                    {"loan_type": loan},
                    round(rng.uniform(1_000, 200_000), 2),
                )
            if rng.random() < breach:
                add(
                    "rental",
                    person,
                    "commercial.contract.breach",
                    due,
                    {"matter": "rental car returned late and unpaid", "found_by": "counterparty"},
                    round(rng.uniform(200, 5_000), 2),
                )
            if rng.random() < arrears:
                service = rng.choice(["electricity", "water", "gas", "telecom"])
                add(
                    "utility",
                    person,
                    "commercial.utility.arrears",
                    due,
                    {"service": service, "months_in_arrears": rng.randint(1, 6)},
                    round(rng.uniform(100, 3_000), 2),
                )


def consenting(adults: list[str], share: float, seed: int) -> list[str]:
    """The adults who opt in to the commercial score (a share, drawn by the seed)."""
    if not adults or share <= 0:
        return []
    rng = random.Random(f"consent:{seed}")
    return sorted(rng.sample(adults, min(len(adults), round(share * len(adults)))))
