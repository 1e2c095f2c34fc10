"""A subject identifier of any kind: a person's resident number or an organisation's code."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from xinyong.errors import InvalidIdentifier
from xinyong.ids import resident, uscc


@dataclass(frozen=True)
class SubjectId:
    identifier: str
    kind: str  # person, organisation or agency
    region_code: str
    birth_date: dt.date | None = None
    sex: str | None = None


# Only ASCII white space is trimmed, and only ASCII letters are upper-cased, so that this
# and compact_sql() in ids/sql.py agree on every input (full-width digits, Unicode dashes
# and inner line breaks are refused by both, not silently repaired by one).
ASCII_SPACE = " \t\n\r\x0b\x0c"
_SHAPE = re.compile(r"[0-9A-Z]{18}")
_RESIDENT_SHAPE = re.compile(r"[0-9]{17}[0-9X]")


def _shown(value: str) -> str:
    """The value as quoted in an error: whole up to 40 characters, else its start."""
    return repr(value) if len(value) <= 40 else repr(value[:40]) + "…"


def compact_identifier(value: str) -> str:
    """Trim, drop inner spaces and hyphens, upper-case: the form stored and hashed."""
    text = value.strip(ASCII_SPACE).replace(" ", "").replace("-", "")
    return text.upper() if text.isascii() else text


def _looks_like_resident(value: str) -> bool:
    """Was ``value`` meant as a resident number? (Only decides which error to report.)"""
    if not value[:17].isdigit():
        return False
    if resident.check_character(value) == value[17]:
        return True
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return True


def parse_subject(value: str) -> SubjectId:
    """A valid resident number makes a person; otherwise a valid credit code an organisation
    or agency. The same precedence is used by the vectorised validator."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidIdentifier("No subject identifier was given.")
    value = compact_identifier(value)
    if not _SHAPE.fullmatch(value):
        if len(value) != 18:
            raise InvalidIdentifier(
                f"{_shown(value)} has {len(value)} characters; resident identity numbers and unified "
                "social credit codes have 18."
            )
        bad = next(c for c in value if not ("0" <= c <= "9" or "A" <= c <= "Z"))
        raise InvalidIdentifier(
            f"{_shown(value)} contains {bad!r}; identifiers are ASCII digits and letters."
        )
    if not _RESIDENT_SHAPE.fullmatch(value):
        # Not shaped like a resident number: a valid credit code needs no second look.
        code = uscc.parse_credit_code(value)
        if code is not None:
            return SubjectId(identifier=code.code, kind=code.kind, region_code=code.region_code)
    try:
        person = resident.parse_resident(value)
    except InvalidIdentifier as person_error:
        code = uscc.parse_credit_code(value)
        if code is None:
            # Say the more helpful of the two problems: a value with a real birth date in
            # positions 7 to 14 was meant as a resident number.
            if _looks_like_resident(value):
                raise person_error from None
            raise InvalidIdentifier(uscc.problem(value) or str(person_error)) from None
        return SubjectId(identifier=code.code, kind=code.kind, region_code=code.region_code)
    return SubjectId(
        identifier=person.number,
        kind="person",
        region_code=person.region_code,
        birth_date=person.birth_date,
        sex=person.sex,
    )
