"""The synthetic city: deterministic, valid where meant to be, and covering the catalogue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from xinyong.catalog import Catalog, load_catalog
from xinyong.demo import CityFiles, generate_city
from xinyong.errors import InvalidIdentifier
from xinyong.ids import SubjectId, parse_subject
from xinyong.ledger.records import COLUMNS

TODAY = dt.date(2026, 11, 20)
SIZE = {"persons": 2_000, "orgs": 200, "agencies": 10}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> CityFiles:
    messages: list[str] = []
    result = generate_city(
        tmp_path_factory.mktemp("city"), **SIZE, seed=7, today=TODAY, progress=messages.append
    )
    assert messages, "progress was never called"
    return result


@pytest.fixture(scope="module")
def rows(city: CityFiles) -> dict[str, list[dict[str, Any]]]:
    return {
        kind: [orjson.loads(line) for line in path.read_bytes().splitlines()]
        for kind, path in city.files.items()
    }


def _subject(value: str) -> SubjectId | None:
    try:
        return parse_subject(value)
    except InvalidIdentifier:
        return None


def is_bad(rec: dict[str, Any], catalog: Catalog) -> bool:
    """A plain check of the faults the generator plants, independent of the ledger."""
    category = catalog.category(rec["category"])
    if category is None or _subject(rec["subject"]) is None:
        return True
    if dt.date.fromisoformat(rec["occurred_on"]) > TODAY or rec.get("amount", 0) < 0:
        return True
    details = rec.get("details", {})
    return any(f.required and name not in details for name, f in category.details.items())


def good(rows: dict[str, list[dict[str, Any]]], catalog: Catalog):
    for kind, recs in rows.items():
        for rec in recs:
            if not is_bad(rec, catalog):
                yield kind, rec


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, city: CityFiles) -> None:
    again = generate_city(tmp_path / "again", **SIZE, seed=7, today=TODAY)
    assert again.files.keys() == city.files.keys()
    for kind, path in city.files.items():
        assert again.files[kind].read_bytes() == path.read_bytes(), kind
    other = generate_city(tmp_path / "other", **SIZE, seed=8, today=TODAY)
    assert any(other.files[k].read_bytes() != p.read_bytes() for k, p in city.files.items())


def test_counts_match_the_files(city: CityFiles, rows: dict[str, list[dict[str, Any]]]) -> None:
    assert (city.persons, city.organisations, city.agencies) == (2_000, 200, 10)
    assert sum(len(recs) for recs in rows.values()) == city.records
    for kind, path in city.files.items():
        assert path.name == f"{kind}.jsonl"


def test_exactly_the_planted_rows_are_bad(
    city: CityFiles, rows: dict[str, list[dict[str, Any]]], catalog: Catalog
) -> None:
    bad = {kind: sum(is_bad(r, catalog) for r in recs) for kind, recs in rows.items()}
    assert sum(bad.values()) == city.bad_rows
    assert 5 <= city.bad_rows <= 20
    assert 2 <= sum(1 for n in bad.values() if n) <= 3


def test_records_use_the_record_format(rows: dict[str, list[dict[str, Any]]]) -> None:
    for kind, recs in rows.items():
        ids = [r["source_record_id"] for r in recs]
        assert len(ids) == len(set(ids)), kind
        for rec in recs:
            assert set(rec) <= set(COLUMNS), rec
            assert isinstance(rec["details"], dict)
            if "amount" in rec:
                assert -Decimal(str(rec["amount"])).as_tuple().exponent <= 2, rec


def test_subjects_are_valid_and_of_an_allowed_kind(
    rows: dict[str, list[dict[str, Any]]], catalog: Catalog
) -> None:
    for _kind, rec in good(rows, catalog):
        subject = parse_subject(rec["subject"])
        assert subject.kind in catalog.categories[rec["category"]].subject_kinds, rec


def test_every_category_appears(rows: dict[str, list[dict[str, Any]]], catalog: Catalog) -> None:
    seen = {rec["category"] for _kind, rec in good(rows, catalog)}
    assert seen == set(catalog.categories)


def test_each_file_holds_only_what_its_source_kind_may_submit(
    rows: dict[str, list[dict[str, Any]]], catalog: Catalog
) -> None:
    assert set(rows) <= set(catalog.source_kinds)
    for kind, rec in good(rows, catalog):
        assert rec["category"] in catalog.categories_for_source_kind(kind), (kind, rec)


def test_details_are_declared_and_well_typed(
    rows: dict[str, list[dict[str, Any]]], catalog: Catalog
) -> None:
    for _kind, rec in good(rows, catalog):
        declared = catalog.categories[rec["category"]].details
        for name, value in rec["details"].items():
            field = declared.get(name)
            assert field is not None, (name, rec)
            if field.type == "enum":
                assert value in field.values, (name, rec)
            elif field.type == "integer":
                assert isinstance(value, int), (name, rec)
                assert field.min is None or value >= field.min, (name, rec)
                assert field.max is None or value <= field.max, (name, rec)
            elif field.type == "identifier":
                assert _subject(value) is not None, (name, rec)
            elif field.type == "date":
                dt.date.fromisoformat(value)
            else:
                assert isinstance(value, str) and value, (name, rec)


def test_listing_details_follow_the_rules(rows: dict[str, list[dict[str, Any]]]) -> None:
    for rec in rows["court"]:
        if rec["category"] == "judicial.defaulter.listed" and "situation" in rec["details"]:
            term = rec["details"].get("term_months")
            assert term is None if rec["details"]["situation"] == 1 else term == 24, rec


def test_office_holders_are_adults(rows: dict[str, list[dict[str, Any]]], catalog: Catalog) -> None:
    registrations = [
        r for _k, r in good(rows, catalog) if r["category"] == "administrative.registration"
    ]
    assert len(registrations) == 210
    for rec in registrations:
        for role in ("legal_representative", "actual_controller"):
            if role in rec["details"]:
                person = parse_subject(rec["details"][role])
                assert person.kind == "person" and person.birth_date is not None
                on = dt.date.fromisoformat(rec["occurred_on"])
                assert (on - person.birth_date).days >= 18 * 366, rec


def test_defaulter_rate_among_adults_is_about_one_percent(
    city: CityFiles, rows: dict[str, list[dict[str, Any]]], catalog: Catalog
) -> None:
    listed = set()
    for _kind, rec in good(rows, catalog):
        subject = parse_subject(rec["subject"])
        if rec["category"] == "judicial.defaulter.listed" and subject.kind == "person":
            assert subject.birth_date is not None
            if (TODAY - subject.birth_date).days >= 18 * 366:
                listed.add(subject.identifier)
    assert 0.005 <= len(listed) / (city.persons * 0.98) <= 0.02


def test_minors_records_are_counted(
    city: CityFiles, rows: dict[str, list[dict[str, Any]]], catalog: Catalog
) -> None:
    about_minors = 0
    for _kind, rec in good(rows, catalog):
        subject = parse_subject(rec["subject"])
        if subject.kind == "person" and subject.birth_date is not None:
            b, on = subject.birth_date, dt.date.fromisoformat(rec["occurred_on"])
            about_minors += (on.year - b.year - ((on.month, on.day) < (b.month, b.day))) < 18
    assert city.minors_records > 0
    assert about_minors == city.minors_records


def test_no_valid_record_is_dated_after_today(
    rows: dict[str, list[dict[str, Any]]], catalog: Catalog
) -> None:
    dates = [dt.date.fromisoformat(r["occurred_on"]) for _k, r in good(rows, catalog)]
    assert max(dates) <= TODAY
    recent = sum(d >= TODAY - dt.timedelta(days=5 * 366) for d in dates)
    assert recent / len(dates) > 0.8


def test_corrections_and_revocations_follow_what_they_supersede(
    rows: dict[str, list[dict[str, Any]]],
) -> None:
    found = 0
    for kind, recs in rows.items():
        position = {r["source_record_id"]: i for i, r in enumerate(recs)}
        for i, rec in enumerate(recs):
            if rec.get("action", "add") == "add":
                continue
            found += 1
            assert rec["action"] in ("correct", "revoke")
            assert position[rec["supersedes"]] < i, (kind, rec)
            old = recs[position[rec["supersedes"]]]
            assert (old["subject"], old["category"]) == (rec["subject"], rec["category"])
    assert 3 <= found <= 10
