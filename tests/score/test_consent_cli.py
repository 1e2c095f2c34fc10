"""`xinyong consent` and `xinyong score show` as an operator runs them at a subject's
request: the text first, an explicit version or yes, the score with its reasons, and the
withdrawal that ends it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from tests.factories import write_jsonl
from tests.policy.conftest import rec, resident
from xinyong.cli.main import app
from xinyong.score.consent import consent_text

PERSON = resident(dt.date(1985, 6, 6), 21)


def _run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_an_operator_records_consent_shows_the_score_and_withdraws_it(tmp_path: Path) -> None:
    env = {"XINYONG_DATA_DIR": str(tmp_path / "data"), "XINYONG_SECRET": "consent-cli"}
    assert _run(env, "sources", "add", "Bank", "--kind", "lender", "--id", "bank")[0] == 0
    late = (dt.date.today() - dt.timedelta(days=20)).isoformat()
    records = write_jsonl(
        tmp_path / "bank.jsonl",
        [
            rec(
                "O1",
                PERSON,
                "commercial.loan.overdue",
                dt.date.fromisoformat(late),
                days_overdue=120,
            )
        ],
    )
    assert _run(env, "ingest", str(records), "--source", "bank")[0] == 0
    assert _run(env, "evaluate")[0] == 0

    code, out = _run(env, "score", "show", PERSON)
    assert code == 0 and "No consent is in force" in out

    # Not at a terminal, the operator must name the version of the text the subject read.
    code, out = _run(env, "consent", "grant", PERSON, "--purpose", "commercial_score")
    assert code == 2 and "--text-version" in out
    version = consent_text("commercial_score").version
    code, out = _run(
        env, "consent", "grant", PERSON, "--purpose", "commercial_score", "--text-version", version
    )
    assert code == 0 and "given" in out

    code, out = _run(env, "score", "show", PERSON, "--json")
    shown = json.loads(out)["scores"][0]
    assert 350 <= shown["points"] <= 950 and shown["reasons"]
    assert all(r["raise_by"] for r in shown["reasons"])
    code, out = _run(env, "score", "show", PERSON)
    assert "What would raise it" in out

    code, out = _run(env, "consent", "withdraw", PERSON, "--purpose", "commercial_score")
    assert code == 0 and "withdrawn" in out
    code, out = _run(env, "consent", "show", PERSON, "--json")
    assert json.loads(out)["consents"][0]["withdrawn_at"] is not None
    code, out = _run(env, "score", "show", PERSON)
    assert "No consent is in force" in out
