"""The one SQL-literal and SQL-identifier helper (xinyong/sql.py)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from xinyong.errors import PolicyError
from xinyong.sql import identifier, literal, literal_list


def _one(sql: str) -> object:
    con = duckdb.connect()
    try:
        return con.execute(f"SELECT {sql}").fetchall()[0][0]
    finally:
        con.close()


@given(st.text().filter(lambda t: "\0" not in t))
def test_a_text_literal_reads_back_as_itself(text: str) -> None:
    assert _one(literal(text)) == text


@given(st.one_of(st.integers(-(2**62), 2**62), st.booleans(), st.dates(), st.none()))
def test_scalar_literals_read_back(value: object) -> None:
    assert _one(literal(value)) == value


def test_a_list_is_never_empty_sql() -> None:
    assert _one(f"1 IN {literal_list([])}") is None
    assert _one(f"'b' IN {literal_list(['a', 'b'])}") is True


def test_a_nul_cannot_hide_in_a_literal() -> None:
    with pytest.raises(ValueError, match="NUL"):
        literal("a\0b")


@pytest.mark.parametrize("good", ["situation", "term_months", "a1", "x" * 40])
def test_plain_names_are_identifiers(good: str) -> None:
    assert identifier(good) == good


@pytest.mark.parametrize(
    "bad",
    ["", "Situation", "1a", "a-b", "a b", "x" * 41, 'a"; DROP TABLE records; --', "é", "_a"],
)
def test_anything_else_is_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(PolicyError, match="cannot name a SQL column") as caught:
        identifier(bad)
    assert caught.value.code == "name_invalid"


def test_dates_are_typed_literals() -> None:
    assert literal(dt.date(2026, 1, 2)) == "DATE '2026-01-02'"
