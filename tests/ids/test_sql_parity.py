"""The DuckDB twin of the identifier validators (ids/sql.py) agrees with the Python ones
(parse_subject, subject_key) on arbitrary inputs. Ingestion validates with the SQL, the
API with Python: any disagreement means the same record is accepted by one and refused
by the other.
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import COMPANY, PERSON
from tests.ids.test_identifiers import (
    DIGITS,
    USCC_ALPHABET,
    credit_codes,
    mutated,
    residents,
    valid_identifiers,
)
from xinyong.errors import InvalidIdentifier
from xinyong.ids import parse_subject, subject_key
from xinyong.ids.pseudonym import KEY_HEX_CHARS
from xinyong.ids.sql import (
    compact_sql,
    create_regions_table,
    credit_code_valid_sql,
    load_key,
    resident_valid_sql,
    subject_key_sql,
    subject_kind_sql,
)

SECRETS = (
    b"test-secret",
    b"",
    b"k" * 64,  # exactly one SHA-256 block: used as the key as it is
    bytes(range(100)),  # longer than a block: HMAC hashes the key first
    "密钥-ünïcode".encode(),
)

PARITY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Typos a clerk makes on a keyboard: the alphabets, the letters the USCC leaves out,
# lower case, separators.
ASCII_TYPOS = DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" + "xa" + " -"


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    create_regions_table(connection)
    yield connection
    connection.close()


def _python_kind(value: str) -> str | None:
    try:
        return parse_subject(value).kind
    except InvalidIdentifier:
        return None


def _sql_rows(
    con: duckdb.DuckDBPyConnection, values: list[str], secrets: tuple[bytes, ...] = ()
) -> list[tuple[object, ...]]:
    """(i, compacted, kind, key per secret...) for each value, evaluated in one query."""
    table = pa.table(
        {"i": pa.array(range(len(values)), pa.int64()), "v": pa.array(values, pa.string())}
    )
    con.register("vals", table)
    try:
        for n, secret in enumerate(secrets):
            load_key(con, secret, f"key_pads_{n}")
        keys = "".join(
            f", {subject_key_sql('s', KEY_HEX_CHARS, f'key_pads_{n}')} AS key_{n}"
            for n in range(len(secrets))
        )
        return con.sql(
            f"""WITH c AS (SELECT i, {compact_sql("v")} AS s FROM vals)
                SELECT i, s, {subject_kind_sql("s")} AS kind{keys} FROM c ORDER BY i"""
        ).fetchall()
    finally:
        con.unregister("vals")


def _assert_kinds_agree(con: duckdb.DuckDBPyConnection, values: list[str]) -> None:
    rows = _sql_rows(con, values)
    assert len(rows) == len(values)
    wrong = [
        (value, _python_kind(value), kind)
        for value, (_i, _s, kind) in zip(values, rows, strict=True)
        if _python_kind(value) != kind
    ]
    assert wrong == [], "(value, parse_subject kind, SQL kind): " + repr(wrong)


def inputs() -> st.SearchStrategy[str]:
    return st.one_of(
        residents(),
        credit_codes(),
        mutated(ASCII_TYPOS),
        st.text(DIGITS + "X" + USCC_ALPHABET, min_size=18, max_size=18),
        st.text(max_size=20),
    )


# -- known values --------------------------------------------------------------------------


def test_known_values(con: duckdb.DuckDBPyConnection) -> None:
    values = [
        PERSON,
        "360426199101010071",
        "11010519491231002x",
        " 110105-19491231-002X ",
        COMPANY,
        "91350100M000100Y43",
        "Y1110000600037341Y",
        "91110000600037341l",
        "110105194912310021",
        "110105194902300020",
        "34052419800101001X",
        "91110000600037341K",
        "",
        "   ",
        "abc",
        "000000000000000000",
    ]
    rows = _sql_rows(con, values)
    assert [r[2] for r in rows] == [
        "person",
        "person",
        "person",
        "person",
        "organisation",
        "organisation",
        "organisation",
        "organisation",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    _assert_kinds_agree(con, values)


def test_separate_checks_agree_with_python(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.sql(
        f"""SELECT {resident_valid_sql("'11010519491231002X'")},
                   {resident_valid_sql("'110105194912310021'")},
                   {credit_code_valid_sql("'91110000600037341L'")},
                   {credit_code_valid_sql("'91110000600037341K'")},
                   {credit_code_valid_sql("'01110000600037341L'")}"""
    ).fetchall()
    assert rows == [(True, False, True, False, False)]


# -- properties ----------------------------------------------------------------------------


@PARITY
@given(st.lists(inputs(), min_size=1, max_size=40))
def test_subject_kind_sql_agrees_with_parse_subject(
    con: duckdb.DuckDBPyConnection, values: list[str]
) -> None:
    _assert_kinds_agree(con, values)


@PARITY
@given(st.lists(valid_identifiers(), min_size=1, max_size=40), st.binary(max_size=130))
def test_subject_key_sql_agrees_with_subject_key(
    con: duckdb.DuckDBPyConnection, values: list[str], drawn_secret: bytes
) -> None:
    secrets = (*SECRETS, drawn_secret)
    rows = _sql_rows(con, values, secrets)
    for value, row in zip(values, rows, strict=True):
        identifier = parse_subject(value).identifier
        assert row[1] == identifier
        for n, secret in enumerate(secrets):
            assert row[3 + n] == subject_key(secret, identifier), (value, secret)


@st.composite
def written_variants(draw: st.DrawFn, around: str) -> str:
    """A valid identifier as people type it: lower case, spaces and hyphens inside, and
    ``around`` characters on either side (all normalised away by parse_subject)."""
    value = draw(valid_identifiers())
    lower = draw(st.integers(0, 2**18 - 1))
    chars = [c.lower() if lower >> n & 1 else c for n, c in enumerate(value)]
    for pos, sep in draw(
        st.lists(st.tuples(st.integers(1, 17), st.sampled_from(" -")), max_size=4)
    ):
        chars[pos] = sep + chars[pos]
    before = draw(st.text(around, max_size=3))
    after = draw(st.text(around, max_size=3))
    return before + "".join(chars) + after


@PARITY
@given(st.lists(written_variants(" "), min_size=1, max_size=40))
def test_spaces_hyphens_and_case_are_normalised_alike(
    con: duckdb.DuckDBPyConnection, values: list[str]
) -> None:
    _assert_kinds_agree(con, values)


@PARITY
@given(st.lists(written_variants(" \t\n\r\u3000\xa0"), min_size=1, max_size=40))
def test_surrounding_whitespace_is_normalised_alike(
    con: duckdb.DuckDBPyConnection, values: list[str]
) -> None:
    """A tab or line break around a subject (a CSV cell, a pasted value) is treated the
    same way by ingestion (SQL) and by the API (parse_subject)."""
    _assert_kinds_agree(con, values)


@PARITY
@given(
    st.lists(
        mutated("\n\t\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19"),
        min_size=1,
        max_size=40,
    )
)
def test_unusual_characters_inside_are_judged_alike(
    con: duckdb.DuckDBPyConnection, values: list[str]
) -> None:
    """Full-width digits (which python-stdnum reads as digits) and control characters
    inside an identifier get the same verdict from SQL and Python."""
    _assert_kinds_agree(con, values)


def test_unicode_dashes_are_judged_alike(con: duckdb.DuckDBPyConnection) -> None:
    """An en dash or a full-width hyphen typed as a separator (python-stdnum's compact
    removes them from credit codes)."""
    _assert_kinds_agree(
        con,
        [
            "9111000060003734\u20131L",
            "91110000\u2014600037341L",
            "911100006000\uff0d37341L",
            "110105\u201319491231002X",
        ],
    )
