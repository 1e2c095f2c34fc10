"""The model card of a commercial score, in Markdown, from the policy alone: the points table
a person can read, and the model report that `xinyong score train` stored with it."""

from __future__ import annotations

from typing import Any

from xinyong.policy.model import Feature, FeatureBin, Score

LIMITS = [
    "Trained on the subjects who consent, in one ledger: a population that opts in may"
    " differ from one that does not, and the card says nothing about the others.",
    "The outcome is a 90-day delinquency reported by a lender; lenders that do not report"
    " leave their customers' history blank, which the card reads as no delinquency.",
    "A subject with no loan history gets the points of the empty bins; the card cannot tell"
    " a careful newcomer from a careless one, only that there is nothing on record.",
    "Age and sex are used only to audit the card, never as features. The audit compares"
    " groups at the partners' thresholds; it does not prove the absence of other disparities.",
    "Binning and points are fitted to past conduct; refit when the population stability"
    " index between the training and current scores rises above 0.25.",
]


def _bin_text(feature: Feature, b: FeatureBin) -> str:
    if b.missing:
        return "none on record" if feature.aggregate != "count" else "none"
    if feature.aggregate == "count" and b.min is None and b.max is not None:
        b = FeatureBin(points=b.points, min=0, max=b.max)  # a count is never below 0
    if b.min is not None and b.max is not None:
        return str(b.min) if b.min == b.max else f"{b.min} to {b.max}"
    if b.min is not None:
        return f"{b.min} or more"
    if b.max is not None:
        return f"{b.max} or less"
    return "any"


def points_table(score: Score) -> list[str]:
    lines = []
    for feature in score.features:
        window = f", last {feature.within_months} months" if feature.within_months else ""
        lines += [
            f"**{feature.label}** (`{feature.id}`: {feature.aggregate} of"
            f" `{feature.category}`{window})",
            "",
            "| value | points |",
            "|---|---:|",
            *(f"| {_bin_text(feature, b)} | {b.points} |" for b in feature.bins),
            "",
        ]
    return lines


def _metric(report: dict[str, Any], *path: str) -> str:
    value: Any = report
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return "n/a" if value is None else str(value)


def model_card(score: Score) -> str:
    """The whole card: what it is, the data, the period, features and points, quality,
    calibration, stability, fairness, limits."""
    m = score.model
    low, high = (score.range.min, score.range.max) if score.range else (None, None)
    lines = [
        f"# Model card: {score.label} (`{score.id}`)",
        "",
        score.description,
        "",
        "## Use",
        "",
        f"- Range {low} to {high}; higher means a lower risk of the outcome.",
        f"- Computed only for subjects who consented (purpose `{score.consent}`), in the"
        f" score's scope ({', '.join(score.subject_kinds)}"
        + (", adults only" if score.adults_only else "")
        + ").",
        "- Partners receive the rewards it triggers, never the score; every score comes with"
        " up to four reasons and what would raise each.",
    ]
    for measure_id, threshold in (m.get("thresholds") or {}).items():
        lines.append(f"- Threshold `{measure_id}`: {threshold}.")
    if not m:
        lines += [
            "",
            "No model report is stored with this card: it was written by hand, not fitted by"
            " `xinyong score train`.",
        ]
    else:
        lines += [
            "",
            "## Data and period",
            "",
            f"- Model version {m.get('version')}, trained {m.get('trained_at')}.",
            f"- Method: {m.get('method')}; scaling {m.get('scaling')}.",
            f"- Outcome: {m.get('outcome')}.",
            f"- Population: {m.get('population')}.",
            f"- Training: observed on {', '.join(m.get('train', {}).get('observed_on', []))};"
            f" {_metric(m, 'train', 'rows')} rows, bad rate {_metric(m, 'train', 'bad_rate')}.",
            f"- Test (out of time): observed on {_metric(m, 'test', 'observed_on')};"
            f" {_metric(m, 'test', 'rows')} rows, bad rate {_metric(m, 'test', 'bad_rate')}.",
            *(f"- {note}" for note in m.get("notes") or []),
            "",
            "## Quality",
            "",
            f"- Test AUC {_metric(m, 'metrics', 'test_auc')}, KS {_metric(m, 'metrics', 'test_ks')}"
            f" (training AUC {_metric(m, 'metrics', 'train_auc')}).",
            f"- Population stability index, training to test scores:"
            f" {_metric(m, 'metrics', 'psi_train_to_test')} (below 0.1 stable, above 0.25 refit).",
            "",
            "Calibration on the test set (by score decile):",
            "",
            "| scores | subjects | observed bad rate |",
            "|---|---:|---:|",
        ]
        for row in m.get("calibration") or []:
            lines.append(
                f"| {row['min_score']:.0f} to {row['max_score']:.0f} | {row['count']:,.0f}"
                f" | {row['bad_rate']:.4f} |"
            )
        ivs = m.get("information_value") or {}
        if ivs:
            lines += ["", "Information value of each feature on the training data:", ""]
            lines += [f"- `{k}`: {v}" for k, v in ivs.items()]
        fair = m.get("fairness") or {}
        lines += ["", "## Fairness audit (test set)", ""]
        lines += _fairness_lines(fair)
        if m.get("fairness_override"):
            lines += ["", f"Published over the limits by an operator: {m['fairness_override']}"]
    lines += ["", "## Features and points", ""]
    lines += points_table(score)
    lines += ["## Known limits", ""]
    lines += [f"- {x}" for x in LIMITS]
    lines += ["", f"Legal basis: {' '.join(score.legal_basis.split())}", ""]
    return "\n".join(lines)


def _fairness_lines(fair: dict[str, Any]) -> list[str]:
    if not fair:
        return ["No audit is stored."]
    limits = fair.get("limits", {})
    lines = [
        f"Limits: demographic parity {limits.get('demographic_parity')}, equalised odds"
        f" {limits.get('equalized_odds')}; groups under {limits.get('min_group')} are"
        " withheld.",
        "",
        "| attribute | threshold | parity difference | equalised-odds difference |",
        "|---|---|---:|---:|",
    ]
    for r in fair.get("results", []):
        lines.append(
            f"| {r.get('attribute')} | {r.get('threshold')} (>= {r.get('cutoff')})"
            f" | {r.get('demographic_parity_difference')}"
            f" | {r.get('equalized_odds_difference')} |"
        )
    breaches = fair.get("breaches") or []
    lines += ["", "Breaches: " + ("; ".join(breaches) if breaches else "none.")]
    return lines
