"""A subject identifier of any kind: a person's resident number or an organisation's code."""

from __future__ import annotations

import datetime as dt
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


def compact_identifier(value: str) -> str:
    """Strip spaces and hyphens, upper-case: the form stored and hashed (SQL twin: ids/sql.py)."""
    return value.strip().replace(" ", "").replace("-", "").upper()


def _looks_like_resident(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit():
        return False
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
