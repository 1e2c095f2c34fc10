"""Record validation: one place, used by file ingestion and (later) POST /v1/records.

A ``Validator`` holds an in-memory DuckDB connection and one SQL statement generated from
the catalogue. It takes Arrow batches of records (any column types) and returns the
accepted rows, normalised and keyed, and the rejected rows with a reason code. The rules
live in the catalogue file; this module only translates them to SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from xinyong.catalog.model import Catalog, Category, DetailField
from xinyong.ids import sql as idsql
from xinyong.ids.pseudonym import KEY_HEX_CHARS
from xinyong.ledger.records import ACTIONS, COLUMNS, LINE
from xinyong.sql import identifier, literal

_SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

ACCEPTED_COLUMNS = (
    "line",
    "source_id",
    "source_record_id",
    "subject_key",
    "identifier",
    "subject_kind",
    "birth_date",
    "sex",
    "region_code",
    "category",
    "occurred_on",
    "amount",
    "document",
    "legal_basis",
    "details",
    "supersedes",
    "action",
    "content_hash",
)


@dataclass(frozen=True)
class Grant:
    """What the validator needs to know about the submitting source."""

    source_id: str
    categories: frozenset[str]


SUBJECT_COLUMNS = ["subject_key", "identifier", "subject_kind", "birth_date", "sex", "region_code"]
REJECTED_COLUMNS = ["line", "reason", "field", "hint", *(f"r_{c}" for c in COLUMNS)]


@dataclass
class SpooledBatch:
    accepted: int  # rows written to the part with a NULL reason
    rejected: pa.Table  # REJECTED_COLUMNS
    references: pa.Table  # subjects named in identifier details: line + subject columns
    subjects: pa.Table  # SUBJECT_COLUMNS of the accepted rows, distinct


@dataclass
class ValidatedBatch:
    accepted: pa.Table  # ACCEPTED_COLUMNS
    rejected: pa.Table  # line, reason, field, hint, then the raw columns
    references: pa.Table  # subjects named in identifier details: line + subject columns


def _type_hint(field: DetailField) -> str:
    if field.type == "enum":
        return "one of: " + ", ".join(field.values)
    if field.type in ("integer", "number"):
        noun = "an integer" if field.type == "integer" else "a number"
        if field.min is not None and field.max is not None:
            return f"{noun} from {field.min:g} to {field.max:g}"
        return noun
    return {
        "string": "text",
        "boolean": "true or false",
        "date": "a date in the form YYYY-MM-DD",
        "identifier": "a valid resident identity number or unified social credit code",
    }[field.type]


def _value_ok(name: str, field: DetailField) -> str:
    v, c = f"v_{name}", f"c_{name}"
    if field.type == "string":
        return f"NOT {c}"
    if field.type in ("integer", "number"):
        if field.type == "integer":
            ok = f"regexp_full_match({v}, '-?[0-9]{{1,18}}')"
            num = f"TRY_CAST({v} AS BIGINT)"
        else:
            ok = f"(NOT {c} AND TRY_CAST({v} AS DOUBLE) IS NOT NULL)"
            num = f"TRY_CAST({v} AS DOUBLE)"
        if field.min is not None:
            ok += f" AND {num} >= {field.min:g}"
        if field.max is not None:
            ok += f" AND {num} <= {field.max:g}"
        return ok
    if field.type == "boolean":
        return f"{v} IN ('true', 'false')"
    if field.type == "date":
        return f"(regexp_full_match({v}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') AND TRY_CAST({v} AS DATE) IS NOT NULL)"
    if field.type == "enum":
        return f"{v} IN ({', '.join(literal(x) for x in field.values)})"
    if field.type == "identifier":
        return f"k_{name} IS NOT NULL"
    raise AssertionError(field.type)


def _canonical(name: str, field: DetailField) -> str:
    v = f"v_{name}"
    if field.type in ("string", "enum"):
        value = f"to_json({v})"
    elif field.type == "integer":
        value = f"CAST(CAST({v} AS BIGINT) AS VARCHAR)"
    elif field.type == "number":
        value = f"CAST(to_json(CAST({v} AS DOUBLE)) AS VARCHAR)"
    elif field.type == "boolean":
        value = v
    elif field.type == "date":
        value = f"to_json(CAST(CAST({v} AS DATE) AS VARCHAR))"
    else:  # identifier: only the pseudonymous key leaves the subjects table
        value = f"to_json({idsql.subject_key_sql(f'i_{name}', KEY_HEX_CHARS)})"
    return f"CASE WHEN p_{name} THEN '\"{name}\":' || {value} END"


class Validator:
    """Validates batches for one source against one catalogue, as of ``today``."""

    def __init__(self, catalog: Catalog, grant: Grant, secret: bytes, today: dt.date) -> None:
        if not _SOURCE_ID.match(grant.source_id):
            raise ValueError(f"bad source id {grant.source_id!r}")
        self.catalog = catalog
        self.grant = grant
        self.secret = secret
        self.today = today
        self.con = duckdb.connect(config={"threads": 2})
        self.con.execute("SET enable_progress_bar = false")  # it would write to stdout
        idsql.create_regions_table(self.con)
        idsql.load_key(self.con, secret)
        self._create_category_table()
        self._sql_by_schema: dict[tuple[tuple[str, str], ...], str] = {}
        # Identifiers already checked and keyed by this validator: a subject named by many
        # records is validated and hashed once per ingestion, not once per record.
        self.con.execute(
            "CREATE TABLE id_cache (raw_subject VARCHAR, sid VARCHAR, kind VARCHAR, id_key VARCHAR,"
            " id_birth DATE, id_sex VARCHAR, id_region VARCHAR)"
        )
        self.con.execute("CREATE TABLE id_emitted (subject_key VARCHAR)")

    def close(self) -> None:
        self.con.close()

    def _create_category_table(self) -> None:
        cats = self.catalog.categories.values()
        table = pa.table(
            {
                "code": [c.code for c in cats],
                "granted": [c.code in self.grant.categories for c in cats],
                "subject_kinds": [list(c.subject_kinds) for c in cats],
                "allowed_keys": [list(c.details) for c in cats],
            }
        )
        self.con.register("_cats", table)
        self.con.execute("CREATE TABLE cats AS SELECT * FROM _cats")
        self.con.unregister("_cats")

    def _sql_for(self, table: pa.Table) -> str:
        key = tuple((f.name, str(f.type)) for f in table.schema)
        sql = self._sql_by_schema.get(key)
        if sql is None:
            sql = self._sql_by_schema[key] = self._build_sql(table.schema)
        return sql

    CACHE_LIMIT = 2_000_000  # identifiers kept between batches (about 250 MB at most)

    def _fill_id_cache(self, table: pa.Table) -> None:
        """Check and key the batch's identifiers that the cache does not know yet."""
        count = self.con.execute("SELECT count(*) FROM id_cache").fetchall()[0][0]
        if count > self.CACHE_LIMIT:
            # Forgetting is safe: an identifier is checked again, and a subject emitted twice
            # is inserted once by the merge.
            self.con.execute("DELETE FROM id_cache")
            self.con.execute("DELETE FROM id_emitted")
        raw = "coalesce(CAST(subject AS VARCHAR), '')" if "subject" in table.schema.names else "''"
        sid = "sid"
        self.con.execute(f"""
INSERT INTO id_cache
SELECT raw_subject, sid, kind,
  CASE WHEN kind IS NOT NULL THEN {idsql.subject_key_sql(sid, KEY_HEX_CHARS)} END,
  CASE WHEN kind = 'person' THEN {idsql.resident_birth_sql(sid)} END,
  CASE WHEN kind = 'person' THEN {idsql.resident_sex_sql(sid)} END,
  CASE WHEN kind = 'person' THEN substr(sid, 1, 6) ELSE substr(sid, 3, 6) END
FROM (SELECT raw_subject, sid, {idsql.subject_kind_sql(sid)} AS kind
      FROM (SELECT raw_subject, {idsql.compact_sql("raw_subject")} AS sid
            FROM (SELECT DISTINCT {raw} AS raw_subject FROM batch) b
            WHERE NOT EXISTS (SELECT 1 FROM id_cache c WHERE c.raw_subject = b.raw_subject)))
""").fetchall()

    def validate(self, batch: pa.RecordBatch | pa.Table) -> ValidatedBatch:
        """Validate in memory (for small batches and the HTTP API)."""
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        self.con.register("batch", table)
        try:
            self._fill_id_cache(table)
            result = self.con.sql(
                f"SELECT * FROM ({self._sql_for(table)}) ORDER BY line"
            ).to_arrow_table()
        finally:
            self.con.unregister("batch")
        rejected_mask = pc.is_valid(result.column("reason"))
        accepted = result.filter(pc.invert(rejected_mask)).select(list(ACCEPTED_COLUMNS))
        rejected = result.filter(rejected_mask).select(REJECTED_COLUMNS)
        self.con.register("result", result)
        try:
            references = self._references("result")
        finally:
            self.con.unregister("result")
        return ValidatedBatch(accepted=accepted, rejected=rejected, references=references)

    def spool(self, batch: pa.Table, part: Path) -> SpooledBatch:
        """Validate a batch straight into a Parquet part: accepted rows carry a NULL
        ``reason``, rejected rows their reason and raw columns. DuckDB writes the part
        itself, so the rows never pass through Python."""
        sql = self._sql_for(batch)
        raw = ", ".join(f"CASE WHEN reason IS NOT NULL THEN r_{c} END AS r_{c}" for c in COLUMNS)
        refs = "".join(f", ref_{n}" for n in self._ident_fields())
        target = literal(part)
        self.con.register("batch", batch)
        try:
            self._fill_id_cache(batch)
            self.con.execute(
                f"COPY (SELECT {', '.join(ACCEPTED_COLUMNS)}, reason, field, hint, {raw}{refs}"
                f" FROM ({sql})) TO {target} (FORMAT parquet, COMPRESSION lz4)"
            ).fetchall()
        finally:
            self.con.unregister("batch")
        scan = f"read_parquet({target})"
        counts = self.con.execute(
            f"SELECT count(*) FILTER (WHERE reason IS NULL) FROM {scan}"
        ).fetchall()[0]
        rejected = self.con.sql(
            f"SELECT {', '.join(REJECTED_COLUMNS)} FROM {scan} WHERE reason IS NOT NULL ORDER BY line"
        ).to_arrow_table()
        # Subjects of accepted rows, each once per ingestion (id_emitted remembers).
        subjects = self.con.sql(
            f"SELECT DISTINCT {', '.join(SUBJECT_COLUMNS)} FROM {scan} p WHERE reason IS NULL"
            " AND NOT EXISTS (SELECT 1 FROM id_emitted e WHERE e.subject_key = p.subject_key)"
        ).to_arrow_table()
        self.con.register("new_subjects", subjects)
        self.con.execute("INSERT INTO id_emitted SELECT subject_key FROM new_subjects").fetchall()
        self.con.unregister("new_subjects")
        return SpooledBatch(
            accepted=int(counts[0]),
            rejected=rejected,
            references=self._references(scan),
            subjects=subjects,
        )

    def _ident_fields(self) -> list[str]:
        return [n for n, f in self._fields().items() if f.type == "identifier"]

    def _references(self, relation: str) -> pa.Table:
        """Subjects named by identifier details of accepted rows (legal representatives...)."""
        names = self._ident_fields()
        if not names:
            refs = "SELECT CAST(NULL AS BIGINT) AS line, CAST(NULL AS VARCHAR) AS identifier WHERE false"
        else:
            refs = " UNION ALL ".join(
                f"SELECT line, ref_{n} AS identifier FROM {relation} WHERE reason IS NULL AND ref_{n} IS NOT NULL"
                for n in names
            )
        s = "identifier"
        key = idsql.subject_key_sql(s, KEY_HEX_CHARS)
        return self.con.sql(
            f"""SELECT line, subject_key, identifier, kind AS subject_kind,
              CASE WHEN kind = 'person' THEN {idsql.resident_birth_sql(s)} END AS birth_date,
              CASE WHEN kind = 'person' THEN {idsql.resident_sex_sql(s)} END AS sex,
              CASE WHEN kind = 'person' THEN substr({s}, 1, 6) ELSE substr({s}, 3, 6) END AS region_code
            FROM (SELECT line, identifier, {key} AS subject_key, {idsql.subject_kind_sql(s)} AS kind
                  FROM ({refs}))"""
        ).to_arrow_table()

    # -- SQL generation -------------------------------------------------------------

    def _fields(self) -> dict[str, DetailField]:
        """Detail fields of the granted categories by name (types agree across categories).

        Only the source's grant matters: a record in any other category is rejected before
        its details are looked at, so the SQL checks only what this source may send."""
        fields: dict[str, DetailField] = {}
        for category in self._granted():
            for name, field in category.details.items():
                fields.setdefault(identifier(name), field)
        return fields

    def _granted(self) -> list[Category]:
        return [c for c in self.catalog.categories.values() if c.code in self.grant.categories]

    def _build_sql(self, schema: pa.Schema) -> str:
        names = set(schema.names)
        norm = [
            f'CAST("{LINE}" AS BIGINT) AS line' if LINE in names else "row_number() OVER () AS line"
        ]
        for col in COLUMNS:
            if col not in names:
                norm.append(f"CAST(NULL AS VARCHAR) AS r_{col}")
                continue
            ftype = schema.field(col).type
            if pa.types.is_struct(ftype) or pa.types.is_map(ftype) or pa.types.is_list(ftype):
                norm.append(f'CAST(to_json("{col}") AS VARCHAR) AS r_{col}')
            else:
                norm.append(f'CAST("{col}" AS VARCHAR) AS r_{col}')

        fields = self._fields()
        # json_transform needs at least one field; "_" is never a declared name.
        struct_spec = "{" + ", ".join(f'"{n}": "JSON"' for n in list(fields) or ["_"]) + "}"
        per_field = []
        for n in fields:
            raw = f'dx."{n}"'
            per_field.append(f"({raw} IS NOT NULL AND CAST({raw} AS VARCHAR) <> 'null') AS p_{n}")
            per_field.append(
                f"CASE WHEN left(CAST({raw} AS VARCHAR), 1) = '\"' THEN json_extract_string({raw}, '$')"
                f" ELSE CAST({raw} AS VARCHAR) END AS v_{n}"
            )
            per_field.append(f"left(CAST({raw} AS VARCHAR), 1) IN ('{{', '[') AS c_{n}")
        ident_fields = self._ident_fields()
        ident_cols = [f"{idsql.compact_sql(f'v_{n}')} AS i_{n}" for n in ident_fields]
        ident_kinds = [
            f"CASE WHEN p_{n} THEN {idsql.subject_kind_sql(f'i_{n}')} END AS k_{n}"
            for n in ident_fields
        ]

        problem_cases, canonical_cases = [], []
        for cat in self._granted():
            checks = []
            for n, f in cat.details.items():
                if f.required:
                    checks.append(f"WHEN NOT p_{n} THEN 'detail_missing|{n}|'")
                checks.append(
                    f"WHEN p_{n} AND NOT coalesce({_value_ok(n, f)}, false)"
                    f" THEN 'detail_type|{n}|' || {literal(_type_hint(f))}"
                )
            if checks:
                problem_cases.append(f"WHEN {literal(cat.code)} THEN CASE {' '.join(checks)} END")
            parts = [_canonical(n, f) for n, f in cat.details.items()]
            body = f"'{{' || concat_ws(',', {', '.join(parts)}) || '}}'" if parts else "'{}'"
            canonical_cases.append(f"WHEN {literal(cat.code)} THEN {body}")
        detail_problem = f"CASE cat {' '.join(problem_cases)} END" if problem_cases else "NULL"
        canonical = f"CASE cat {' '.join(canonical_cases)} END" if canonical_cases else "'{}'"

        actions = ", ".join(literal(a) for a in ACTIONS)
        source = literal(self.grant.source_id)
        today = literal(self.today.isoformat())
        sep = "chr(31)"
        return f"""
WITH n AS (
  SELECT {", ".join(norm)} FROM batch
), c AS (
  SELECT n.*,
    nullif(trim(r_source_record_id), '') AS srid,
    nullif(trim(r_category), '') AS cat,
    nullif(trim(r_occurred_on), '') AS occ_text,
    nullif(trim(r_amount), '') AS amt_text,
    lower(coalesce(nullif(trim(r_action), ''), 'add')) AS act,
    nullif(trim(r_supersedes), '') AS sup,
    nullif(trim(r_document), '') AS doc,
    nullif(trim(r_legal_basis), '') AS basis,
    coalesce(nullif(trim(r_details), ''), '{{}}') AS det_text
  FROM n
), ids AS (
  SELECT * FROM id_cache
), d AS (
  SELECT c.*, ids.*,
    CASE WHEN regexp_full_match(occ_text, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}')
      THEN TRY_CAST(occ_text AS DATE)
      -- A revocation needs only what it revokes: it happens the day it is received.
      WHEN occ_text IS NULL AND act = 'revoke' THEN DATE {today} END AS occ,
    CASE WHEN regexp_full_match(amt_text, '-?[0-9]{{1,16}}([.][0-9]{{1,2}})?')
      THEN CAST(amt_text AS DECIMAL(18, 2)) END AS amt,
    (left(det_text, 1) = '{{' AND json_valid(det_text)) AS det_ok,
    cats.code IS NOT NULL AS cat_known, cats.granted, cats.subject_kinds, cats.allowed_keys
  FROM c LEFT JOIN ids ON ids.raw_subject = coalesce(c.r_subject, '') LEFT JOIN cats ON cats.code = c.cat
), j AS (
  SELECT d.*,
    CASE WHEN det_ok THEN det_text ELSE '{{}}' END AS detj
  FROM d
), x AS (
  SELECT j.*,
    list_filter(json_keys(detj), lambda k: NOT list_contains(coalesce(allowed_keys, []), k))[1] AS unknown_key,
    json_transform(detj, {literal(struct_spec)}) AS dx
  FROM j
), f AS (
  SELECT x.*, {", ".join(per_field)} FROM x
), i AS (
  SELECT f.*{", " + ", ".join(ident_cols) if ident_cols else ""} FROM f
), k AS (
  SELECT i.*{", " + ", ".join(ident_kinds) if ident_kinds else ""} FROM i
), r AS (
  SELECT k.*,
    CASE WHEN det_ok AND cat_known THEN {detail_problem} END AS detail_problem
  FROM k
), v AS (
  SELECT r.*,
    CASE
      WHEN srid IS NULL THEN 'source_record_id_missing'
      WHEN sid = '' THEN 'subject_missing'
      WHEN kind IS NULL THEN 'subject_invalid'
      -- A revocation may leave out the category: it is the revoked record's.
      WHEN cat IS NULL AND act = 'revoke' AND sup IS NULL THEN 'supersedes_missing'
      WHEN cat IS NULL AND act <> 'revoke' THEN 'category_unknown'
      WHEN cat IS NOT NULL AND NOT cat_known THEN 'category_unknown'
      WHEN cat IS NOT NULL AND NOT granted THEN 'category_not_granted'
      WHEN cat IS NOT NULL AND NOT list_contains(subject_kinds, kind) THEN 'subject_kind_not_allowed'
      WHEN occ_text IS NULL AND act <> 'revoke' THEN 'occurred_on_missing'
      WHEN occ IS NULL THEN 'occurred_on_invalid'
      WHEN occ > DATE {today} THEN 'occurred_on_future'
      WHEN amt_text IS NOT NULL AND amt IS NULL THEN 'amount_invalid'
      WHEN amt < 0 THEN 'amount_negative'
      WHEN act NOT IN ({actions}) THEN 'action_invalid'
      WHEN act <> 'add' AND sup IS NULL THEN 'supersedes_missing'
      WHEN NOT det_ok THEN 'details_invalid'
      WHEN unknown_key IS NOT NULL THEN 'detail_unknown'
      WHEN detail_problem IS NOT NULL THEN split_part(detail_problem, '|', 1)
    END AS reason
  FROM r
), w AS (
  SELECT v.*,
    CASE WHEN reason IS NULL THEN id_key END AS skey,
    -- A revocation without a category has no details to check: they are the revoked record's.
    CASE WHEN reason IS NULL AND cat IS NULL THEN '{{}}'
         WHEN reason IS NULL THEN {canonical} END AS details_c
  FROM v
)
SELECT
  line,
  reason,
  CASE WHEN reason = 'detail_unknown' THEN unknown_key
       WHEN reason IN ('detail_missing', 'detail_type') THEN split_part(detail_problem, '|', 2) END AS field,
  CASE WHEN reason = 'detail_type' THEN split_part(detail_problem, '|', 3)
       WHEN reason = 'subject_kind_not_allowed' THEN kind
       WHEN reason = 'details_invalid' THEN
         CASE WHEN json_valid(det_text) THEN 'it is JSON but not an object' ELSE 'it is not valid JSON' END
  END AS hint,
  {", ".join(f"r_{col}" for col in COLUMNS)},
  {source} AS source_id,
  srid AS source_record_id,
  skey AS subject_key,
  sid AS identifier,
  kind AS subject_kind,
  id_birth AS birth_date,
  id_sex AS sex,
  id_region AS region_code,
  -- A revocation may leave out the category: it is stored (and hashed) as ''.
  coalesce(cat, '') AS category,
  occ AS occurred_on,
  amt AS amount,
  doc AS document,
  basis AS legal_basis,
  details_c AS details,
  sup AS supersedes,
  act AS action,
  CASE WHEN reason IS NULL THEN sha256(concat_ws({sep}, {source}, srid,
    skey, coalesce(cat, ''), CAST(occ AS VARCHAR), coalesce(CAST(amt AS VARCHAR), ''), coalesce(doc, ''),
    coalesce(basis, ''), details_c, coalesce(sup, ''), act)) END AS content_hash
  {"".join(f", CASE WHEN reason IS NULL AND p_{n} THEN i_{n} END AS ref_{n}" for n in ident_fields)}
FROM w
"""
