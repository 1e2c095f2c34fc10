"""Why a record was rejected: a stable code and a sentence a clerk understands.

Codes are part of the public interface (rejects files, POST /v1/records). ``field`` is
the detail field or column concerned; ``hint`` carries extra facts from the validator.
"""

from __future__ import annotations

from typing import Any

from xinyong.errors import InvalidIdentifier
from xinyong.ids import parse_subject

MESSAGES: dict[str, str] = {
    "malformed_line": "This line could not be read as a record: {hint}.",
    "unknown_field": "The record has a field {field!r} that the record format does not know.",
    "source_record_id_missing": "The record has no source_record_id, the source's own id for it.",
    "subject_missing": "The record names no subject.",
    "subject_invalid": "The subject {value!r} is not a valid identifier: {hint}",
    "category_unknown": "The category {value!r} is not in the catalogue (see `xinyong catalog list`).",
    "category_not_granted": "This source may not submit records in category {value!r}; its grant is: {hint}.",
    "subject_kind_not_allowed": "Category {value!r} may not concern a {hint}.",
    "occurred_on_missing": "The record has no occurred_on date.",
    "occurred_on_invalid": "occurred_on {value!r} is not a real date in the form YYYY-MM-DD.",
    "occurred_on_future": "occurred_on {value!r} is in the future.",
    "amount_invalid": "amount {value!r} is not an amount in yuan with at most two decimals.",
    "amount_negative": "amount {value!r} is negative; amounts are never below zero.",
    "action_invalid": "action {value!r} is not one of add, correct or revoke.",
    "supersedes_missing": "A {value} record must name the record it supersedes in 'supersedes'.",
    "details_invalid": "details is not a JSON object: {hint}.",
    "detail_unknown": "details has a field {field!r} that category {value!r} does not declare.",
    "detail_missing": "details lacks {field!r}, which category {value!r} requires.",
    "detail_type": "details field {field!r} should be {hint}.",
    "conflict": "source_record_id {value!r} was already submitted with different content; "
    "send a 'correct' record that supersedes it instead.",
    "supersedes_unknown": "supersedes names {value!r}, which this source never submitted.",
    "document_repeated": "document {value!r} is already on a current record of this subject in "
    "this category under another source_record_id: the same case would count twice. Send a "
    "'correct' record that supersedes the first, or ingest with --allow-repeat if these really "
    "are two records.",
}

# Accepted records that the source should look at again (the warnings file, the --json
# summary, POST /v1/records' answer).
WARNINGS: dict[str, str] = {
    "exit_unmatched": "This removal ends nothing: no current listing of this subject has "
    "document {value!r}. {hint}",
    "document_repeated": "document {value!r} is already on a current record of this subject in "
    "this category under another source_record_id; accepted with --allow-repeat, so both count.",
}


def warning(code: str, *, value: object = None, hint: str | None = None) -> str:
    return WARNINGS.get(code, code).format(value=value, hint=hint or "").strip()


def message(
    code: str, *, field: str | None = None, value: object = None, hint: str | None = None
) -> str:
    template = MESSAGES.get(code, code)
    return template.format(field=field, value=value, hint=hint)


def explain(
    reason: str, record: dict[str, Any], *, field: str | None, hint: str | None, grant: str
) -> str:
    """The sentence for a record rejected by the validator, with the facts that make it
    specific: the value concerned, what the identifier check found, the source's grant."""
    value: Any = None
    if reason == "subject_invalid":
        value = record.get("subject")
        try:
            parse_subject(value or "")
            hint = "it was not accepted"
        except InvalidIdentifier as exc:
            hint = exc.message
    elif reason in (
        "category_unknown",
        "detail_unknown",
        "detail_missing",
        "subject_kind_not_allowed",
    ):
        value = record.get("category")
    elif reason == "category_not_granted":
        value, hint = record.get("category"), grant
    elif reason.startswith("occurred_on"):
        value = record.get("occurred_on")
    elif reason.startswith("amount"):
        value = record.get("amount")
    elif reason in ("action_invalid", "supersedes_missing"):
        value = record.get("action")
    return message(reason, field=field, value=value, hint=hint)
