"""Resident identity numbers (GB 11643-1999): validation and what the number says."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent

from xinyong.errors import InvalidIdentifier


@dataclass(frozen=True)
class ResidentNumber:
    number: str
    birth_date: dt.date
    sex: str  # "male" (odd sequence) or "female" (even)
    region_code: str


def parse_resident(value: str) -> ResidentNumber:
    """Validate as python-stdnum's ``ric.validate`` does (length, digits, MOD 11-2 check
    character, birth date, and a region that existed in the birth year), with the region
    look-up memoised: decisions parse an identifier on every request. Raise
    InvalidIdentifier with a sentence a clerk understands."""
    number = value if _COMPACT.fullmatch(value) else ric.compact(value)
    if len(number) != 18:
        raise InvalidIdentifier(
            f"{value!r} has {len(number)} characters; a resident identity number has 18."
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidIdentifier(
            f"{value!r} is not a resident identity number: 17 digits and a final digit or X."
        )
    if number[-1] != ric.calc_check_digit(number):
        raise InvalidIdentifier(
            f"{number} has a wrong check character: the 18th character should be "
            f"{ric.calc_check_digit(number)!r}, not {number[-1]!r}.",
            hint="Check the number against the identity card.",
        )
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier(_component_problem(number)) from None
    if not _region_existed(number[:6], birth.year):
        raise InvalidIdentifier(_component_problem(number))
    seq = int(number[14:17])
    return ResidentNumber(
        number=number,
        birth_date=birth,
        sex="male" if seq % 2 else "female",
        region_code=number[:6],
    )


_COMPACT = re.compile(r"[0-9]{17}[0-9X]")


@lru_cache(maxsize=65536)
def _region_existed(region: str, year: int) -> bool:
    """stdnum's birth-place rule for this region and year (its database is slow to search)."""
    try:
        ric.get_birth_place(f"{region}{year:04d}0101000")
    except (InvalidComponent, KeyError):
        # stdnum raises KeyError for a province it knows without the county.
        return False
    return True


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
