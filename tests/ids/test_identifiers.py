"""Subject identifiers: the facts.md 5.4 vectors, normalisation, masking, pseudonymous keys,
and property tests against python-stdnum and an independent oracle written from the
standards (GB 11643 MOD 11-2, GB 32100 MOD 31).

The strategies at the top (``residents``, ``credit_codes``, ``mutated``) are reused by
tests/ids/test_sql_parity.py and tests/ledger/test_validate.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from tests.factories import COMPANY, COMPANY_2, PERSON, PERSON_2
from xinyong.errors import InvalidIdentifier
from xinyong.ids import mask, parse_subject, subject_key
from xinyong.ids.regions import region_rows

# -- the standards, written out independently of src/ ------------------------------------

# GB 32100: 31 symbols (no I, O, S, V, Z), weights 3^(i-1) mod 31, check = (31 - S mod 31) mod 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
USCC_AUTHORITIES = "123456789ANY"  # our wrapper also allows A (CMC), N (agriculture), Y (other)

# GB 11643 / ISO 7064 MOD 11-2: weights 2^(18-i) mod 11, check = "10X98765432"[S mod 11].
RIC_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
DIGITS = "0123456789"

FIRST_YEAR, LAST_YEAR = 1900, 2025


def uscc_check(body17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def ric_check(body17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(body17, RIC_WEIGHTS, strict=True)) % 11]


@lru_cache(maxsize=1)
def _regions_by_code() -> dict[str, list[tuple[int | None, int | None]]]:
    found: dict[str, list[tuple[int | None, int | None]]] = {}
    for code, start, end, _name in region_rows():
        found.setdefault(code, []).append((start, end))
    return found


def oracle_person(value: str) -> bool:
    """A valid resident identity number, from the standard (region table: GB/T 2260 as
    python-stdnum ships it, with the years each county existed)."""
    if len(value) != 18 or any(c not in DIGITS for c in value[:17]):
        return False
    if value[17] not in DIGITS + "X" or ric_check(value[:17]) != value[17]:
        return False
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return any(
        (start is None or born.year >= start) and (end is None or born.year <= end)
        for start, end in _regions_by_code().get(value[:6], [])
    )


def oracle_credit_code(value: str) -> bool:
    return (
        len(value) == 18
        and value[0] in USCC_AUTHORITIES
        and all(c in DIGITS for c in value[1:8])
        and all(c in USCC_ALPHABET for c in value[8:])
        and uscc_check(value[:17]) == value[17]
    )


def oracle_compact(value: str) -> str:
    """The documented normalisation (docs/record-format.md): surrounding ASCII white space,
    inner spaces and hyphens go, ASCII letters are upper-cased. Anything else (full-width
    digits, Unicode dashes, inner line breaks) stays and makes the value invalid, although
    python-stdnum would fold some of it."""
    value = value.strip(" \t\n\r\x0b\x0c").replace(" ", "").replace("-", "")
    return value.upper() if value.isascii() else value


def oracle_kind(value: str) -> str | None:
    v = oracle_compact(value)
    if oracle_person(v):
        return "person"
    if oracle_credit_code(v):
        return "agency" if v.startswith("11") else "organisation"
    return None


# -- strategies ----------------------------------------------------------------------------


def _year_span(start: int | None, end: int | None) -> tuple[int, int] | None:
    low = max(start or FIRST_YEAR, FIRST_YEAR)
    high = min(end or LAST_YEAR, LAST_YEAR)
    return (low, high) if low <= high else None


@lru_cache(maxsize=1)
def _usable_regions() -> tuple[tuple[str, int, int], ...]:
    rows = []
    for code, start, end, _name in region_rows():
        span = _year_span(start, end)
        if span is not None:
            rows.append((code, *span))
    return tuple(rows)


@st.composite
def residents(draw: st.DrawFn) -> str:
    """A valid resident number: a real region, a date in a year the region existed."""
    code, low, high = draw(st.sampled_from(_usable_regions()))
    born = draw(st.dates(min_value=dt.date(low, 1, 1), max_value=dt.date(high, 12, 31)))
    seq = draw(st.integers(0, 999))
    body = f"{code}{born:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


@st.composite
def credit_codes(draw: st.DrawFn, authorities: str = USCC_AUTHORITIES) -> str:
    """A valid unified social credit code (any registration authority we accept)."""
    first = draw(st.sampled_from(authorities))
    rest = draw(st.text(DIGITS, min_size=7, max_size=7))
    org = draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    body = first + rest + org
    return body + uscc_check(body)


def organisation_codes() -> st.SearchStrategy[str]:
    return credit_codes().filter(lambda c: not c.startswith("11"))


@st.composite
def agency_codes(draw: st.DrawFn) -> str:
    body = "11" + draw(st.text(DIGITS, min_size=6, max_size=6))
    body += draw(st.text(USCC_ALPHABET, min_size=9, max_size=9))
    return body + uscc_check(body)


def valid_identifiers() -> st.SearchStrategy[str]:
    return st.one_of(residents(), credit_codes())


# Characters a single-character typo may produce: the alphabets, the letters the USCC
# leaves out, lower case, separators, whitespace and look-alike digits.
MUTATION_CHARS = (
    DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "xal" + " -" + "\n\t" + "\u0663\uff11\u2013"
)


@st.composite
def mutated(draw: st.DrawFn, chars: str = MUTATION_CHARS) -> str:
    """A valid identifier with exactly one character replaced by a different one."""
    value = draw(valid_identifiers())
    pos = draw(st.integers(0, len(value) - 1))
    new = draw(st.sampled_from(chars).filter(lambda c: c != value[pos]))
    return value[:pos] + new + value[pos + 1 :]


def _kind_or_none(value: str) -> str | None:
    try:
        return parse_subject(value).kind
    except InvalidIdentifier:
        return None


# -- facts.md 5.4 vectors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "identifier"),
    [
        ("91110000600037341L", "91110000600037341L"),
        ("91350100M000100Y43", "91350100M000100Y43"),
        ("91110000600037341l", "91110000600037341L"),
        ("9 1 110000 600037341L", "91110000600037341L"),
    ],
)
def test_valid_credit_code_vectors_are_organisations(value: str, identifier: str) -> None:
    subject = parse_subject(value)
    assert subject.kind == "organisation"
    assert subject.identifier == identifier
    assert subject.region_code == identifier[2:8]
    assert subject.birth_date is None
    assert subject.sex is None
    assert stdnum_uscc.is_valid(value)


def test_credit_code_with_wrong_check_character_names_the_expected_one() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_subject("91110000600037341K")
    message = str(info.value)
    assert "check character" in message
    assert "'L'" in message
    assert "'K'" in message


def test_registration_authority_y_is_accepted_although_stdnum_refuses_it() -> None:
    assert not stdnum_uscc.is_valid("Y1110000600037341Y")
    assert oracle_credit_code("Y1110000600037341Y")
    subject = parse_subject("Y1110000600037341Y")
    assert subject.kind == "organisation"
    assert subject.identifier == "Y1110000600037341Y"


@pytest.mark.parametrize("first", ["A", "N", "Y"])
def test_authorities_a_n_y_are_organisations(first: str) -> None:
    body = first + "1110000600037341"
    code = body + uscc_check(body)
    assert parse_subject(code).kind == "organisation"
    wrong = body + next(c for c in USCC_ALPHABET if c != code[-1])
    with pytest.raises(InvalidIdentifier):
        parse_subject(wrong)


def test_government_organ_code_is_an_agency() -> None:
    body = "11110000600037341"
    code = body + uscc_check(body)
    subject = parse_subject(code)
    assert subject.kind == "agency"
    assert subject.identifier == code
    assert subject.region_code == "110000"
    # Authority 1, category 2 (a public institution) is an organisation, not an agency.
    body = "12110000600037341"
    assert parse_subject(body + uscc_check(body)).kind == "organisation"


@pytest.mark.parametrize(
    ("value", "born", "sex", "region"),
    [
        ("11010519491231002X", dt.date(1949, 12, 31), "female", "110105"),
        ("360426199101010071", dt.date(1991, 1, 1), "male", "360426"),
        ("110105200001010032", dt.date(2000, 1, 1), "male", "110105"),
    ],
)
def test_valid_resident_vectors(value: str, born: dt.date, sex: str, region: str) -> None:
    subject = parse_subject(value)
    assert subject.kind == "person"
    assert subject.identifier == value
    assert subject.birth_date == born
    assert subject.sex == sex
    assert subject.region_code == region
    assert ric.is_valid(value)


def test_resident_with_wrong_check_character_names_the_expected_one() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_subject("110105194912310021")
    message = str(info.value)
    assert "check character" in message
    assert "'X'" in message  # MOD 11-2 of 11010519491231002 is X
    assert "'1'" in message


def test_resident_with_february_30_says_the_birth_date_is_wrong() -> None:
    value = "110105194902300020"
    assert ric_check(value[:17]) == value[17]  # facts.md: the checksum is right
    with pytest.raises(InvalidIdentifier) as info:
        parse_subject(value)
    message = str(info.value)
    assert "birth date" in message
    assert "19490230" in message


def test_resident_with_unknown_region_names_the_region() -> None:
    value = "34052419800101001X"  # the GB 11643 textbook example; 340524 is not in the table
    assert ric_check(value[:17]) == "X"
    with pytest.raises(InvalidIdentifier) as info:
        parse_subject(value)
    message = str(info.value)
    assert "340524" in message
    assert "region" in message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "No subject identifier"),
        ("   ", "No subject identifier"),
        ("1101051949123100", "18"),
        ("11010519491231002X0", "18"),
        ("91110000600037341I", "I, O, S, V, Z"),
    ],
)
def test_other_invalid_values_say_what_is_wrong(value: str, problem: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_subject(value)
    assert problem in str(info.value)


@pytest.mark.parametrize(
    ("value", "identifier"),
    [
        ("11010519491231002x", "11010519491231002X"),
        ("  11010519491231002x  ", "11010519491231002X"),
        ("110105-19491231-002X", "11010519491231002X"),
        ("110105 19491231 002x", "11010519491231002X"),
        (" 9111-0000-6000-3734-1l ", "91110000600037341L"),
        ("\t91110000600037341L\n", "91110000600037341L"),
    ],
)
def test_normalisation(value: str, identifier: str) -> None:
    assert parse_subject(value).identifier == identifier


@pytest.mark.parametrize("value", ["1309242006071799\n8", "1101051949123100\n2"])
def test_a_line_break_inside_a_resident_number_is_refused(value: str) -> None:
    """Not digits, so not a resident number (python-stdnum's digit check lets a final
    line break through: its regular expression ends in ``$``)."""
    assert not oracle_person(value)
    assert oracle_kind(value) is None
    with pytest.raises(InvalidIdentifier):
        parse_subject(value)


def test_non_string_is_refused() -> None:
    with pytest.raises(InvalidIdentifier):
        parse_subject(None)  # type: ignore[arg-type]


# -- masking and pseudonymous keys ---------------------------------------------------------


@pytest.mark.parametrize("value", [PERSON, PERSON_2, COMPANY, COMPANY_2])
def test_mask_keeps_first_six_and_last_four(value: str) -> None:
    masked = mask(value)
    assert masked == value[:6] + "********" + value[-4:]
    assert len(masked) == 18


def test_mask_hides_short_values_whole() -> None:
    assert mask("12345") == "*****"
    assert mask("") == ""


def test_subject_key_is_deterministic_per_secret_and_32_hex() -> None:
    a = subject_key(b"secret-a", PERSON)
    assert a == subject_key(b"secret-a", PERSON)
    assert re.fullmatch(r"[0-9a-f]{32}", a)
    assert a != subject_key(b"secret-b", PERSON)
    assert a != subject_key(b"secret-a", PERSON_2)
    expected = hmac.new(b"secret-a", PERSON.encode(), hashlib.sha256).hexdigest()[:32]
    assert a == expected


# -- properties ----------------------------------------------------------------------------

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(residents())
def test_any_valid_resident_is_a_person(value: str) -> None:
    assert ric.is_valid(value)
    assert oracle_person(value)
    subject = parse_subject(value)
    assert subject.kind == "person"
    assert subject.identifier == value
    assert subject.birth_date == dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    assert subject.sex == ("male" if int(value[14:17]) % 2 else "female")
    assert subject.region_code == value[:6]
    # Lower case x and separators change nothing.
    spaced = f"  {value[:6]}-{value[6:14]} {value[14:].lower()} "
    assert parse_subject(spaced) == subject


@PROPERTY
@given(credit_codes())
def test_any_valid_credit_code_is_an_organisation_or_agency(value: str) -> None:
    subject = parse_subject(value)
    assert subject.kind == ("agency" if value.startswith("11") else "organisation")
    assert subject.identifier == value
    assert subject.region_code == value[2:8]
    assert subject.birth_date is None
    if value[0] in DIGITS:
        assert stdnum_uscc.is_valid(value)
    assert parse_subject(value.lower()).identifier == value


@PROPERTY
@given(valid_identifiers())
def test_mask_and_key_of_any_identifier(value: str) -> None:
    masked = mask(value)
    assert masked[:6] == value[:6]
    assert masked[-4:] == value[-4:]
    assert masked[6:14] == "*" * 8
    key = subject_key(b"k", value)
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert key == subject_key(b"k", value) != subject_key(b"other", value)


@PROPERTY
@given(mutated())
def test_a_single_changed_character_agrees_with_the_oracle(value: str) -> None:
    expected = oracle_kind(value)
    actual = _kind_or_none(value)
    assert actual == expected, f"{value!r}: parse_subject: {actual}, the standard: {expected}"
    if actual is not None:
        assert parse_subject(value).identifier == oracle_compact(value)


@PROPERTY
@given(st.text(DIGITS + USCC_ALPHABET + "IOSVZ", min_size=18, max_size=18))
def test_oracle_agrees_with_stdnum_on_plain_strings(value: str) -> None:
    """The oracle is itself checked: on 18 plain characters it says what stdnum says
    (stdnum refuses authorities A, N and Y, which the oracle and our wrapper allow)."""
    assert oracle_person(value) == ric.is_valid(value)
    if value[0] in "123456789":  # stdnum also takes authority 0, which GB 32100 lacks
        assert oracle_credit_code(value) == stdnum_uscc.is_valid(value)
    assert _kind_or_none(value) == oracle_kind(value)


def _disagreements(value: str) -> list[tuple[str, str | None, str | None]]:
    wrong = []
    for pos in range(len(value)):
        for new in MUTATION_CHARS:
            if new == value[pos]:
                continue
            changed = value[:pos] + new + value[pos + 1 :]
            actual, expected = _kind_or_none(changed), oracle_kind(changed)
            if actual != expected:
                wrong.append((changed, actual, expected))
    return wrong


@pytest.mark.parametrize(
    "value", [PERSON, PERSON_2, "110105200001010032", COMPANY, COMPANY_2, "Y1110000600037341Y"]
)
def test_every_single_character_change_of_the_vectors(value: str) -> None:
    """Exhaustive over positions and typo characters, for the known-good vectors."""
    assert _disagreements(value) == []


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_identifiers())
@example("130924200607179998")  # found by this test: 17th digit -> line break stays "valid"
def test_every_single_character_change_of_any_identifier(value: str) -> None:
    """Exhaustive over positions and typo characters, for generated identifiers."""
    assert _disagreements(value) == []
