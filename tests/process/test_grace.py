"""A court's grace period before publication: the listing waits, the subject is told now."""

from __future__ import annotations

import datetime as dt

from tests.decisions.store_decision import decide_from_store
from tests.factories import write_jsonl
from tests.policy.conftest import Ledger, rec, resident
from xinyong.clock import today
from xinyong.ledger.ingest import ingest_file
from xinyong.process import notices
from xinyong.process.calendar import add_months
from xinyong.process.hooks import after_merge

WAITING = resident(dt.date(1980, 7, 7), seq=17)
DUE = resident(dt.date(1980, 8, 8), seq=18)


def test_a_listing_in_its_grace_period_is_told_but_not_enforced(ledger: Ledger) -> None:
    day = today(ledger.ctx.settings.timezone)
    ledger.evaluate(None)
    source = ledger.source("court")
    records = [
        rec(
            "G1",
            WAITING,
            "judicial.defaulter.listed",
            day - dt.timedelta(days=10),
            document="(2026)G1",
            situation=1,
            deferred_months=2,
        ),
        rec(
            "G2",
            DUE,
            "judicial.defaulter.listed",
            add_months(day, -2) - dt.timedelta(days=1),
            document="(2026)G2",
            situation=1,
            deferred_months=2,
        ),
    ]
    path = write_jsonl(ledger.dir / "grace.jsonl", records)
    # Through the process hook, as the command line and the API ingest.
    report = ingest_file(ledger.ctx, path, source, after_merge=after_merge(ledger.ctx))
    assert report.accepted == 2
    run = ledger.current()
    waiting = run.entry(WAITING, "judicial_defaulters")
    assert waiting is not None and waiting["status"] == "pending"
    assert waiting["entered_on"] == add_months(day - dt.timedelta(days=10), 2)
    due = run.entry(DUE, "judicial_defaulters")
    assert due is not None and due["status"] == "active"
    with ledger.ctx.store.transaction() as conn:
        assert (
            decide_from_store(ledger.ctx, conn, WAITING, "flight.ticket.purchase", {})["decision"]
            == "allow"
        )
        assert (
            decide_from_store(ledger.ctx, conn, DUE, "flight.ticket.purchase", {})["decision"]
            == "deny"
        )
        [told] = [
            n for n in notices.listing(conn, ledger.key(WAITING)) if n["kind"] == "listing_pending"
        ]
    assert waiting["entered_on"].isoformat() in told["body"]["text"]["en"]
    assert "objections file" in told["body"]["how_to_object"]["en"]
