"""Request and response shapes: pydantic models for the OpenAPI document, and the
hand-written checks the hot paths use (the same rules, without building model objects)."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xinyong.errors import RequestInvalid, TooLarge

MAX_BATCH = 10_000


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(
        description="Resident identity number or unified social credit code.",
        examples=["110101199003070003"],
    )
    action: str = Field(
        description="A partner action of the policy.", examples=["flight.ticket.purchase"]
    )
    context: dict[str, str | int] = Field(
        default_factory=dict, description="The action's context, e.g. {'seat_class': 'first'}."
    )
    purpose: str | None = Field(
        default=None, max_length=200, description="Why you ask; defaults to your grant's purpose."
    )
    transaction: str | None = Field(
        default=None,
        max_length=64,
        description="Your reference of the transaction the subject is in (a booking or order"
        " number); required for actions asked only within a transaction (deposit.waiver). The"
        " subject sees it in their access log.",
        examples=["ORDER-2026-0001"],
    )


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests: list[DecisionRequest] = Field(max_length=MAX_BATCH)


class Trigger(BaseModel):
    kind: str
    id: str
    ref: str | None


class Reason(BaseModel):
    measure: str
    label: str
    trigger: Trigger
    applies_as: str
    via: str | None
    records: list[int]
    legal_basis: str
    valid_until: str | None
    disputed: bool = Field(
        default=False, description="A record behind this reason is under objection."
    )
    objection: str | None = Field(default=None, description="The open objection's id.")
    objection_due: str | None = Field(
        default=None, description="The day its source must decide the objection by."
    )
    remedy: str | None = None
    reward: str | None = None


class Withheld(BaseModel):
    measure: str
    label: str
    reason: Literal["no_consent"]
    purpose: str
    message: str


class Decision(BaseModel):
    decision_id: str
    decision: Literal["allow", "deny"]
    rewards: list[Reason]
    reasons: list[Reason]
    valid_until: str | None
    remedy: str | None
    subject: str = Field(description="The identifier, masked.")
    subject_ref: str = Field(description="Your stable reference for this subject (see the feed).")
    rewards_withheld: list[Withheld] = Field(
        default_factory=list,
        description="Rewards that would need a score the subject has not consented to: named"
        " with the reason, never with a score. Absent when there are none.",
    )
    action: str
    context: dict[str, str | int]
    transaction: str | None = None
    purpose: str
    policy: str
    evaluated_as_of: str | None
    decided_on: str


class BatchItem(BaseModel):
    index: int
    status: int
    decision: Decision | None = None
    problem: dict[str, Any] | None = None


class BatchResponse(BaseModel):
    results: list[BatchItem]
    allowed: int
    denied: int
    failed: int


class ChangeData(BaseModel):
    cursor: int
    subject_ref: str
    measure: str
    measure_kind: str | None
    label: str | None
    actions: list[str]
    status: Literal["active", "ended"]
    valid_until: str | None
    cause: str


class CloudEvent(BaseModel):
    specversion: Literal["1.0"]
    id: str
    source: str
    type: str
    time: str
    subject: str
    datacontenttype: Literal["application/json"]
    data: ChangeData


class ChangesResponse(BaseModel):
    events: list[CloudEvent]
    cursor: int = Field(description="Pass as `after` next time.")


class RecordsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(
        max_length=MAX_BATCH, description="Records in the record format (docs/record-format.md)."
    )


class RecordWarning(BaseModel):
    code: Literal["exit_unmatched", "document_repeated"]
    message: str


class RecordResult(BaseModel):
    index: int
    source_record_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    message: str | None = None
    warnings: list[RecordWarning] | None = Field(
        default=None, description="Accepted, but to be looked at again."
    )


class RecordsResponse(BaseModel):
    submission_id: str | None = Field(description="None when there were no records.")
    accepted: int
    duplicates: int
    rejected: int
    warnings: int = Field(description="Accepted records with warnings (exit_unmatched, ...).")
    reevaluated: int | None
    results: list[RecordResult]


class AccessEntry(BaseModel):
    at: str
    kind: str
    who: str
    action: str | None
    purpose: str | None
    outcome: str | None
    decision_id: str | None
    channel: str


class AccessLogResponse(BaseModel):
    subject: str
    entries: list[AccessEntry]


class ProblemDocument(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    hint: str | None = None
    errors: list[dict[str, Any]] | None = None


# -- the hot path's checks ----------------------------------------------------------------


MAX_DEPTH = 32  # nesting of a JSON body: a record's details are 2 deep, a batch 3


def load_json(raw: bytes) -> Any:
    """A request body as JSON: malformed text and nesting past ``MAX_DEPTH`` are 422 (deeper
    values cannot be written back out: orjson stops at 254 levels)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestInvalid(
            f"The body is not valid JSON: {exc}.",
            hint="Send a JSON object with Content-Type: application/json.",
            code="body_malformed",
        ) from None
    level, pending = 0, [value] if isinstance(value, dict | list) else []
    while pending:
        level += 1
        if level > MAX_DEPTH:
            raise RequestInvalid(
                f"The body nests objects and arrays more than {MAX_DEPTH} levels deep.",
                hint="Records and requests are flat objects; details are one object of values.",
                code="body_too_deep",
            )
        pending = [
            child
            for item in pending
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
    return value


def _invalid(errors: list[dict[str, Any]]) -> RequestInvalid:
    return RequestInvalid(
        "The request body does not match the schema.",
        errors=errors,
        hint="See /openapi.json for the request shapes.",
    )


def check_decision(obj: Any, where: str = "") -> list[dict[str, Any]]:
    """Schema errors of one decision request (empty when it is well formed)."""
    whole = where.rstrip(".") or "body"
    if not isinstance(obj, dict):
        return [{"loc": whole, "msg": "must be a JSON object"}]
    errors = []
    for name in ("subject", "action"):
        if not isinstance(obj.get(name), str):
            errors.append({"loc": f"{where}{name}", "msg": "required, a string"})
    context = obj.get("context", {})
    if context is None:
        context = {}
    if not isinstance(context, dict) or not all(
        isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))
        for v in context.values()
    ):
        errors.append({"loc": f"{where}context", "msg": "an object of strings or integers"})
    purpose = obj.get("purpose")
    if purpose is not None and (not isinstance(purpose, str) or len(purpose) > 200):
        errors.append({"loc": f"{where}purpose", "msg": "a string of at most 200 characters"})
    transaction = obj.get("transaction")
    if transaction is not None and (not isinstance(transaction, str) or len(transaction) > 64):
        errors.append({"loc": f"{where}transaction", "msg": "a string of at most 64 characters"})
    extra = set(obj) - {"subject", "action", "context", "purpose", "transaction"}
    if extra:
        errors.append({"loc": whole, "msg": f"unknown fields: {', '.join(sorted(extra))}"})
    return errors


def parse_decision(obj: Any) -> dict[str, Any]:
    errors = check_decision(obj)
    if errors:
        raise _invalid(errors)
    return obj


def parse_batch(obj: Any) -> list[Any]:
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("requests"), list)
        or set(obj) - {"requests"}
    ):
        raise _invalid([{"loc": "requests", "msg": "required, an array of decision requests"}])
    items = obj["requests"]
    if len(items) > MAX_BATCH:
        raise TooLarge(
            f"A batch holds at most {MAX_BATCH:,} requests; this one has {len(items):,}.",
            hint="Split it into several batches.",
            code="batch_too_large",
        )
    return items


def parse_records(obj: Any) -> list[dict[str, Any]]:
    if (
        not isinstance(obj, dict)
        or not isinstance(obj.get("records"), list)
        or set(obj) - {"records"}
    ):
        raise _invalid([{"loc": "records", "msg": "required, an array of record objects"}])
    items = obj["records"]
    if len(items) > MAX_BATCH:
        raise TooLarge(
            f"A submission over HTTP holds at most {MAX_BATCH:,} records; this one has "
            f"{len(items):,}.",
            hint="Split it, or send large files with `xinyong ingest`.",
            code="batch_too_large",
        )
    bad = [i for i, r in enumerate(items) if not isinstance(r, dict)]
    if bad:
        raise _invalid([{"loc": f"records.{i}", "msg": "must be a JSON object"} for i in bad[:20]])
    return items


# -- due process --------------------------------------------------------------------------

MAX_EVIDENCE_BODY = 16 * 2**20  # an objection with its evidence files, base64-encoded


class EvidenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200, description="The file's name, e.g. receipt.pdf.")
    content_base64: str = Field(description="The file's bytes, base64-encoded (10 MiB at most).")


class ObjectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record: str = Field(
        max_length=200,
        description="The record as the subject's file shows it: its source_record_id, or "
        "SOURCE:ID where two sources used the same id.",
    )
    reason: str = Field(max_length=4000, description="Why the record is wrong, in words.")
    evidence: list[EvidenceFile] = Field(default_factory=list, max_length=5)


class ConsentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Literal["commercial_score"] = Field(
        description="What the consent is for: one purpose per request, never bundled."
    )
    decision: Literal["give", "withdraw"] = Field(
        description="give: opt in on the current text; withdraw: end it now (scoring stops,"
        " the stored score is deleted, partners whose rewards end are told)."
    )
    text_version: str | None = Field(
        default=None,
        max_length=40,
        description="To give consent: the version of the text the subject read"
        " (GET /v1/subjects/{id}/consents shows the current one).",
    )


class Consent(BaseModel):
    purpose: str
    in_force: bool
    record: str = Field(description="The consent record in the subject's file.")
    text_version: str
    channel: str
    given_on: str
    given_at: str | None
    withdrawn_at: str | None


class ConsentText(BaseModel):
    version: str
    zh: str
    en: str


class ConsentsResponse(BaseModel):
    subject: str
    consents: list[Consent] = Field(description="Newest first, in force or withdrawn.")
    texts: dict[str, ConsentText] = Field(description="The current text of each purpose.")


class ConsentAnswer(BaseModel):
    changed: bool = Field(description="False when the consent was already in force.")
    consent: Consent
    stored_rows_deleted: int | None = None


class RepairRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record: str = Field(max_length=200, description="The record to repair (its source_record_id).")
    commitment: str = Field(max_length=4000, description="The subject's public credit commitment.")
    evidence: list[EvidenceFile] = Field(default_factory=list, max_length=5)


class RepairDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grant: bool = Field(description="True: the repair is granted (from today).")
    reason: str = Field(max_length=4000, description="Why, in words the subject will read.")


class Repair(BaseModel):
    repair: str
    record: str
    source: str
    category: str
    commitment: str
    channel: str
    applied_on: str
    due_on: str
    status: Literal["open", "granted", "refused"]
    overdue: bool
    decided_on: str | None
    decision_reason: str | None
    evidence: list[dict[str, Any]]


class RepairsResponse(BaseModel):
    subject: str
    repairs: list[Repair]


class ObjectionDecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    uphold: bool = Field(description="True: the objection is well founded (the record is revoked).")
    reason: str = Field(max_length=4000, description="Why, in words the subject will read.")


class Objection(BaseModel):
    objection: str
    record: str
    source: str
    category: str
    reason: str
    channel: str
    filed_on: str
    due_on: str
    status: Literal["open", "upheld", "rejected"]
    overdue: bool
    decided_on: str | None
    decision_reason: str | None
    reconsiders: str | None = Field(
        default=None, description="The rejected objection this one asks to reconsider."
    )
    evidence: list[dict[str, Any]]


class ObjectionsResponse(BaseModel):
    subject: str
    objections: list[Objection]


class SubjectFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    identifier: str = Field(description="The subject's own identifier (the subject asks).")
    kind: str
    known: bool
    current_records: list[dict[str, Any]]
    history: list[dict[str, Any]]
    state: dict[str, Any] = Field(description="Lists, scores and measures, each explained.")
    remedies: list[dict[str, Any]] = Field(description="What would lift each measure, and when.")
    objections: list[Objection]


class NoticesResponse(BaseModel):
    subject: str
    notices: list[dict[str, Any]]


def parse_model(model: type[BaseModel], obj: Any) -> Any:
    """A request body as ``model``, or RequestInvalid listing each field that is wrong."""
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise _invalid(
            [
                {"loc": ".".join(str(p) for p in e["loc"]) or "body", "msg": e["msg"]}
                for e in exc.errors()[:20]
            ]
        ) from None
