"""Merge a spooled submission into the ledger in one transaction.

Portable SQL: the same statements run on DuckDB and PostgreSQL. Duplicates (the same
source record id with the same content, in the ledger or earlier in the file) are
counted and skipped; a known id with different content is a conflict unless the record
is a ``correct``; a ``correct`` or ``revoke`` must supersede a record of the same source.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from xinyong import audit
from xinyong.ledger.spool import Spool
from xinyong.sql import literal, literal_list
from xinyong.store.base import Connection, Store

SUBJECT_COLUMNS = {
    "subject_key": "VARCHAR",
    "identifier": "VARCHAR",
    "subject_kind": "VARCHAR",
    "birth_date": "DATE",
    "sex": "VARCHAR",
    "region_code": "VARCHAR",
}
STAGED_COLUMNS = {
    "line": "BIGINT",
    "source_id": "VARCHAR",
    "source_record_id": "VARCHAR",
    **SUBJECT_COLUMNS,
    "category": "VARCHAR",
    "occurred_on": "DATE",
    "amount": "DECIMAL(18, 2)",
    "document": "VARCHAR",
    "legal_basis": "VARCHAR",
    "details": "VARCHAR",
    "supersedes": "VARCHAR",
    "action": "VARCHAR",
    "content_hash": "VARCHAR",
}
REF_COLUMNS = {"line": "BIGINT", **SUBJECT_COLUMNS}

# Rows that are not accepted, with why. Usually few; each step leaves rows it already
# classified alone, so the order of the steps is the order of precedence.
_EXCEPTIONS = "CREATE TEMP TABLE exceptions (line BIGINT, status VARCHAR)"

_LEDGER_DUPLICATES = """
INSERT INTO exceptions
SELECT s.line, 'duplicate' FROM staged s
WHERE EXISTS (SELECT 1 FROM records r WHERE r.source_id = s.source_id
                AND r.source_record_id = s.source_record_id AND r.content_hash = s.content_hash)
"""

# Window functions only over ids that occur more than once in the file (rare).
_FILE_REPEATS = """
INSERT INTO exceptions
SELECT line, status FROM (
  SELECT s.line,
    CASE
      WHEN row_number() OVER (PARTITION BY s.source_record_id, s.content_hash ORDER BY s.line) > 1
        THEN 'duplicate'
      WHEN s.action <> 'correct'
        AND first_value(s.content_hash) OVER (PARTITION BY s.source_record_id ORDER BY s.line) <> s.content_hash
        THEN 'conflict'
    END AS status
  FROM staged s
  WHERE s.source_record_id IN (
    SELECT source_record_id FROM staged GROUP BY source_record_id HAVING count(*) > 1)
) t
WHERE status IS NOT NULL AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.line = t.line)
"""

_LEDGER_CONFLICTS = """
INSERT INTO exceptions
SELECT s.line, 'conflict' FROM staged s
WHERE s.action <> 'correct'
  AND EXISTS (SELECT 1 FROM records r WHERE r.source_id = s.source_id
                AND r.source_record_id = s.source_record_id)
  AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.line = s.line)
"""

# Single level: a correction may supersede a record earlier in the same file that was
# accepted; a chain of corrections within one file is checked one link at a time.
_SUPERSEDES = """
INSERT INTO exceptions
SELECT s.line, 'supersedes_unknown' FROM staged s
WHERE s.action <> 'add'
  AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.line = s.line)
  AND NOT EXISTS (SELECT 1 FROM records r
                  WHERE r.source_id = s.source_id AND r.source_record_id = s.supersedes)
  AND NOT EXISTS (SELECT 1 FROM staged t
                  WHERE t.source_record_id = s.supersedes AND t.line < s.line
                    AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.line = t.line))
"""

# Is ledger record r current (not revoked, not superseded by a later record of its source)?
# Two equi-join anti-joins, as in the current_records view: an OR would make DuckDB loop
# over the ledger once per candidate.
_CURRENT = """r.action <> 'revoke'
  AND NOT EXISTS (SELECT 1 FROM records x WHERE x.source_id = r.source_id
    AND x.supersedes = r.source_record_id AND x.event_id > r.event_id)
  AND NOT EXISTS (SELECT 1 FROM records x WHERE x.source_id = r.source_id
    AND x.source_record_id = r.source_record_id AND x.event_id > r.event_id)"""

# A new record that repeats the case document of a current record of the same subject and
# category under another id (in the ledger, or earlier in the file): counted twice otherwise.
# An entry that an exit record of the same case has ended (a deleted listing) is no longer
# open: a new listing of that case is a new listing.
def _repeated(exits: dict[str, tuple[str, ...]]) -> str:
    ended = ""
    if exits:
        pairs = " OR ".join(
            f"(x.category = {literal(exit_)} AND r.category IN {literal_list(ends)})"
            for exit_, ends in sorted(exits.items())
        )
        ended = (
            " AND NOT EXISTS (SELECT 1 FROM records x WHERE x.subject_key = r.subject_key"
            f" AND x.document = r.document AND x.event_id > r.event_id AND ({pairs}))"
        )
    return f"""
SELECT s.line, s.source_record_id, s.document FROM staged s
WHERE s.action = 'add' AND s.document IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.line = s.line)
  AND (EXISTS (SELECT 1 FROM records r WHERE r.subject_key = s.subject_key
                 AND r.category = s.category AND r.document = s.document
                 AND NOT (r.source_id = s.source_id AND r.source_record_id = s.source_record_id)
                 AND {_CURRENT}{ended})
       OR s.line IN (SELECT f.line FROM file_repeats f))
"""


# Records of the file that repeat the document of an earlier record of the same subject and
# category in the file under another id: a window over the file (a self-join would be
# quadratic where the staged table has no index).
_FILE_DOCUMENT_REPEATS = """
CREATE TEMP TABLE file_repeats AS
SELECT line FROM (
  SELECT s.line, s.source_record_id,
    first_value(s.source_record_id) OVER (
      PARTITION BY s.subject_key, s.category, s.document ORDER BY s.line) AS first_id
  FROM staged s
  WHERE s.action = 'add' AND s.document IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.line = s.line)
) t WHERE t.source_record_id <> t.first_id
"""


_ACCEPTED = """
CREATE TEMP VIEW accepted AS
SELECT s.* FROM staged s WHERE NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.line = s.line)
"""

# Subjects of rows that became exceptions, unless another row of theirs was accepted.
_ORPHANS = """
CREATE TEMP TABLE orphans AS
SELECT DISTINCT s.subject_key FROM staged s JOIN exceptions e ON e.line = s.line
EXCEPT
SELECT s.subject_key FROM staged s
WHERE NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.line = s.line)
  AND s.subject_key IN (SELECT s2.subject_key FROM staged s2 JOIN exceptions e2 ON e2.line = s2.line)
"""

# Subject attributes follow from the key, so any row per key will do (DISTINCT ON).
_SUBJECTS = """
INSERT INTO subjects (subject_key, identifier, kind, birth_date, sex, region_code, first_seen)
SELECT DISTINCT ON (subject_key) subject_key, identifier, subject_kind, birth_date, sex, region_code,
       CAST(? AS TIMESTAMP)
FROM (
  SELECT b.* FROM batch_subjects b
  WHERE NOT EXISTS (SELECT 1 FROM orphans o WHERE o.subject_key = b.subject_key)
  UNION ALL
  SELECT f.subject_key, f.identifier, f.subject_kind, f.birth_date, f.sex, f.region_code
  FROM refs f WHERE NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.line = f.line)
) u
WHERE NOT EXISTS (SELECT 1 FROM subjects x WHERE x.subject_key = u.subject_key)
"""

# Event ids are the previous maximum plus the line: increasing in file order, unique, and
# computed without sorting (they skip the lines that were not accepted).
_RECORDS = """
INSERT INTO records (event_id, submission_id, source_id, source_record_id, subject_key, category,
  occurred_on, amount, document, legal_basis, details, supersedes, action, content_hash,
  received_at, line)
SELECT CAST(? AS BIGINT) + line, CAST(? AS VARCHAR), source_id,
  source_record_id, subject_key, category, occurred_on, amount, document, legal_basis, details,
  supersedes, action, content_hash, CAST(? AS TIMESTAMP), line
FROM accepted
"""

_LATE_REJECTS = """
SELECT s.line, e.status, s.source_record_id, s.identifier, s.category, s.occurred_on, s.amount,
  s.document, s.legal_basis, s.supersedes, s.action
FROM staged s JOIN exceptions e ON e.line = s.line
WHERE e.status IN ('conflict', 'supersedes_unknown', 'document_repeated') ORDER BY s.line
"""


def _unmatched_exits(exits: dict[str, tuple[str, ...]]) -> str:
    """Accepted exit records (event ids from ``?``) that end no current entry of their
    subject with the same document, with the documents of the entries they could have meant."""
    pairs = " OR ".join(
        f"(n.category = {literal(exit_)} AND r.category IN {literal_list(ended)})"
        for exit_, ended in sorted(exits.items())
    )
    return f"""
SELECT n.line, n.source_record_id, n.document,
  (SELECT string_agg(DISTINCT r.document, ', ') FROM records r
   WHERE r.subject_key = n.subject_key AND ({pairs}) AND r.document IS NOT NULL
     AND {_CURRENT}) AS candidates
FROM records n
WHERE n.event_id > ? AND n.action <> 'revoke' AND n.category IN {literal_list(sorted(exits))}
  AND NOT EXISTS (SELECT 1 FROM records r WHERE r.subject_key = n.subject_key AND ({pairs})
                    AND r.document = n.document AND r.event_id < n.event_id AND {_CURRENT})
ORDER BY n.line
"""


@dataclass
class FileInfo:
    name: str
    sha256: str
    format: str
    records_read: int
    rejected_early: int


@dataclass
class MergeOutcome:
    accepted: int = 0
    duplicates: int = 0
    late_rejects: list[dict[str, Any]] = field(default_factory=list)
    # Accepted records the source should look at again: line, code, source_record_id, facts.
    warnings: list[dict[str, Any]] = field(default_factory=list)
    first_event: int | None = None
    last_event: int | None = None


def merge_submission(
    store: Store,
    conn: Connection,
    *,
    spool: Spool,
    source_id: str,
    file: FileInfo,
    received_at: dt.datetime,
    exits: dict[str, tuple[str, ...]] | None = None,
    allow_repeat: bool = False,
) -> MergeOutcome:
    """Merge the spool in the caller's transaction. ``exits`` maps each exit category to the
    categories it ends (from the catalogue), for the ``exit_unmatched`` warning; a record
    repeating a current case document is rejected unless ``allow_repeat``."""
    store.lock_for_merge(conn)
    store.load_staged(conn, "staged", spool.files("staged"), STAGED_COLUMNS, accepted_only=True)
    store.load_staged(conn, "refs", spool.files("refs"), REF_COLUMNS)
    store.load_staged(conn, "batch_subjects", spool.files("subjects"), SUBJECT_COLUMNS)
    for statement in (
        _EXCEPTIONS,
        _LEDGER_DUPLICATES,
        _FILE_REPEATS,
        _LEDGER_CONFLICTS,
        _SUPERSEDES,
    ):
        conn.execute(statement)
    conn.execute(_FILE_DOCUMENT_REPEATS)
    repeated = conn.dicts(_repeated(exits or {}))
    if repeated and not allow_repeat:
        for row in repeated:
            conn.execute("INSERT INTO exceptions VALUES (?, 'document_repeated')", [row["line"]])
    conn.execute(_ACCEPTED)
    counts = dict(conn.execute("SELECT status, count(*) FROM exceptions GROUP BY status"))
    outcome = MergeOutcome(duplicates=int(counts.get("duplicate", 0)))
    outcome.late_rejects = conn.dicts(_LATE_REJECTS)
    base = int(conn.scalar("SELECT coalesce(max(event_id), 0) FROM records"))
    conn.execute(_ORPHANS)
    conn.execute(_SUBJECTS, [received_at])
    conn.execute(_RECORDS, [base, spool.submission_id, received_at])
    # What was written, read back from the new rows of the ledger itself.
    written = conn.one(
        f"SELECT count(*), min(event_id), max(event_id), {store.xor_digest_sql('content_hash')}"
        " FROM records WHERE event_id > ?",
        [base],
    )
    count, first, last, digest = written or (0, None, None, 0)
    outcome.accepted, outcome.first_event, outcome.last_event = int(count), first, last
    if allow_repeat:
        outcome.warnings += [
            {
                "line": r["line"],
                "code": "document_repeated",
                "source_record_id": r["source_record_id"],
                "document": r["document"],
            }
            for r in repeated
        ]
    if exits and count:
        outcome.warnings += [
            {
                "line": r["line"],
                "code": "exit_unmatched",
                "source_record_id": r["source_record_id"],
                "document": r["document"],
                "candidates": r["candidates"],
            }
            for r in conn.dicts(_unmatched_exits(exits), [base])
        ]
        outcome.warnings.sort(key=lambda w: int(w["line"]))
    digest_hex = f"{int(digest or 0) & 0xFFFFFFFFFFFFFFFF:016x}"
    rejected = file.rejected_early + len(outcome.late_rejects)
    conn.execute(
        "INSERT INTO submissions (submission_id, source_id, file_name, file_sha256, format,"
        " received_at, records_read, accepted, duplicates, rejected, first_event, last_event, digest)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            spool.submission_id,
            source_id,
            file.name,
            file.sha256,
            file.format,
            received_at,
            file.records_read,
            outcome.accepted,
            outcome.duplicates,
            rejected,
            outcome.first_event,
            outcome.last_event,
            digest_hex,
        ],
    )
    audit.append(
        conn,
        actor=f"source:{source_id}",
        action="records.ingest",
        obj=spool.submission_id,
        payload={
            "file": file.name,
            "file_sha256": file.sha256,
            "read": file.records_read,
            "accepted": outcome.accepted,
            "duplicates": outcome.duplicates,
            "rejected": rejected,
            "first_event": outcome.first_event,
            "last_event": outcome.last_event,
            "digest": digest_hex,
        },
    )
    return outcome
