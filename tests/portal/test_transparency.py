"""The transparency figures: the charts alone, the figures' SQL on both stores, and the page
and its JSON twin on a real demo city served by `xinyong serve`.

In the live part a court lists a person over HTTP, an airline asks about three subjects, the
person objects and the court upholds, the court delists the city's listed person, and two
partners follow the feed by webhook: one acknowledges, one cannot be reached. The figures
must then match counts taken independently from the store and the access log."""

from __future__ import annotations

import base64
import datetime as dt
import json
import random
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.api.live import (
    FLIGHT,
    UNKNOWN,
    City,
    Receiver,
    Server,
    add_partner,
    cli_json,
    delisting,
    free_port,
    serving,
    wait_for,
)
from tests.factories import person
from xinyong.clock import today, utcnow
from xinyong.context import Context
from xinyong.decisions.service import Service
from xinyong.feed.events import measure_actions
from xinyong.portal import transparency
from xinyong.portal.charts import Bar, bar_chart, column_chart, ticks
from xinyong.portal.transparency import (
    COMPLEMENTARY,
    MEASURES,
    MIN_CELL,
    SMALL,
    _cases,
    _feed,
    _lists,
    _Tally,
    publish_equality,
)
from xinyong.portal.transparency_pages import months_window
from xinyong.settings import load_settings

SVG = "{http://www.w3.org/2000/svg}"
DEBTOR = person(random.Random(8080), year=1975, region="110105")
CASE = "(2026)京0105执8080号"


# -- charts -----------------------------------------------------------------------------------


def _svg(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def test_a_label_is_escaped_and_the_svg_is_well_formed() -> None:
    hostile = '<script>alert("x")</script> & "quotes"'
    svg = str(
        bar_chart(
            "hostile",
            f"Title {hostile}",
            f"Desc {hostile}",
            [hostile, "plain"],
            [hostile, "second"],
            [[Bar(3, hostile), Bar(None, "fewer than 10")], [Bar(1, "1"), Bar(0, "0")]],
        )
    )
    assert "<script" not in svg
    root = _svg(svg)  # well-formed XML, the label's text intact
    assert root.get("role") == "img"
    title = root.find(f"{SVG}title")
    assert title is not None and title.text == f"Title {hostile}"
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text == f"Desc {hostile}"
    assert root.get("aria-labelledby") == "hostile-title hostile-desc"
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert hostile in texts
    assert f"{hostile}: {hostile}" in texts  # series named beside the value: no colour alone
    assert "second: fewer than 10" in texts
    # Characters XML cannot hold are dropped, not passed through.
    _svg(str(bar_chart("ctl", "a\x00b\x1f", "d", ["x\x0b"], ["s"], [[Bar(1, "1\x08")]])))
    with pytest.raises(ValueError):
        bar_chart('x" onload="', "t", "d", ["a"], ["s"], [[Bar(1, "1")]])


def test_bar_lengths_are_proportional_to_the_values() -> None:
    values = [40.0, 10.0, 25.0, 0.0, None]
    svg = bar_chart(
        "bars",
        "t",
        "d",
        [f"c{i}" for i in range(len(values))],
        ["s"],
        [[Bar(v, str(v))] for v in values],
    )
    bars = [r for r in _svg(str(svg)).iter(f"{SVG}rect") if r.get("data-value")]
    widths = {float(r.get("data-value", "")): float(r.get("width", "")) for r in bars}
    assert set(widths) == {40.0, 10.0, 25.0}  # zero and unknown draw no bar
    scale = widths[40.0] / 40.0  # the largest value has the longest bar
    assert widths[40.0] == max(widths.values())
    assert all(abs(w - v * scale) <= 0.1 for v, w in widths.items())  # drawn to 0.1 px


def test_column_heights_are_proportional_and_the_axis_covers_the_largest() -> None:
    values = [[3.0, 1.0], [0.0, None], [12.0, 4.0]]
    svg = column_chart("cols", "t", "d", ["Jan", "Feb", "Mar"], ["a", "b"], values)
    root = _svg(str(svg))
    columns = [r for r in root.iter(f"{SVG}rect") if r.get("data-value")]
    heights = {float(r.get("data-value", "")): float(r.get("height", "")) for r in columns}
    assert set(heights) == {3.0, 1.0, 12.0, 4.0}
    scale = heights[12.0] / 12.0
    assert all(abs(h - v * scale) <= 0.1 for v, h in heights.items())
    labels = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert {"Jan", "Feb", "Mar", "a", "b"} <= set(labels)
    assert ticks(12) == [0, 5, 10, 15] and ticks(3) == [0, 1, 2, 3] and ticks(0)[-1] > 0
    assert ticks(0.37) == [0.0, 0.1, 0.2, 0.3, 0.4]


def test_months_window_ends_with_this_month() -> None:
    assert months_window(dt.date(2026, 2, 14), 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]


# -- the equality report, published ------------------------------------------------------------


def _row(grp: str, subjects: int, *counts: int, kind: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"grp": grp, "subjects": subjects}
    row.update(dict(zip(MEASURES, counts, strict=True)))
    if kind is not None:
        row["kind"] = kind
        row["label"] = ""
    return row


def _counts(published: dict[str, Any]) -> list[int]:
    return [
        cell["count"]
        for name in ("by_kind", "by_ownership", "by_region")
        for r in published[name]
        for cell in [r["subjects"], *(r[c] for c in MEASURES)]
        if cell["count"] is not None
    ]


def test_no_small_group_or_count_is_published_and_none_can_be_worked_out() -> None:
    report = {
        "policy": "p",
        "as_of": "2026-01-01",
        "by_kind": [
            _row("person", 1000, 40, 0, 35, 12),
            _row("organisation", 60, 12, 9, 12, 20),
            _row("agency", 4, 1, 0, 1, 2),
        ],
        "by_ownership": [
            _row("private", 45, 10, 4, 10, 15, kind="organisation"),
            _row("state_owned", 11, 2, 5, 2, 5, kind="organisation"),
            _row("foreign", 4, 0, 0, 0, 0, kind="organisation"),
            _row("public", 4, 1, 0, 1, 2, kind="agency"),
        ],
        "by_region": [
            _row("110100", 900, 35, 0, 30, 10, kind="person"),
            _row("120100", 95, 5, 0, 5, 2, kind="person"),
            _row("130100", 5, 0, 0, 0, 0, kind="person"),
            _row("110100", 60, 12, 9, 12, 20, kind="organisation"),
            _row("110100", 4, 1, 0, 1, 2, kind="agency"),
        ],
    }
    published = publish_equality(report, MIN_CELL)
    assert all(n == 0 or n >= MIN_CELL for n in _counts(published))
    kinds = {r["kind"]: r for r in published["by_kind"]}
    assert kinds["agency"]["subjects"] == {"count": None, "suppressed": SMALL}
    assert kinds["person"]["black_listed"] == {"count": 40, "rate": 0.04, "suppressed": None}
    assert kinds["organisation"]["red_listed"]["suppressed"] == SMALL
    # An agency's parts are not shown when the agencies themselves are too few.
    assert {r["kind"] for r in published["by_ownership"] + published["by_region"]} == {
        "person",
        "organisation",
    }
    # Persons and organisations are never in one row. Small groups are pooled, and while the
    # pool is too small the smallest shown group joins it: 130100 (5) takes 120100 (95).
    regions = [(r["kind"], r["group"], r["pooled"]) for r in published["by_region"]]
    assert regions == [
        ("person", "110100", False),
        ("person", None, True),
        ("organisation", "110100", False),
    ]
    by_region = {(r["kind"], r["group"]): r for r in published["by_region"]}
    pool = by_region[("person", None)]
    assert pool["subjects"]["count"] == 100
    assert pool["black_listed"]["suppressed"] == SMALL  # 5
    # With the persons' total (40) shown, 110100's 35 would give the pool's 5 away.
    assert by_region[("person", "110100")]["black_listed"]["suppressed"] == COMPLEMENTARY
    assert by_region[("person", "110100")]["red_listed"]["count"] == 0  # zeros say nothing
    # Where the kind's own total is hidden there is nothing to subtract from.
    assert kinds["organisation"]["red_listed"]["suppressed"] == SMALL
    assert by_region[("organisation", "110100")]["black_listed"]["count"] == 12
    ownership = [
        (r["group"], r["pooled"], r["subjects"]["count"]) for r in published["by_ownership"]
    ]
    assert ownership == [("private", False, 45), (None, True, 15)]


def test_the_pool_of_small_groups_takes_the_smallest_shown_group() -> None:
    report = {
        "policy": "p",
        "as_of": "2026-01-01",
        "by_kind": [_row("organisation", 70, 0, 0, 0, 0)],
        "by_ownership": [
            _row("private", 40, 0, 0, 0, 0, kind="organisation"),
            _row("mixed", 22, 0, 0, 0, 0, kind="organisation"),
            _row("foreign", 5, 0, 0, 0, 0, kind="organisation"),
            _row("collective", 3, 0, 0, 0, 0, kind="organisation"),
        ],
        "by_region": [],
    }
    rows = publish_equality(report, MIN_CELL)["by_ownership"]
    assert [(r["group"], r["subjects"]["count"]) for r in rows] == [("private", 40), (None, 30)]


# -- the figures' SQL, on each store -----------------------------------------------------------


def _seed(conn: Any, ctx: Context, day: dt.date) -> None:
    conn.execute(
        "INSERT INTO eval_runs (run_id, policy_name, policy_version, policy_digest, engine,"
        " as_of, is_current, started_at, finished_at, subjects) VALUES (1, ?, ?, ?, 'embedded',"
        " ?, TRUE, ?, ?, 0)",
        [ctx.policy.name, ctx.policy.version, ctx.policy.digest, day, utcnow(), utcnow()],
    )
    month_ago = day - dt.timedelta(days=31)
    entries = [
        # list, entered, ends, reason, status, refused
        ("judicial_defaulters", month_ago, None, None, "active", None),
        ("judicial_defaulters", month_ago, day, "exit", "ended", None),
        ("judicial_defaulters", day, None, None, "active", None),
        ("judicial_defaulters", month_ago, None, None, "refused", "minor"),
        ("city_honour_roll", month_ago, day - dt.timedelta(days=1), "term", "ended", None),
        ("city_honour_roll", day + dt.timedelta(days=5), None, None, "pending", None),
        ("other_run", day, None, None, "active", None),
    ]
    for i, (list_id, entered, ends, reason, status, refused) in enumerate(entries):
        conn.execute(
            "INSERT INTO list_entries (run_id, list_id, entry_id, subject_key, entered_on,"
            " ends_on, end_reason, exit_event_id, status, refused_by) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            [
                2 if list_id == "other_run" else 1,
                list_id,
                f"e{i}",
                f"k{i}",
                entered,
                ends,
                reason,
                status,
                refused,
            ],
        )
    received = dt.datetime(2026, 3, 10, 2, 0, 0)
    conn.execute(
        "INSERT INTO submissions (submission_id, source_id, received_at, records_read, accepted,"
        " duplicates, rejected, digest) VALUES ('s1', 'court', ?, 1, 1, 0, 0, '')",
        [received],
    )
    changes = [
        # the removal record's change, 3 s after its submission
        ("ended", "records", dt.date(2026, 3, 10), received + dt.timedelta(seconds=3)),
        # a term that ended on 2026-03-20 (Beijing), swept at 00:05 Beijing = 16:05 UTC the day before
        ("ended", "expiry", dt.date(2026, 3, 20), dt.datetime(2026, 3, 19, 16, 5, 0)),
        ("active", "records", None, received + dt.timedelta(seconds=3)),
        ("ended", "evaluation", dt.date(2026, 4, 2), dt.datetime(2026, 4, 2, 1, 0, 0)),
    ]
    for seq, (status, cause, until, at) in enumerate(changes, 1):
        conn.execute(
            "INSERT INTO measure_changes (seq, subject_key, measure_id, status, valid_until,"
            " cause, recorded_at) VALUES (?, 'k1', 'high_consumption_travel', ?, ?, ?, ?)",
            [seq, status, until, cause, at],
        )
    start = day - dt.timedelta(days=100)

    def on(days: int) -> dt.date:
        return start + dt.timedelta(days=days)

    objections = [
        # filed, due, status, decided
        (on(0), on(15), "upheld", on(4)),
        (on(1), on(16), "rejected", on(19)),  # decided late
        (on(30), on(45), "open", None),  # overdue
        (day, day + dt.timedelta(days=15), "open", None),
    ]
    for i, (filed, due, status, decided) in enumerate(objections):
        conn.execute(
            "INSERT INTO objections (objection_id, subject_key, event_id, source_id,"
            " source_record_id, category, reason, channel, filed_at, filed_on, due_on, status,"
            " decided_on, reconsiders) VALUES (?, 'k', 1, 'court', 'r', 'c', 'x', 'api', ?, ?, ?,"
            " ?, ?, ?)",
            [f"OBJ-{i}", utcnow(), filed, due, status, decided, "OBJ-0" if i == 1 else None],
        )


def test_the_figures_sql_counts_the_same_on_each_store(ctx: Context) -> None:
    day = today(ctx.settings.timezone)
    this_month = day.strftime("%Y-%m")
    with ctx.store.transaction() as conn:
        _seed(conn, ctx, day)
        lists = _lists(ctx, conn, day)
        feed = _feed(ctx, conn)  # in Beijing time, the settings' default
        objections = _cases(conn, "objections", day)
    assert lists is not None
    by_list = {r["list"]: r for r in lists["lists"]}
    court = by_list["judicial_defaulters"]
    # Refused, not yet begun and other runs' entries are no listings.
    assert (court["listings"], court["removals"], court["in_force"]) == (3, 1, 2)
    assert court["removed_by_record"] == 1
    honour = by_list["city_honour_roll"]
    assert (honour["listings"], honour["removals"], honour["removed_by_term"]) == (1, 1, 1)
    months = {r["month"]: r for r in lists["by_month"]}
    assert months[this_month]["removals"] >= 1
    assert sum(r["listings"] for r in lists["by_month"]) == 4
    assert sum(r["removals"] for r in lists["by_month"]) == 2

    causes = {r["cause"]: r for r in feed["by_cause"]}
    assert feed["removals"] == 3 and set(causes) == {"records", "expiry", "evaluation"}
    assert causes["records"]["median_seconds"] == 3.0
    assert causes["expiry"]["median_seconds"] == 300.0  # five minutes after local midnight
    assert causes["evaluation"]["timed"] == 0 and causes["evaluation"]["median_seconds"] is None
    assert [r["month"] for r in feed["by_month"]] == ["2026-03", "2026-04"]  # in Beijing time

    assert (objections["filed"], objections["upheld"], objections["rejected"]) == (4, 1, 1)
    assert objections["open"] == 2 and objections["overdue"] == 1
    assert objections["decided_late"] == 1 and objections["reconsiderations"] == 1
    timing = objections["days_to_decision"]
    assert (timing["decided"], timing["median_days"], timing["max_days"]) == (2, 11.0, 18)
    assert timing["by_outcome"]["upheld"]["max_days"] == 4
    # All of it together, in one transaction of the service, with the equality report.
    whole = transparency.compute(Service(ctx))
    assert whole["lists"] == lists and whole["objections"] == objections
    assert whole["feed"]["by_cause"] == feed["by_cause"]
    assert whole["equality"]["by_kind"] == [] and whole["decisions"]["total"] == 0


def test_the_access_log_is_counted_once_and_a_torn_line_waits(tmp_path: Path) -> None:
    folder = tmp_path / "access-log"
    folder.mkdir()
    log = folder / "w-1.jsonl"

    def line(who: str, outcome: str, kind: str = "decision") -> str:
        return json.dumps({"kind": kind, "who": who, "outcome": outcome}) + "\n"

    log.write_text(line("air", "deny") + line("air", "allow") + line("subject", "x", "lookup"))
    tally = _Tally(folder)
    assert tally.update() == Counter({("air", "deny"): 1, ("air", "allow"): 1})
    with log.open("a") as fh:
        fh.write(line("air", "deny") + '{"kind": "decision", "who": "ai')
    assert tally.update()[("air", "deny")] == 2
    with log.open("a") as fh:
        fh.write('r", "outcome": "deny"}\n')
    assert tally.update()[("air", "deny")] == 3
    (folder / "w-2.jsonl").write_text(line("cli", "allow"))
    assert tally.update()[("cli", "allow")] == 1
    (folder / "w-2.jsonl").unlink()
    assert ("cli", "allow") not in tally.update()


def test_a_long_access_log_is_read_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transparency, "CHUNK", 64)
    rng = random.Random(7)
    entries = [
        {
            "kind": "decision",
            "who": f"p{rng.randint(0, 2)}",
            "outcome": rng.choice(["allow", "deny"]),
            "purpose": "x" * rng.randint(0, 150),
        }
        for _ in range(300)
    ]
    (tmp_path / "w.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries))
    expected = Counter((e["who"], e["outcome"]) for e in entries)
    assert _Tally(tmp_path).update() == expected


# -- the page and its JSON, live ---------------------------------------------------------------


@dataclass
class Live:
    data: Path
    figures: dict[str, Any]
    html_en: str
    html_zh: str
    asked: Counter[str]  # the airline's decisions by outcome
    before: dict[str, int]  # the demo city's objection counts before the test's


def _store_counts(data: Path) -> dict[str, int]:
    ctx = Context(load_settings(data_dir=data))
    with ctx.store.transaction() as conn:
        return {
            str(status): int(n)
            for status, n in conn.execute("SELECT status, count(*) FROM objections GROUP BY 1")
        }


@pytest.fixture(scope="module")
def live(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("transparency")
    data = city.copy(folder / "data")
    before = _store_counts(data)
    court = cli_json(data, "sources", "add", "Dongcheng Court", "--kind", "court", "--id", "dc")
    receiver = Receiver().start()
    airline = add_partner(
        data, "air", "airline", "ticket sales", "--webhook", receiver.url, "--from", "0"
    )
    # A railway whose webhook nobody answers: its removals wait.
    dead = f"http://127.0.0.1:{free_port()}/hook"
    add_partner(data, "rail", "railway", "ticket sales", "--webhook", dead, "--from", "0")
    debtor = cli_json(data, "subject", "credential", DEBTOR)["credential"]
    asked: Counter[str] = Counter()
    try:
        with serving(data) as server:
            _act(server, city, folder, court["credential"], airline["credential"], debtor, asked)
            # Every removal that concerns the airline acknowledged by its webhook.
            wait_for(lambda: _acknowledged(data), 30, "the airline to acknowledge every removal")
            with server.client() as client:
                figures = client.get("/v1/public/transparency")
                assert figures.status_code == 200, figures.text
                assert figures.headers["content-type"].startswith("application/json")
                html_en = client.get("/transparency?lang=en")
                html_zh = client.get("/transparency?lang=zh")
            assert html_en.status_code == html_zh.status_code == 200
            yield Live(data, figures.json(), html_en.text, html_zh.text, asked, before)
    finally:
        receiver.stop()


def _act(
    server: Server,
    city: City,
    folder: Path,
    court: str,
    airline: str,
    debtor: str,
    asked: Counter[str],
) -> None:
    listed_on = (today() - dt.timedelta(days=2)).isoformat()
    with server.client(court) as client:
        listing = {
            "source_record_id": "T-8080",
            "subject": DEBTOR,
            "category": "judicial.defaulter.listed",
            "occurred_on": listed_on,
            "document": CASE,
            "details": {"situation": 1},
        }
        assert client.post("/v1/records", json={"records": [listing]}).json()["accepted"] == 1
    with server.client(airline) as client:
        for subject in (DEBTOR, city.listed, UNKNOWN):
            answer = client.post("/v1/decisions", json={"subject": subject, "action": FLIGHT})
            assert answer.status_code == 200, answer.text
            asked[answer.json()["decision"]] += 1
    assert asked == Counter({"deny": 2, "allow": 1})
    with server.client(debtor) as client:
        evidence = [{"name": "r.pdf", "content_base64": base64.b64encode(b"%PDF-1.4\n").decode()}]
        filed = client.post(
            f"/v1/subjects/{DEBTOR}/objections",
            json={"record": "T-8080", "reason": "Paid in full.", "evidence": evidence},
        )
        assert filed.status_code == 201, filed.text
    with server.client(court) as client:
        decided = client.post(
            f"/v1/objections/{filed.json()['objection']}/decision",
            json={"uphold": True, "reason": "Payment confirmed."},
        )
        assert decided.status_code == 200 and decided.json()["status"] == "upheld"
    report = cli_json(
        server.data_dir, "ingest", str(delisting(city, folder)), "--source", "demo-court"
    )
    assert report[0]["accepted"] == 2, report

    def lifted() -> bool:
        with server.client(airline) as client:
            answer = client.post("/v1/decisions", json={"subject": DEBTOR, "action": FLIGHT})
        asked[answer.json()["decision"]] += 1
        return bool(answer.json()["decision"] == "allow")

    wait_for(lifted, 5, "the upheld objection to lift the ban", interval=0.2)


def _measures_for(ctx: Context, action: str) -> list[str]:
    return [m for m in ctx.policy.measures if action in measure_actions(ctx.policy, m)]


def _ended(data: Path, action: str) -> list[int]:
    """Sequence numbers of the ends of measures that concern ``action``, from the store."""
    ctx = Context(load_settings(data_dir=data))
    measures = set(_measures_for(ctx, action))
    with ctx.store.transaction() as conn:
        rows = conn.execute("SELECT seq, measure_id FROM measure_changes WHERE status = 'ended'")
    return sorted(int(seq) for seq, measure in rows if measure in measures)


def _acknowledged(data: Path) -> bool:
    ended = _ended(data, FLIGHT)
    cursor = data / "feed" / "webhook-air.cursor"
    return bool(ended) and cursor.exists() and int(cursor.read_text() or 0) >= ended[-1]


def test_listings_and_removals_match_the_store(live: Live) -> None:
    ctx = Context(load_settings(data_dir=live.data))
    day = today(ctx.settings.timezone)
    with ctx.store.transaction() as conn:
        rows = conn.execute(
            "SELECT e.list_id, e.entered_on, e.ends_on, e.refused_by FROM list_entries e"
            " JOIN eval_runs r ON r.run_id = e.run_id AND r.is_current"
        )
    listings: Counter[str] = Counter()
    removals: Counter[str] = Counter()
    per_list: Counter[str] = Counter()
    for list_id, entered, ends, refused in rows:
        if refused is not None or entered is None or entered > day:
            continue
        listings[entered.strftime("%Y-%m")] += 1
        per_list[list_id] += 1
        if ends is not None and ends <= day:
            removals[ends.strftime("%Y-%m")] += 1
    lists = live.figures["lists"]
    assert {r["month"]: r["listings"] for r in lists["by_month"] if r["listings"]} == dict(listings)
    assert {r["month"]: r["removals"] for r in lists["by_month"] if r["removals"]} == dict(removals)
    assert {r["list"]: r["listings"] for r in lists["lists"] if r["listings"]} == dict(per_list)
    # The city's listed person was delisted today: a removal by a record, this month.
    defaulters = next(r for r in lists["lists"] if r["list"] == "judicial_defaulters")
    assert defaulters["removed_by_record"] >= 1
    assert removals[day.strftime("%Y-%m")] >= 1


def test_the_upheld_objection_is_counted_with_its_time_to_decision(live: Live) -> None:
    now = _store_counts(live.data)
    objections = live.figures["objections"]
    assert objections["filed"] == sum(now.values()) == sum(live.before.values()) + 1
    assert objections["upheld"] == now["upheld"] == live.before.get("upheld", 0) + 1
    assert objections["open"] == now.get("open", 0)
    upheld = objections["days_to_decision"]["by_outcome"]["upheld"]
    assert upheld["decided"] == now["upheld"]
    assert upheld["max_days"] == 0  # decided the day it was filed, like the demo's own
    this_month = [r for r in objections["by_month"] if r["month"] == today().strftime("%Y-%m")]
    assert this_month and this_month[0]["upheld"] >= 1


def test_decisions_by_partner_kind_match_the_access_log(live: Live) -> None:
    logged: Counter[tuple[str, str]] = Counter()
    for path in (live.data / "access-log").glob("*.jsonl"):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            if entry["kind"] == "decision":
                logged[(entry["who"], entry["outcome"])] += 1
    rows = {r["partner_kind"]: r for r in live.figures["decisions"]["by_partner_kind"]}
    airline = rows["airline"]
    assert (airline["allow"], airline["deny"]) == (live.asked["allow"], live.asked["deny"])
    assert (airline["allow"], airline["deny"]) == (
        logged[("air", "allow")],
        logged[("air", "deny")],
    )
    assert live.figures["decisions"]["total"] == sum(logged.values())


def test_removals_reaching_partners(live: Live) -> None:
    feed = live.figures["feed"]
    ctx = Context(load_settings(data_dir=live.data))
    with ctx.store.transaction() as conn:
        by_cause = dict(
            conn.execute(
                "SELECT cause, count(*) FROM measure_changes WHERE status = 'ended' GROUP BY 1"
            )
        )
    assert {r["cause"]: r["removals"] for r in feed["by_cause"]} == by_cause
    records = next(r for r in feed["by_cause"] if r["cause"] == "records")
    # The delisting and the upheld objection: published within the request that carried them.
    assert records["timed"] == records["removals"] >= 2
    assert 0 <= records["median_seconds"] <= records["max_seconds"] < 60
    hooks = feed["webhooks"]
    assert hooks["partners"] == 2 and hooks["up_to_date"] == 1
    assert hooks["acknowledged"] == len(_ended(live.data, FLIGHT))
    waiting = _ended(live.data, "rail.ticket.purchase")
    assert waiting and hooks["waiting"] == len(waiting)
    assert hooks["oldest_waiting_since"] is not None and hooks["oldest_waiting_seconds"] >= 0


def test_a_group_under_the_minimum_cell_is_suppressed_in_json_and_html(live: Live) -> None:
    equality = live.figures["equality"]
    assert live.figures["min_cell"] == MIN_CELL == equality["min_cell"]
    ctx = Context(load_settings(data_dir=live.data))
    with ctx.store.transaction() as conn:
        population = dict(conn.execute("SELECT kind, count(*) FROM subjects GROUP BY 1"))
    assert 0 < population["agency"] < MIN_CELL, "the demo city should have a few agencies"
    kinds = {r["kind"]: r for r in equality["by_kind"]}
    # The rate's denominator is the population: every person the ledger knows.
    assert kinds["person"]["subjects"]["count"] == population["person"]
    agency = kinds["agency"]
    assert agency["subjects"] == {"count": None, "suppressed": SMALL}
    assert all(agency[c]["count"] is None and agency[c]["rate"] is None for c in MEASURES)
    assert all(n == 0 or n >= MIN_CELL for n in _counts(equality))
    assert "agency" not in {r["kind"] for r in equality["by_region"] + equality["by_ownership"]}
    regions = [r for r in equality["by_region"] if not r["pooled"]]
    assert all(r["subjects"]["count"] >= MIN_CELL for r in regions)
    # On the page: the agencies' row says "fewer than 10" in every cell, and no number.
    row = _table_row(live.html_en, "Government agencies")
    assert row[1:] == [f"fewer than {MIN_CELL}"] * 5
    assert f"少于{MIN_CELL}" in _table_row(live.html_zh, "政府机关")[1]


def test_the_page_has_charts_with_titles_and_tables_and_no_script(live: Live) -> None:
    for html in (live.html_en, live.html_zh):
        assert "<script" not in html.lower()
        svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
        assert len(svgs) >= 7
        for svg in svgs:
            root = ET.fromstring(svg)
            assert root.get("role") == "img"
            title = root.find(f"{SVG}title")
            assert title is not None and title.text
            assert root.find(f"{SVG}desc") is not None
        page = _Outline()
        page.feed(html)
        assert page.tables and page.tables == page.captions, "every table has a caption"
        assert page.figures and page.figures == page.figcaptions, "every figure has a caption"
        assert page.headings[0] == 1 and all(
            b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False)
        ), page.headings
        assert page.scopeless_th == 0
    assert 'href="/v1/public/transparency"' in live.html_en
    # The numbers beside the chart are the JSON's.
    filed = _table_row(live.html_en, "Cases filed")
    assert filed[1] == f"{live.figures['objections']['filed']:,}"
    airline = _table_row(live.html_en, "Airlines")
    assert airline[1:] == [
        f"{live.asked['allow']:,}",
        f"{live.asked['deny']:,}",
        f"{sum(live.asked.values()):,}",
    ]
    assert "透明度报告" in live.html_zh and "航空公司" in live.html_zh


class _Outline(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables = self.captions = self.figures = self.figcaptions = 0
        self.headings: list[int] = []
        self.scopeless_th = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables += 1
        elif tag == "caption":
            self.captions += 1
        elif tag == "figure":
            self.figures += 1
        elif tag == "figcaption":
            self.figcaptions += 1
        elif tag == "th" and "scope" not in dict(attrs):
            self.scopeless_th += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))


class _Rows(HTMLParser):
    """The text of every table cell, row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _table_row(html: str, first: str) -> list[str]:
    parser = _Rows()
    parser.feed(html)
    found = [r for r in parser.rows if r and r[0] == first]
    assert found, f"no table row starting with {first!r}"
    return found[0]


def test_figures_are_cached_for_a_short_time(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []

    def compute(service: Any) -> dict[str, Any]:
        made.append(1)
        return {"n": len(made)}

    monkeypatch.setattr(transparency, "compute", compute)
    service = object()
    assert transparency.figures(service)["n"] == 1  # type: ignore[arg-type]
    assert transparency.figures(service)["n"] == 1  # type: ignore[arg-type]
    assert transparency.figures(service, max_age=0)["n"] == 2  # type: ignore[arg-type]
