"""Small builders of valid identifiers and records for tests."""

from __future__ import annotations

import csv
import random
from pathlib import Path
from typing import Any

import orjson
from stdnum.cn import ric

from xinyong.ids.uscc import ALPHABET, check_character
from xinyong.ledger.records import COLUMNS

PERSON = "11010519491231002X"  # facts.md 5.4: valid, female, born 1949-12-31
PERSON_2 = "360426199101010071"  # valid, male
COMPANY = "91110000600037341L"  # valid unified social credit code
COMPANY_2 = "91350100M000100Y43"


def person(rng: random.Random, year: int = 1980, region: str = "110105") -> str:
    body = f"{region}{year:04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body + "0")


def company(rng: random.Random, prefix: str = "91") -> str:
    body = prefix + "110105" + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_character(body)


def record(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "source_record_id": "r1",
        "subject": PERSON,
        "category": "judicial.defaulter.listed",
        "occurred_on": "2025-03-01",
        "document": "(2025)京0105执1号",
        "details": {"situation": 2, "term_months": 24},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    columns = list(COLUMNS)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for r in records:
            row = dict(r)
            if isinstance(row.get("details"), dict):
                row["details"] = orjson.dumps(row["details"]).decode()
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return path
