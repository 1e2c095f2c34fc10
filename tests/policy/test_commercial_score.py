"""The commercial score: only by consent, from conduct records only, rewards at the partners'
thresholds, never the score itself in an answer, and gone at once when consent is withdrawn."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.policy.conftest import Ledger, rec, resident
from xinyong.access.partners import add_partner
from xinyong.clock import today
from xinyong.decisions.decide import decide
from xinyong.decisions.snapshot import StoredMeasures
from xinyong.errors import ConsentError, DecisionError
from xinyong.evaluation.incremental import after_merge
from xinyong.policy.check import check_directory
from xinyong.policy.loader import default_policy_path, load_policy
from xinyong.score import consent
from xinyong.score.standing import standing

SCORE = "commercial_score"
OVERDUE = "commercial.loan.overdue"
REPAID = "commercial.loan.repaid"
VERSION = consent.consent_text(SCORE).version


def _ask(ledger: Ledger, who: str, item: str, partner: Any = None) -> dict[str, Any]:
    ctx = ledger.ctx
    day = today(ctx.settings.timezone)
    with ctx.store.transaction() as conn:
        return decide(
            ctx.policy,
            ledger.secret,
            StoredMeasures(conn, day),
            {
                "subject": who,
                "action": "deposit.waiver",
                "context": {"item": item},
                "transaction": "ORDER-1",
            },
            partner=partner,
            day=day,
            channel="cli",
        ).body


def _grant(ledger: Ledger, who: str) -> dict[str, Any]:
    return consent.grant(
        ledger.ctx,
        who,
        SCORE,
        text_version=VERSION,
        channel="cli",
        after_merge=after_merge(ledger.ctx),
        by="test",
    )


def _standing(ledger: Ledger, who: str) -> dict[str, Any]:
    key = ledger.key(who)
    with ledger.ctx.store.transaction() as conn:
        return standing(conn, ledger.ctx.policy, key)[0]


def test_no_consent_no_score_then_a_score_with_reasons_then_withdrawn(ledger: Ledger) -> None:
    careful = resident(dt.date(1985, 1, 1), 11)
    late = resident(dt.date(1986, 2, 2), 12)
    recent = dt.date.today() - dt.timedelta(days=40)
    ledger.add(
        "lender",
        rec("R1", careful, REPAID, recent, loan_type="consumer"),
        rec("O1", late, OVERDUE, recent, days_overdue=95),
        rec("O2", late, OVERDUE, recent - dt.timedelta(days=30), days_overdue=20),
    )
    ledger.evaluate(as_of=None)

    # Without consent: no score anywhere, and a partner hears "no consent", never a score.
    assert ledger.current().score(careful, SCORE) is None
    body = _ask(ledger, careful, "bicycle")
    assert body["rewards"] == []
    assert [w["reason"] for w in body["rewards_withheld"]] == ["no_consent"]
    assert _standing(ledger, careful)["none"]["code"] == "no_consent"

    for who in (careful, late):
        assert _grant(ledger, who)["changed"] is True
    assert _grant(ledger, careful)["changed"] is False  # giving it twice changes nothing

    run = ledger.current()
    good, bad = run.score(careful, SCORE), run.score(late, SCORE)
    assert good is not None and bad is not None
    assert 350 <= int(bad["points"]) < int(good["points"]) <= 950
    features = run.rows("score_features", late, score_id=SCORE)
    assert {f["feature_id"]: f["value"] for f in features}["worst_overdue_24m"] == 95
    shown = _standing(ledger, late)
    assert shown["points"] == int(bad["points"])
    assert 1 <= len(shown["reasons"]) <= 4
    assert shown["reasons"][0]["points_lost"] >= shown["reasons"][-1]["points_lost"]
    assert all(r["raise_by"] for r in shown["reasons"])
    # Its overdue repayments cost it points, named by the features that read them.
    overdue = {
        "worst_overdue_24m",
        "loans_overdue_60m",
        "serious_overdue_60m",
        "months_since_overdue",
    }
    assert {r["code"] for r in shown["reasons"]} & overdue

    # A consented subject's answer has no "no consent", and no trace of the score.
    body = _ask(ledger, careful, "bicycle")
    assert "rewards_withheld" not in body
    if body["rewards"]:
        assert body["rewards"][0]["trigger"]["ref"] is None
    assert str(good["points"]) not in repr(body)

    answer = consent.withdraw(
        ledger.ctx, careful, SCORE, channel="cli", after_merge=after_merge(ledger.ctx), by="t"
    )
    assert answer["consent"]["in_force"] is False
    assert ledger.current().score(careful, SCORE) is None
    with ledger.ctx.store.transaction() as conn:
        left = conn.scalar(
            "SELECT count(*) FROM score_features WHERE subject_key = ?", [ledger.key(careful)]
        )
    assert left == 0
    assert _ask(ledger, careful, "bicycle")["rewards_withheld"][0]["reason"] == "no_consent"
    with pytest.raises(ConsentError, match="nothing to withdraw"):
        consent.withdraw(
            ledger.ctx, careful, SCORE, channel="cli", after_merge=after_merge(ledger.ctx), by="t"
        )


def test_consent_needs_the_current_text_and_a_transaction(ledger: Ledger) -> None:
    who = resident(dt.date(1990, 3, 3), 13)
    ledger.add("lender", rec("R", who, REPAID, dt.date(2026, 1, 5), loan_type="consumer"))
    ledger.evaluate(as_of=None)
    with pytest.raises(ConsentError, match="current text"):
        consent.grant(
            ledger.ctx,
            who,
            SCORE,
            text_version="2020-01-01",
            channel="cli",
            after_merge=after_merge(ledger.ctx),
            by="t",
        )
    ctx = ledger.ctx
    day = today(ctx.settings.timezone)
    with ctx.store.transaction() as conn, pytest.raises(DecisionError) as raised:
        decide(
            ctx.policy,
            ledger.secret,
            StoredMeasures(conn, day),
            {"subject": who, "action": "deposit.waiver", "context": {"item": "car"}},
            partner=None,
            day=day,
            channel="cli",
        )
    assert raised.value.code == "transaction_missing"


def _threshold_policy(tmp_path: Path) -> Path:
    """The default policy with a one-feature card: 649 points without a repaid loan, 650
    with one, so that the thresholds can be tested at their edges."""
    folder = tmp_path / "policy"
    shutil.copytree(default_policy_path(), folder)
    path = folder / "scores.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["scores"][SCORE]["features"] = [
        {
            "id": "repaid",
            "label": "Loans repaid",
            "aggregate": "count",
            "category": REPAID,
            "bins": [{"max": 0, "points": 649}, {"min": 1, "points": 650}],
        }
    ]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


def test_the_car_deposit_is_waived_at_650_and_not_at_649(ledger: Ledger, tmp_path: Path) -> None:
    ledger.ctx.__dict__["policy"] = load_policy(_threshold_policy(tmp_path))
    at_650 = resident(dt.date(1980, 4, 4), 14)
    at_649 = resident(dt.date(1980, 5, 5), 15)
    ledger.add(
        "lender",
        rec("R", at_650, REPAID, dt.date(2026, 2, 1), loan_type="consumer"),
        rec("O", at_649, OVERDUE, dt.date(2020, 2, 1), days_overdue=3),
    )
    ledger.evaluate(as_of=None)
    for who in (at_650, at_649):
        _grant(ledger, who)
    run = ledger.current()
    assert run.points(at_650, SCORE) == (650, "very_good")
    assert run.points(at_649, SCORE) == (649, "good")
    with ledger.ctx.store.transaction() as conn:
        partner, _ = add_partner(
            conn,
            ledger.ctx.policy,
            ledger.ctx.catalog,
            name="Car rental",
            kind="rental",
            purpose="deposit waivers for customers who ask",
            partner_id="cars",
        )
    car_650, car_649 = _ask(ledger, at_650, "car", partner), _ask(ledger, at_649, "car", partner)
    assert [r["reward"] for r in car_650["rewards"]] == [{"deposit_waived": True}]
    assert car_649["rewards"] == [] and "rewards_withheld" not in car_649
    bike = _ask(ledger, at_649, "bicycle", partner)
    assert [r["measure"] for r in bike["rewards"]] == ["commercial_deposit_waiver"]


def _edited(tmp_path: Path, edit: Any) -> Path:
    folder = tmp_path / "edited"
    shutil.copytree(default_policy_path(), folder)
    for name in ("scores.yaml", "measures.yaml"):
        path = folder / name
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        edit(name, data)
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        # A card may not read conduct the catalogue does not mark for it (penalties, honours).
        (
            lambda name, d: (
                name == "scores.yaml"
                and d["scores"][SCORE]["features"].append(
                    {
                        "id": "honours",
                        "label": "Honours",
                        "aggregate": "count",
                        "category": "social.honor",
                        "bins": [{"max": 0, "points": 0}, {"min": 1, "points": 50}],
                    }
                )
            ),
            "not_conduct",
        ),
        # Nor condition on a forbidden attribute.
        (
            lambda name, d: (
                name == "scores.yaml"
                and d["scores"][SCORE]["features"][0].update(where={"region": ["110105"]})
            ),
            "forbidden_attribute",
        ),
        # No rule may read consent records as data.
        (
            lambda name, d: (
                name == "scores.yaml"
                and d["scores"]["city_points"]["rules"].append(
                    {
                        "id": "consented",
                        "category": "consent.granted",
                        "points": 5,
                        "counts_for_months": 12,
                    }
                )
            ),
            "consent_as_data",
        ),
        # A score given by consent rewards; it never restricts.
        (
            lambda name, d: (
                name == "measures.yaml"
                and d["measures"]["commercial_car_deposit_waiver"].update(kind="restrict")
            ),
            "consent_score_restricts",
        ),
    ],
)
def test_policy_check_refuses_a_card_that_reads_what_it_may_not(
    tmp_path: Path, edit: Any, code: str, embedded_ctx: Any
) -> None:
    findings = check_directory(_edited(tmp_path, edit), embedded_ctx.catalog)
    assert code in {f.code for f in findings}, [str(f) for f in findings]
