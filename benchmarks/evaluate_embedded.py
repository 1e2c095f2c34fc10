"""Batch evaluation of the default policy on the embedded engine, against a plain GROUP BY.

Builds a synthetic ledger of N subjects and M records directly in an embedded store, by
SQL ``INSERT ... SELECT`` from DuckDB's ``range()`` into ``subjects`` and ``records``. This
bypasses file ingestion (validation, keying, merge), which benchmarks/ingest_parquet.py
measures; the rows are shaped as ingestion would store them (pseudonymous 32-hex subject
keys, canonical ``details`` JSON valid against the catalogue, unique event ids, one source
per kind, ``action`` 'add'), but content hashes and submission ids are placeholders.

The ledger is about 93% persons (some of them minors), 6.9% organisations and 0.1%
government agencies. Records are mostly commercial (loans repaid and overdue, utility
arrears, contract breaches: about 76%), then honours, penalties, licences, tax ratings,
social insurance arrears, court listings and consumption restrictions (some lifted or
ended later, in the same case), abnormal-operations and serious-illegal listings, and
one registration per organisation naming a person as legal representative (so measures
reach persons through roles). Dates fall in the last six years.

The ledger is built once per size under --workdir (benchmarks/out/, gitignored) and
reused by later runs (and by evaluate_incremental.py and evaluate_spark.py); the time
generation took is printed either way. Then, in fresh processes, one after the other:

- **baseline**: ``CREATE TEMP TABLE ... AS SELECT subject_key, sum(CASE category WHEN ...
  THEN <points> ... END) FROM records GROUP BY subject_key`` on the same file, with the
  same connection settings as the store;
- **evaluate**: ``xinyong.evaluation.batch.evaluate(ctx)``, the whole batch: compile the
  policy, run every stage, store the results as the current run.

Each process reports its wall time and peak resident memory (``ru_maxrss``); the script
prints both, their ratio (goal: evaluation at most 2x the baseline) and the slowest
statements of the evaluation (timed by wrapping the store connection's ``execute`` in this
process; nothing in src/ is changed).

DuckDB's memory limit is the store's setting (XINYONG_MEMORY_LIMIT, 1GB by default); this
benchmark passes --memory-limit (default 8GB) through ``load_settings(memory_limit=...)``.

    nice -n 19 python benchmarks/evaluate_embedded.py        # 10M subjects, 100M records (the goal)
    python benchmarks/evaluate_embedded.py --subjects 100000 --records 1000000   # a quick look
    python benchmarks/evaluate_embedded.py --subjects 1000000 --records 10000000 --memory-limit 1GB
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

OUT = Path(__file__).parent / "out"

# -- the synthetic ledger --------------------------------------------------------------------

# Subject number n: n % 1000 < 930 is a person, < 999 an organisation, 999 an agency.
PERSONS_PER_1000 = 930
ORGS_PER_1000 = 69
KEY_PREFIX = "bench:"
DAYS = 6 * 365  # records fall in the last six years


def subject_key(n: int) -> str:
    """The key of subject number n, as the SQL below computes it."""
    return hashlib.md5(f"{KEY_PREFIX}{n}".encode()).hexdigest()


def subject_kind(n: int) -> str:
    r = n % 1000
    return "person" if r < PERSONS_PER_1000 else "organisation" if r < 999 else "agency"


def person_number(draw: int, subjects: int) -> int:
    blocks = subjects // 1000
    return (draw % blocks) * 1000 + (draw // blocks) % PERSONS_PER_1000


def org_number(draw: int, subjects: int) -> int:
    blocks = subjects // 1000
    return (draw % blocks) * 1000 + PERSONS_PER_1000 + (draw // blocks) % ORGS_PER_1000


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def weighted(draw: str, table: dict[str, int] | list[tuple[str, int]]) -> str:
    """SQL: one of the values (SQL expressions) with the given weights, chosen by ``draw``."""
    items = list(table.items()) if isinstance(table, dict) else table
    total = sum(w for _v, w in items)
    whens, cum = [], 0
    for value, w in items[:-1]:
        cum += w
        whens.append(f"WHEN ({draw}) % {total} < {cum} THEN {value}")
    return f"(CASE {' '.join(whens)} ELSE {items[-1][0]} END)"


def strings(table: dict[str, int]) -> dict[str, int]:
    return {_q(k): w for k, w in table.items()}


def js(sql: str) -> str:
    """A JSON string value from SQL text (our values need no escaping)."""
    return f"""('"' || ({sql}) || '"')"""


def jn(sql: str) -> str:
    return f"CAST(({sql}) AS VARCHAR)"


def obj(*parts: tuple[str, str | None]) -> str:
    """SQL: compact JSON object; a part whose value is NULL is left out, as ingestion does."""
    fields = ", ".join(f"""'"{k}":' || {v}""" for k, v in parts if v is not None)
    return f"('{{' || concat_ws(',', {fields}) || '}}')"


def when(test: str, value: str) -> str:
    return f"(CASE WHEN {test} THEN {value} END)"


def person_sql(draw: str, blocks: int) -> str:
    return f"(({draw}) % {blocks}) * 1000 + (({draw}) // {blocks}) % {PERSONS_PER_1000}"


def org_sql(draw: str, blocks: int) -> str:
    return f"(({draw}) % {blocks}) * 1000 + {PERSONS_PER_1000} + (({draw}) // {blocks}) % {ORGS_PER_1000}"


def agency_sql(draw: str, blocks: int) -> str:
    return f"(({draw}) % {blocks}) * 1000 + 999"


def pool_sql(pool: str, blocks: int) -> str:
    """SQL: a subject number from a pool, drawn by columns ``ps`` (who) and ``pk`` (kind)."""
    person, org, agency = (f(" ps", blocks) for f in (person_sql, org_sql, agency_sql))
    if pool == "person":
        return person
    if pool == "org":
        return org
    if pool == "agency":
        return agency
    if pool == "person_org":  # loans: persons and companies
        return f"CASE WHEN pk % 100 < 93 THEN {person} ELSE {org} END"
    assert pool == "any"
    return (
        f"CASE WHEN pk % 1000 < 850 THEN {person} WHEN pk % 1000 < 995 THEN {org} ELSE {agency} END"
    )


IS_ORG = f"(sn % 1000 >= {PERSONS_PER_1000})"
COURTS = {"'北京市东城区人民法院'": 3, "'北京市朝阳区人民法院'": 5, "'北京市海淀区人民法院'": 4}
OBLIGATIONS = {"'偿还借款本金及利息'": 5, "'支付货款'": 3, "'支付工程款'": 2, "'支付劳动报酬'": 1}
MATTERS = {"'未按规定公示年度报告'": 2, "'销售不符合食品安全标准的食品'": 2, "'超标排放污染物'": 1}
DOC = "'(' || CAST(year(day) AS VARCHAR) || ')京0105执' || CAST(eid AS VARCHAR) || '号'"

# (category, weight per 100,000 records, subject pool, source kind, details, amount, document)
# SQL may use the draws d1..d4 (UBIGINT), the subject number sn, the date day and eid.
CATEGORIES: list[tuple[str, int, str, str, str, str | None, str | None]] = [
    (
        "commercial.loan.repaid",
        43360,
        "person_org",
        "lender",
        obj(
            (
                "loan_type",
                js(
                    f"CASE WHEN {IS_ORG} THEN 'business' ELSE "
                    + weighted(
                        "d1",
                        strings(
                            {
                                "consumer": 35,
                                "credit_card": 30,
                                "mortgage": 20,
                                "student": 5,
                                "other": 10,
                            }
                        ),
                    )
                    + " END"
                ),
            )
        ),
        "CAST(500 + d2 % 30000000 / 100.0 AS DECIMAL(18, 2))",
        None,
    ),
    (
        "commercial.loan.overdue",
        12000,
        "person_org",
        "lender",
        obj(
            (
                "days_overdue",
                jn(
                    weighted(
                        "d1",
                        [("1 + d2 % 30", 60), ("31 + d2 % 60", 28), ("91 + d2 % 630", 12)],
                    )
                ),
            ),
            (
                "loan_type",
                js(
                    f"CASE WHEN {IS_ORG} THEN 'business' ELSE "
                    + weighted("d3", strings({"consumer": 45, "credit_card": 45, "mortgage": 10}))
                    + " END"
                ),
            ),
        ),
        "CAST(100 + d4 % 5000000 / 100.0 AS DECIMAL(18, 2))",
        None,
    ),
    (
        "commercial.utility.arrears",
        17000,
        "any",
        "utility",
        obj(
            (
                "service",
                js(
                    weighted(
                        "d1",
                        strings(
                            {
                                "electricity": 30,
                                "water": 25,
                                "gas": 20,
                                "heating": 15,
                                "telecom": 10,
                            }
                        ),
                    )
                ),
            ),
            ("months_in_arrears", jn("1 + d2 % 6")),
        ),
        "CAST(20 + d3 % 200000 / 100.0 AS DECIMAL(18, 2))",
        None,
    ),
    (
        "commercial.contract.breach",
        4000,
        "any",
        "rental",
        obj(
            (
                "matter",
                js(weighted("d1", strings({"车辆逾期未归还": 3, "拖欠租金": 5, "逃票": 2}))),
            ),
            (
                "found_by",
                js(weighted("d2", strings({"counterparty": 75, "court": 20, "arbitration": 5}))),
            ),
        ),
        "CAST(50 + d3 % 1000000 / 100.0 AS DECIMAL(18, 2))",
        None,
    ),
    (
        "social.honor",
        7000,
        "person",
        "honours_office",
        weighted(
            "d1",
            [
                (
                    obj(("kind", "'\"blood_donation\"'"), ("volume_ml", jn("200 * (1 + d2 % 30)"))),
                    40,
                ),
                (
                    obj(("kind", "'\"volunteer_service\"'"), ("hours", jn("20 + d2 % 2980"))),
                    35,
                ),
                (obj(("kind", "'\"model_worker\"'"), ("title", "'\"劳动模范\"'")), 3),
                (obj(("kind", "'\"charity_donation\"'")), 15),
                (obj(("kind", "'\"civic_award\"'"), ("title", "'\"见义勇为\"'")), 7),
            ],
        ),
        None,
        None,
    ),
    (
        "administrative.penalty",
        5000,
        "any",
        "regulator",
        obj(
            ("severity", js(weighted("d1", strings({"minor": 50, "general": 40, "serious": 10})))),
            ("matter", js(weighted("d2", MATTERS))),
            ("measure", js(weighted("d3", strings({"warning": 40, "fine": 55, "closure": 5})))),
        ),
        "CAST(d4 % 5000000 / 100.0 AS DECIMAL(18, 2))",
        "'京市监罚〔' || CAST(year(day) AS VARCHAR) || '〕' || CAST(eid AS VARCHAR) || '号'",
    ),
    (
        "administrative.license",
        2500,
        "org",
        "market_regulator",
        obj(
            (
                "license_type",
                js(weighted("d1", strings({"食品经营许可证": 3, "建筑业企业资质": 1}))),
            ),
            ("status", js(weighted("d2", strings({"granted": 85, "renewed": 10, "revoked": 5})))),
        ),
        None,
        None,
    ),
    (
        "social_insurance.arrears",
        2000,
        "any",
        "social_insurance",
        obj(("months_in_arrears", jn("1 + d1 % 24"))),
        "CAST(100 + d2 % 5000000 / 100.0 AS DECIMAL(18, 2))",
        None,
    ),
    (
        "tax.credit_rating",
        3500,
        "org",
        "tax",
        obj(
            ("level", js(weighted("d1", strings({"A": 30, "B": 45, "M": 12, "C": 8, "D": 5})))),
            ("year", jn("year(day) - 1")),
        ),
        None,
        None,
    ),
    (
        "judicial.defaulter.listed",
        1200,
        "any",
        "court",
        # Situation 1 has no term; 2 to 6 last 24 months, some extended by 1 to 3 years.
        obj(
            ("situation", jn("sit")),
            ("term_months", when("sit > 1", "'24'")),
            ("extension_months", when("sit > 1 AND d2 % 10 = 0", jn("12 * (1 + d3 % 3)"))),
            ("name", when(f"{IS_ORG}", "'\"基准企业' || CAST(sn AS VARCHAR) || '有限公司\"'")),
            ("obligation", js(weighted("d4", OBLIGATIONS))),
            ("court", js(weighted("d2 // 7", COURTS))),
        ),
        "CAST(1000 + d3 % 100000000 / 100.0 AS DECIMAL(18, 2))",
        DOC,
    ),
    (
        "judicial.consumption_restriction.issued",
        900,
        "any",
        "court",
        obj(("court", js(weighted("d1", COURTS))), ("obligation", js(weighted("d2", OBLIGATIONS)))),
        None,
        DOC,
    ),
    (
        "tax.major_violation.listed",
        150,
        "any",
        "tax",
        obj(("matter", js(weighted("d1", strings({"偷税": 3, "虚开增值税专用发票": 2}))))),
        "CAST(10000 + d2 % 1000000000 / 100.0 AS DECIMAL(18, 2))",
        None,
    ),
    (
        "administrative.abnormal_operations.listed",
        1200,
        "org",
        "market_regulator",
        obj(
            (
                "ground",
                js(
                    weighted(
                        "d1",
                        strings(
                            {
                                "annual_report_missing": 70,
                                "unreachable": 20,
                                "disclosure_missing": 10,
                            }
                        ),
                    )
                ),
            )
        ),
        None,
        None,
    ),
    (
        "administrative.serious_illegal.listed",
        150,
        "org",
        "market_regulator",
        obj(
            (
                "ground",
                js(weighted("d1", strings({"serious_violation": 80, "abnormal_three_years": 20}))),
            ),
            ("sector", js(weighted("d2", strings({"food": 3, "drugs": 1, "product_safety": 2})))),
        ),
        None,
        None,
    ),
    (
        "government.commitment.breach",
        30,
        "agency",
        "credit_office",
        obj(("matter", "'\"未按合同约定支付工程款\"'"), ("counterparty", "'\"某建设有限公司\"'")),
        None,
        None,
    ),
    (
        "government.bond.default",
        10,
        "agency",
        "financial_regulator",
        obj(
            ("bond", js("'21京债' || CAST(eid % 100 AS VARCHAR)")),
            ("days_overdue", jn("1 + d1 % 200")),
        ),
        None,
        None,
    ),
]

# Entry category -> (exit category, weight per 100 entries, details) of records that end it
# later, in the same case (same document) where the list matches on the document.
EXITS: dict[str, list[tuple[str, int, str]]] = {
    "judicial.defaulter.listed": [
        (
            "judicial.defaulter.delisted",
            35,
            obj(
                (
                    "reason",
                    js(
                        weighted(
                            "x // 100",
                            strings(
                                {
                                    "performed": 60,
                                    "settlement_performed": 25,
                                    "creditor_request": 10,
                                    "wrongly_listed": 5,
                                }
                            ),
                        )
                    ),
                ),
                ("court", "json_extract(e.details, '$.court')"),
            ),
        ),
        ("judicial.judgment.performed", 10, obj(("court", "json_extract(e.details, '$.court')"))),
    ],
    "judicial.consumption_restriction.issued": [
        (
            "judicial.consumption_restriction.lifted",
            40,
            obj(
                (
                    "reason",
                    js(
                        weighted(
                            "x // 100",
                            strings({"performed": 70, "security_given": 15, "creditor_agreed": 15}),
                        )
                    ),
                )
            ),
        ),
        ("judicial.judgment.performed", 10, obj(("court", "json_extract(e.details, '$.court')"))),
    ],
    "administrative.abnormal_operations.listed": [
        ("administrative.abnormal_operations.removed", 50, obj(("reason", "'\"corrected\"'"))),
    ],
    "administrative.serious_illegal.listed": [
        ("administrative.serious_illegal.removed", 15, obj(("reason", "'\"repaired\"'"))),
    ],
    "tax.major_violation.listed": [
        ("tax.major_violation.removed", 15, obj(("reason", "'\"repaired\"'"))),
    ],
}
JUDICIAL = ("judicial.defaulter.listed", "judicial.consumption_restriction.issued")

RECORD_COLUMNS = (
    "event_id, submission_id, source_id, source_record_id, subject_key, category, occurred_on,"
    " amount, document, legal_basis, details, supersedes, action, content_hash, received_at, line"
)


def _source(kind: str) -> str:
    return "bench-" + kind.replace("_", "-")


def key_sql(number: str) -> str:
    return f"md5('{KEY_PREFIX}' || CAST({number} AS VARCHAR))"


def _row(
    eid: str, source: str, key: str, category: str, day: str, amount: str, doc: str, details: str
) -> str:
    """SQL select list of one records row (placeholder submission id and content hash)."""
    return (
        f"{eid}, 'bench-' || {source}, 'bench-' || {source}, 'R' || CAST({eid} AS VARCHAR),"
        f" {key}, {category}, {day}, {amount}, {doc},"
        f" NULL, {details}, NULL, 'add', 'bench', CAST(now() AS TIMESTAMP), {eid}"
    )


def _main_records_sql(
    start: int, stop: int, first_event: int, subjects: int, today: dt.date
) -> str:
    blocks = subjects // 1000
    total = sum(c[1] for c in CATEGORIES)
    assert total == 100_000, total
    picks, cum = [], 0
    for n, c in enumerate(CATEGORIES[:-1]):
        cum += c[1]
        picks.append(f"WHEN pick < {cum} THEN {n}")
    cat_no = f"CASE {' '.join(picks)} ELSE {len(CATEGORIES) - 1} END"

    def by_cat(index: int) -> str:
        whens = " ".join(
            f"WHEN {n} THEN {c[index] if c[index] is not None else 'NULL'}"
            for n, c in enumerate(CATEGORIES)
        )
        return f"CASE cat {whens} END"

    def by_cat_literal(index: int) -> str:
        return f"CASE cat {' '.join(f'WHEN {n} THEN {_q(c[index])}' for n, c in enumerate(CATEGORIES))} END"

    pools = " ".join(f"WHEN {n} THEN {pool_sql(c[2], blocks)}" for n, c in enumerate(CATEGORIES))
    src = f"replace({by_cat_literal(3)}, '_', '-')"
    sit = weighted(
        "d1", [(str(s), w) for s, w in zip(range(1, 7), [40, 10, 8, 12, 25, 5], strict=True)]
    )
    return f"""
INSERT INTO records ({RECORD_COLUMNS})
SELECT {_row("eid", src, key_sql("sn"), by_cat_literal(0), "day", by_cat(5), by_cat(6), by_cat(4))}
FROM (
  SELECT *, {sit} AS sit FROM (
    SELECT *, CASE cat {pools} END AS sn FROM (
      SELECT i + {first_event - start} AS eid, {cat_no} AS cat, ps, pk, d1, d2, d3, d4,
             DATE '{today.isoformat()}' - CAST(d4 % {DAYS} AS INTEGER) AS day
      FROM (
        SELECT i, hash(i) % 100000 AS pick, hash(i, 's') AS ps, hash(i, 'k') AS pk,
               hash(i, 1) AS d1, hash(i, 2) AS d2, hash(i, 3) AS d3, hash(i, 4) AS d4
        FROM range({start}, {stop}) t(i)
      ) a
    ) b
  ) c
) z"""


def _registrations_sql(first_event: int, subjects: int, today: dt.date) -> str:
    """One registration per organisation and agency, a second one (a new legal
    representative) for one in twenty; roles name persons by their subject keys."""
    blocks = subjects // 1000
    orgs = blocks * (ORGS_PER_1000 + 1)
    person = person_sql("hash(j, 'lr', v)", blocks)
    controller = person_sql("hash(j, 'ac', v)", blocks)
    name = "CASE WHEN sn % 1000 = 999 THEN '基准机关' ELSE '基准企业' END || CAST(sn AS VARCHAR) || '有限公司'"
    details = obj(
        ("name", js(name)),
        ("legal_representative", js(f"md5('{KEY_PREFIX}' || CAST({person} AS VARCHAR))")),
        (
            "actual_controller",
            when(
                "hash(j, 'c') % 10 < 3", js(f"md5('{KEY_PREFIX}' || CAST({controller} AS VARCHAR))")
            ),
        ),
        (
            "ownership",
            js(
                "CASE WHEN sn % 1000 = 999 THEN 'public' ELSE "
                + weighted(
                    "hash(j, 'o')",
                    strings(
                        {"private": 80, "state_owned": 8, "foreign": 5, "mixed": 4, "collective": 3}
                    ),
                )
                + " END"
            ),
        ),
        (
            "sector",
            js(
                weighted(
                    "hash(j, 'sec')",
                    strings(
                        {
                            "manufacturing": 3,
                            "retail": 4,
                            "construction": 2,
                            "food": 2,
                            "software": 2,
                        }
                    ),
                )
            ),
        ),
    )
    src = "CASE WHEN sn % 1000 = 999 THEN 'staffing-office' ELSE 'market-regulator' END"
    day = f"DATE '{today.isoformat()}' - CAST((hash(j, 'day') % {DAYS}) // v AS INTEGER)"
    return f"""
INSERT INTO records ({RECORD_COLUMNS})
SELECT {_row("eid", src, key_sql("sn"), "'administrative.registration'", "day", "NULL", "NULL", details)}
FROM (
  SELECT {first_event - 1} + row_number() OVER (ORDER BY v, j) AS eid, j, v, sn, {day} AS day
  FROM (
    SELECT j, v, (j // {ORGS_PER_1000 + 1}) * 1000 + {PERSONS_PER_1000} + j % {ORGS_PER_1000 + 1} AS sn
    FROM range({orgs}) t(j), (VALUES (1), (2)) w(v)
    WHERE v = 1 OR hash(j, 'again') % 20 = 0
  ) r
) z"""


def _exits_sql(first_event: int, today: dt.date, limit: int) -> str:
    """Records that end some listings later, chosen among the entries (the earliest first)."""
    picks = []
    for entry, exits in EXITS.items():
        whens, cum = [], 0
        for n, (_cat, w, _d) in enumerate(exits):
            cum += w
            whens.append(f"WHEN x % 100 < {cum} THEN {n}")
        picks.append(f"WHEN {_q(entry)} THEN CASE {' '.join(whens)} END")
    choice = f"CASE e.category {' '.join(picks)} END"
    names = " ".join(
        f"WHEN {_q(k)} THEN [{', '.join(_q(c) for c, _w, _d in v)}][exit_no + 1]"
        for k, v in EXITS.items()
    )
    det = " ".join(
        f"WHEN e.category = {_q(k)} AND exit_no = {n} THEN {d}"
        for k, v in EXITS.items()
        for n, (_c, _w, d) in enumerate(v)
    )
    src = (
        "CASE WHEN e.category LIKE 'judicial.%' THEN 'court'"
        " WHEN e.category LIKE 'tax.%' THEN 'tax' ELSE 'market-regulator' END"
    )
    doc = f"CASE WHEN e.category IN ({', '.join(_q(c) for c in JUDICIAL)}) THEN e.document END"
    row = _row("eid", src, "e.subject_key", "exit_category", "day", "NULL", doc, f"CASE {det} END")
    return f"""
INSERT INTO records ({RECORD_COLUMNS})
SELECT {row}
FROM (
  SELECT e.*, {first_event - 1} + row_number() OVER (ORDER BY e.event_id) AS eid,
         CASE e.category {names} END AS exit_category
  FROM (
    SELECT e.*, {choice} AS exit_no,
           e.occurred_on + CAST(30 + (x // 100) % 900 AS INTEGER) AS day
    FROM (SELECT r.subject_key, r.event_id, r.category, r.occurred_on, r.document, r.details,
                 hash(r.event_id, 'exit') AS x
          FROM records r WHERE r.category IN ({", ".join(_q(k) for k in EXITS)})) e
  ) e
  WHERE exit_no IS NOT NULL AND day <= DATE '{today.isoformat()}'
  ORDER BY e.event_id
  LIMIT {limit}
) e"""


def _subjects_sql(subjects: int, today: dt.date) -> str:
    born = (
        "CASE WHEN hash(n, 'minor') % 100 < 5"
        f" THEN DATE '{today.year - 17}-01-01' + CAST(hash(n, 'b') % 3650 AS INTEGER)"
        " ELSE DATE '1945-01-01' + CAST(hash(n, 'b') % 21900 AS INTEGER) END"
    )
    return f"""
INSERT INTO subjects (subject_key, identifier, kind, birth_date, sex, region_code, first_seen)
SELECT md5('{KEY_PREFIX}' || CAST(n AS VARCHAR)),
       CASE kind WHEN 'person'
                 THEN '110105' || strftime(birth_date, '%Y%m%d') || lpad(CAST(n % 1000 AS VARCHAR), 3, '0') || 'X'
                 WHEN 'agency' THEN '11110105' || lpad(CAST(n AS VARCHAR), 10, '0')
                 ELSE '91110105' || lpad(CAST(n AS VARCHAR), 10, '0') END,
       kind, birth_date,
       CASE WHEN kind = 'person' THEN CASE WHEN n % 2 = 0 THEN 'F' ELSE 'M' END END,
       '110105', CAST(now() AS TIMESTAMP)
FROM (
  SELECT n, kind, CASE WHEN kind = 'person' THEN {born} END AS birth_date
  FROM (SELECT n, CASE WHEN n % 1000 < {PERSONS_PER_1000} THEN 'person'
                       WHEN n % 1000 < 999 THEN 'organisation' ELSE 'agency' END AS kind
        FROM range({subjects}) t(n)) s
) p"""


def open_context(data_dir: Path, memory_limit: str) -> Any:
    from xinyong.context import Context
    from xinyong.settings import load_settings

    return Context(load_settings(data_dir=data_dir, secret="bench", memory_limit=memory_limit))


def ledger_dir(workdir: Path, subjects: int, records: int) -> Path:
    return workdir / f"ledger-{subjects}-{records}"


def build_ledger(
    data_dir: Path,
    subjects: int,
    records: int,
    memory_limit: str,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fill a fresh embedded store with ``subjects`` subjects and exactly ``records`` records."""
    from xinyong.clock import today as clock_today
    from xinyong.ledger.sources import add_source

    if subjects < 1000 or subjects % 1000:
        raise SystemExit("--subjects must be a multiple of 1000")
    ctx = open_context(data_dir, memory_limit)
    today = clock_today(ctx.settings.timezone)
    kinds = sorted(
        {c[3] for c in CATEGORIES} | {"court", "market_regulator", "staffing_office", "tax"}
    )
    with ctx.store.transaction() as conn:
        for kind in kinds:
            add_source(
                conn, ctx.catalog, name=f"Benchmark {kind}", kind=kind, source_id=_source(kind)
            )
    started = time.perf_counter()
    with ctx.store.transaction() as conn:
        conn.execute(_subjects_sql(subjects, today))
    say(f"  subjects: {subjects:,} in {time.perf_counter() - started:.1f} s")
    t = time.perf_counter()
    with ctx.store.transaction() as conn:
        conn.execute(_registrations_sql(1, subjects, today))
        registrations = int(conn.scalar("SELECT count(*) FROM records"))
    say(f"  registrations: {registrations:,} in {time.perf_counter() - t:.1f} s")
    if registrations > records:
        raise SystemExit(
            f"--records must be at least {registrations:,} (one registration per organisation)"
        )
    # Exits are about 1.2% of the records; the rest are main records, topped up at the end.
    exits_target = int((records - registrations) * 0.012)
    main = records - registrations - exits_target
    chunk, done, event = 5_000_000, 0, registrations + 1
    while done < main:
        t = time.perf_counter()
        n = min(chunk, main - done)
        with ctx.store.transaction() as conn:
            conn.execute(_main_records_sql(done, done + n, event, subjects, today))
        done, event = done + n, event + n
        say(
            f"  records: {done:,} of {main:,} main records ({n / (time.perf_counter() - t):,.0f}/s)"
        )
    t = time.perf_counter()
    with ctx.store.transaction() as conn:
        conn.execute(_exits_sql(event, today, exits_target))
        have = int(conn.scalar("SELECT count(*) FROM records"))
    event += have - registrations - main
    say(f"  exits: {have - registrations - main:,} in {time.perf_counter() - t:.1f} s")
    if have < records:  # fewer exits than planned: top up with main records
        with ctx.store.transaction() as conn:
            conn.execute(_main_records_sql(done, done + records - have, event, subjects, today))
    with ctx.store.transaction() as conn:
        conn.execute("CHECKPOINT")
        stats = {
            "subjects": int(conn.scalar("SELECT count(*) FROM subjects")),
            "records": int(conn.scalar("SELECT count(*) FROM records")),
            "categories": dict(
                conn.execute("SELECT category, count(*) FROM records GROUP BY 1 ORDER BY 2 DESC")
            ),
        }
    stats["seconds"] = time.perf_counter() - started
    stats["generated_on"] = today.isoformat()
    return stats


def ensure_ledger(
    workdir: Path, subjects: int, records: int, memory_limit: str, *, regenerate: bool = False
) -> Path:
    """The ledger directory for this size, built now unless a complete one is there."""
    data_dir = ledger_dir(workdir, subjects, records)
    marker = data_dir / "generated.json"
    if regenerate or not marker.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        print(f"generating {subjects:,} subjects and {records:,} records in {data_dir}")
        stats = build_ledger(data_dir, subjects, records, memory_limit)
        marker.write_text(json.dumps(stats, indent=1))
        print(f"generated in {stats['seconds']:.1f} s")
    else:
        stats = json.loads(marker.read_text())
        print(
            f"reusing {data_dir} (generated on {stats['generated_on']} in {stats['seconds']:.1f} s)"
        )
    size = sum(p.stat().st_size for p in data_dir.glob("ledger.duckdb*"))
    print(
        f"ledger: {stats['subjects']:,} subjects, {stats['records']:,} records, {size / 2**20:,.0f} MiB"
    )
    return data_dir


def code_version() -> str:
    """The commit the package runs from, and whether src/ has uncommitted changes."""
    import xinyong

    root = Path(xinyong.__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "log",
                "-1",
                "--format=%h %cd",
                "--date=format:%Y-%m-%d %H:%M",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "src"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes in src/" if dirty else "")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- measured runs, each in a fresh process ------------------------------------------------


def baseline_sql() -> str:
    """Points per subject as a plain GROUP BY over records: one number per category."""
    from xinyong.policy.loader import load_policy
    from xinyong.policy.model import Points

    points: dict[str, int] = {}
    for score in load_policy(None).scores.values():
        for rule in score.rules:
            if isinstance(rule.points, Points):
                points.setdefault(rule.category, rule.points.otherwise or -10)
            else:
                points.setdefault(rule.category, rule.points)
    whens = " ".join(f"WHEN {_q(c)} THEN {p}" for c, p in sorted(points.items()))
    return (
        "CREATE TEMP TABLE bench_baseline AS SELECT subject_key,"
        f" 1000 + sum(CASE category {whens} ELSE 0 END) AS points FROM records GROUP BY subject_key"
    )


def child_baseline(ctx: Any, options: dict[str, Any]) -> dict[str, Any]:
    sql = baseline_sql()
    with ctx.store.transaction() as conn:
        t = time.perf_counter()
        conn.execute(sql)
        seconds = time.perf_counter() - t
        rows = int(conn.scalar("SELECT count(*) FROM bench_baseline"))
        conn.execute("DROP TABLE bench_baseline")
    return {"seconds": seconds, "rows": rows, "peak_mib": peak_mib()}


_CREATE = re.compile(r"CREATE TEMP (?:TABLE|VIEW) (\w+)")
_INSERT = re.compile(r"INSERT INTO (\w+)")
_DELETE = re.compile(r"DELETE FROM (\w+)")


def label(sql: str) -> str:
    text = " ".join(sql.split())
    if m := _CREATE.match(text):
        return f"stage {m.group(1)}"
    if m := _INSERT.match(text):
        return f"insert into {m.group(1)}"
    if m := _DELETE.match(text):
        return f"delete from {m.group(1)}"
    return text[:70]


def time_statements(status: Path | None = None, log: bool = True) -> list[tuple[float, str]]:
    """Time every statement of the embedded store in this process (by wrapping ``execute``);
    the one running is written to ``status``, and those over a second are logged to stderr."""
    from xinyong.store import embedded

    timings: list[tuple[float, str]] = []
    original = embedded.DuckConnection.execute

    def timed(self: Any, sql: str, params: Any = None) -> Any:
        if status is not None:
            status.write_text(label(sql))
        t = time.perf_counter()
        try:
            return original(self, sql, params)
        finally:
            took = time.perf_counter() - t
            timings.append((took, sql))
            if log and took >= 1.0:
                print(f"    {took:7.1f} s  {label(sql)}", file=sys.stderr, flush=True)

    embedded.DuckConnection.execute = timed  # type: ignore[method-assign]
    return timings


def child_evaluate(ctx: Any, options: dict[str, Any]) -> dict[str, Any]:
    from xinyong.evaluation.batch import evaluate

    _ = ctx.policy, ctx.catalog
    status = options.get("status")
    timings = time_statements(Path(status) if status else None)
    t = time.perf_counter()
    try:
        summary = evaluate(ctx, progress=lambda m: print(f"    {m}", file=sys.stderr, flush=True))
    except Exception as exc:
        running = Path(status).read_text() if status else "?"
        return {
            "error": f"{type(exc).__name__}: {exc}",
            "statement": running,
            "seconds": time.perf_counter() - t,
            "peak_mib": peak_mib(),
        }
    seconds = time.perf_counter() - t
    return {
        "seconds": seconds,
        "peak_mib": peak_mib(),
        "summary": summary.as_dict(),
        "slowest": [(round(s, 2), label(q)) for s, q in sorted(timings, reverse=True)[:12]],
        "statements": len(timings),
        "statements_seconds": sum(s for s, _q in timings),
    }


Child = Callable[[Any, dict[str, Any]], dict[str, Any]]


def run_child(
    script: Path, mode: str, options: dict[str, Any], timeout: float | None = None
) -> dict[str, Any]:
    """Run ``mode`` of ``script`` in a fresh process; its last line on stdout is JSON.

    ``options`` needs data_dir and memory_limit; with a status file, a run that times out
    names the statement it was running."""
    status = Path(options["data_dir"]) / "bench-running.txt"
    status.unlink(missing_ok=True)
    options = {**options, "status": str(status)}
    cmd = [sys.executable, str(script), "--child", mode, json.dumps(options, default=str)]
    t = time.perf_counter()
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        running = status.read_text() if status.exists() else "?"
        return {"error": f"timed out after {time.perf_counter() - t:.0f} s", "statement": running}
    if out.returncode != 0:
        running = status.read_text() if status.exists() else "?"
        return {
            "error": f"exit status {out.returncode} after {time.perf_counter() - t:.0f} s",
            "statement": running,
        }
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_main(argv: list[str], children: dict[str, Child]) -> bool:
    """Run a child mode if asked to: ``--child MODE OPTIONS_JSON``."""
    if len(argv) != 3 or argv[0] != "--child":
        return False
    options = json.loads(argv[2])
    ctx = open_context(Path(options["data_dir"]), options["memory_limit"])
    with ctx.store.transaction() as conn:
        conn.scalar("SELECT count(*) FROM eval_runs")  # open and migrate outside the timing
    print(json.dumps(children[argv[1]](ctx, options), default=str))
    return True


CHILDREN: dict[str, Child] = {"baseline": child_baseline, "evaluate": child_evaluate}


def main() -> None:
    if child_main(sys.argv[1:], CHILDREN):
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subjects", type=int, default=10_000_000, help="a multiple of 1000")
    parser.add_argument("--records", type=int, default=100_000_000)
    parser.add_argument(
        "--memory-limit", default="8GB", help="DuckDB memory limit (the store's default is 1GB)"
    )
    parser.add_argument("--workdir", type=Path, default=OUT)
    parser.add_argument("--regenerate", action="store_true", help="build the ledger again")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds allowed per measured run (30 min)"
    )
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    data_dir = ensure_ledger(
        args.workdir, args.subjects, args.records, args.memory_limit, regenerate=args.regenerate
    )
    me = Path(__file__).resolve()
    options = {"data_dir": data_dir, "memory_limit": args.memory_limit}
    print(f"code: {code_version()}")
    print(f"memory limit: {args.memory_limit}, DuckDB threads: 2, cores: {os.cpu_count()}")
    print("baseline (plain GROUP BY over records)...")
    base = run_child(me, "baseline", options, args.timeout)
    print("evaluate(ctx); statements over 1 s as they finish:")
    ev = run_child(me, "evaluate", options, args.timeout)

    print()
    print(f"subjects:                 {args.subjects:,}")
    print(f"records:                  {args.records:,}")
    if "error" in base:
        print(f"baseline:                 FAILED: {base['error']} in {base['statement']}")
    else:
        print(
            f"baseline GROUP BY:        {base['seconds']:.2f} s, peak {base['peak_mib']:,.0f} MiB"
            f" ({base['rows']:,} subjects)"
        )
    if "error" in ev:
        print(f"evaluate: FAILED: {ev['error']}, running: {ev['statement']}")
        return
    s = ev["summary"]
    print(f"evaluate (batch):         {ev['seconds']:.2f} s, peak {ev['peak_mib']:,.0f} MiB")
    print(f"  run {s['run_id']}: {s['subjects']:,} subjects")
    print(f"  lists {s['lists']}, refused {s['refused']}")
    print(f"  grades {s['grades']}")
    print(f"  measures {s['measures']}")
    print(f"  {ev['statements']} statements, {ev['statements_seconds']:.1f} s; the slowest:")
    for seconds, what in ev["slowest"]:
        print(f"    {seconds:8.2f} s  {what}")
    if "error" not in base:
        ratio = ev["seconds"] / base["seconds"]
        verdict = "met" if ratio <= 2 else "NOT met"
        print(f"ratio evaluate / baseline: {ratio:.1f}  (goal <= 2: {verdict})")


if __name__ == "__main__":
    main()
