"""Public disclosure: what anyone may see, in one place. Search, the public lists and an
organisation's profile, served as pages by the portal and as JSON by the API.

The rules (``Rules``) decide everything that is shown:

- A category is public when the catalogue gives it publicity class ``public``. Its
  publicity period (``period_months``, or by ``period_by`` the value of one detail) runs
  from the record's date (the decision date). A period of 0 means public only while in
  force, which only a listing is: such a record is never shown on its own (the NDRC tiers
  publish minor penalties "normally not").
- A declared list is public when its entry category is public; a computed list when every
  category its conditions read is public. An entry is shown while it is active: the list's
  term and its exits are the period of publication the law sets for it (a court's listing
  in situation 1 is published until it is deleted). Never for a minor: a minor's listing is
  refused by the ``never`` ground and never active, and a person under 18 today, or a record
  made while its person was under 18, is never shown.
- A record is shown only while it is current (not revoked or superseded), not repaired (a
  ``credit.repair.granted`` of its source names it or its case), not flagged by a ``never``
  ground, and, on its own, within its period. A listing's entry and exit records are shown
  only through the list, so a deleted listing never reappears as a record.
- A person is findable only through a shown list entry, by exact identifier or by the name
  the listing publishes, and always with the identifier masked. Organisations and agencies
  are public bodies: their unified code and registered name are shown whole.
- A score (grade) is shown only when every category its rules read is public, as for a
  computed list: a grade drawn from loans or contracts would disclose them.

All SQL is portable (DuckDB and PostgreSQL): values from requests travel as ``?``
parameters; the rules' own constants are written with ``sql.literal``.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson

from xinyong.catalog.model import Catalog, Category
from xinyong.clock import today
from xinyong.decisions.service import Service
from xinyong.errors import InvalidIdentifier, NotFound, RequestInvalid
from xinyong.ids import parse_subject
from xinyong.ids.masking import mask
from xinyong.ids.regions import region_name
from xinyong.ledger.objections import open_disputes
from xinyong.policy.model import ListRule, Policy, Score
from xinyong.process.calendar import add_months
from xinyong.sql import literal, literal_list
from xinyong.state.runs import require_current
from xinyong.store.base import Connection

REGISTRATION = "administrative.registration"
REPAIR = "credit.repair.granted"
HONOUR = "social.honor"
PUBLIC_BODIES = ("organisation", "agency")
MAX_PER_PAGE = 200
PER_PAGE = 50
MAX_RESULTS = 50  # search results shown; a longer query narrows them
MIN_NAME = 2  # characters of a name query
MAX_QUERY = 100
CSV_CHUNK = 5000
ADULT_MONTHS = 18 * 12
CODE = re.compile(r"[a-z][a-z0-9_]*")
Row = dict[str, Any]


def list_reads(rule: ListRule) -> list[str]:
    """The categories whose records put a subject on the list."""
    if rule.declared is not None:
        return [rule.declared.entry]
    assert rule.computed is not None
    return sorted({c.category for c in rule.computed.conditions})


def humanise(code: str) -> str:
    """``term_months`` -> ``Term months``: the English label of a detail field or value (the
    msgid that data.po translates)."""
    text = str(code).replace("_", " ")
    return text[:1].upper() + text[1:]


class Rules:
    """The publicity rules of one catalogue and policy, applied as of ``day`` to the state of
    evaluation run ``run_id``."""

    def __init__(self, catalog: Catalog, policy: Policy, day: dt.date, run_id: int) -> None:
        self.catalog, self.policy, self.day, self.run_id = catalog, policy, day, run_id

    def category_public(self, code: str) -> bool:
        cat = self.catalog.category(code)
        return cat is not None and cat.publicity.class_ == "public"

    def list_withheld(self, rule: ListRule) -> list[str]:
        """The categories that keep the list from being public (none: it is public)."""
        return [c for c in list_reads(rule) if not self.category_public(c)]

    @cached_property
    def public_lists(self) -> dict[str, ListRule]:
        return {i: r for i, r in self.policy.lists.items() if not self.list_withheld(r)}

    def score_public(self, score: Score) -> bool:
        read = {r.category for r in score.rules} | {c for r in score.rules for c in r.ended_by}
        return all(self.category_public(c) for c in read)

    @cached_property
    def record_categories(self) -> list[str]:
        """Public categories shown as records of their own (not through a list)."""
        through_lists = {REGISTRATION, REPAIR}
        for rule in self.policy.lists.values():
            if rule.declared is not None:
                through_lists.update([rule.declared.entry, *rule.declared.exits])
        return sorted(
            c for c in self.catalog.categories if self.category_public(c) and c not in through_lists
        )

    def public_until(
        self, category: str, details: Mapping[str, Any], on: dt.date
    ) -> dt.date | None:
        """The day a record stops being public; None for a period of 0 (while in force)."""
        months = self.period(self.catalog.categories[category], details)
        return add_months(on, months) if months else None

    @staticmethod
    def period(cat: Category, details: Mapping[str, Any]) -> int:
        by = cat.publicity.period_by
        if by is not None and str(details.get(by.field)) in by.months:
            return by.months[str(details[by.field])]
        return cat.publicity.period_months

    # -- the same rules as SQL ---------------------------------------------------------------

    def public_until_sql(self, r: str = "r") -> str:
        """The record's end of publicity (NULL for a period of 0 or a category not public),
        as the SQL twin of ``public_until``; both count months as ``add_months`` does."""

        def end(months: int) -> str:
            if not months:
                return "CAST(NULL AS DATE)"
            return f"CAST({r}.occurred_on + INTERVAL {literal(f'{months} months')} AS DATE)"

        whens = []
        for code, cat in sorted(self.catalog.categories.items()):
            if cat.publicity.class_ != "public":
                continue
            p, by = cat.publicity, cat.publicity.period_by
            value = end(p.period_months)
            if by is not None:
                field = f"(CAST({r}.details AS JSON) ->> {literal(by.field)})"
                cases = " ".join(f"WHEN {literal(k)} THEN {end(v)}" for k, v in by.months.items())
                value = f"CASE {field} {cases} ELSE {value} END"
            whens.append(f"WHEN {literal(code)} THEN {value}")
        return f"(CASE {r}.category {' '.join(whens)} ELSE CAST(NULL AS DATE) END)"

    def shown_sql(self, r: str, s: str, *, listed: bool) -> str:
        """Record ``r`` of subject ``s`` may be shown: on a list (``listed``: while its entry
        is active) or on its own (within its period; a period of 0 is never shown)."""
        today_ = literal(self.day)
        categories = self.list_categories() if listed else self.record_categories
        period = "TRUE" if listed else f"{self.public_until_sql(r)} > {today_}"
        return f"""{r}.category IN {literal_list(categories)} AND {period}
  AND {r}.occurred_on <= {today_} AND {r}.action <> 'revoke'
  AND NOT EXISTS (SELECT 1 FROM records x WHERE x.source_id = {r}.source_id
                  AND x.supersedes = {r}.source_record_id AND x.event_id > {r}.event_id)
  AND NOT EXISTS (SELECT 1 FROM records x WHERE x.source_id = {r}.source_id
                  AND x.source_record_id = {r}.source_record_id AND x.event_id > {r}.event_id)
  AND NOT EXISTS (SELECT 1 FROM records g WHERE g.subject_key = {r}.subject_key
                  AND g.source_id = {r}.source_id AND g.category = {literal(REPAIR)}
                  AND g.action <> 'revoke' AND g.occurred_on <= {today_}
                  AND (g.document = {r}.document
                       OR (CAST(g.details AS JSON) ->> 'repaired') = {r}.source_record_id)
                  AND NOT EXISTS (SELECT 1 FROM records y WHERE y.source_id = g.source_id
                                  AND y.event_id > g.event_id
                                  AND (y.supersedes = g.source_record_id
                                       OR y.source_record_id = g.source_record_id)))
  AND NOT EXISTS (SELECT 1 FROM record_flags f WHERE f.run_id = {literal(self.run_id)}
                  AND f.event_id = {r}.event_id)
  AND ({s}.kind <> 'person'
       OR CAST({s}.birth_date + INTERVAL '{ADULT_MONTHS} months' AS DATE) <= {r}.occurred_on)"""

    def list_categories(self) -> list[str]:
        return sorted({c for rule in self.public_lists.values() for c in list_reads(rule)})

    def adult_sql(self, s: str) -> str:
        """A public body, or a person 18 or older today (a minor is never shown)."""
        born_by = literal(add_months(self.day, -ADULT_MONTHS))
        return f"({s}.kind <> 'person' OR ({s}.birth_date IS NOT NULL AND {s}.birth_date <= {born_by}))"


# -- reading the store ------------------------------------------------------------------------


def _rules(service: Service, conn: Connection) -> Rules:
    run = require_current(conn, service.policy)
    day = today(service.settings.timezone)
    return Rules(service.ctx.catalog, service.policy, day, int(run["run_id"]))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _details(cat: Category | None, raw: str | dict[str, Any]) -> list[Row]:
    """The details a category declares that may be published: never an identifier (a
    person's key) nor a protected attribute (ownership), never a field it does not declare."""
    values = orjson.loads(raw) if isinstance(raw, str) else raw
    if cat is None:
        return []
    out = []
    for name, spec in cat.details.items():
        value = values.get(name)
        if value is None or value == "" or spec.type == "identifier" or spec.protected:
            continue
        # Enum values and code-like strings (a sector such as "food") are labels to translate.
        code = spec.type == "enum" or (isinstance(value, str) and CODE.fullmatch(value) is not None)
        out.append(
            {
                "field": name,
                "label": humanise(name),
                "value": value,
                "text": humanise(str(value)) if code else str(value),
                "translate": code,
            }
        )
    return out


def _record(rules: Rules, row: Row, disputes: Mapping[int, Any]) -> Row:
    cat = rules.catalog.category(row["category"])
    details = orjson.loads(row["details"])
    dispute = disputes.get(int(row["event_id"]))
    return {
        "category": row["category"],
        "label": cat.label if cat else row["category"],
        "occurred_on": _iso(row["occurred_on"]),
        "document": row["document"],
        "amount": str(row["amount"]) if row["amount"] is not None else None,
        "legal_basis": row["legal_basis"] or (cat.legal_basis if cat else None),
        "details": _details(cat, details),
        "name": details.get("name") if isinstance(details.get("name"), str) else None,
        "public_until": _iso(row["public_until"]),
        "disputed": dispute is not None,
        "dispute_due": _iso(dispute.due_on) if dispute else None,
    }


def _subject(row: Row, name: str | None) -> Row:
    public_body = row["kind"] in PUBLIC_BODIES
    code = row["region_code"] or ""
    return {
        "kind": row["kind"],
        "identifier": row["identifier"] if public_body else mask(row["identifier"]),
        "name": name,
        "region_code": code or None,
        "region": region_name(code) if code else None,
    }


@dataclass(frozen=True)
class ListQuery:
    """Filters and page of a list: region (a prefix of the 6-digit region code) and the
    date of listing."""

    region: str | None = None
    listed_from: dt.date | None = None
    listed_to: dt.date | None = None
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ListQuery:
        region = (params.get("region") or "").strip() or None
        if region is not None and not re.fullmatch(r"[0-9]{2,6}", region):
            raise _invalid("region", "a region code or its first digits (2 to 6 digits)")
        return cls(
            region,
            _date(params, "from"),
            _date(params, "to"),
            _int(params, "page", 1, 1, 1_000_000),
            _int(params, "per_page", PER_PAGE, 1, MAX_PER_PAGE),
        )

    def filters(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "from": _iso(self.listed_from),
            "to": _iso(self.listed_to),
        }


def _invalid(name: str, wanted: str) -> RequestInvalid:
    return RequestInvalid(f"Query parameter {name!r} must be {wanted}.", code="parameter_invalid")


def _int(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or not low <= int(raw) <= high:
        raise _invalid(name, f"an integer from {low} to {high}")
    return int(raw)


def _date(params: Mapping[str, str], name: str) -> dt.date | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise _invalid(name, "a date (YYYY-MM-DD)") from None


# -- list entries -------------------------------------------------------------------------------


def _entries_where(
    rules: Rules,
    lists: list[str],
    query: ListQuery | None,
    keys: list[str] | None,
    *,
    region: bool = True,
    evidence: bool = True,
) -> tuple[str, list[Any]]:
    """Entries shown: public list, active today, an adult or a public body, and (with
    ``evidence``; otherwise the caller checks) a record that may be shown, for a declared
    list its entry record. ``region`` False leaves the region filter out."""
    day = literal(rules.day)
    where = f"""e.run_id = {literal(rules.run_id)} AND e.list_id IN {literal_list(lists)}
  AND e.status = 'active' AND (e.entered_on IS NULL OR e.entered_on <= {day})
  AND (e.ends_on IS NULL OR e.ends_on > {day}) AND {rules.adult_sql("s")}"""
    if evidence:
        where += f"""
  AND EXISTS (SELECT 1 FROM list_evidence v JOIN records r ON r.event_id = v.event_id
              WHERE v.run_id = e.run_id AND v.subject_key = e.subject_key
                AND v.entry_id = e.entry_id AND v.role IN ('entry', 'condition')
                AND {rules.shown_sql("r", "s", listed=True)})"""
    params: list[Any] = []
    if keys is not None:
        where += f" AND e.subject_key IN ({', '.join('?' for _ in keys) or 'NULL'})"
        params += keys
    if query is not None:
        if query.region and region:
            where += " AND s.region_code LIKE ?"
            params.append(query.region + "%")
        if query.listed_from:
            where += " AND e.entered_on >= ?"
            params.append(query.listed_from)
        if query.listed_to:
            where += " AND e.entered_on <= ?"
            params.append(query.listed_to)
    return where, params


_ENTRY_FROM = "FROM list_entries e JOIN subjects s ON s.subject_key = e.subject_key"


def _entries(
    conn: Connection,
    rules: Rules,
    lists: list[str],
    *,
    query: ListQuery | None = None,
    keys: list[str] | None = None,
    limit: int | None = None,
    offset: int = 0,
    names: dict[str, str] | None = None,
    disputes: Mapping[int, Any] | None = None,
) -> list[Row]:
    """Entries with their shown records, newest first. A page (``limit``) is chosen in SQL;
    without one, entries with no record to show are dropped here (one costly test fewer)."""
    if not lists or keys == []:
        return []
    paged = limit is not None
    where, params = _entries_where(rules, lists, query, keys, evidence=paged)
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = conn.dicts(
        "SELECT e.list_id, e.entry_id, e.subject_key, e.entered_on, e.ends_on, s.identifier,"
        f" s.kind, s.region_code {_ENTRY_FROM} WHERE {where}"
        f" ORDER BY e.entered_on DESC, e.list_id, e.entry_id{page}",
        params,
    )
    if not rows:
        return []
    evidence: list[Row] = []
    for start in range(0, len(rows), 1000):  # the whole index asks for every entry
        chunk = rows[start : start + 1000]
        evidence += conn.dicts(
            "SELECT v.entry_id, r.event_id, r.category, r.occurred_on, r.amount, r.document,"
            " r.legal_basis, r.details, CAST(NULL AS DATE) AS public_until"
            " FROM list_evidence v JOIN records r ON r.event_id = v.event_id"
            " JOIN subjects s ON s.subject_key = v.subject_key"
            f" WHERE v.run_id = {literal(rules.run_id)} AND v.role IN ('entry', 'condition')"
            f" AND v.entry_id IN ({', '.join('?' for _ in chunk)})"
            f" AND {rules.shown_sql('r', 's', listed=True)}"
            " ORDER BY r.occurred_on DESC, r.event_id DESC",
            [r["entry_id"] for r in chunk],
        )
    if disputes is None:
        disputes = open_disputes(conn, sorted({r["subject_key"] for r in rows}))
    if names is None:
        bodies = [r["subject_key"] for r in rows if r["kind"] in PUBLIC_BODIES]
        names = _registered_names(conn, bodies)
    by_entry: dict[str, list[Row]] = {}
    for ev in evidence:
        by_entry.setdefault(ev["entry_id"], []).append(_record(rules, ev, disputes))
    out = []
    for row in rows:
        records = by_entry.get(row["entry_id"], [])
        if not records:
            continue  # nothing of it may be shown (a paged query never returns these)
        rule = rules.policy.lists[row["list_id"]]
        published = next((r["name"] for r in records if r["name"]), None)
        out.append(
            {
                "list": row["list_id"],
                "list_label": rule.label,
                "list_kind": rule.kind,
                "subject": _subject(row, names.get(row["subject_key"]) or published),
                "listed_on": _iso(row["entered_on"]),
                "ends_on": _iso(row["ends_on"]),
                "public_until": _iso(row["ends_on"]),  # None: until it is removed
                "legal_basis": rule.legal_basis,
                "records": records,
                "disputed": any(r["disputed"] for r in records),
                "_key": row["subject_key"],
            }
        )
    return out


def _registered_names(conn: Connection, keys: list[str]) -> dict[str, str]:
    """Registered names of organisations and agencies: the latest current registration's."""
    return {k: str(r["name"]) for k, r in _registrations(conn, keys).items() if r.get("name")}


def _registrations(conn: Connection, keys: list[str] | None) -> dict[str, Row]:
    """The latest current registration of each of ``keys`` (None: of every subject)."""
    if keys is not None:
        keys = sorted(set(keys))
        if not keys:
            return {}
    among = f" AND r.subject_key IN ({', '.join('?' for _ in keys)})" if keys is not None else ""
    rows = conn.dicts(
        "SELECT r.subject_key, r.event_id, r.occurred_on, r.details FROM records r"
        f" WHERE r.category = {literal(REGISTRATION)} AND r.action <> 'revoke'{among}"
        " AND NOT EXISTS (SELECT 1 FROM records x WHERE x.source_id = r.source_id"
        " AND x.supersedes = r.source_record_id AND x.event_id > r.event_id)"
        " AND NOT EXISTS (SELECT 1 FROM records x WHERE x.source_id = r.source_id"
        " AND x.source_record_id = r.source_record_id AND x.event_id > r.event_id)"
        " ORDER BY r.occurred_on, r.event_id",
        keys or [],
    )
    latest: dict[str, Row] = {}
    for row in rows:  # oldest first: the last one written wins
        details = orjson.loads(row["details"])
        latest[row["subject_key"]] = {
            **details,
            "_event": row["event_id"],
            "_on": row["occurred_on"],
        }
    return latest


def _labels(rules: Rules, categories: list[str]) -> list[Row]:
    return [{"category": c, "label": rules.catalog.categories[c].label} for c in categories]


def _public(entry: Row) -> Row:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


# -- what the portal and the API serve ---------------------------------------------------------


def _list_meta(rules: Rules, list_id: str, rule: ListRule) -> Row:
    return {
        "id": list_id,
        "label": rule.label,
        "kind": rule.kind,
        "description": rule.description,
        "legal_basis": rule.legal_basis,
        "subject_kinds": list(rule.subject_kinds),
        "reads": list_reads(rule),
    }


def _public_list(rules: Rules, list_id: str) -> ListRule:
    rule = rules.policy.lists.get(list_id)
    if rule is None:
        raise NotFound(f"There is no list {list_id!r}.", code="list_unknown")
    if list_id not in rules.public_lists:
        raise NotFound(
            f"The list {list_id!r} is not public: it draws on records that are not published"
            f" ({', '.join(rules.list_withheld(rule))}).",
            hint="The public lists are at /lists.",
            code="list_not_public",
        )
    return rule


CSV_BASE = (
    "list",
    "name",
    "identifier",
    "subject_kind",
    "region_code",
    "listed_on",
    "public_until",
    "document",
    "amount",
)
CSV_END = ("legal_basis", "disputed")


def csv_columns(catalog: Catalog, rule: ListRule) -> list[str]:
    """The CSV's columns: the entry's own, then the details its categories may publish."""
    fields: dict[str, None] = {}
    for code in list_reads(rule):
        cat = catalog.category(code)
        for name, spec in cat.details.items() if cat else ():
            if name != "name" and spec.type != "identifier" and not spec.protected:
                fields[name] = None
    return [*CSV_BASE, *fields, *CSV_END]


def csv_cell(entry: Row, column: str) -> str:
    record = entry["records"][0] if entry["records"] else {}
    subject = entry["subject"]
    simple = {
        "list": entry["list"],
        "name": subject["name"],
        "identifier": subject["identifier"],
        "subject_kind": subject["kind"],
        "region_code": subject["region_code"],
        "listed_on": entry["listed_on"],
        "public_until": entry["public_until"],
        "document": record.get("document"),
        "amount": record.get("amount"),
        "legal_basis": record.get("legal_basis") or entry["legal_basis"],
        "disputed": "yes" if entry["disputed"] else "",
    }
    if column in simple:
        value = simple[column]
    else:
        value = next((d["value"] for d in record.get("details", []) if d["field"] == column), None)
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


# -- search -------------------------------------------------------------------------------------


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def clean_query(raw: str | None) -> str:
    """The query with its white space collapsed; refused when too long or holding a control
    character (PostgreSQL refuses NUL in text)."""
    text = " ".join((raw or "").split())
    if len(text) > MAX_QUERY or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise _invalid("q", f"a name or identifier of at most {MAX_QUERY} printable characters")
    return text


def wants_csv(params: Mapping[str, str]) -> bool:
    """``?format=csv`` asks for the CSV; ``json`` (or nothing) for the page or JSON."""
    wanted = params.get("format") or "json"
    if wanted not in ("json", "csv"):
        raise _invalid("format", "json or csv")
    return wanted == "csv"


def shown_query(q: str) -> str:
    """The query as a page may repeat it: a resident number masked."""
    with contextlib.suppress(InvalidIdentifier):
        parsed = parse_subject(q)
        if parsed.kind == "person":
            return mask(parsed.identifier)
    return q


# -- an organisation's profile ------------------------------------------------------------------


def _registration(rules: Rules, registration: Row) -> Row | None:
    """The registration's public facts, within its publicity period (the name and code are
    shown regardless: they identify a public body)."""
    if not registration:
        return None
    cat = rules.catalog.categories[REGISTRATION]
    until = rules.public_until(REGISTRATION, registration, registration["_on"])
    if until is None or until <= rules.day:
        return None
    return {
        "registered_on": _iso(registration["_on"]),
        "public_until": until.isoformat(),
        "legal_basis": cat.legal_basis,
        "details": [d for d in _details(cat, registration) if d["field"] != "name"],
    }


def _body_records(
    conn: Connection, rules: Rules, disputes: Mapping[int, Any], key: str | None = None
) -> dict[str, list[Row]]:
    """The records of public bodies shown on their own, newest first, by subject (of one
    subject, or of all in one query)."""
    one = " AND r.subject_key = ?" if key is not None else ""
    rows = conn.dicts(
        "SELECT r.subject_key, r.event_id, r.category, r.occurred_on, r.amount, r.document,"
        f" r.legal_basis, r.details, {rules.public_until_sql('r')} AS public_until"
        " FROM records r JOIN subjects s ON s.subject_key = r.subject_key"
        f" WHERE s.kind IN {literal_list(PUBLIC_BODIES)}{one}"
        f" AND {rules.shown_sql('r', 's', listed=False)}"
        " ORDER BY r.occurred_on DESC, r.event_id DESC",
        [key] if key is not None else [],
    )
    found: dict[str, list[Row]] = {}
    for r in rows:
        found.setdefault(r["subject_key"], []).append(_record(rules, r, disputes))
    return found


