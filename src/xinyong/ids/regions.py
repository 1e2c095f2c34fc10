"""Administrative division codes (GB/T 2260) as python-stdnum knows them.

stdnum accepts a resident number only if its 6-digit region existed in the birth year
(some counties carry a [start-end] range). ``region_rows`` flattens stdnum's table into
(code, start_year, end_year) rows so that the vectorised validator applies the same rule.
"""

from __future__ import annotations

from functools import lru_cache

from stdnum import numdb


@lru_cache(maxsize=1)
def region_rows() -> tuple[tuple[str, int | None, int | None, str], ...]:
    """(code, first year or None, last year or None, name) for every county entry."""
    rows: list[tuple[str, int | None, int | None, str]] = []
    for _len, low, high, _props, children in numdb.get("cn/loc").prefixes:
        if low != high:
            continue
        for _clen, clow, chigh, cprops, _grand in children:
            county = cprops.get("county")
            if county is None or clow != chigh:
                continue
            for entry in county.split(","):
                start = end = None
                name = entry
                if entry.startswith("["):
                    span, name = entry[1:].split("]", 1)
                    first, last = span.split("-")
                    start = int(first) if first else None
                    end = int(last) if last else None
                rows.append((low + clow, start, end, name))
    return tuple(rows)


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    for code, _s, _e, name in region_rows():
        names.setdefault(code, name)
    return names


def region_name(code: str) -> str | None:
    return _names().get(code)
