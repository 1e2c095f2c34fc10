"""Record validation (ledger/validate.py): every reason code, canonical details, content
hashes, identifier-typed details, and a property test over generated valid records.

A Validator costs about half a second per ``validate`` call whatever the batch size, so
the reason-code cases of one source are validated together in one batch (module-scoped
fixtures) and each test looks up its own rows by line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import COMPANY, COMPANY_2, PERSON, PERSON_2, record
from tests.ids.test_identifiers import (
    agency_codes,
    oracle_person,
    organisation_codes,
    residents,
    uscc_check,
)
from xinyong.catalog import load_catalog
from xinyong.catalog.model import Category, DetailField
from xinyong.ids import subject_key
from xinyong.ledger.reasons import MESSAGES
from xinyong.ledger.records import COLUMNS, LINE
from xinyong.ledger.validate import ACCEPTED_COLUMNS, Grant, ValidatedBatch, Validator

TODAY = dt.date(2026, 11, 23)
SECRET = b"test-secret"
AGENCY = "11110000600037341" + uscc_check("11110000600037341")
LISTED = "judicial.defaulter.listed"


def arrow(rows: list[dict[str, Any]]) -> pa.Table:
    """Rows as readers.py builds them: ``_line`` int64 and every column as text."""
    data: dict[str, pa.Array] = {LINE: pa.array(range(1, len(rows) + 1), pa.int64())}
    for column in COLUMNS:
        values = []
        for row in rows:
            value = row.get(column)
            if isinstance(value, dict | list):
                value = orjson.dumps(value).decode()
            values.append(None if value is None else str(value))
        data[column] = pa.array(values, pa.string())
    return pa.table(data)


def validator_for(source_kind: str, source_id: str | None = None) -> Validator:
    catalog = load_catalog()
    grant = Grant(
        source_id or f"{source_kind}-1", frozenset(catalog.categories_for_source_kind(source_kind))
    )
    return Validator(catalog, grant, SECRET, TODAY)


@pytest.fixture(scope="module")
def court() -> Iterator[Validator]:
    v = validator_for("court")
    yield v
    v.close()


@pytest.fixture(scope="module")
def tax() -> Iterator[Validator]:
    v = validator_for("tax")
    yield v
    v.close()


@pytest.fixture(scope="module")
def market() -> Iterator[Validator]:
    v = validator_for("market_regulator")
    yield v
    v.close()


# -- one batch of cases for the court -----------------------------------------------------------

# (case id, record, reason or None for accepted, field, text the hint must contain)
COURT_CASES: list[tuple[str, dict[str, Any], str | None, str | None, str | None]] = [
    ("srid-none", record(source_record_id=None), "source_record_id_missing", None, None),
    ("srid-blank", record(source_record_id="   "), "source_record_id_missing", None, None),
    ("subject-none", record(subject=None), "subject_missing", None, None),
    ("subject-blank", record(subject="  "), "subject_missing", None, None),
    ("subject-checksum", record(subject="110105194912310021"), "subject_invalid", None, None),
    ("subject-uscc-checksum", record(subject="91110000600037341K"), "subject_invalid", None, None),
    ("subject-region", record(subject="34052419800101001X"), "subject_invalid", None, None),
    ("subject-text", record(subject="张三"), "subject_invalid", None, None),
    (
        "category-unknown",
        record(category="judicial.defaulter.rumoured"),
        "category_unknown",
        None,
        None,
    ),
    ("category-none", record(category=None), "category_unknown", None, None),
    (
        "category-not-granted",
        record(category="commercial.loan.overdue", details={"days_overdue": 10}),
        "category_not_granted",
        None,
        None,
    ),
    (
        "category-not-granted-tax",
        record(subject=COMPANY, category="tax.credit_rating", details={"level": "A", "year": 2024}),
        "category_not_granted",
        None,
        None,
    ),
    (
        "kind-person-for-agency-only",
        record(category="government.commitment.breach", details={"matter": "unpaid contract"}),
        "subject_kind_not_allowed",
        None,
        "person",
    ),
    (
        "kind-company-for-agency-only",
        record(
            subject=COMPANY,
            category="government.commitment.breach",
            details={"matter": "unpaid contract"},
        ),
        "subject_kind_not_allowed",
        None,
        "organisation",
    ),
    ("occurred-none", record(occurred_on=None), "occurred_on_missing", None, None),
    ("occurred-blank", record(occurred_on=" "), "occurred_on_missing", None, None),
    ("occurred-feb-30", record(occurred_on="2025-02-30"), "occurred_on_invalid", None, None),
    ("occurred-slashes", record(occurred_on="2025/01/01"), "occurred_on_invalid", None, None),
    ("occurred-short", record(occurred_on="2025-1-1"), "occurred_on_invalid", None, None),
    ("occurred-words", record(occurred_on="yesterday"), "occurred_on_invalid", None, None),
    ("occurred-tomorrow", record(occurred_on="2026-11-24"), "occurred_on_future", None, None),
    ("occurred-next-year", record(occurred_on="2027-01-01"), "occurred_on_future", None, None),
    ("amount-3-decimals", record(amount="1.234"), "amount_invalid", None, None),
    ("amount-text", record(amount="abc"), "amount_invalid", None, None),
    ("amount-exponent", record(amount="1e3"), "amount_invalid", None, None),
    ("amount-grouped", record(amount="1,000.00"), "amount_invalid", None, None),
    ("amount-negative", record(amount="-5"), "amount_negative", None, None),
    ("amount-negative-cents", record(amount="-0.01"), "amount_negative", None, None),
    ("action-delete", record(action="delete"), "action_invalid", None, None),
    ("revoke-without-supersedes", record(action="revoke"), "supersedes_missing", None, None),
    ("correct-without-supersedes", record(action="correct"), "supersedes_missing", None, None),
    ("details-not-json", record(details="{not json"), "details_invalid", None, "not valid JSON"),
    ("details-array", record(details="[1, 2]"), "details_invalid", None, "not an object"),
    ("details-string", record(details='"situation 2"'), "details_invalid", None, "not an object"),
    (
        "detail-unknown",
        record(details={"situation": 2, "face_shape": "round"}),
        "detail_unknown",
        "face_shape",
        None,
    ),
    (
        "detail-of-another-category",
        record(details={"situation": 2, "days_overdue": 3}),
        "detail_unknown",
        "days_overdue",
        None,
    ),
    ("detail-missing", record(details={"term_months": 24}), "detail_missing", "situation", None),
    ("detail-missing-no-details", record(details=None), "detail_missing", "situation", None),
    (
        "detail-missing-null",
        record(details={"situation": None}),
        "detail_missing",
        "situation",
        None,
    ),
    (
        "detail-out-of-range",
        record(details={"situation": 7}),
        "detail_type",
        "situation",
        "an integer from 1 to 6",
    ),
    (
        "detail-zero",
        record(details={"situation": 0}),
        "detail_type",
        "situation",
        "an integer from 1 to 6",
    ),
    (
        "detail-word-for-integer",
        record(details={"situation": "two"}),
        "detail_type",
        "situation",
        "an integer",
    ),
    (
        "detail-fraction-for-integer",
        record(details={"situation": 2.5}),
        "detail_type",
        "situation",
        "an integer",
    ),
    (
        "detail-list-for-integer",
        record(details={"situation": [2]}),
        "detail_type",
        "situation",
        "an integer",
    ),
    (
        "detail-term-too-long",
        record(details={"situation": 2, "term_months": 61}),
        "detail_type",
        "term_months",
        "an integer from 0 to 60",
    ),
    (
        "detail-wrong-enum",
        record(category="judicial.defaulter.delisted", details={"reason": "bribed"}),
        "detail_type",
        "reason",
        "one of: performed, settlement_performed",
    ),
    (
        "detail-object-for-string",
        record(details={"situation": 2, "name": {"family": "张"}}),
        "detail_type",
        "name",
        "text",
    ),
    # Accepted controls in the same batch.
    ("ok-plain", record(source_record_id="ok1"), None, None, None),
    (
        "ok-string-integer",
        record(source_record_id="ok2", details={"term_months": "24", "situation": 2}),
        None,
        None,
        None,
    ),
    ("ok-today", record(source_record_id="ok3", occurred_on="2026-11-23"), None, None, None),
    ("ok-amount", record(source_record_id="ok4", amount="1234567.89"), None, None, None),
    ("ok-amount-zero", record(source_record_id="ok5", amount="0"), None, None, None),
    (
        "ok-correct",
        record(source_record_id="ok6", action="correct", supersedes="r0"),
        None,
        None,
        None,
    ),
    (
        "ok-revoke-upper",
        record(source_record_id="ok7", action="REVOKE", supersedes="r0"),
        None,
        None,
        None,
    ),
    (
        "ok-messy-subject",
        record(source_record_id="ok8", subject=" 110105-19491231-002x "),
        None,
        None,
        None,
    ),
    ("ok-company", record(source_record_id="ok9", subject=COMPANY), None, None, None),
    (
        "ok-agency",
        record(
            source_record_id="ok10",
            subject=AGENCY,
            category="government.commitment.breach",
            details={"matter": "unpaid contract"},
        ),
        None,
        None,
        None,
    ),
    (
        "ok-no-details",
        record(source_record_id="ok11", category="judicial.judgment.performed", details=None),
        None,
        None,
        None,
    ),
    (
        "ok-null-optional",
        record(source_record_id="ok12", details={"situation": 1, "term_months": None}),
        None,
        None,
        None,
    ),
    (
        "ok-enum",
        record(
            source_record_id="ok13",
            category="judicial.defaulter.delisted",
            details={"reason": "performed", "court": "北京市东城区人民法院"},
        ),
        None,
        None,
        None,
    ),
]
COURT_LINES = {case: n for n, (case, *_rest) in enumerate(COURT_CASES, start=1)}


@pytest.fixture(scope="module")
def court_batch(court: Validator) -> ValidatedBatch:
    return court.validate(arrow([row for _case, row, *_rest in COURT_CASES]))


def _accepted(batch: ValidatedBatch, line: int) -> dict[str, Any] | None:
    found = [r for r in batch.accepted.to_pylist() if r["line"] == line]
    return found[0] if found else None


def _rejected(batch: ValidatedBatch, line: int) -> dict[str, Any] | None:
    found = [r for r in batch.rejected.to_pylist() if r["line"] == line]
    return found[0] if found else None


def test_every_row_is_accepted_or_rejected_once(court_batch: ValidatedBatch) -> None:
    accepted = court_batch.accepted.column("line").to_pylist()
    rejected = court_batch.rejected.column("line").to_pylist()
    assert sorted(accepted + rejected) == list(range(1, len(COURT_CASES) + 1))
    assert court_batch.accepted.column_names == list(ACCEPTED_COLUMNS)
    assert court_batch.rejected.column_names[:4] == ["line", "reason", "field", "hint"]


@pytest.mark.parametrize(
    ("case", "reason", "field", "hint"),
    [(c, r, f, h) for c, _row, r, f, h in COURT_CASES if r is not None],
    ids=[f"{r}:{c}" for c, _row, r, _f, _h in COURT_CASES if r is not None],
)
def test_reason(
    court_batch: ValidatedBatch, case: str, reason: str, field: str | None, hint: str | None
) -> None:
    line = COURT_LINES[case]
    assert _accepted(court_batch, line) is None
    row = _rejected(court_batch, line)
    assert row is not None
    assert row["reason"] == reason
    assert reason in MESSAGES
    assert row["field"] == field
    if hint is not None:
        assert row["hint"] is not None and hint in row["hint"], row["hint"]
    # The raw record comes back with the rejection.
    expected_srid = dict(COURT_CASES[line - 1][1]).get("source_record_id")
    assert row["r_source_record_id"] == expected_srid


@pytest.mark.parametrize("case", [c for c, _row, r, _f, _h in COURT_CASES if r is None])
def test_accepted_controls(court_batch: ValidatedBatch, case: str) -> None:
    row = _accepted(court_batch, COURT_LINES[case])
    rejected = _rejected(court_batch, COURT_LINES[case])
    assert row is not None, rejected
    assert row["source_id"] == "court-1"
    assert len(row["content_hash"]) == 64


def test_accepted_values_are_normalised(court_batch: ValidatedBatch) -> None:
    plain = _accepted(court_batch, COURT_LINES["ok-plain"])
    assert plain is not None
    assert plain["subject_key"] == subject_key(SECRET, PERSON)
    assert plain["identifier"] == PERSON
    assert plain["subject_kind"] == "person"
    assert plain["birth_date"] == dt.date(1949, 12, 31)
    assert plain["sex"] == "female"
    assert plain["region_code"] == "110105"
    assert plain["occurred_on"] == dt.date(2025, 3, 1)
    assert plain["amount"] is None
    assert plain["action"] == "add"
    assert plain["document"] == "(2025)京0105执1号"
    assert plain["details"] == '{"situation":2,"term_months":24}'

    def get(case: str) -> dict[str, Any]:
        row = _accepted(court_batch, COURT_LINES[case])
        assert row is not None
        return row

    assert get("ok-amount")["amount"] == Decimal("1234567.89")
    assert get("ok-amount-zero")["amount"] == Decimal("0")
    assert get("ok-today")["occurred_on"] == TODAY
    assert get("ok-revoke-upper")["action"] == "revoke"
    assert get("ok-revoke-upper")["supersedes"] == "r0"
    assert get("ok-messy-subject")["identifier"] == PERSON
    assert get("ok-messy-subject")["subject_key"] == plain["subject_key"]
    company = get("ok-company")
    assert (company["subject_kind"], company["region_code"]) == ("organisation", "110000")
    assert company["birth_date"] is None and company["sex"] is None
    assert company["subject_key"] == subject_key(SECRET, COMPANY)
    assert get("ok-agency")["subject_kind"] == "agency"
    assert get("ok-no-details")["details"] == "{}"
    assert get("ok-null-optional")["details"] == '{"situation":1}'
    assert orjson.loads(get("ok-enum")["details"]) == {
        "reason": "performed",
        "court": "北京市东城区人民法院",
    }


def test_integers_given_as_text_are_typed_in_declared_order(court_batch: ValidatedBatch) -> None:
    row = _accepted(court_batch, COURT_LINES["ok-string-integer"])
    assert row is not None
    assert row["details"] == '{"situation":2,"term_months":24}'
    assert list(orjson.loads(row["details"])) == ["situation", "term_months"]


def test_subject_kind_not_allowed_for_tax_rating_of_a_person(tax: Validator) -> None:
    batch = tax.validate(
        arrow(
            [
                record(
                    subject=PERSON,
                    category="tax.credit_rating",
                    details={"level": "A", "year": 2024},
                ),
                record(
                    source_record_id="r2",
                    subject=COMPANY,
                    category="tax.credit_rating",
                    details={"year": "2024", "level": "D"},
                ),
            ]
        )
    )
    rejected = batch.rejected.to_pylist()
    assert [(r["line"], r["reason"], r["hint"]) for r in rejected] == [
        (1, "subject_kind_not_allowed", "person"),
    ]
    accepted = batch.accepted.to_pylist()
    assert [r["line"] for r in accepted] == [2]
    assert accepted[0]["details"] == '{"level":"D","year":2024}'


# -- content hashes -------------------------------------------------------------------------


def test_content_hash_ignores_details_key_order_but_not_content(court: Validator) -> None:
    base = record(amount="100.00", details={"situation": 2, "term_months": 24})
    batch = court.validate(
        arrow(
            [
                base,
                {**base, "details": '{"term_months": 24, "situation": 2}'},
                {**base, "details": '{ "term_months" : "24" ,"situation":"2"}'},
                {**base, "amount": "100"},
                {**base, "amount": "100.01"},
                {**base, "details": {"situation": 2, "term_months": 12}},
                {**base, "source_record_id": "r2"},
                {**base, "subject": PERSON_2},
            ]
        )
    )
    assert batch.rejected.num_rows == 0, batch.rejected.to_pylist()
    hashes = batch.accepted.column("content_hash").to_pylist()
    assert hashes[0] == hashes[1] == hashes[2]
    assert hashes[3] == hashes[0]  # 100 and 100.00 yuan are the same amount
    assert len(set(hashes[3:])) == len(hashes[3:])
    assert hashes[4] != hashes[0]
    assert all(h != hashes[0] for h in hashes[4:])


def test_same_batch_gives_same_hashes_on_another_validator(court: Validator) -> None:
    rows = [record(source_record_id=f"r{i}", amount=str(i)) for i in range(5)]
    first = court.validate(arrow(rows)).accepted
    other = validator_for("court")
    try:
        second = other.validate(arrow(rows)).accepted
    finally:
        other.close()
    assert first.column("content_hash").to_pylist() == second.column("content_hash").to_pylist()
    assert first.column("subject_key").to_pylist() == second.column("subject_key").to_pylist()


def test_a_different_secret_gives_different_keys_and_hashes(court: Validator) -> None:
    catalog = load_catalog()
    other = Validator(catalog, court.grant, b"another-secret", TODAY)
    try:
        theirs = other.validate(arrow([record()])).accepted.to_pylist()[0]
    finally:
        other.close()
    ours = court.validate(arrow([record()])).accepted.to_pylist()[0]
    assert theirs["subject_key"] == subject_key(b"another-secret", PERSON) != ours["subject_key"]
    assert theirs["content_hash"] != ours["content_hash"]


# -- identifier-typed details ----------------------------------------------------------------


@pytest.fixture(scope="module")
def registration_batch(market: Validator) -> ValidatedBatch:
    return market.validate(
        arrow(
            [
                record(
                    subject=COMPANY,
                    category="administrative.registration",
                    details={
                        "name": "北京某某有限公司",
                        "legal_representative": "11010519491231002x",
                        "actual_controller": COMPANY_2,
                        "ownership": "private",
                    },
                ),
                record(
                    source_record_id="r2",
                    subject=COMPANY_2,
                    category="administrative.registration",
                    details={"name": "某某", "legal_representative": "110105194912310021"},
                ),
                record(
                    source_record_id="r3",
                    subject=COMPANY_2,
                    category="administrative.registration",
                    details={"name": "某某"},
                ),
                record(
                    source_record_id="r4",
                    subject=COMPANY_2,
                    category="administrative.registration",
                    details={"legal_representative": PERSON_2, "name": "另一家"},
                ),
            ]
        )
    )


def test_identifier_details_are_replaced_by_keys(registration_batch: ValidatedBatch) -> None:
    accepted = registration_batch.accepted.to_pylist()
    assert [r["line"] for r in accepted] == [1, 4]
    details = orjson.loads(accepted[0]["details"])
    assert list(details) == ["name", "legal_representative", "actual_controller", "ownership"]
    assert details == {
        "name": "北京某某有限公司",
        "legal_representative": subject_key(SECRET, PERSON),
        "actual_controller": subject_key(SECRET, COMPANY_2),
        "ownership": "private",
    }
    assert orjson.loads(accepted[1]["details"]) == {
        "name": "另一家",
        "legal_representative": subject_key(SECRET, PERSON_2),
    }
    for row in accepted:
        for raw in (PERSON, PERSON.lower(), PERSON_2, COMPANY_2, "11010519491231002x"):
            assert raw not in row["details"]


def test_referenced_subjects_are_listed(registration_batch: ValidatedBatch) -> None:
    refs = sorted(
        registration_batch.references.to_pylist(), key=lambda r: (r["line"], r["identifier"])
    )
    assert [(r["line"], r["identifier"], r["subject_kind"]) for r in refs] == [
        (1, PERSON, "person"),
        (1, COMPANY_2, "organisation"),
        (4, PERSON_2, "person"),
    ]
    assert refs[0]["subject_key"] == subject_key(SECRET, PERSON)
    assert refs[0]["birth_date"] == dt.date(1949, 12, 31)
    assert refs[0]["sex"] == "female"
    assert refs[0]["region_code"] == "110105"
    assert refs[1]["subject_key"] == subject_key(SECRET, COMPANY_2)
    assert refs[1]["birth_date"] is None


def test_invalid_or_missing_identifier_details_are_rejected(
    registration_batch: ValidatedBatch,
) -> None:
    rejected = registration_batch.rejected.to_pylist()
    assert [(r["line"], r["reason"], r["field"]) for r in rejected] == [
        (2, "detail_type", "legal_representative"),
        (3, "detail_missing", "legal_representative"),
    ]
    assert "resident identity number" in rejected[0]["hint"]


# -- property: valid records are accepted ---------------------------------------------------

CATALOG = load_catalog()
ALL_CODES = sorted(CATALOG.categories)


def _not_a_resident(code: str) -> bool:
    # A credit code that is also a valid resident number is a person (by design).
    return not oracle_person(code)


def subjects_of(kind: str) -> st.SearchStrategy[str]:
    if kind == "person":
        return residents()
    if kind == "agency":
        return agency_codes().filter(_not_a_resident)
    return organisation_codes().filter(_not_a_resident)


def _detail_value(field: DetailField) -> st.SearchStrategy[tuple[object, object]]:
    """(value as submitted, value expected in canonical details)."""
    if field.type == "integer":
        low = int(field.min) if field.min is not None else -(10**15)
        high = int(field.max) if field.max is not None else 10**15
        return st.integers(low, high).flatmap(lambda n: st.sampled_from([(n, n), (str(n), n)]))
    if field.type == "number":
        floats = st.floats(field.min, field.max, allow_nan=False, allow_infinity=False)
        return floats.map(lambda x: (x, x))
    if field.type == "boolean":
        return st.booleans().map(lambda b: (b, b))
    if field.type == "date":
        return st.dates().map(lambda d: (d.isoformat(), d.isoformat()))
    if field.type == "enum":
        return st.sampled_from(field.values).map(lambda v: (v, v))
    if field.type == "identifier":
        return st.one_of(residents(), organisation_codes()).map(
            lambda i: (i, subject_key(SECRET, i))
        )
    return st.text(max_size=20).map(lambda s: (s, s))


@st.composite
def valid_records(draw: st.DrawFn, n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(record, expectations) for a valid record of a random category."""
    category: Category = CATALOG.categories[draw(st.sampled_from(ALL_CODES))]
    kind = draw(st.sampled_from(category.subject_kinds))
    subject = draw(subjects_of(kind))
    submitted: dict[str, object] = {}
    expected: dict[str, object] = {}
    raw_ids: list[str] = []
    for name, field in category.details.items():
        if field.required or draw(st.booleans()):
            given_value, typed = draw(_detail_value(field))
            submitted[name] = given_value
            expected[name] = typed
            if field.type == "identifier":
                raw_ids.append(str(given_value))
    order = draw(st.permutations(list(submitted)))
    submitted = {k: submitted[k] for k in order}
    occurred = draw(st.dates(min_value=dt.date(1990, 1, 1), max_value=TODAY))
    amount = draw(st.one_of(st.none(), st.decimals(0, 10**12, places=2)))
    action = draw(st.sampled_from(["add", "correct", "revoke", None]))
    document = draw(
        st.one_of(st.none(), st.text("(2025)京执号0123456789", min_size=1, max_size=12))
    )
    row = {
        "source_record_id": f"r{n}",
        "subject": subject,
        "category": category.code,
        "occurred_on": occurred.isoformat(),
        "amount": None if amount is None else f"{amount:.2f}",
        "document": document,
        "details": submitted,
        "action": action,
        "supersedes": None if action in ("add", None) else f"old{n}",
    }
    return row, {
        "kind": kind,
        "details": expected,
        "occurred_on": occurred,
        "amount": amount,
        "action": action or "add",
        "raw_ids": raw_ids,
        "order": list(expected),
        "document": document,
    }


@st.composite
def batches(draw: st.DrawFn) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    size = draw(st.integers(1, 40))
    return [draw(valid_records(n)) for n in range(size)]


@pytest.fixture(scope="module")
def everything() -> Iterator[Validator]:
    """A validator granted every category."""
    validator = Validator(CATALOG, Grant("all-1", frozenset(ALL_CODES)), SECRET, TODAY)
    yield validator
    validator.close()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batches())
def test_valid_records_are_accepted_with_typed_details(
    everything: Validator, batch: list[tuple[dict[str, Any], dict[str, Any]]]
) -> None:
    """Every generated valid record is accepted with typed, canonical details; and the
    same batch submitted twice (here: twice in one call) gets the same content hashes."""
    rows = [row for row, _exp in batch]
    n = len(rows)
    result = everything.validate(arrow(rows + rows))
    assert result.rejected.num_rows == 0, result.rejected.select(
        ["line", "reason", "field", "hint", "r_subject", "r_category", "r_details"]
    ).to_pylist()
    accepted = result.accepted.to_pylist()
    assert [r["line"] for r in accepted] == list(range(1, 2 * n + 1))
    for got, (row, exp) in zip(accepted[:n], batch, strict=True):
        assert got["subject_kind"] == exp["kind"]
        assert got["identifier"] == row["subject"]
        assert got["subject_key"] == subject_key(SECRET, row["subject"])
        assert got["category"] == row["category"]
        assert got["occurred_on"] == exp["occurred_on"]
        assert got["amount"] == exp["amount"]
        assert got["action"] == exp["action"]
        assert got["supersedes"] == row["supersedes"]
        assert got["document"] == exp["document"]
        details = orjson.loads(got["details"])
        assert details == exp["details"]
        assert list(details) == exp["order"]  # the catalogue's order, not the submitter's
        for raw in exp["raw_ids"]:
            assert raw not in got["details"]
    hashes = [r["content_hash"] for r in accepted]
    assert hashes[:n] == hashes[n:]
    assert [r["details"] for r in accepted[:n]] == [r["details"] for r in accepted[n:]]


def test_the_subject_key_secret_never_appears_in_sql_text(court: Validator) -> None:
    from xinyong.ids.sql import hmac_pads

    court.validate(arrow([record()]))  # builds and caches the statement for this schema
    statements = [*court._sql_by_schema.values(), idsql_key_expression()]
    inner, outer = hmac_pads(SECRET)
    for text in statements:
        for secret_form in (SECRET.decode(), SECRET.hex(), inner.hex(), outer.hex()):
            assert secret_form not in text.lower()
    # The key lives in a one-row table, bound as parameters.
    pads = court.con.execute("SELECT inner_pad, outer_pad FROM subject_key_pads").fetchall()
    assert pads == [(inner, outer)]


def idsql_key_expression() -> str:
    from xinyong.ids.pseudonym import KEY_HEX_CHARS
    from xinyong.ids.sql import subject_key_sql

    return subject_key_sql("s", KEY_HEX_CHARS)
