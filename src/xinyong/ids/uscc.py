"""Unified social credit codes (GB 32100-2015).

python-stdnum checks the MOD 31 check character but requires the first 8 characters to
be digits, which wrongly refuses codes issued by registration authorities A, N and Y.
We wrap it: the same check, with those authorities allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.cn import uscc as _stdnum_uscc

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
REGISTRATION_AUTHORITIES = "123456789ANY"


@dataclass(frozen=True)
class CreditCode:
    code: str
    registration_authority: str
    category: str
    region_code: str

    @property
    def kind(self) -> str:
        """Government organs (authority 1, category 1) are agencies; the rest organisations."""
        return "agency" if self.code[:2] == "11" else "organisation"


_COMPACT = re.compile(r"[0-9A-Z]{18}")


def compact(value: str) -> str:
    # Already compact (as parse_subject passes it) is the common case: skip stdnum's clean.
    return value if _COMPACT.fullmatch(value) else _stdnum_uscc.compact(value)


def check_character(body17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(body17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(value: str) -> str | None:
    """None when ``value`` is a valid code, else a sentence saying what is wrong."""
    code = compact(value)
    if len(code) != 18:
        return f"{value!r} has {len(code)} characters; a unified social credit code has 18."
    if (
        code[0] not in REGISTRATION_AUTHORITIES
        or not code[1:8].isdigit()
        or not code[1:8].isascii()
    ):
        return (
            f"{code} does not start with a registration authority (1-9, A, N or Y) "
            "followed by seven digits."
        )
    bad = [c for c in code[8:] if c not in ALPHABET]
    if bad:
        return f"{code} contains {bad[0]!r}, which unified social credit codes never use (I, O, S, V, Z)."
    expected = check_character(code[:17])
    if code[17] != expected:
        return (
            f"{code} has a wrong check character: the 18th character should be "
            f"{expected!r}, not {code[17]!r}."
        )
    return None


def parse_credit_code(value: str) -> CreditCode | None:
    if problem(value) is not None:
        return None
    code = compact(value)
    return CreditCode(
        code=code, registration_authority=code[0], category=code[1], region_code=code[2:8]
    )
