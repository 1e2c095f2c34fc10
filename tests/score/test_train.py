"""Training the commercial card on a demo city whose loan history comes from a known model:
the fitted card comes close to the best any score can do, the fairness audit gates its
publication, and the published policy carries the card, its report and the model card."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from xinyong.context import Context
from xinyong.demo import generate_city
from xinyong.demo.load import load_city
from xinyong.demo.loans import outcome_probability, propensity
from xinyong.errors import PolicyError
from xinyong.policy.loader import load_policy
from xinyong.score.card import model_card
from xinyong.score.fit import auc
from xinyong.score.train import Training, publish, train
from xinyong.settings import load_settings

TODAY = dt.date.today()


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Context, Training, Any]:
    root = tmp_path_factory.mktemp("train")
    city = generate_city(root / "city", persons=6000, orgs=300, agencies=5, seed=11, today=TODAY)
    ctx = Context(load_settings(data_dir=root / "data", secret="train"))
    load_city(ctx, city)
    return ctx, train(ctx, n_boot=20), city


def test_the_fitted_card_comes_close_to_the_generating_model(
    trained: tuple[Context, Training, Any],
) -> None:
    _ctx, training, city = trained
    test = training.test
    borrowers = set(city.borrowers)
    # The generating model's own ranking: the true chance of the outcome.
    truth = [
        -outcome_probability(propensity(city.seed, i)) if i in borrowers else 0.0
        for i in test["identifier"]
    ]
    best = auc(test["bad"], truth)
    fitted = auc(test["bad"], training.test_scores)
    assert best > 0.8, best  # the city has signal to find
    assert fitted >= 0.95 * best, (fitted, best)
    assert training.test_scores.min() >= 350 and training.test_scores.max() <= 950
    # Out of time: the test date comes after every training date.
    assert max(training.train_dates) < training.test_date
    report = training.report()
    assert report["metrics"]["test_auc"] == round(fitted, 4)
    assert 0 <= report["metrics"]["psi_train_to_test"] < 0.25
    assert set(report["information_value"]) <= {f.id for f in training.score.features}


def test_publication_is_gated_by_the_fairness_audit(
    trained: tuple[Context, Training, Any], tmp_path: Path
) -> None:
    ctx, _training, _city = trained
    strict = Context(ctx.settings.model_copy(update={"score_max_odds_difference": 0.0}))
    strict_training = train(strict, n_boot=0)
    assert strict_training.audit.breaches(), "a zero limit must be breached"
    with pytest.raises(PolicyError) as refused:
        publish(strict, strict_training, tmp_path / "refused", override=None, by="test")
    assert refused.value.code == "fairness_limits"
    assert not (tmp_path / "refused").exists()

    out = publish(
        strict,
        strict_training,
        tmp_path / "published",
        override="limits set to zero to test the gate",
        by="test",
    )
    policy = load_policy(out)
    score = policy.scores["commercial_score"]
    assert score.model["fairness_override"] == "limits set to zero to test the gate"
    assert score.model["scaling"]
    fitted = {f.id: f for f in strict_training.fitted.features}
    for feature in score.features:
        if feature.id in fitted:
            # A count is never missing: the card keeps every bin but that one.
            wanted = [
                b.points
                for b in fitted[feature.id].bins
                if not (b.missing and feature.aggregate == "count")
            ]
            assert [b.points for b in feature.bins] == wanted
    with ctx.store.transaction() as conn:
        entry = conn.dicts(
            "SELECT actor, payload FROM audit_log WHERE action = 'score.publish'"
        )[-1]
    assert "limits set to zero" in entry["payload"]
    card = model_card(score)
    for heading in ("## Data and period", "## Quality", "## Fairness audit", "## Known limits"):
        assert heading in card
    assert "Published over the limits by an operator" in card
    assert yaml.safe_load((out / "scores.yaml").read_text(encoding="utf-8"))["scores"]


def test_docs_model_card_is_the_default_cards() -> None:
    """docs/model-card.md is `xinyong score card` of the default policy: regenerate it with
    `xinyong score card > docs/model-card.md` whenever the card changes."""
    from xinyong.policy.loader import default_policy_path

    page = Path(__file__).resolve().parents[2] / "docs" / "model-card.md"
    score = load_policy(default_policy_path()).scores["commercial_score"]
    assert page.read_text(encoding="utf-8") == model_card(score) + "\n"
