"""The catalogue loader: the default catalogue, the refusal of prohibited data classes,
malformed files, and the generated reference page."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from xinyong.catalog import load_catalog
from xinyong.catalog.loader import default_catalog_path
from xinyong.catalog.prohibited import PROHIBITED_DATA_CLASSES
from xinyong.catalog.reference import catalog_markdown
from xinyong.errors import CatalogError, ProhibitedDataClassError

REPO_ROOT = Path(__file__).resolve().parents[2]

# DESIGN.md, "Default catalogue codes".
DESIGN_CODES = (
    "judicial.defaulter.listed",
    "judicial.defaulter.delisted",
    "judicial.consumption_restriction.issued",
    "judicial.consumption_restriction.lifted",
    "judicial.judgment.performed",
    "administrative.penalty",
    "administrative.license",
    "administrative.abnormal_operations.listed",
    "administrative.abnormal_operations.removed",
    "administrative.serious_illegal.listed",
    "administrative.serious_illegal.removed",
    "administrative.registration",
    "tax.credit_rating",
    "tax.major_violation.listed",
    "tax.major_violation.removed",
    "social_insurance.arrears",
    "commercial.loan.repaid",
    "commercial.loan.overdue",
    "commercial.contract.breach",
    "commercial.utility.arrears",
    "social.honor",
    "government.commitment.breach",
    "government.bond.default",
)

# A well-formed category to append to the default catalogue; {extra} adds lines.
CATEGORY = """
[categories."{code}"]
label = "A test category"
domain = "social"
description = "Appended by a test."
source_kinds = [{source_kinds}]
subject_kinds = ["person"]
legal_basis = "Test Law, Art. 1"
retention_months = 12
publicity = {{ class = "public", period_months = 0 }}
repair = {{ tier = "none" }}
{extra}
"""

_counter = itertools.count()


def write_catalog(
    tmp_path: Path, *, extra: str = "", source_kinds: str = '"court"', details: str = ""
) -> Path:
    """The default catalogue plus one category, at a path of its own (load_catalog caches
    by path)."""
    code = f"test.appended{next(_counter)}"
    text = default_catalog_path().read_text(encoding="utf-8")
    text += CATEGORY.format(code=code, source_kinds=source_kinds, extra=extra)
    if details:
        text += f'[categories."{code}".details]\n{details}\n'
    path = tmp_path / f"catalog-{code}.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- the default catalogue -----------------------------------------------------------------


def test_default_catalogue_has_every_design_code() -> None:
    catalog = load_catalog()
    missing = [c for c in DESIGN_CODES if c not in catalog.categories]
    assert missing == []


def test_every_category_has_legal_basis_sources_and_subjects() -> None:
    catalog = load_catalog()
    for category in catalog.categories.values():
        assert category.legal_basis.strip(), category.code
        assert len(category.source_kinds) >= 1, category.code
        assert len(category.subject_kinds) >= 1, category.code
        assert set(category.source_kinds) <= set(catalog.source_kinds), category.code
        assert set(category.subject_kinds) <= {"person", "organisation", "agency"}
        assert not set(category.data_classes) & set(PROHIBITED_DATA_CLASSES), category.code


def test_default_catalogue_details_match_design() -> None:
    catalog = load_catalog()
    listed = catalog.categories["judicial.defaulter.listed"].details
    assert listed["situation"].type == "integer"
    assert listed["situation"].required
    assert (listed["situation"].min, listed["situation"].max) == (1, 6)
    assert "term_months" in listed
    assert "reason" in catalog.categories["judicial.defaulter.delisted"].details
    penalty = catalog.categories["administrative.penalty"].details
    assert set(penalty["severity"].values) == {"minor", "general", "serious"}
    assert "matter" in penalty
    rating = catalog.categories["tax.credit_rating"]
    assert set(rating.details["level"].values) == {"A", "B", "M", "C", "D"}
    assert "year" in rating.details
    assert rating.subject_kinds == ("organisation",)
    assert "days_overdue" in catalog.categories["commercial.loan.overdue"].details
    assert set(catalog.categories["social.honor"].details["kind"].values) == {
        "blood_donation",
        "volunteer_service",
        "model_worker",
        "charity_donation",
        "civic_award",
    }
    registration = catalog.categories["administrative.registration"].details
    assert registration["legal_representative"].type == "identifier"


def test_categories_for_source_kind() -> None:
    catalog = load_catalog()
    court = catalog.categories_for_source_kind("court")
    assert "judicial.defaulter.listed" in court
    assert "tax.credit_rating" not in court
    assert catalog.categories_for_source_kind("tax") == [
        c.code for c in catalog.categories.values() if "tax" in c.source_kinds
    ]


def test_a_well_formed_appended_category_loads(tmp_path: Path) -> None:
    """The control for the refusals below: the same file without the problem loads."""
    path = write_catalog(
        tmp_path,
        extra='data_classes = ["civic_honour"]',
        details='amount_owed = { type = "integer", min = 0 }\n'
        'kind = { type = "enum", values = ["a", "b"] }',
    )
    catalog = load_catalog(path)
    appended = [c for c in catalog.categories if c.startswith("test.appended")]
    assert len(appended) == 1
    assert catalog.source == str(path.resolve())


# -- prohibited data classes ----------------------------------------------------------------


def _refused(path: Path) -> str:
    with pytest.raises(ProhibitedDataClassError) as info:
        load_catalog(path)
    message = str(info.value)
    assert str(path.resolve()) in message
    assert info.value.code == "prohibited_data_class"
    return message


def test_category_declaring_religion_is_refused(tmp_path: Path) -> None:
    message = _refused(write_catalog(tmp_path, extra='data_classes = ["religion"]'))
    assert "religion" in message


@pytest.mark.parametrize("data_class", sorted(PROHIBITED_DATA_CLASSES))
def test_every_prohibited_class_is_refused(tmp_path: Path, data_class: str) -> None:
    extra = f'data_classes = ["civic_honour", "{data_class}"]'
    message = _refused(write_catalog(tmp_path, extra=extra))
    assert repr(data_class) in message


@pytest.mark.parametrize(
    ("field", "data_class"),
    [
        ("face_image", "biometric"),
        ("fingerprint_hash", "biometric"),
        ("gps_latitude", "location"),
        ("home_longitude", "location"),
        ("religion", "religion"),
        ("diagnosis", "health"),
        ("ethnic_group", "ethnicity"),
        ("chat_messages", "communications"),
        ("friends", "contacts"),
        ("spouse_id", "contacts"),
        ("browsing_log", "browsing_history"),
        ("purchase_log", "purchase_history"),
        ("height_cm", "physical_appearance"),
        ("political_view", "political_opinion"),
    ],
)
def test_detail_field_named_for_a_prohibited_class_is_refused(
    tmp_path: Path, field: str, data_class: str
) -> None:
    path = write_catalog(tmp_path, details=f'{field} = {{ type = "string" }}')
    message = _refused(path)
    assert repr(field) in message
    assert repr(data_class) in message


def test_detail_field_declaring_health_is_refused(tmp_path: Path) -> None:
    path = write_catalog(tmp_path, details='note = { type = "string", data_class = "health" }')
    message = _refused(path)
    assert "'health'" in message


def test_a_harmless_declared_class_on_a_field_is_accepted(tmp_path: Path) -> None:
    details = 'note = { type = "string", data_class = "registration" }'
    path = write_catalog(tmp_path, details=details)
    assert load_catalog(path).categories


# -- malformed catalogues --------------------------------------------------------------------


def _invalid(path: Path) -> str:
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert not isinstance(info.value, ProhibitedDataClassError)
    message = str(info.value)
    assert str(path.resolve()) in message
    return message


def test_unknown_source_kind_is_refused(tmp_path: Path) -> None:
    message = _invalid(write_catalog(tmp_path, source_kinds='"court", "fortune_teller"'))
    assert "fortune_teller" in message


def test_enum_without_values_is_refused(tmp_path: Path) -> None:
    message = _invalid(write_catalog(tmp_path, details='grade = { type = "enum" }'))
    assert "grade" in message


def test_unknown_detail_type_is_refused(tmp_path: Path) -> None:
    _invalid(write_catalog(tmp_path, details='grade = { type = "colour" }'))


def test_unknown_key_in_category_is_refused(tmp_path: Path) -> None:
    message = _invalid(write_catalog(tmp_path, extra='colour = "red"'))
    assert "colour" in message


def test_malformed_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('version = "1"\n[categories."a.b"\nlabel = = "x"\n', encoding="utf-8")
    message = _invalid(path)
    assert "TOML" in message


def test_missing_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    _invalid(path)


def test_catalogue_without_categories_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text('version = "1"\n', encoding="utf-8")
    _invalid(path)


# -- the reference page ------------------------------------------------------------------------


def test_reference_page_lists_every_category() -> None:
    catalog = load_catalog()
    page = catalog_markdown(catalog)
    for code in catalog.categories:
        assert f"### {code}\n" in page
    assert "default.toml" in page


def test_docs_catalog_md_is_generated_from_the_default_catalogue() -> None:
    """docs/catalog.md is `xinyong catalog doc` output; regenerate it when the file changes."""
    page = REPO_ROOT / "docs" / "catalog.md"
    assert page.is_file(), f"{page} is missing: run `xinyong catalog doc > docs/catalog.md`"
    assert page.read_text(encoding="utf-8") == catalog_markdown(load_catalog())


@pytest.mark.parametrize("name", ['"a; DROP TABLE records"', '"Amount"', '"x-y"'])
def test_a_detail_field_that_cannot_name_a_column_is_refused(tmp_path: Path, name: str) -> None:
    path = write_catalog(tmp_path, details=f'{name} = {{ type = "string" }}')
    with pytest.raises(CatalogError, match="names a column"):
        load_catalog(path)
