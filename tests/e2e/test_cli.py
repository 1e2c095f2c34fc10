"""The installed `xinyong` command, driven as a user would, on a fresh data directory."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import duckdb
import pytest

from tests.factories import COMPANY, PERSON, PERSON_2, record, write_csv


def run(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(XINYONG_DATA_DIR=str(data_dir), COLUMNS="200")
    proc = subprocess.run(["xinyong", *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def test_help_teaches(data_dir: Path) -> None:
    top = run(data_dir, "--help").stdout
    for command in ("init", "ingest", "demo", "sources", "catalog", "subject", "audit"):
        assert command in top
    ingest_help = run(data_dir, "ingest", "--help").stdout
    assert "--source" in ingest_help and "Example" in ingest_help and "rejects" in ingest_help


def test_a_clerk_ingests_a_file_with_bad_rows(data_dir: Path, tmp_path: Path) -> None:
    added = json.loads(
        run(
            data_dir,
            "sources",
            "add",
            "Dongcheng Court",
            "--kind",
            "court",
            "--id",
            "dc-court",
            "--json",
        ).stdout
    )
    assert added["credential"].startswith("xys_") and added["source_id"] == "dc-court"
    rows = [
        record(source_record_id="1", subject=PERSON),
        record(source_record_id="2", subject="11010519491231002Y"),
        record(source_record_id="3", subject=COMPANY, details={"situation": 7}),
        record(source_record_id="4", subject=PERSON_2, occurred_on="2025-02-30"),
        record(source_record_id="5", subject=PERSON_2),
    ]
    path = write_csv(tmp_path / "court.csv", rows)

    first = run(data_dir, "ingest", str(path), "--source", "dc-court")
    assert "accepted" in first.stdout and "court.rejects.jsonl" in first.stdout
    rejects = [
        json.loads(line) for line in (tmp_path / "court.rejects.jsonl").read_text().splitlines()
    ]
    assert [(r["line"], r["reason"]) for r in rejects] == [
        (3, "subject_invalid"),
        (4, "detail_type"),
        (5, "occurred_on_invalid"),
    ]
    assert all(r["message"] and r["record"]["source_record_id"] for r in rejects)

    again = json.loads(run(data_dir, "ingest", str(path), "--source", "dc-court", "--json").stdout)[
        0
    ]
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 2, 3)
    strict = run(data_dir, "ingest", str(path), "--source", "dc-court", "--strict", check=False)
    assert strict.returncode == 1

    shown = json.loads(run(data_dir, "subject", "show", PERSON, "--json").stdout)
    assert shown["kind"] == "person" and len(shown["current_records"]) == 1
    assert shown["current_records"][0]["details"] == {"situation": 2, "term_months": 24}
    assert "intact" in run(data_dir, "audit", "verify").stdout


def test_errors_are_clear_and_exit_non_zero(data_dir: Path, tmp_path: Path) -> None:
    run(data_dir, "sources", "add", "Court", "--kind", "court", "--id", "court")
    missing = run(data_dir, "ingest", str(tmp_path / "none.csv"), "--source", "court", check=False)
    assert missing.returncode == 2 and "does not exist" in missing.stderr

    broken = tmp_path / "broken.csv"
    broken.write_text(
        'source_record_id,subject,category,occurred_on\n1,"unterminated,x,2025-01-01\n'
    )
    result = run(data_dir, "ingest", str(broken), "--source", "court", check=False)
    assert result.returncode == 2 and "line 2" in result.stderr and "quot" in result.stderr

    unknown_col = tmp_path / "cols.csv"
    unknown_col.write_text("source_record_id,subject,category,occurred_on,colour\n")
    result = run(data_dir, "ingest", str(unknown_col), "--source", "court", check=False)
    assert result.returncode == 2 and "'colour'" in result.stderr

    nobody = run(data_dir, "ingest", str(broken), "--source", "nobody", check=False)
    assert nobody.returncode == 3 and "sources add" in nobody.stderr

    bad_kind = run(data_dir, "sources", "add", "X", "--kind", "fortune_teller", check=False)
    assert bad_kind.returncode == 2 and "court" in bad_kind.stderr

    bad_id = run(data_dir, "subject", "show", "12345", check=False)
    assert bad_id.returncode == 2 and "18" in bad_id.stderr


def test_audit_verify_fails_on_a_tampered_ledger(data_dir: Path, tmp_path: Path) -> None:
    run(data_dir, "sources", "add", "Court", "--kind", "court", "--id", "court")
    run(data_dir, "ingest", str(write_csv(tmp_path / "c.csv", [record()])), "--source", "court")
    con = duckdb.connect(str(data_dir / "ledger.duckdb"))
    con.execute("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1")
    con.close()
    result = run(data_dir, "audit", "verify", check=False)
    assert result.returncode == 1 and "entry 1" in result.stderr


def test_demo_builds_a_city_and_is_idempotent(data_dir: Path) -> None:
    args = ("demo", "--persons", "600", "--orgs", "60", "--agencies", "5", "--no-serve", "--json")
    summary = json.loads(run(data_dir, *args).stdout)
    reports = summary["ingested"]
    # The city's records, and those that its staged due process wrote through the ledger
    # (the revocation of an upheld objection, a granted repair).
    written = summary["due_process"]["records_written"]
    assert summary["ledger"]["records"] == sum(r["accepted"] for r in reports) + written > 0
    assert sum(r["read"] for r in reports) == summary["city"]["records_generated"]
    assert all(r["read"] == r["accepted"] + r["duplicates"] + r["rejected"] for r in reports)
    assert (
        summary["ledger"]["subjects"]
        >= summary["city"]["organisations"] + summary["city"]["agencies"]
    )
    assert (
        sum(r["rejected"] for r in summary["ingested"]) == summary["city"]["deliberately_malformed"]
    )
    assert any(r["rejects_file"] for r in summary["ingested"])
    assert summary["example_subject"]
    again = json.loads(run(data_dir, *args).stdout)
    assert sum(r["accepted"] for r in again["ingested"]) == 0
    assert again["ledger"]["records"] == summary["ledger"]["records"]
    assert "intact" in run(data_dir, "audit", "verify").stdout


def test_a_listed_person_is_explained_denied_and_delisted(data_dir: Path, tmp_path: Path) -> None:
    """The issue's walk-through: demo, explain, decide, a delisting, decide again, reports."""
    args = ("demo", "--persons", "3000", "--orgs", "200", "--agencies", "5", "--no-serve", "--json")
    summary = json.loads(run(data_dir, *args).stdout)
    evaluation = summary["evaluation"]
    assert evaluation["current"] and evaluation["lists"]["judicial_defaulters"] >= 1
    assert sum(evaluation["grades"]["city_points"].values()) > 1000
    person = summary["example_subject"]

    state = json.loads(run(data_dir, "subject", "show", person, "--json").stdout)["state"]
    listing = next(e for e in state["lists"] if e["list"] == "judicial_defaulters")
    assert listing["status"] == "active" and "Fa Shi" in listing["legal_basis"]
    entry = next(r for r in listing["records"] if r["role"] == "entry")
    assert entry["category"] == "judicial.defaulter.listed" and entry["document"]
    assert listing["rule"].startswith("lists.yaml:")
    assert any(m["measure"] == "high_consumption_travel" for m in state["measures"])
    assert state["scores"][0]["contributions"]  # the listing costs points, shown per record

    denied = json.loads(run(data_dir, "decide", person, "flight.ticket.purchase", "--json").stdout)
    assert denied["decision"] == "deny" and denied["remedy"]
    assert {r["trigger"]["id"] for r in denied["reasons"]} >= {"judicial_defaulters"}
    assert all(r["legal_basis"] and r["records"] for r in denied["reasons"])

    # The court removes every listing and restriction of the person's cases.
    # Each active listing ends by its list's exit record for the same case (a case whose
    # restriction was lifted already needs only its delisting).
    exits = {
        "judicial_defaulters": "judicial.defaulter.delisted",
        "consumption_restricted": "judicial.consumption_restriction.lifted",
    }
    cases = sorted(
        {
            (r["document"], exits[e["list"]])
            for e in state["lists"]
            if e["status"] == "active" and e["list"] in exits
            for r in e["records"]
            if r["role"] == "entry"
        }
    )
    rows = [
        {
            "source_record_id": f"e2e-{i}-{category}",
            "subject": person,
            "category": category,
            "occurred_on": evaluation["as_of"],
            "document": doc,
            "details": {"reason": "performed"},
        }
        for i, (doc, category) in enumerate(cases)
    ]
    (tmp_path / "delist.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = json.loads(
        run(
            data_dir, "ingest", str(tmp_path / "delist.jsonl"), "--source", "demo-court", "--json"
        ).stdout
    )
    assert report[0]["accepted"] == len(rows) if isinstance(report, list) else True
    allowed = json.loads(run(data_dir, "decide", person, "flight.ticket.purchase", "--json").stdout)
    assert allowed["decision"] == "allow" and allowed["reasons"] == []

    # As of the listing date the person was listed; today's file says ended.
    past = json.loads(
        run(data_dir, "subject", "show", person, "--json", "--as-of", listing["entered_on"]).stdout
    )["state"]
    assert past["evaluation"]["replay"] is True
    assert any(e["status"] == "active" for e in past["lists"] if e["list"] == "judicial_defaulters")

    diff = json.loads(run(data_dir, "policy", "diff", *(2 * [_default_policy()]), "--json").stdout)
    assert all(r["entering"] == r["leaving"] == 0 for r in diff["lists"])
    equality = json.loads(run(data_dir, "report", "equality", "--json").stdout)
    kinds = {r["grp"]: r for r in equality["by_kind"]}
    assert set(kinds) == {"person", "organisation", "agency"}
    assert {r["grp"] for r in equality["by_ownership"]} >= {"private"}


def _default_policy() -> str:
    from xinyong.policy.loader import default_policy_path

    return str(default_policy_path())
