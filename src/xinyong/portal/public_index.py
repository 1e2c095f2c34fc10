"""What the public may see, held in memory: every shown list entry, every public body with
its registration, records and grades, and the names to search. Built from the store with
the rules of ``portal.public`` in a few bulk queries, and rebuilt when the service sees the
store change (a merge, an evaluation, an objection) or a new day begins, so that search,
lists and profiles answer from memory in a millisecond instead of planning the publicity
checks against the store on every request.

On PostgreSQL the service cannot tell a change from the file, so the index is rebuilt at
most every ``PG_REFRESH`` seconds after the service polled."""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from xinyong.clock import today
from xinyong.decisions.service import Service
from xinyong.errors import InvalidIdentifier, NotFound
from xinyong.ids import parse_subject, subject_key
from xinyong.ids.regions import region_name
from xinyong.ledger.objections import open_disputes
from xinyong.policy.model import ListRule
from xinyong.portal.public import (
    CSV_CHUNK,
    HONOUR,
    MAX_RESULTS,
    MIN_NAME,
    PUBLIC_BODIES,
    ListQuery,
    Row,
    Rules,
    _body_records,
    _entries,
    _invalid,
    _labels,
    _list_meta,
    _public,
    _public_list,
    _registration,
    _registrations,
    _rules,
    _subject,
    clean_query,
    csv_cell,
    csv_columns,
    csv_line,
    shown_query,
)

R = TypeVar("R")
PG_REFRESH = 10.0  # seconds
MAX_AGE = 300.0  # seconds: rebuilt at least this often, whatever the service saw


@dataclass
class PublicIndex:
    rules: Rules
    version: tuple[Any, ...]
    built: float
    entries: list[Row]  # every shown entry, newest listing first (with its _key)
    by_key: dict[str, list[Row]] = field(default_factory=dict)
    bodies: dict[str, Row] = field(default_factory=dict)  # key -> subjects row
    registrations: dict[str, Row] = field(default_factory=dict)
    records: dict[str, list[Row]] = field(default_factory=dict)
    grades: dict[tuple[str, str], str | None] = field(default_factory=dict)
    # Every searchable name, lower-case, one per line in one string (a substring search of
    # all of them is one C-speed scan), with each line's start and subject key.
    blob: str = ""
    starts: list[int] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def named(self, text: str) -> set[str]:
        """Keys of the subjects one of whose names holds ``text`` (already lower-case)."""
        found: set[str] = set()
        at = self.blob.find(text)
        while at >= 0:
            line = bisect.bisect_right(self.starts, at) - 1
            found.add(self.keys[line])
            at = self.blob.find(
                text, self.starts[line + 1] if line + 1 < len(self.starts) else len(self.blob)
            )
        return found


def _build(service: Service, version: tuple[Any, ...]) -> PublicIndex:
    with service.store_lock, service.ctx.store.transaction() as conn:
        rules = _rules(service, conn)
        disputes = open_disputes(conn)
        registrations = _registrations(conn, None)
        names = {k: str(r["name"]) for k, r in registrations.items() if r.get("name")}
        entries = _entries(conn, rules, list(rules.public_lists), names=names, disputes=disputes)
        bodies = {
            row["subject_key"]: row
            for row in conn.dicts(
                "SELECT subject_key, identifier, kind, region_code FROM subjects"
                " WHERE kind IN ('organisation', 'agency')"
            )
        }
        records = _body_records(conn, rules, disputes)
        public_scores = [i for i, s in rules.policy.scores.items() if rules.score_public(s)]
        grades: dict[tuple[str, str], str | None] = {}
        if public_scores:
            marks = ", ".join("?" for _ in public_scores)
            for key, score_id, grade in conn.execute(
                f"SELECT subject_key, score_id, grade FROM scores WHERE run_id = ?"
                f" AND score_id IN ({marks})",
                [rules.run_id, *public_scores],
            ):
                grades[(str(key), str(score_id))] = grade
    index = PublicIndex(
        rules, version, time.monotonic(), [_public(e) | {"_key": e["_key"]} for e in entries]
    )
    for e in index.entries:
        index.by_key.setdefault(e["_key"], []).append(_public(e))
    index.bodies = bodies
    index.registrations = {k: r for k, r in registrations.items() if k in bodies}
    index.records = records
    index.grades = grades
    searchable: set[tuple[str, str]] = {(n.lower(), k) for k, n in names.items() if k in bodies}
    for e in index.entries:
        for r in e["records"]:
            if r["name"]:
                searchable.add((r["name"].lower(), e["_key"]))
    # A query holds no line break (clean_query collapses white space), so none spans two names.
    lines = sorted((" ".join(name.split()), key) for name, key in searchable)
    offset = 0
    for name, key in lines:
        index.starts.append(offset)
        index.keys.append(key)
        offset += len(name) + 1
    index.blob = "".join(f"{name}\n" for name, _key in lines)
    return index


_INDEXES: weakref.WeakKeyDictionary[Service, PublicIndex] = weakref.WeakKeyDictionary()
_BUILDING = threading.Lock()


def _version(service: Service) -> tuple[Any, ...]:
    return (service.refreshes, service.snapshot.run_id, today(service.settings.timezone))


def current(service: Service) -> PublicIndex:
    """The index for the store as the service last saw it (built on first use, rebuilt after
    a change; requests that arrive meanwhile wait for the one build)."""
    found = _INDEXES.get(service)
    if found is not None and _fresh(service, found):
        return found
    with _BUILDING:
        found = _INDEXES.get(service)
        if found is not None and _fresh(service, found):
            return found
        built = _build(service, _version(service))
        _INDEXES[service] = built
        return built


def stamp(service: Service) -> object:
    """What names the data of the index in use (for caching pages made from it); None
    before the first build."""
    found = _INDEXES.get(service)
    return (found.version, found.built) if found is not None else None


async def answer(function: Callable[..., R], service: Service, *args: Any) -> R:
    """``function(service, *args)``: on the event loop when the index is fresh (it answers
    from memory in well under a millisecond, less than a hop to a thread costs), in a
    thread when the index must be built first (that reads the store for seconds)."""
    found = _INDEXES.get(service)
    if found is not None and _fresh(service, found):
        return function(service, *args)
    return await run_in_threadpool(function, service, *args)


def _fresh(service: Service, index: PublicIndex) -> bool:
    age = time.monotonic() - index.built
    if age > MAX_AGE:
        return False
    wanted = _version(service)
    if wanted == index.version:
        return True
    if wanted[1:] != index.version[1:]:
        return False  # another evaluation run or another day
    # Only the refresh count moved: a real change on the embedded store; on PostgreSQL
    # every poll counts, so rebuild only now and then.
    return service.ctx.store.name == "postgres" and age < PG_REFRESH


# -- what the portal and the API serve -----------------------------------------------------------


def lists_index(service: Service) -> Row:
    """Every list of the policy: the public ones with how many entries are shown, the others
    with the categories that keep them from the public."""
    index = current(service)
    rules = index.rules
    counts: dict[str, int] = {}
    for e in index.entries:
        counts[e["list"]] = counts.get(e["list"], 0) + 1
    public, withheld = [], []
    for list_id, rule in rules.policy.lists.items():
        meta = _list_meta(rules, list_id, rule)
        if list_id in rules.public_lists:
            public.append({**meta, "entries": counts.get(list_id, 0)})
        else:
            withheld.append({**meta, "not_public": _labels(rules, rules.list_withheld(rule))})
    return {"as_of": rules.day.isoformat(), "lists": public, "not_public": withheld}


def public_list(service: Service, list_id: str) -> ListRule:
    """The rule of a public list; raises NotFound for a list that is unknown or not public."""
    return _public_list(current(service).rules, list_id)


def _filtered(index: PublicIndex, list_id: str, query: ListQuery) -> tuple[list[Row], list[str]]:
    """The list's entries that the filters leave, and the regions of its entries before the
    region filter (for its choices)."""
    dated = [
        e
        for e in index.entries
        if e["list"] == list_id
        and (query.listed_from is None or (e["listed_on"] or "") >= query.listed_from.isoformat())
        and (query.listed_to is None or (e["listed_on"] or "") <= query.listed_to.isoformat())
    ]
    regions = sorted({e["subject"]["region_code"] for e in dated if e["subject"]["region_code"]})
    prefix = query.region or ""
    return [e for e in dated if (e["subject"]["region_code"] or "").startswith(prefix)], regions


def list_page(service: Service, list_id: str, query: ListQuery) -> Row:
    """One page of a public list, newest listings first."""
    index = current(service)
    rules = index.rules
    rule = _public_list(rules, list_id)
    shown, regions = _filtered(index, list_id, query)
    offset = (query.page - 1) * query.per_page
    total = len(shown)
    return {
        "as_of": rules.day.isoformat(),
        "list": _list_meta(rules, list_id, rule),
        "filters": query.filters(),
        "page": query.page,
        "per_page": query.per_page,
        "total": total,
        "pages": max(1, -(-total // query.per_page)),
        "entries": [_public(e) for e in shown[offset : offset + query.per_page]],
        "regions": [{"code": c, "name": region_name(c)} for c in regions],
    }


def list_csv(service: Service, list_id: str, query: ListQuery) -> Iterator[str]:
    """The whole filtered list as CSV text, in chunks of lines (a BOM first, so spreadsheets
    read UTF-8). Cells a spreadsheet would run as a formula are quoted with an apostrophe."""
    index = current(service)
    _public_list(index.rules, list_id)
    columns = csv_columns(service.ctx.catalog, service.policy.lists[list_id])
    shown, _regions = _filtered(index, list_id, query)
    yield "\ufeff" + csv_line(columns)
    for start in range(0, len(shown), CSV_CHUNK):
        yield "".join(
            csv_line([csv_cell(e, c) for c in columns]) for e in shown[start : start + CSV_CHUNK]
        )


def search(service: Service, raw: str | None) -> Row:
    """Organisations and agencies by registered name or unified code; persons on a public
    list by the name the listing publishes or by their exact identifier (and nobody else)."""
    q = clean_query(raw)
    if not q:
        raise _invalid("q", "a name or identifier (1 to 100 characters)")
    identifier: str | None = None
    with contextlib.suppress(InvalidIdentifier):
        identifier = parse_subject(q).identifier
    index = current(service)
    keys: set[str] = set()
    if identifier is not None:
        keys.add(subject_key(service.secret, identifier))
    elif len(q) >= MIN_NAME:
        wanted = q.lower()
        keys = index.named(wanted)
    found = []
    for key in keys:
        own = index.by_key.get(key, [])
        body = index.bodies.get(key)
        if body is None and not own:
            continue  # a person on no public list does not exist here
        registered = index.registrations.get(key, {}).get("name")
        published = sorted({e["subject"]["name"] for e in own if e["subject"]["name"]})
        subject = own[0]["subject"] if body is None else _subject(body, registered)
        if body is None:
            subject = {**subject, "name": subject["name"] or (published[0] if published else None)}
        found.append({**subject, "entries": own})
    found.sort(key=lambda r: (r["kind"] != "person", r["name"] or "", r["identifier"]))
    return {
        "query": shown_query(q),
        "as_of": index.rules.day.isoformat(),
        "results": found[:MAX_RESULTS],
        "more": len(found) > MAX_RESULTS,
        "too_short": identifier is None and len(q) < MIN_NAME,
    }


def organisation(service: Service, code: str) -> Row:
    """The public profile of an organisation or agency; a person has none (404, as for a code
    nobody holds)."""
    missing = NotFound(
        f"No organisation or agency has the code {code[:40]!r}.", code="organisation_unknown"
    )
    try:
        parsed = parse_subject(code)
    except InvalidIdentifier:
        raise missing from None
    if parsed.kind not in PUBLIC_BODIES:
        raise missing
    key = subject_key(service.secret, parsed.identifier)
    index = current(service)
    body = index.bodies.get(key)
    if body is None:
        raise missing
    rules = index.rules
    registration = index.registrations.get(key, {})
    records = index.records.get(key, [])
    kinds = ("administrative.license", "administrative.penalty", HONOUR)
    return {
        "as_of": rules.day.isoformat(),
        "subject": _subject(body, registration.get("name")),
        "registration": _registration(rules, registration),
        "grades": _grades(index, key),
        "lists": index.by_key.get(key, []),
        "licences": [r for r in records if r["category"] == "administrative.license"],
        "penalties": [r for r in records if r["category"] == "administrative.penalty"],
        "honours": [r for r in records if r["category"] == HONOUR],
        "other_records": [r for r in records if r["category"] not in kinds],
    }


def _grades(index: PublicIndex, key: str) -> list[Row]:
    """Each score of public bodies: its grade when every category it reads is public,
    otherwise why it is not shown."""
    rules = index.rules
    out = []
    for score_id, score in rules.policy.scores.items():
        if not set(score.subject_kinds) & set(PUBLIC_BODIES):
            continue
        entry: Row = {"score": score_id, "label": score.label, "legal_basis": score.legal_basis}
        if not rules.score_public(score):
            read = sorted({r.category for r in score.rules})
            entry["not_public"] = _labels(rules, [c for c in read if not rules.category_public(c)])
        else:
            grade = index.grades.get((key, score_id))
            band = next((g for g in score.grades if g.grade == grade), None)
            entry.update(grade=grade, grade_label=band.label if band else None)
        out.append(entry)
    return out
