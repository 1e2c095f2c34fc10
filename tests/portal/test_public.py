"""Public disclosure over real HTTP, on the demo city with a few records of our own: the
court lists a person (found) and another it then delists (not found), a minor (refused, not
found); the market regulator registers a company with penalties of every kind of fate
(minor, expired, revoked, corrected, repaired, serious) and a licence.

The scan crawls every public page and JSON answer (the lists with every page, a search for
every name they show, every organisation profile reachable, the CSV downloads) and checks
what it sees against the rules, recomputed here from the store's tables and the catalogue
without the portal's code: no person's identifier unmasked, no record of a category that is
not public, past its period, revoked or superseded, repaired or about a minor; and every
entry that may be shown is shown.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.api.live import City, Server, cli, serving
from tests.factories import company, person
from tests.policy.conftest import Ledger, ledger  # noqa: F401  (a fixture on each store)
from xinyong.catalog import load_catalog
from xinyong.clock import today
from xinyong.context import Context
from xinyong.decisions.service import Service
from xinyong.ids.masking import mask
from xinyong.policy.loader import load_policy
from xinyong.portal import i18n, public, public_index
from xinyong.portal.public import humanise
from xinyong.process.calendar import add_months
from xinyong.settings import load_settings

# The tests that serve the city start real processes and crawl the site: tens of seconds.
SLOW = pytest.mark.slow
RNG = random.Random(8080)
DAY = today()
LISTED = person(RNG, year=1985)  # on the court's list: findable
DELISTED = person(RNG, year=1979)  # listed, then deleted: not findable
MINOR = person(RNG, year=DAY.year - 15)  # a child's listing: refused, never shown
REP = person(RNG, year=1970)  # the company's legal representative
COMPANY = company(RNG)
LISTED_NAME, DELISTED_NAME, MINOR_NAME = "公示测试甲", "已删除测试乙", "未成年测试丙"
COMPANY_NAME = "北京公示测试食品有限公司"
OLD_MATTER, NEW_MATTER = "更正前的处罚事由", "更正后的处罚事由"


def _on(days: int) -> str:
    return (DAY - dt.timedelta(days=days)).isoformat()


def _court_records() -> list[dict[str, Any]]:
    listing = {"category": "judicial.defaulter.listed", "legal_basis": "Fa Shi [2017] No. 7"}
    details = {"situation": 2, "term_months": 24, "obligation": "支付货款", "court": "测试法院"}
    return [
        {**listing, "source_record_id": "pub-1", "subject": LISTED, "occurred_on": _on(10),
         "document": "(2026)测执1号", "details": {**details, "name": LISTED_NAME}},
        {**listing, "source_record_id": "pub-2", "subject": DELISTED, "occurred_on": _on(100),
         "document": "(2026)测执2号", "details": {**details, "name": DELISTED_NAME}},
        {"source_record_id": "pub-2-off", "subject": DELISTED, "occurred_on": _on(5),
         "category": "judicial.defaulter.delisted", "document": "(2026)测执2号",
         "details": {"reason": "performed"}},
        {**listing, "source_record_id": "pub-3", "subject": MINOR, "occurred_on": _on(3),
         "document": "(2026)测执3号", "details": {**details, "name": MINOR_NAME}},
    ]  # fmt: skip


def _regulator_records() -> list[dict[str, Any]]:
    def penalty(srid: str, days: int, severity: str, doc: str, **extra: Any) -> dict[str, Any]:
        return {
            "source_record_id": srid,
            "subject": COMPANY,
            "category": "administrative.penalty",
            "occurred_on": _on(days),
            "document": doc,
            "amount": 5000,
            "details": {
                "severity": severity,
                "matter": f"测试事由{doc}",
                "measure": "fine",
                **extra,
            },
        }

    return [
        {"source_record_id": "reg-1", "subject": COMPANY, "category": "administrative.registration",
         "occurred_on": _on(700), "details": {"name": COMPANY_NAME, "legal_representative": REP,
                                              "ownership": "private", "sector": "food"}},
        penalty("pen-minor", 10, "minor", "测罚1号"),  # period 0: never shown on its own
        penalty("pen-old", 400, "general", "测罚2号"),  # 12 months: over
        penalty("pen-serious", 400, "serious", "测罚3号"),  # 36 months: shown
        penalty("pen-revoked", 30, "general", "测罚4号"),
        {"source_record_id": "pen-revoked-x", "subject": COMPANY, "action": "revoke",
         "supersedes": "pen-revoked"},
        penalty("pen-corrected", 20, "general", "测罚5号", matter=OLD_MATTER),
        {**penalty("pen-corrected-2", 20, "general", "测罚5号", matter=NEW_MATTER),
         "action": "correct", "supersedes": "pen-corrected"},
        penalty("pen-repaired", 200, "general", "测罚7号"),
        {"source_record_id": "pen-repaired-ok", "subject": COMPANY, "occurred_on": _on(2),
         "category": "credit.repair.granted", "document": "测罚7号",
         "details": {"repaired": "pen-repaired", "commitment": "已整改"}},
        {"source_record_id": "lic-1", "subject": COMPANY, "category": "administrative.license",
         "occurred_on": _on(50), "document": "测许6号",
         "details": {"license_type": "食品经营许可证", "status": "granted"}},
        {"source_record_id": "abn-1", "subject": COMPANY, "occurred_on": _on(15),
         "category": "administrative.abnormal_operations.listed", "document": "测异8号",
         "details": {"ground": "annual_report_missing"}},
    ]  # fmt: skip


# -- what may be shown, recomputed from the store ------------------------------------------


@dataclass
class Truth:
    persons: set[str]  # every person's identifier: never shown unmasked
    public_lists: set[str]
    hidden_lists: set[str]
    own: set[tuple[str, str, str | None, str]]  # (shown id, category, document, date) on a profile
    listed: set[tuple[str, str, str]]  # (list, shown id, listed on) of entries to show
    listed_records: set[tuple[str, str, str | None, str]]  # records an entry may show
    counts: dict[str, int]  # entries to show per public list
    forbidden: set[str] = field(default_factory=set)  # text that must appear nowhere
    disputed: set[str] = field(default_factory=set)  # documents of disputed shown records
    names: set[str] = field(default_factory=set)  # names of subjects shown on lists


def _truth(data: Path) -> Truth:
    ctx = Context(load_settings(data_dir=data))
    catalog, policy = ctx.catalog, ctx.policy
    public = {c for c, cat in catalog.categories.items() if cat.publicity.class_ == "public"}

    def reads(rule: Any) -> set[str]:
        if rule.declared is not None:
            return {rule.declared.entry}
        return {c.category for c in rule.computed.conditions}

    lists = {i for i, rule in policy.lists.items() if reads(rule) <= public}
    with ctx.store.transaction() as conn:
        run = conn.scalar("SELECT run_id FROM eval_runs WHERE is_current")
        subjects = {r["subject_key"]: r for r in conn.dicts("SELECT * FROM subjects")}
        records = conn.dicts(
            "SELECT event_id, source_id, source_record_id, subject_key, category, occurred_on,"
            " document, details FROM records"
        )
        current = {int(e) for (e,) in conn.execute("SELECT event_id FROM current_records")}
        flagged = {int(e) for (e,) in conn.execute(
            "SELECT event_id FROM record_flags WHERE run_id = ?", [run])}  # fmt: skip
        entries = conn.dicts("SELECT * FROM list_entries WHERE run_id = ?", [run])
        evidence = conn.dicts("SELECT * FROM list_evidence WHERE run_id = ?", [run])
        disputed = {int(e) for (e,) in conn.execute(
            "SELECT event_id FROM objections WHERE status = 'open'")}  # fmt: skip
    by_event = {int(r["event_id"]): r for r in records}
    repaired: set[tuple[str, str, str]] = set()
    for r in records:
        if r["category"] == "credit.repair.granted" and int(r["event_id"]) in current:
            found = json.loads(r["details"]).get("repaired")
            repaired |= {(r["subject_key"], r["source_id"], f"id:{found}")}
            repaired |= {(r["subject_key"], r["source_id"], f"doc:{r['document']}")}

    def adult(key: str, on: dt.date) -> bool:
        s = subjects[key]
        return s["kind"] != "person" or (
            s["birth_date"] is not None and add_months(s["birth_date"], 216) <= on
        )

    def shown_id(key: str) -> str:
        s = subjects[key]
        return s["identifier"] if s["kind"] != "person" else mask(s["identifier"])

    def fit(r: dict[str, Any]) -> bool:
        """Current, public, not repaired nor flagged, not about a minor."""
        key, src = r["subject_key"], r["source_id"]
        return (
            int(r["event_id"]) in current
            and r["category"] in public
            and int(r["event_id"]) not in flagged
            and (key, src, f"id:{r['source_record_id']}") not in repaired
            and (key, src, f"doc:{r['document']}") not in repaired
            and adult(key, r["occurred_on"])
            and adult(key, DAY)
        )

    def period(r: dict[str, Any]) -> int:
        p = catalog.categories[r["category"]].publicity
        value = json.loads(r["details"]).get(p.period_by.field) if p.period_by else None
        return (
            p.period_by.months.get(str(value), p.period_months) if p.period_by else p.period_months
        )

    truth = Truth(
        {s["identifier"] for s in subjects.values() if s["kind"] == "person"},
        lists,
        set(policy.lists) - lists,
        set(),
        set(),
        set(),
        dict.fromkeys(lists, 0),
    )
    allowed_docs: set[str] = set()
    for r in records:
        months = period(r) if r["category"] in public else 0
        if (
            fit(r)
            and subjects[r["subject_key"]]["kind"] != "person"
            and months
            and add_months(r["occurred_on"], months) > DAY
        ):
            truth.own.add((shown_id(r["subject_key"]), r["category"], r["document"],
                           r["occurred_on"].isoformat()))  # fmt: skip
            allowed_docs.add(r["document"])
    evidence_of: dict[str, list[dict[str, Any]]] = {}
    for v in evidence:
        if v["role"] in ("entry", "condition"):
            evidence_of.setdefault(v["entry_id"], []).append(by_event[int(v["event_id"])])
    for e in entries:
        shown = [r for r in evidence_of.get(e["entry_id"], []) if fit(r)]
        if (
            e["list_id"] in lists
            and e["status"] == "active"
            and (e["entered_on"] is None or e["entered_on"] <= DAY)
            and (e["ends_on"] is None or e["ends_on"] > DAY)
            and adult(e["subject_key"], DAY)
            and shown
        ):
            sid = shown_id(e["subject_key"])
            truth.listed.add((e["list_id"], sid, e["entered_on"].isoformat()))
            truth.counts[e["list_id"]] += 1
            for r in shown:
                truth.listed_records.add((sid, r["category"], r["document"],
                                          r["occurred_on"].isoformat()))  # fmt: skip
                allowed_docs.add(r["document"])
                name = json.loads(r["details"]).get("name")
                if name:
                    truth.names.add(name)
                if int(r["event_id"]) in disputed and r["document"]:
                    truth.disputed.add(r["document"])
    # Documents and names of records that may be shown nowhere must appear nowhere (unless
    # they are part of a text that may: a person's name inside an individual business's).
    shown_text = allowed_docs | truth.names
    for r in records:
        details = json.loads(r["details"])
        if r["category"] == "administrative.registration":
            shown_text.add(details.get("name", ""))
    for r in records:
        details = json.loads(r["details"])
        hidden = []
        if r["document"] and r["category"] in public:
            hidden.append(r["document"])
        if details.get("name") and subjects[r["subject_key"]]["kind"] == "person":
            hidden.append(details["name"])
        truth.forbidden |= {h for h in hidden if not any(h in t for t in shown_text if t)}
    truth.forbidden |= {OLD_MATTER}
    return truth


@dataclass
class Site:
    server: Server
    truth: Truth
    data: Path

    def client(self) -> httpx.Client:
        return self.server.client()


@pytest.fixture(scope="module")
def site(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("public")
    data = city.copy(folder / "data")
    for source, rows in (
        ("demo-court", _court_records()),
        ("demo-market-regulator", _regulator_records()),
    ):
        path = folder / f"{source}.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        cli(data, "ingest", str(path), "--source", source, "--strict")
    cli(data, "objections", "file", LISTED, "--record", "pub-1", "--reason", "已经履行完毕")
    truth = _truth(data)
    with serving(data) as server:
        yield Site(server, truth, data)


# -- the crawl ------------------------------------------------------------------------------


@dataclass
class Crawl:
    bodies: dict[str, str] = field(default_factory=dict)  # url -> text
    entries: list[dict[str, Any]] = field(default_factory=list)  # every entry of every answer
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # code -> JSON profile
    searches: dict[str, dict[str, Any]] = field(default_factory=dict)  # q -> JSON answer

    def get(self, client: httpx.Client, url: str, status: int = 200) -> httpx.Response:
        response = client.get(url)
        assert response.status_code == status, (url, response.status_code, response.text[:500])
        self.bodies[url] = response.text
        return response


def _crawl(site: Site) -> Crawl:
    """Every public page and JSON answer reachable from the lists and from search; each
    page in one of the two languages, in turn."""
    crawl = Crawl()
    codes: set[str] = set()
    langs = itertools.cycle(("zh", "en"))
    with site.client() as client:
        index = crawl.get(client, "/v1/public/lists").json()
        for lang in ("zh", "en"):
            crawl.get(client, f"/lists?lang={lang}")
        for meta in index["lists"]:
            list_id, page, pages = meta["id"], 1, 1
            while page <= pages:
                answer = crawl.get(client, f"/v1/public/lists/{list_id}?per_page=2&page={page}")
                pages = answer.json()["pages"]
                crawl.entries += answer.json()["entries"]
                crawl.get(client, f"/lists/{list_id}?per_page=2&page={page}&lang={next(langs)}")
                page += 1
            crawl.get(client, f"/lists/{list_id}.csv")
            crawl.get(client, f"/v1/public/lists/{list_id}?format=csv")
        for meta in index["not_public"]:
            crawl.get(client, f"/lists/{meta['id']}", 404)
            crawl.get(client, f"/v1/public/lists/{meta['id']}", 404)
        queries = {e["subject"]["name"] for e in crawl.entries if e["subject"]["name"]}
        queries |= {e["subject"]["identifier"] for e in crawl.entries}
        queries |= {"北京", "北京市", COMPANY_NAME, LISTED_NAME}
        for q in sorted(queries):
            answer = crawl.get(client, "/v1/public/search?" + _qs(q)).json()
            crawl.searches[q] = answer
            crawl.get(client, "/search?" + _qs(q) + f"&lang={next(langs)}")
            for r in answer["results"]:
                crawl.entries += r["entries"]
                if r["kind"] != "person":
                    codes.add(r["identifier"])
        codes |= {
            e["subject"]["identifier"] for e in crawl.entries if e["subject"]["kind"] != "person"
        }
        for code in sorted(codes):
            profile = crawl.get(client, f"/v1/public/organisations/{code}").json()
            crawl.profiles[code] = profile
            crawl.entries += profile["lists"]
            crawl.get(client, f"/organisations/{code}?lang={next(langs)}")
    return crawl


def _qs(q: str) -> str:
    return httpx.QueryParams({"q": q}).__str__()


@pytest.fixture(scope="module")
def crawl(site: Site) -> Crawl:
    return _crawl(site)


@SLOW
def test_no_page_shows_a_person_s_identifier_or_anything_outside_the_rules(
    site: Site, crawl: Crawl
) -> None:
    truth = site.truth
    assert len(crawl.bodies) > 50 and len(crawl.profiles) >= 20, "the crawl reached too little"
    leaks = [
        (url, value)
        for url, text in crawl.bodies.items()
        for value in truth.persons | truth.forbidden | {REP}
        if value in text
    ]
    assert not leaks, leaks[:10]
    for entry in crawl.entries:
        subject = entry["subject"]["identifier"]
        assert (entry["list"], subject, entry["listed_on"]) in truth.listed, entry
        for r in entry["records"]:
            assert (
                subject,
                r["category"],
                r["document"],
                r["occurred_on"],
            ) in truth.listed_records, r
    for code, profile in crawl.profiles.items():
        assert profile["subject"]["identifier"] == code
        for group in ("licences", "penalties", "honours", "other_records"):
            for r in profile[group]:
                assert (code, r["category"], r["document"], r["occurred_on"]) in truth.own, r
                assert r["public_until"] > DAY.isoformat()


@SLOW
def test_every_entry_that_may_be_shown_is_shown_once(site: Site, crawl: Crawl) -> None:
    with site.client() as client:
        index = client.get("/v1/public/lists").json()
    assert {m["id"] for m in index["lists"]} == site.truth.public_lists
    assert {m["id"] for m in index["not_public"]} == site.truth.hidden_lists
    assert {m["id"]: m["entries"] for m in index["lists"]} == site.truth.counts
    on_lists = [
        (e["list"], e["subject"]["identifier"], e["listed_on"], e["records"][0]["document"])
        for e in crawl.entries[: sum(site.truth.counts.values())]
    ]
    assert len(on_lists) == len(set(on_lists)) == sum(site.truth.counts.values())
    assert {x[:3] for x in on_lists} == site.truth.listed


@SLOW
def test_a_listed_person_is_found_by_name_and_identifier_masked(site: Site) -> None:
    with site.client() as client:
        for q in (LISTED_NAME, LISTED, LISTED.lower()):
            answer = client.get("/v1/public/search", params={"q": q}).json()
            assert [r["identifier"] for r in answer["results"]] == [mask(LISTED)], (q, answer)
            found = answer["results"][0]
            assert found["name"] == LISTED_NAME and found["kind"] == "person"
            assert [e["list"] for e in found["entries"]] == ["judicial_defaulters"]
            record = found["entries"][0]["records"][0]
            assert record["document"] == "(2026)测执1号"
            details = {d["field"]: d["value"] for d in record["details"]}
            assert details["court"] == "测试法院" and details["situation"] == 2
            assert answer["query"] == (q if q == LISTED_NAME else mask(LISTED))
        for q in (LISTED_NAME, LISTED):  # the page never repeats a resident number unmasked
            page = client.get("/search", params={"q": q, "lang": "en"})
            assert page.status_code == 200 and mask(LISTED) in page.text
            assert LISTED not in page.text


@SLOW
@pytest.mark.parametrize(
    ("who", "queries"),
    [
        ("delisted", (DELISTED, DELISTED_NAME)),
        ("minor", (MINOR, MINOR_NAME)),
        ("legal representative", (REP,)),
    ],
)
def test_a_person_on_no_public_list_cannot_be_found(
    site: Site, who: str, queries: tuple[str, ...]
) -> None:
    with site.client() as client:
        for q in queries:
            answer = client.get("/v1/public/search", params={"q": q})
            assert answer.status_code == 200 and answer.json()["results"] == [], (who, q)
            page = client.get("/search", params={"q": q, "lang": "en"})
            assert "Nothing public matches this search." in page.text
            for hidden in (DELISTED, MINOR, REP):  # not even the query is echoed unmasked
                assert hidden not in page.text
                assert mask(hidden) not in page.text or hidden == q
        # A person has no profile: the page answers as for a code nobody holds.
        for q in queries[:1]:
            assert client.get(f"/v1/public/organisations/{q}").status_code == 404
            assert client.get(f"/organisations/{q}").status_code == 404


@SLOW
def test_an_unlisted_person_of_the_city_cannot_be_found(site: Site) -> None:
    listed = {i for (_, i, _) in site.truth.listed}
    ctx = Context(load_settings(data_dir=site.data))
    with ctx.store.transaction() as conn:
        persons = [i for (i,) in conn.execute(
            "SELECT identifier FROM subjects WHERE kind = 'person' ORDER BY identifier")]  # fmt: skip
    unlisted = [p for p in persons if mask(p) not in listed][:15]
    assert len(unlisted) == 15
    with site.client() as client:
        for p in unlisted:
            assert client.get("/v1/public/search", params={"q": p}).json()["results"] == [], p


@SLOW
def test_the_company_profile_applies_the_publicity_periods(site: Site) -> None:
    with site.client() as client:
        profile = client.get(f"/v1/public/organisations/{COMPANY}").json()
        page = client.get(f"/organisations/{COMPANY}", params={"lang": "en"})
        by_name = client.get("/v1/public/search", params={"q": "公示测试食品"}).json()
    assert profile["subject"] == {
        "kind": "organisation",
        "identifier": COMPANY,
        "name": COMPANY_NAME,
        "region_code": COMPANY[2:8],
        "region": profile["subject"]["region"],
    }
    penalties = {r["document"]: r for r in profile["penalties"]}
    # minor (period 0), expired, revoked and repaired are gone; the correction replaces.
    assert set(penalties) == {"测罚3号", "测罚5号"}
    assert (
        penalties["测罚3号"]["public_until"] == add_months(DAY - dt.timedelta(400), 36).isoformat()
    )
    matter = {d["field"]: d["value"] for d in penalties["测罚5号"]["details"]}["matter"]
    assert matter == NEW_MATTER
    assert [r["document"] for r in profile["licences"]] == ["测许6号"]
    assert [e["list"] for e in profile["lists"]] == ["abnormal_operations"]
    assert all(
        "legal_representative" not in json.dumps(d) for d in profile["registration"]["details"]
    )
    assert {d["field"] for d in profile["registration"]["details"]} == {"sector"}
    # The grade draws on loans and contracts (not public), so it is withheld, saying why.
    assert profile["grades"] and all(g.get("not_public") for g in profile["grades"])
    assert page.status_code == 200
    for text in (COMPANY_NAME, COMPANY, "测罚3号", NEW_MATTER, "测许6号"):
        assert text in page.text
    for gone in ("测罚1号", "测罚2号", "测罚4号", "测罚7号", OLD_MATTER):
        assert gone not in page.text
    assert [r["identifier"] for r in by_name["results"]] == [COMPANY]


@SLOW
def test_disputed_records_are_marked(site: Site, crawl: Crawl) -> None:
    assert "(2026)测执1号" in site.truth.disputed
    marked = {r["document"] for e in crawl.entries for r in e["records"] if r["disputed"]}
    assert marked == site.truth.disputed
    for e in crawl.entries:
        assert e["disputed"] == any(r["disputed"] for r in e["records"])
        assert all(r["dispute_due"] for r in e["records"] if r["disputed"])
    with site.client() as client:
        page = client.get("/search", params={"q": LISTED_NAME, "lang": "en"}).text
        listing = client.get("/lists/judicial_defaulters", params={"lang": "en", "per_page": 200})
    assert "Disputed" in page
    row = next(r for r in listing.text.split("<tr>") if "(2026)测执1号" in r)
    assert "Disputed" in row and "objection to be decided by" in row


@SLOW
def test_csv_downloads_the_whole_filtered_list(site: Site) -> None:
    with site.client() as client:
        whole = client.get("/lists/judicial_defaulters.csv")
        same = client.get("/v1/public/lists/judicial_defaulters", params={"format": "csv"})
        total = client.get("/v1/public/lists/judicial_defaulters").json()["total"]
        region = LISTED[:4]
        part = client.get("/lists/judicial_defaulters.csv", params={"region": region})
        since = client.get("/lists/judicial_defaulters.csv", params={"from": _on(30)})
        hidden = client.get("/lists/consumption_restricted.csv")
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("text/csv")
    assert "attachment" in whole.headers["content-disposition"]
    assert whole.content == same.content
    rows = list(csv.DictReader(io.StringIO(whole.content.decode("utf-8-sig"))))
    assert len(rows) == total == site.truth.counts["judicial_defaulters"]
    mine = next(r for r in rows if r["document"] == "(2026)测执1号")
    assert mine["name"] == LISTED_NAME and mine["identifier"] == mask(LISTED)
    assert mine["court"] == "测试法院" and mine["obligation"] == "支付货款"
    assert mine["situation"] == "2" and mine["listed_on"] == _on(10) and mine["disputed"] == "yes"
    regional = list(csv.DictReader(io.StringIO(part.content.decode("utf-8-sig"))))
    assert mine["document"] in {r["document"] for r in regional}
    assert all(r["region_code"].startswith(region) for r in regional)
    recent = list(csv.DictReader(io.StringIO(since.content.decode("utf-8-sig"))))
    assert recent and all(r["listed_on"] >= _on(30) for r in recent)
    assert len(recent) < len(rows)
    assert hidden.status_code == 404


@SLOW
def test_pages_filters_and_errors(site: Site) -> None:
    with site.client() as client:
        pages = [
            client.get("/v1/public/lists/judicial_defaulters", params={"per_page": 1, "page": n})
            for n in (1, 2)
        ]
        bad = [
            client.get("/v1/public/lists/judicial_defaulters", params=p)
            for p in ({"page": 0}, {"per_page": 201}, {"region": "11a"}, {"from": "2026-13-01"})
        ]
        no_query = client.get("/v1/public/search")
        long_query = client.get("/v1/public/search", params={"q": "x" * 101})
        nul = client.get("/v1/public/search", params={"q": "a\x00b"})
        short = client.get("/v1/public/search", params={"q": "王"}).json()
        unknown = client.get("/v1/public/lists/nothing")
        bad_page = client.get("/lists/judicial_defaulters", params={"page": "x", "lang": "en"})
        hostile = client.get("/search", params={"q": '"><script>alert(1)</script>'})
    first, second = (p.json() for p in pages)
    assert first["total"] == second["total"] >= 2 and first["pages"] == first["total"]
    assert first["entries"] != second["entries"]
    for response in (*bad, no_query, long_query, nul):
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "parameter_invalid"
    assert short["too_short"] and short["results"] == []
    assert unknown.status_code == 404 and unknown.json()["code"] == "list_unknown"
    assert bad_page.status_code == 422 and "text/html" in bad_page.headers["content-type"]
    assert hostile.status_code == 200 and "<script" not in hostile.text
    assert "&lt;script&gt;" in hostile.text


@SLOW
def test_pages_have_no_script_and_label_their_parts(site: Site, crawl: Crawl) -> None:
    pages = {u: t for u, t in crawl.bodies.items() if not u.startswith("/v1/") and ".csv" not in u}
    assert pages
    for url, text in pages.items():
        assert "<script" not in text, url
        assert re.search(r'<html lang="(zh-Hans-CN|en)"', text), url
        for table in re.findall(r"<table>.*?</table>", text, flags=re.S):
            assert "<caption>" in table and 'scope="col"' in table, url
        inputs = re.findall(r'<(?:input|select) id="([^"]+)"', text)
        for name in inputs:
            assert f'<label for="{name}">' in text, (url, name)
        levels = [int(h) for h in re.findall(r"<h([1-6])", text)]
        assert levels and levels[0] == 1
        assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), (url, levels)


def test_every_data_label_a_page_can_show_has_a_chinese_translation() -> None:
    settings = load_settings()
    catalog, policy = load_catalog(settings.catalog), load_policy(settings.policy)
    zh = i18n.translations("zh")
    wanted = set()
    for rule in policy.lists.values():
        wanted |= {rule.label, rule.description}
    for score in policy.scores.values():
        wanted |= {score.label} | {g.label for g in score.grades if g.label}
    for cat in catalog.categories.values():
        wanted.add(cat.label)
        if cat.publicity.class_ != "public":
            continue
        for name, spec in cat.details.items():
            if spec.type != "identifier" and not spec.protected:
                wanted.add(humanise(name))
                wanted |= {humanise(v) for v in spec.values}
    missing = sorted(m for m in wanted if m and zh.gettext(m) == m)
    assert not missing, missing


@SLOW
def test_json_answers_hold_no_pseudonymous_key(site: Site, crawl: Crawl) -> None:
    """Subject keys link a person across sources: no answer carries one."""
    ctx = Context(load_settings(data_dir=site.data))
    with ctx.store.transaction() as conn:
        keys = [k for (k,) in conn.execute("SELECT subject_key FROM subjects")]
    text = "\n".join(crawl.bodies.values())
    assert not [k for k in keys if k in text]
    assert orjson.loads(crawl.bodies["/v1/public/lists"])  # the crawl saw JSON, not only pages


def test_the_rules_hold_on_both_stores(ledger: Ledger) -> None:  # noqa: F811
    """The same queries on DuckDB and PostgreSQL (portable SQL), in-process."""
    ledger.add("court", *_court_records())
    ledger.add("market_regulator", *_regulator_records())
    ledger.evaluate(as_of=None)
    service = Service(ledger.ctx)
    index = public_index.lists_index(service)
    counts = {m["id"]: m["entries"] for m in index["lists"]}
    assert counts == {
        "judicial_defaulters": 1,
        "abnormal_operations": 1,
        "serious_illegal": 0,
        "major_tax_violation": 0,
        "city_honour_roll": 0,
    }
    assert {m["id"] for m in index["not_public"]} == {"consumption_restricted", "tax_a_level"}
    court = public_index.list_page(service, "judicial_defaulters", public.ListQuery(region="1101"))
    assert [e["subject"]["identifier"] for e in court["entries"]] == [mask(LISTED)]
    assert court["regions"] == [{"code": LISTED[:6], "name": court["regions"][0]["name"]}]
    assert (
        public_index.list_page(service, "judicial_defaulters", public.ListQuery(region="44"))["entries"]
        == []
    )
    for q in (LISTED, LISTED_NAME):
        assert [r["identifier"] for r in public_index.search(service, q)["results"]] == [mask(LISTED)]
    for q in (DELISTED, DELISTED_NAME, MINOR, MINOR_NAME, REP):
        assert public_index.search(service, q)["results"] == [], q
    profile = public_index.organisation(service, COMPANY)
    assert {r["document"] for r in profile["penalties"]} == {"测罚3号", "测罚5号"}
    assert [r["document"] for r in profile["licences"]] == ["测许6号"]
    assert [e["list"] for e in profile["lists"]] == ["abnormal_operations"]
    lines = "".join(public_index.list_csv(service, "judicial_defaulters", public.ListQuery()))
    assert mask(LISTED) in lines and LISTED not in lines
