"""Due process through the installed `xinyong` command, as a clerk, a subject and an operator
would drive it: a listing told at once, a rental company's report told and objected to,
a mistyped removal reported, a penalty repaired only after its 3 months, maintain run
twice, and a deadline over National Day."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tests.e2e.test_cli import run
from tests.factories import write_jsonl
from tests.policy.conftest import credit_code, resident
from xinyong.clock import today
from xinyong.process.calendar import add_months

DEBTOR = resident(dt.date(1977, 9, 9), seq=21)
CUSTOMER = resident(dt.date(1990, 10, 10), seq=22)
COMPANY = credit_code("MA01CL101")


def _json(data: Path, *args: str) -> Any:
    return json.loads(run(data, *args, "--json").stdout)


def test_due_process_through_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    day = today()
    for name, kind, sid in (("Court", "court", "court"), ("Regulator", "market_regulator", "amr")):
        run(data, "sources", "add", name, "--kind", kind, "--id", sid)
    run(
        data,
        "partners",
        "add",
        "City Rental",
        "--kind",
        "rental",
        "--purpose",
        "deposits",
        "--id",
        "rent",
        "--category",
        "commercial.contract.breach",
        "--source-kind",
        "rental",
    )
    run(data, "evaluate")

    # A listing: the person is told at once, with basis, how to object and the remedy.
    listing = {
        "source_record_id": "L1",
        "subject": DEBTOR,
        "category": "judicial.defaulter.listed",
        "occurred_on": (day - dt.timedelta(days=3)).isoformat(),
        "document": "(2026)L1",
        "details": {"situation": 1},
    }
    run(data, "ingest", str(write_jsonl(tmp_path / "l.jsonl", [listing])), "--source", "court")
    told = _json(data, "notices", "list", "--subject", DEBTOR)
    started = [n for n in told if n["kind"] == "measure_started"]
    assert started and all(n["body"]["legal_basis"] and n["body"]["remedy"] for n in started)
    assert "objections file" in started[0]["body"]["how_to_object"]["en"]
    english = run(data, "notices", "list", "--subject", DEBTOR, "--english").stdout
    assert "A measure now applies to you" in english

    # A removal with a mistyped case number is reported, not silently accepted.
    removal = {
        "source_record_id": "D1",
        "subject": DEBTOR,
        "category": "judicial.defaulter.delisted",
        "occurred_on": day.isoformat(),
        "document": "(2026)L7",
        "details": {"reason": "performed"},
    }
    path = write_jsonl(tmp_path / "d.jsonl", [removal])
    [report] = _json(data, "ingest", str(path), "--source", "court")
    assert report["warnings_by_code"] == {"exit_unmatched": 1}
    warning = json.loads(Path(report["warnings_file"]).read_text().splitlines()[0])
    assert "(2026)L1" in warning["message"]
    assert _json(data, "decide", DEBTOR, "flight.ticket.purchase")["decision"] == "deny"

    # The rental company reports a breach: the customer is told and objects.
    breach = {
        "source_record_id": "B1",
        "subject": CUSTOMER,
        "category": "commercial.contract.breach",
        "occurred_on": (day - dt.timedelta(days=1)).isoformat(),
        "document": "R-1",
        "details": {"matter": "car not returned", "found_by": "counterparty"},
    }
    run(data, "ingest", str(write_jsonl(tmp_path / "b.jsonl", [breach])), "--source", "rent")
    kinds = [n["kind"] for n in _json(data, "notices", "list", "--subject", CUSTOMER)]
    assert "record_received" in kinds
    receipt = tmp_path / "return-receipt.pdf"
    receipt.write_bytes(b"%PDF-1.4 returned on time")
    filed = _json(
        data,
        "objections",
        "file",
        CUSTOMER,
        "--record",
        "B1",
        "--reason",
        "The car was returned on time.",
        "--evidence",
        str(receipt),
    )
    assert filed["status"] == "open" and filed["source"] == "rent"
    assert (
        _json(data, "objections", "list", "--source", "rent")[0]["objection"] == filed["objection"]
    )
    decided = _json(
        data, "objections", "decide", filed["objection"], "--uphold", "--reason", "Found."
    )
    assert decided["status"] == "upheld"

    # A general penalty may be repaired after 3 months, not before.
    penalties = [
        {
            "source_record_id": srid,
            "subject": COMPANY,
            "category": "administrative.penalty",
            "occurred_on": on.isoformat(),
            "document": srid,
            "details": {"severity": "general", "matter": "labelling"},
        }
        for srid, on in (("P1", day - dt.timedelta(days=30)), ("P2", add_months(day, -4)))
    ]
    run(data, "ingest", str(write_jsonl(tmp_path / "p.jsonl", penalties)), "--source", "amr")
    early = run(
        data, "repair", "apply", COMPANY, "--record", "P1", "--commitment", "Fixed.", check=False
    )
    assert early.returncode == 2 and "repair_too_early" in early.stderr
    assert add_months(day - dt.timedelta(days=30), 3).isoformat() in early.stderr
    applied = _json(data, "repair", "apply", COMPANY, "--record", "P2", "--commitment", "Fixed.")
    granted = _json(data, "repair", "decide", applied["repair"], "--grant", "--reason", "Checked.")
    assert granted["status"] == "granted"

    # Maintain: a second run the same day changes nothing.
    first = _json(data, "maintain")
    second = _json(data, "maintain")
    assert {k: second[k] for k in ("expired", "notices_from_changes", "notices_ending")} == {
        "expired": 0,
        "notices_from_changes": 0,
        "notices_ending": 0,
    }
    assert first["delivery"]["delivered"] >= 1 and second["delivery"]["delivered"] == 0
    assert list((data / "notices" / "outbox").iterdir())

    # A deadline over National Day and its make-up Saturday.
    due = _json(data, "calendar", "add-days", "2026-09-30", "3", "--working")
    assert due["due"] == "2026-10-10"
    remedies = _json(data, "subject", "remedies", DEBTOR)
    assert remedies["measures"] and remedies["measures"][0]["records"][0]["record"] == "L1"
