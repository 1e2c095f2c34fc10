"""The shape of a policy version: lists, scores with grades, measures and partner actions.

Every rule keeps the file and line it was written on (``at``), so that errors, ``policy
check`` and explanations can point back to it. docs/policy-language.md is the reference.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from xinyong.catalog.model import SubjectKind
from xinyong.sql import MAX_NAME, is_identifier

Scalar = str | int | float | bool
# The role of a subject towards its own measures (the others are registry roles).
SUBJECT_ROLE = "subject"


def _sql_name(name: str) -> str:
    """Detail fields and roles become column names in compiled plans: refuse anything else."""
    if not is_identifier(name):
        raise ValueError(
            f"{name!r} is no detail field name: lower-case letters, digits and '_',"
            f" starting with a letter, at most {MAX_NAME} characters"
        )
    return name


FieldName = Annotated[str, AfterValidator(_sql_name)]


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _file: str = PrivateAttr(default="?")
    _line: int = PrivateAttr(default=0)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_position(cls, data: Any, handler: Any) -> Any:
        model = handler(data)
        if hasattr(data, "file"):
            model._file, model._line = data.file, data.line
        return model

    @property
    def at(self) -> str:
        return f"{self._file}:{self._line}"

    @property
    def file(self) -> str:
        return self._file

    @property
    def line(self) -> int:
        return self._line


class Match(Rule):
    """What a detail (or context) value must be: one of ``values``, or within [min, max]."""

    values: list[Scalar] | None = None
    min: float | None = None
    max: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        # `severity: serious`, `severity: [general, serious]` or `days_overdue: {min: 90}`
        if isinstance(data, list):
            return {"values": data}
        if not isinstance(data, dict):
            return {"values": [data]}
        return data

    @model_validator(mode="after")
    def _something(self) -> Match:
        if self.values is None and self.min is None and self.max is None:
            raise ValueError("a match needs values, min or max")
        return self


class Condition(Rule):
    """Records of one category (with detail values) that a subject must have."""

    category: str
    where: dict[FieldName, Match] = Field(default_factory=dict)
    within_months: int | None = Field(default=None, ge=1)
    at_least: int = Field(default=1, ge=1)
    latest: bool = False  # only the subject's most recent record of the category counts


class Prior(Rule):
    """A record of the subject in the months before the entry (e.g. a deletion of the same
    case at the creditor's request)."""

    category: str
    where: dict[FieldName, Match] = Field(default_factory=dict)
    within_months: int = Field(ge=1)
    same_document: bool = True  # the same case as the entry


class Never(Rule):
    """A ground on which a listing is refused; the entry record is flagged with it."""

    id: str
    label: str
    age_below: int | None = Field(default=None, ge=1, le=150)  # persons, on the entry date
    where: dict[FieldName, Match] = Field(default_factory=dict)  # on the entry record's details
    after: Prior | None = None
    legal_basis: str = ""

    @model_validator(mode="after")
    def _tests_something(self) -> Never:
        if self.age_below is None and not self.where and self.after is None:
            raise ValueError("a `never` ground needs `age_below`, `where` or `after`")
        return self


class Term(Rule):
    default_months: int | None = Field(default=None, ge=1)
    from_detail: FieldName | None = (
        None  # a positive value in the entry record overrides the default
    )
    extension_from: FieldName | None = None  # months added by the court (a correction of the entry)
    open_ended_when: dict[FieldName, Match] = Field(default_factory=dict)  # no term: until an exit


class Declared(Rule):
    entry: str
    exits: list[str] = Field(default_factory=list)
    match: list[Literal["document"]] = Field(default_factory=list)
    term: Term | None = None
    # A detail of the entry record holding months of grace before the listing is published
    # and enforced (a court may grant 1 to 3); until then the entry is "pending".
    grace_from: FieldName | None = None


class Computed(Rule):
    all: list[Condition] = Field(default_factory=list)
    any: list[Condition] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_of(self) -> Computed:
        if bool(self.all) == bool(self.any):
            raise ValueError("a computed list takes either `all` or `any` conditions")
        return self

    @property
    def conditions(self) -> list[Condition]:
        return self.all or self.any


class ListRule(Rule):
    id: str
    label: str
    kind: Literal["black", "red"]
    description: str = ""
    subject_kinds: list[SubjectKind]
    declared: Declared | None = None
    computed: Computed | None = None
    never: list[Never] = Field(default_factory=list)
    legal_basis: str = ""

    @model_validator(mode="after")
    def _declared_or_computed(self) -> ListRule:
        if (self.declared is None) == (self.computed is None):
            raise ValueError("a list is either `declared` by records or `computed` from them")
        return self


class Band(Rule):
    min: float | None = None
    max: float | None = None
    points: int


class Points(Rule):
    by: FieldName
    values: dict[str, int] = Field(default_factory=dict)
    bands: list[Band] = Field(default_factory=list)
    otherwise: int = 0


class ScoreRule(Rule):
    id: str
    category: str
    where: dict[FieldName, Match] = Field(default_factory=dict)
    points: int | Points
    counts_for_months: int | None = Field(default=None, ge=1)  # default: publicity period
    # Categories of records that end the points for the same case (the same ``document``)
    # from their date, such as a granted credit repair.
    ended_by: list[str] = Field(default_factory=list)
    legal_basis: str = ""


class Grade(Rule):
    grade: str
    min: int | None = None
    max: int | None = None
    label: str = ""


class FeatureBin(Rule):
    """One row of a scorecard's points table: a band of values (bounds inclusive), a set of
    values, or the bin for a subject with no such record (``missing``)."""

    points: int
    min: int | None = None
    max: int | None = None
    values: list[str] | None = None
    missing: bool = False


class Feature(Rule):
    """A per-subject figure read from the subject's own records as of the evaluation date,
    binned into points: how many records (``count``), the largest value of a detail
    (``max``), or whole months since the latest record (``months_since``)."""

    id: str
    label: str
    aggregate: Literal["count", "max", "months_since"]
    category: str
    where: dict[FieldName, Match] = Field(default_factory=dict)
    of: FieldName | None = None  # the detail ``max`` reads
    within_months: int | None = Field(default=None, ge=1)  # only records this recent
    ended_by: list[str] = Field(default_factory=list)
    bins: list[FeatureBin]
    advice: str = ""  # what the subject can do to reach the best bin
    # Whether a higher figure means more risk ("worse") or less ("better"): fitting keeps
    # the points monotonic that way, and `policy check` refuses a card that is not.
    higher_is: Literal["worse", "better"] | None = None

    def empty_points(self) -> int:
        """The points of a subject with nothing on record for the feature: the bin of 0 for a
        count, the missing bin otherwise (0 points when no bin matches). Such features are
        not stored; the explanation reads their points from here."""
        for b in self.bins:
            if self.aggregate != "count" and b.missing:
                return b.points
            if (
                self.aggregate == "count"
                and not b.missing
                and b.values is None
                and (b.min is None or b.min <= 0)
                and (b.max is None or b.max >= 0)
            ):
                return b.points
        return 0

    @model_validator(mode="after")
    def _of_for_max(self) -> Feature:
        if (self.aggregate == "max") != (self.of is not None):
            raise ValueError("`of` names the detail that `max` reads, and only `max` takes it")
        return self


class ScoreRange(Rule):
    min: int
    max: int


class Score(Rule):
    id: str
    label: str
    description: str = ""
    subject_kinds: list[SubjectKind]
    adults_only: bool = False  # persons under 18 get no score (a protective scope)
    # A purpose of consent: only subjects whose consent for it is in force get the score.
    consent: Literal["commercial_score"] | None = None
    base: int
    rules: list[ScoreRule] = Field(default_factory=list)
    features: list[Feature] = Field(default_factory=list)  # a scorecard's points table
    range: ScoreRange | None = None  # totals are clipped to it
    grades: list[Grade]
    legal_basis: str = ""
    # The fitted model behind the card: version, data, period, metrics (for the model card).
    model: dict[str, Any] = Field(default_factory=dict)


class ContextField(Rule):
    type: Literal["enum", "integer"]
    values: list[str] = Field(default_factory=list)
    min: int | None = None
    max: int | None = None
    description: str = ""


class Action(Rule):
    id: str
    label: str
    partner_kinds: list[str] = Field(default_factory=list)
    # Partners may ask only about a customer in a transaction, named by its reference,
    # which the access log keeps and the subject sees.
    transaction: bool = False
    context: dict[str, ContextField] = Field(default_factory=dict)


class ActionUse(Rule):
    action: str
    when: dict[str, Match] = Field(default_factory=dict)


class Trigger(Rule):
    lists: list[str] = Field(default_factory=list)
    score: str | None = None
    grades: list[str] = Field(default_factory=list)
    below: int | None = None
    at_least: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _single_list(cls, data: Any) -> Any:
        if isinstance(data, dict) and "list" in data:
            data = dict(data)
            data["lists"] = [data.pop("list")]
        return data

    @model_validator(mode="after")
    def _one_kind(self) -> Trigger:
        if bool(self.lists) == (self.score is not None):
            raise ValueError("a trigger is list membership (`list`/`lists`) or a `score`")
        if self.score is not None and not (
            self.grades or self.below is not None or self.at_least is not None
        ):
            raise ValueError("a score trigger needs `grades`, `below` or `at_least`")
        return self


class Measure(Rule):
    id: str
    label: str
    kind: Literal["restrict", "reward"]
    actions: list[ActionUse]
    trigger: Trigger
    applies_to: list[FieldName] = Field(default_factory=lambda: ["subject"])
    legal_basis: str = ""
    remedy: str = ""
    reward: dict[str, Scalar] = Field(default_factory=dict)

    @field_validator("actions", mode="before")
    @classmethod
    def _action_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"action": v} if isinstance(v, str) else v for v in value]
        return value


class Policy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    description: str = ""
    directory: str
    digest: str  # of the files' bytes: two directories with the same digest are one policy
    lists: dict[str, ListRule] = Field(default_factory=dict)
    scores: dict[str, Score] = Field(default_factory=dict)
    measures: dict[str, Measure] = Field(default_factory=dict)
    actions: dict[str, Action] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"
