"""The fitted commercial card on the demo city, against the model that generated the city.

The demo city's loan history is drawn from a known model (xinyong/demo/loans.py): each
borrower's hidden propensity sets the chance of a late and of a 90-day repayment, so the
true chance of the outcome (a 90-day delinquency within 12 months) is known for every
subject. The best any score can do is to rank by it. This builds the demo city (or reuses
the one under benchmarks/out/), trains the card as `xinyong score train` does (features as
of 36 and 24 months ago for training, 12 months ago for the out-of-time test), and prints
the test AUC of the fitted integer card, the test AUC of the generating model's true risk
on the same test set, and their ratio (goal: at least 0.95), also among borrowers alone.

    python benchmarks/score_demo_city.py                 # the 100,000-person demo city
    python benchmarks/score_demo_city.py --persons 20000
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from service_common import ensure_demo  # noqa: E402

from xinyong.context import Context  # noqa: E402
from xinyong.demo import generate_city  # noqa: E402
from xinyong.demo.loans import outcome_probability, propensity  # noqa: E402
from xinyong.score.fit import auc  # noqa: E402
from xinyong.score.train import train  # noqa: E402
from xinyong.settings import load_settings  # noqa: E402

GOAL = 0.95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=100_000)
    args = parser.parse_args()
    data = ROOT / "out" / f"score-{args.persons}"
    ensure_demo(data, args.persons)
    orgs, agencies = max(1, args.persons // 10), max(1, min(50, args.persons // 2000))
    with tempfile.TemporaryDirectory() as tmp:
        # The same city again, in memory: who borrows, under the demo's seed.
        city = generate_city(
            Path(tmp), persons=args.persons, orgs=orgs, agencies=agencies, today=dt.date.today()
        )
    ctx = Context(load_settings(data_dir=data))
    started = time.perf_counter()
    training = train(ctx, n_boot=0)
    seconds = time.perf_counter() - started
    test = training.test
    borrowers = set(city.borrowers)
    truth = [
        -outcome_probability(propensity(city.seed, i)) if i in borrowers else 0.0
        for i in test["identifier"]
    ]
    mask = test["identifier"].isin(borrowers).to_numpy()
    best, fitted = auc(test["bad"], truth), auc(test["bad"], training.test_scores)
    best_b = auc(test["bad"][mask], [t for t, m in zip(truth, mask, strict=True) if m])
    fitted_b = auc(test["bad"][mask], training.test_scores[mask])
    print(f"demo city: {args.persons:,} persons; trained in {seconds:.0f} s")
    print(
        f"test set: {len(test):,} consenting adults observed {training.test_date},"
        f" {int(test['bad'].sum()):,} with the outcome ({mask.sum():,} borrowers)"
    )
    print(
        f"  generating model AUC {best:.4f}, fitted card AUC {fitted:.4f}: ratio {fitted / best:.4f}"
    )
    print(f"  borrowers only:      {best_b:.4f}, {fitted_b:.4f}: ratio {fitted_b / best_b:.4f}")
    print(f"  notes: {' '.join(training.notes) or 'none'}")
    print(f"goal (ratio at least {GOAL}): {'met' if fitted / best >= GOAL else 'MISSED'}")


if __name__ == "__main__":
    main()
