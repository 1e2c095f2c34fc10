"""Resident identity numbers (GB 11643-1999): validation and what the number says."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from stdnum.cn import ric
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength, ValidationError

from xinyong.errors import InvalidIdentifier


@dataclass(frozen=True)
class ResidentNumber:
    number: str
    birth_date: dt.date
    sex: str  # "male" (odd sequence) or "female" (even)
    region_code: str


def parse_resident(value: str) -> ResidentNumber:
    """Validate with python-stdnum; raise InvalidIdentifier with a sentence a clerk understands."""
    number = ric.compact(value)
    try:
        ric.validate(number)
    except InvalidLength:
        raise InvalidIdentifier(
            f"{value!r} has {len(number)} characters; a resident identity number has 18."
        ) from None
    except InvalidChecksum:
        raise InvalidIdentifier(
            f"{number} has a wrong check character: the 18th character should be "
            f"{ric.calc_check_digit(number)!r}, not {number[-1]!r}.",
            hint="Check the number against the identity card.",
        ) from None
    except (InvalidComponent, KeyError):
        # stdnum raises KeyError for a province it knows without the county.
        raise InvalidIdentifier(_component_problem(number)) from None
    except ValidationError:
        raise InvalidIdentifier(
            f"{value!r} is not a resident identity number: 17 digits and a final digit or X."
        ) from None
    seq = int(number[14:17])
    return ResidentNumber(
        number=number,
        birth_date=ric.get_birth_date(number),
        sex="male" if seq % 2 else "female",
        region_code=number[:6],
    )


def _component_problem(number: str) -> str:
    try:
        birth = ric.get_birth_date(number)
    except (InvalidComponent, ValueError):
        return f"{number} has no real birth date in positions 7 to 14 ({number[6:14]})."
    return (
        f"{number} names region {number[:6]}, which was not an administrative division "
        f"in its birth year {birth.year}."
    )


def check_character(number: str) -> str:
    """The MOD 11-2 check character for the first 17 digits of ``number``."""
    return ric.calc_check_digit(number[:17] + "0")


def is_resident(value: str) -> bool:
    try:
        parse_resident(value)
    except InvalidIdentifier:
        return False
    return True
