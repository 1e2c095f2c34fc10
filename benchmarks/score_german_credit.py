"""The fitted scorecard's discrimination on German Credit, against plain optbinning.

On the UCI Statlog German Credit data (tests/data/german_credit.csv, see
tests/data/README.md; 1,000 applicants, 30% bad), for --runs seeded, stratified 70/30
splits (seeds --seed, --seed + 1, ...; the data has no dates, so no out-of-time split),
fits, on the same split and with the same settings (numeric features monotonic
"auto_asc_desc", a logistic regression, min-max scaling to 350..950):

- **xinyong**: ``xinyong.score.fit.fit_scorecard``, whose card has integer points, scored by
  ``apply_card``;
- **plain**: optbinning's ``BinningProcess`` + scikit-learn's ``LogisticRegression`` +
  optbinning's ``Scorecard``, scored by its own ``Scorecard.score`` (unrounded).

Features: every column but the outcome, sex and marital status, age and nationality (a
credit score here may not read personal characteristics). Prints each run's test AUC and
KS of both, the medians of the differences xinyong - plain, and whether the goals hold:
the median AUC difference within 0.01 and the median KS difference within 0.02 (and the
largest, for information).

    python benchmarks/score_german_credit.py
    python benchmarks/score_german_credit.py --runs 20 --seed 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.score.german, the loader the tests use

from tests.score import german  # noqa: E402
from xinyong.score.fit import apply_card, auc, fit_scorecard, ks  # noqa: E402

AUC_GOAL = 0.01
KS_GOAL = 0.02


def run(seed: int, test_share: float) -> dict[str, float]:
    frame = german.load()
    train, test = german.split(frame, test_share=test_share, seed=seed)
    names = german.features(frame)
    bad = test[german.TARGET].to_numpy()
    started = time.perf_counter()
    card = fit_scorecard(train, test, names, german.TARGET, categorical=german.CATEGORICAL)
    ours = apply_card(card, test)
    fitted = time.perf_counter() - started
    plain = german.plain_scores(train, test, names, categorical=german.CATEGORICAL)
    return {
        "auc": auc(bad, ours),
        "ks": ks(bad, ours),
        "plain_auc": auc(bad, plain),
        "plain_ks": ks(bad, plain),
        "max_shift": float(abs(ours - plain).max()),
        "seconds": fitted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="seeded splits")
    parser.add_argument("--seed", type=int, default=german.SEED, help="the first split's seed")
    parser.add_argument("--test-share", type=float, default=0.3)
    args = parser.parse_args()
    # optbinning 1.0.0 under pandas 3 warns about its own table building on every fit.
    warnings.filterwarnings("ignore", module="optbinning")

    print(f"German Credit, {args.runs} stratified splits, test share {args.test_share}")
    print(
        f"{'seed':>10}  {'AUC':>7} {'plain':>7}  {'KS':>7} {'plain':>7}  {'max |d|':>7}  {'fit s':>5}"
    )
    rows = []
    for n in range(args.runs):
        seed = args.seed + n
        r = run(seed, args.test_share)
        rows.append(r)
        print(
            f"{seed:>10}  {r['auc']:7.4f} {r['plain_auc']:7.4f}  {r['ks']:7.4f} "
            f"{r['plain_ks']:7.4f}  {r['max_shift']:7.2f}  {r['seconds']:5.2f}"
        )
    d_auc = [r["auc"] - r["plain_auc"] for r in rows]
    d_ks = [r["ks"] - r["plain_ks"] for r in rows]
    median_auc, median_ks = statistics.median(d_auc), statistics.median(d_ks)
    print()
    print(
        f"median AUC xinyong - plain: {median_auc:+.4f}  (largest |d| {max(map(abs, d_auc)):.4f})"
    )
    print(f"median KS  xinyong - plain: {median_ks:+.4f}  (largest |d| {max(map(abs, d_ks)):.4f})")
    auc_ok = abs(median_auc) <= AUC_GOAL
    ks_ok = abs(median_ks) <= KS_GOAL
    print(f"goal AUC within {AUC_GOAL}: {'met' if auc_ok else 'MISSED'}")
    print(f"goal KS within {KS_GOAL}: {'met' if ks_ok else 'MISSED'}")


if __name__ == "__main__":
    main()
