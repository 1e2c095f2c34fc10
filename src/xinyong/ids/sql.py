"""Vectorised identifier checks for DuckDB, the SQL twin of resident.py, uscc.py and
pseudonym.py. Ingestion validates millions of rows with these expressions; the property
tests in tests/ids/ require them to agree with python-stdnum on every input.
"""

from __future__ import annotations

import hashlib
from typing import Any

from xinyong.ids.uscc import ALPHABET, WEIGHTS

RIC_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
REGIONS_TABLE = "id_regions"


_ASCII_SPACE = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13)"


def compact_sql(col: str) -> str:
    """Twin of subject.compact_identifier: trim ASCII white space, drop spaces and hyphens,
    upper-case only when the text is ASCII."""
    text = f"replace(replace(trim({col}, {_ASCII_SPACE}), ' ', ''), '-', '')"
    return (
        f"(CASE WHEN regexp_full_match({text}, '[[:ascii:]]*') THEN upper({text}) ELSE {text} END)"
    )


def resident_valid_sql(s: str) -> str:
    """True when ``s`` (compacted) is a valid resident number, as stdnum.cn.ric decides."""
    total = " + ".join(
        f"(ascii(substr({s}, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(RIC_WEIGHTS)
    )
    birth = resident_birth_sql(s)
    return (
        f"(length({s}) = 18 AND regexp_full_match({s}, '[0-9]{{17}}[0-9X]')"
        f" AND substr('10X98765432', (({total}) % 11) + 1, 1) = substr({s}, 18, 1)"
        f" AND {birth} IS NOT NULL AND year({birth}) >= 1"
        f" AND EXISTS (SELECT 1 FROM {REGIONS_TABLE} r WHERE r.code = substr({s}, 1, 6)"
        f" AND (r.start_year IS NULL OR year({birth}) >= r.start_year)"
        f" AND (r.end_year IS NULL OR year({birth}) <= r.end_year)))"
    )


def resident_birth_sql(s: str) -> str:
    return f"try_strptime(substr({s}, 7, 8), '%Y%m%d')::DATE"


def resident_sex_sql(s: str) -> str:
    return (
        f"CASE WHEN TRY_CAST(substr({s}, 17, 1) AS INTEGER) % 2 = 1 THEN 'male' ELSE 'female' END"
    )


def credit_code_valid_sql(s: str) -> str:
    """True when ``s`` is a valid unified social credit code (stdnum's check, A/N/Y allowed)."""
    total = " + ".join(
        f"(strpos('{ALPHABET}', substr({s}, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(WEIGHTS)
    )
    return (
        f"(length({s}) = 18 AND regexp_full_match({s}, '[1-9ANY][0-9]{{7}}[0-9A-HJ-NP-RTUWXY]{{10}}')"
        f" AND substr('{ALPHABET}', ((31 - ({total}) % 31) % 31) + 1, 1) = substr({s}, 18, 1))"
    )


def subject_kind_sql(s: str) -> str:
    """person, agency, organisation, or NULL when the value is no valid identifier."""
    return (
        f"CASE WHEN {resident_valid_sql(s)} THEN 'person'"
        f" WHEN {credit_code_valid_sql(s)} THEN"
        f" CASE WHEN substr({s}, 1, 2) = '11' THEN 'agency' ELSE 'organisation' END END"
    )


KEY_TABLE = "subject_key_pads"


def hmac_pads(secret: bytes) -> tuple[bytes, bytes]:
    """The HMAC-SHA256 inner and outer pads of ``secret``."""
    key = hashlib.sha256(secret).digest() if len(secret) > 64 else secret
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def load_key(con: Any, secret: bytes, table: str = KEY_TABLE) -> None:
    """Hold the pads of ``secret`` in a one-row table of a DuckDB connection, bound as
    parameters: the key never appears in SQL text (nor in logs or profiles of it)."""
    inner, outer = hmac_pads(secret)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} (inner_pad BLOB, outer_pad BLOB)")
    con.execute(f"INSERT INTO {table} VALUES (?, ?)", [inner, outer])


def subject_key_sql(s: str, hex_chars: int, table: str = KEY_TABLE) -> str:
    """The subject key of ``s`` under the secret that ``load_key`` put in ``table``."""
    inner, outer = f"(SELECT inner_pad FROM {table})", f"(SELECT outer_pad FROM {table})"
    return f"substr(sha256({outer} || unhex(sha256({inner} || encode({s})))), 1, {hex_chars})"


def create_regions_table(con: Any) -> None:
    """Load stdnum's region table into a DuckDB connection (once per validator)."""
    import pyarrow as pa

    from xinyong.ids.regions import region_rows

    rows = region_rows()
    regions = pa.table(
        {
            "code": pa.array([r[0] for r in rows], pa.string()),
            "start_year": pa.array([r[1] for r in rows], pa.int32()),
            "end_year": pa.array([r[2] for r in rows], pa.int32()),
        }
    )
    con.register("_regions_arrow", regions)
    con.execute(f"CREATE TABLE {REGIONS_TABLE} AS SELECT * FROM _regions_arrow")
    con.unregister("_regions_arrow")
