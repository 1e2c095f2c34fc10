"""Writing values and names into SQL text: the one literal and the one identifier helper.

Values normally travel as ``?`` parameters. Where SQL text must carry one (a compiled
policy's constants, a file path in DuckDB's ``read_parquet``), ``literal`` writes it; where
data names a column or table (a catalogue's detail field, a policy's list id), ``identifier``
refuses anything but a plain lower-case name, so no policy or catalogue file can inject SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

from xinyong.errors import PolicyError

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# PostgreSQL truncates identifiers at 63 bytes; compiled names add prefixes of up to 20.
MAX_NAME = 40


def is_identifier(name: str) -> bool:
    return bool(NAME.match(name)) and len(name) <= MAX_NAME


def identifier(name: str) -> str:
    """``name`` as a SQL identifier; raises PolicyError for anything but [a-z][a-z0-9_]*."""
    if not is_identifier(name):
        raise PolicyError(
            f"{name!r} cannot name a SQL column or table.",
            hint=f"Use lower-case letters, digits and '_', starting with a letter, at most "
            f"{MAX_NAME} characters.",
            code="name_invalid",
        )
    return name


def literal(value: object) -> str:
    """A SQL literal for ``value``: NULL, a boolean, a number, a date or quoted text."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, Path):
        value = str(value)
    text = str(value)
    if "\0" in text:
        raise ValueError("a SQL literal cannot hold a NUL character")
    return "'" + text.replace("'", "''") + "'"


def literal_list(values: Iterable[object]) -> str:
    """``(a, b, c)`` for ``IN``; a list is never empty in SQL, so ``(NULL)`` stands for none."""
    items = [literal(v) for v in values]
    return "(" + (", ".join(items) or "NULL") + ")"
