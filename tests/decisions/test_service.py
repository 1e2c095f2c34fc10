"""The serving state: snapshot, change outbox, partners and the access log, on each store.

One small ledger per store: a listed person, an organisation on the defaulter list with its
legal representative, and an unlisted person; evaluated as the current run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.decisions.store_decision import decide_from_store
from tests.factories import COMPANY, PERSON_2
from tests.policy.conftest import Ledger, fresh_database, rec, resident
from xinyong.access import log as access_log
from xinyong.access.partners import add_partner, rotate_credential, subject_ref
from xinyong.clock import today
from xinyong.context import Context
from xinyong.credentials import hash_credential, holders
from xinyong.decisions.service import Service
from xinyong.decisions.snapshot import Snapshot, load_rows
from xinyong.errors import Forbidden, SourceError
from xinyong.ids import subject_key
from xinyong.settings import load_settings
from xinyong.state.outbox import SWEPT, changes_after, latest_seq, sweep_expiries
from xinyong.store.base import set_meta

LISTED = "judicial.defaulter.listed"
LISTED_PERSON = resident(dt.date(1981, 6, 11))
REPRESENTATIVE = resident(dt.date(1973, 8, 8))
UNLISTED = PERSON_2
FLIGHT = "flight.ticket.purchase"


@dataclass
class City:
    ctx: Context
    ledger: Ledger
    today: dt.date

    def key(self, identifier: str) -> str:
        return subject_key(self.ctx.secret, identifier)


@pytest.fixture(params=["embedded", pytest.param("postgres", marks=pytest.mark.postgres)])
def city(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[City]:
    with ExitStack() as stack:
        url = None
        if request.param == "postgres":
            url = stack.enter_context(fresh_database(request.getfixturevalue("pg_server")))
        ctx = Context(
            load_settings(data_dir=tmp_path / "data", database_url=url, secret="test-secret")
        )
        ledger = Ledger(ctx, tmp_path / "files")
        day = today(ctx.settings.timezone)
        ledger.add(
            "court",
            rec(
                "L-p", LISTED_PERSON, LISTED, day - dt.timedelta(days=30), document="P", situation=2
            ),
            rec("L-o", COMPANY, LISTED, day - dt.timedelta(days=20), document="O", situation=2),
        )
        ledger.add(
            "market_regulator",
            rec(
                "REG",
                COMPANY,
                "administrative.registration",
                day - dt.timedelta(days=400),
                name="北京示例科技有限公司",
                legal_representative=REPRESENTATIVE,
            ),
        )
        ledger.evaluate(None)
        yield City(ctx, ledger, day)


def _partner(city: City, kind: str = "airline", pid: str = "air") -> tuple[str, str]:
    with city.ctx.store.transaction() as conn:
        partner, credential = add_partner(
            conn,
            city.ctx.policy,
            city.ctx.catalog,
            name=pid,
            kind=kind,
            purpose="sales",
            partner_id=pid,
        )
    return partner.partner_id, credential


def test_the_snapshot_holds_exactly_the_stored_measures_in_force(city: City) -> None:
    with city.ctx.store.transaction() as conn:
        snapshot = Snapshot.load(conn, city.today)
        run_id = snapshot.run_id
        assert run_id is not None
        stored = load_rows(conn, run_id, city.today)
    assert stored, "the test ledger should have measures in force"
    assert snapshot.measures == sum(len(rows) for rows in stored.values())
    for key, rows in stored.items():
        assert snapshot.rows(key) == rows
    assert snapshot.rows(city.key(UNLISTED)) == []
    assert snapshot.nbytes() > 0


def test_the_service_answers_as_the_store_does(city: City) -> None:
    pid, credential = _partner(city)
    service = Service(city.ctx)
    service.refresh(force=True)
    partner = service.partner(credential)
    assert partner is not None and partner.partner_id == pid
    for who in (LISTED_PERSON, REPRESENTATIVE, COMPANY, UNLISTED):
        served = service.decide(partner, {"subject": who, "action": FLIGHT}).body
        with city.ctx.store.transaction() as conn:
            stored = decide_from_store(city.ctx, conn, who, FLIGHT, {})
        for field in ("decision_id",):
            served.pop(field), stored.pop(field)
        assert served.pop("subject_ref") == subject_ref(city.ctx.secret, pid, city.key(who))
        assert served.pop("purpose") == "sales"
        assert stored.pop("purpose") is None  # the command line asked without a partner
        assert served == stored, who
    assert (
        service.decide(partner, {"subject": LISTED_PERSON, "action": FLIGHT}).body["decision"]
        == "deny"
    )


def test_a_partner_asks_only_within_its_grant(city: City) -> None:
    _, credential = _partner(city)
    service = Service(city.ctx)
    service.refresh(force=True)
    partner = service.partner(credential)
    assert partner is not None
    with pytest.raises(Forbidden, match=r"grant covers flight\.ticket\.purchase") as caught:
        service.decide(partner, {"subject": LISTED_PERSON, "action": "hotel.booking"})
    assert caught.value.code == "action_not_granted"
    assert service.partner("xyp_wrong") is None


def test_a_removal_reaches_the_snapshot_and_the_feed_through_the_outbox(city: City) -> None:
    _, credential = _partner(city)
    service = Service(city.ctx)
    service.refresh(force=True)
    partner = service.partner(credential)
    assert partner is not None
    ask = {"subject": LISTED_PERSON, "action": FLIGHT}
    assert service.decide(partner, ask).body["decision"] == "deny"
    before = service.feed.latest

    city.ledger.add(
        "court",
        rec(
            "D-p",
            LISTED_PERSON,
            "judicial.defaulter.delisted",
            city.today,
            document="P",
            reason="performed",
        ),
    )
    assert service.refresh() is True
    assert service.decide(partner, ask).body["decision"] == "allow"
    fresh = service.feed.after(before, 100)
    mine = [c for c in fresh if c.subject_key == city.key(LISTED_PERSON)]
    assert mine and {c.status for c in mine} == {"ended"}
    assert {c.cause for c in mine} == {"records"}
    assert "high_consumption_travel" in {c.measure_id for c in mine}
    # Nothing else changed for anyone else.
    assert {c.subject_key for c in fresh} == {city.key(LISTED_PERSON)}
    # A refresh with nothing new is a no-op for the embedded store (file unchanged).
    if city.ctx.store.name == "embedded":
        assert service.refresh() is False


def test_a_new_run_records_only_what_changed(city: City) -> None:
    with city.ctx.store.transaction() as conn:
        first = latest_seq(conn)
    city.ledger.evaluate(None)  # same ledger, same day: no measure changes
    with city.ctx.store.transaction() as conn:
        assert latest_seq(conn) == first
        initial = changes_after(conn, 0, 1000)
    # The first run announced every measure in force.
    assert {c.status for c in initial} == {"active"}
    assert {c.cause for c in initial} == {"evaluation"}
    assert city.key(LISTED_PERSON) in {c.subject_key for c in initial}


def test_expiries_are_recorded_once(city: City) -> None:
    with city.ctx.store.transaction() as conn:
        run_id = int(conn.scalar("SELECT run_id FROM eval_runs WHERE is_current"))
        ended = city.today - dt.timedelta(days=1)
        conn.execute(
            "INSERT INTO active_measures (run_id, measure_id, subject_key, trigger_kind,"
            " trigger_id, trigger_ref, via_subject_key, role, valid_until)"
            " VALUES (?, 'high_consumption_travel', ?, 'list', 'judicial_defaulters', 'x:1',"
            " NULL, 'subject', ?)",
            [run_id, "f" * 32, ended],
        )
        set_meta(conn, SWEPT, (city.today - dt.timedelta(days=5)).isoformat())
        start = latest_seq(conn)
        assert sweep_expiries(conn, run_id, city.today) == 1
        assert sweep_expiries(conn, run_id, city.today) == 0
        [change] = changes_after(conn, start, 10)
    assert (change.subject_key, change.status, change.cause, change.valid_until) == (
        "f" * 32,
        "ended",
        "expiry",
        ended,
    )


def test_partner_grants_are_checked_and_credentials_rotate(city: City) -> None:
    policy, catalog = city.ctx.policy, city.ctx.catalog
    with city.ctx.store.transaction() as conn:
        with pytest.raises(SourceError, match="Unknown partner kind"):
            add_partner(conn, policy, catalog, name="x", kind="spaceline", purpose="p")
        with pytest.raises(SourceError, match=r"may not ask about hotel\.booking"):
            add_partner(
                conn,
                policy,
                catalog,
                name="x",
                kind="airline",
                purpose="p",
                actions=["hotel.booking"],
            )
        with pytest.raises(SourceError, match="purpose"):
            add_partner(conn, policy, catalog, name="x", kind="airline", purpose=" ")
        partner, old = add_partner(
            conn, policy, catalog, name="Rail Co", kind="railway", purpose="tickets"
        )
        assert partner.actions == ("rail.ticket.purchase",)
        new = rotate_credential(conn, partner.partner_id)
        known = holders(conn).partners
    hashes = {pid: h for h, pid in known.items()}
    assert hashes[partner.partner_id] == hash_credential(new) != hash_credential(old)
    # Two partners never share a reference for one subject.
    key = city.key(LISTED_PERSON)
    assert subject_ref(city.ctx.secret, "a", key) != subject_ref(city.ctx.secret, "b", key)


def test_the_access_log_is_durable_and_read_by_subject(tmp_path: Path) -> None:
    async def write() -> None:
        journal = access_log.Journal(tmp_path)
        try:
            await asyncio.gather(
                *(
                    journal.write(
                        [
                            access_log.entry(
                                f"{i % 3:032d}", "decision", "air", action=FLIGHT, outcome="allow"
                            )
                        ]
                    )
                    for i in range(30)
                )
            )
            assert 1 <= journal.commits <= 30
        finally:
            journal.close()

    asyncio.run(write())
    access_log.append(tmp_path, [access_log.entry(f"{1:032d}", "lookup", "cli", channel="cli")])
    # A torn last line (a crash mid-write) was never acknowledged and is not read.
    with open(next(access_log.log_dir(tmp_path).glob("*.jsonl")), "ab") as fh:
        fh.write(b'{"subject_key": "' + f"{1:032d}".encode())
    entries = access_log.read(tmp_path, f"{1:032d}")
    assert len(entries) == 11
    assert [e["kind"] for e in entries].count("lookup") == 1
    assert entries == sorted(entries, key=lambda e: e["at"])
    assert access_log.read(tmp_path, f"{7:032d}") == []
