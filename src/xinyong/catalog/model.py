"""The shape of a catalogue: categories of records, their details, publicity and repair."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SubjectKind = Literal["person", "organisation", "agency"]
Domain = Literal["administrative", "commercial", "social", "judicial", "government"]
PublicityClass = Literal["public", "partners", "subject"]
DetailType = Literal["string", "integer", "number", "boolean", "date", "enum", "identifier"]


# What a commercial score may be computed from: how a subject met their own obligations.
# Never purchases, location, personal characteristics or anything about other people.
COMMERCIAL_SCORE_CLASSES = frozenset(
    {"financial_obligation", "contract_performance", "judicial_decision"}
)


# The category of a subject's own consent to a purpose (catalogue data class "consent").
CONSENT_CATEGORY = "consent.granted"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DetailField(Strict):
    type: DetailType
    required: bool = False
    description: str = ""
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    data_class: str | None = None
    # An equality-protected attribute (ownership): kept for the equality report, and no
    # policy rule may condition on it (`policy check` refuses).
    protected: bool = False


class PeriodBy(Strict):
    field: str
    months: dict[str, int]


class Publicity(Strict):
    class_: PublicityClass = Field(alias="class")
    period_months: int = Field(ge=0)
    period_by: PeriodBy | None = None


class Deadline(Strict):
    days: int = Field(ge=0)
    unit: Literal["calendar", "working"] = "calendar"

    def __str__(self) -> str:
        return f"{self.days} {self.unit} day{'s' if self.days != 1 else ''}"


class Repair(Strict):
    tier: Literal["none", "minor", "general", "serious", "by_severity"]
    min_months: int | None = None
    min_months_by: dict[str, int] | None = None
    note: str = ""
    # The deciding authority decides an application within (the 2025 State Council plan).
    decide_within: Deadline = Deadline(days=3, unit="working")


class Objections(Strict):
    """How an objection to a record of the category is handled. Where the law is silent,
    the source decides within 30 calendar days (the FCRA's reinvestigation period)."""

    decide_within: Deadline = Deadline(days=30)
    correct_within: Deadline | None = None  # after a finding that the objection is well founded
    reconsider_within: Deadline | None = None  # a refused subject may ask the next level
    reconsideration_within: Deadline | None = None  # the next level decides within
    legal_basis: str = ""


class Category(Strict):
    code: str
    label: str
    domain: Domain
    description: str
    source_kinds: tuple[str, ...]
    subject_kinds: tuple[SubjectKind, ...]
    data_classes: tuple[str, ...] = ()
    legal_basis: str
    retention_months: int = Field(ge=0)
    publicity: Publicity
    repair: Repair
    # An exit record (a delisting, a lifted restriction, a removal) names in ``ends`` the
    # categories of the entries it ends, matched by the case's ``document``.
    ends: tuple[str, ...] = ()
    objections: Objections = Objections()
    # Conduct that the commercial score may read (loans, contracts, bills, court findings):
    # the loader accepts the mark only on the data classes in COMMERCIAL_SCORE_CLASSES.
    commercial_score: bool = False
    details: dict[str, DetailField] = Field(default_factory=dict)


class Catalog(Strict):
    version: str
    source: str  # the file it was loaded from, for messages
    subject_kinds: dict[str, str]
    source_kinds: dict[str, str]
    categories: dict[str, Category]

    def category(self, code: str) -> Category | None:
        return self.categories.get(code)

    def categories_for_source_kind(self, kind: str) -> list[str]:
        return [c.code for c in self.categories.values() if kind in c.source_kinds]
