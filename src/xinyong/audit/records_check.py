"""Check the ledger's records against what the audit log says was written.

Each record's content hash is recomputed from its stored fields, and each submission's
count and digest (XOR of the records' hashes) is compared with its audit entry, so a
record edited, deleted or slipped in shows even when the audit chain itself is intact.
"""

from __future__ import annotations

import orjson

from xinyong.audit.chain import Finding
from xinyong.store.base import Connection, Store


def content_hash_sql(store: Store) -> str:
    """The validator's content hash, recomputed from stored columns (ledger/validate.py)."""
    return store.sha256_hex_sql(
        "concat_ws(chr(31), source_id, source_record_id, subject_key, category,"
        " CAST(occurred_on AS VARCHAR), coalesce(CAST(amount AS VARCHAR), ''),"
        " coalesce(document, ''), coalesce(legal_basis, ''), details, coalesce(supersedes, ''), action)"
    )


def verify_records(conn: Connection, store: Store, limit: int = 20) -> tuple[int, list[Finding]]:
    findings: list[Finding] = []
    bad = conn.execute(
        f"SELECT event_id, submission_id FROM records WHERE content_hash <> {content_hash_sql(store)}"
        f" ORDER BY event_id LIMIT {int(limit)}"
    )
    for event_id, submission_id in bad:
        findings.append(
            Finding(
                None,
                f"record {event_id} (submission {submission_id}) was edited: "
                "its content no longer matches its hash",
            )
        )
    logged = {
        obj: orjson.loads(payload)
        for obj, payload in conn.execute(
            "SELECT object, payload FROM audit_log WHERE action = 'records.ingest'"
        )
    }
    actual = {
        sub: (int(count), f"{int(digest or 0) & 0xFFFFFFFFFFFFFFFF:016x}")
        for sub, count, digest in conn.execute(
            f"SELECT submission_id, count(*), {store.xor_digest_sql('content_hash')}"
            " FROM records GROUP BY submission_id"
        )
    }
    for sub, entry in logged.items():
        count, digest = actual.get(sub, (0, f"{0:016x}"))
        if count != entry["accepted"]:
            findings.append(
                Finding(
                    None,
                    f"submission {sub} wrote {entry['accepted']} records but "
                    f"the ledger holds {count}: records were deleted or added",
                )
            )
        elif digest != entry["digest"]:
            findings.append(
                Finding(
                    None,
                    f"submission {sub}: its records no longer match the "
                    "digest logged when they were written",
                )
            )
    for sub in actual.keys() - logged.keys():
        findings.append(
            Finding(
                None,
                f"records of submission {sub} have no audit entry: they were "
                "written around the ledger",
            )
        )
    total = int(conn.scalar("SELECT count(*) FROM records") or 0)
    return total, findings
