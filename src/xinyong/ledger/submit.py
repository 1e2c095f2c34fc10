"""Records that arrive over HTTP: the same validation and merge as a file, answered per record."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson

from xinyong.ledger.context import AfterMerge, LedgerContext
from xinyong.ledger.ingest import ingest_file


def submit_records(
    ctx: LedgerContext,
    records: list[dict[str, Any]],
    source_id: str,
    after_merge: AfterMerge | None = None,
) -> dict[str, Any]:
    """Ingest ``records`` as one submission of ``source_id``; say what became of each."""
    if not records:
        return {
            "submission_id": None,
            "accepted": 0,
            "duplicates": 0,
            "rejected": 0,
            "warnings": 0,
            "reevaluated": None,
            "results": [],
        }
    work = Path(ctx.settings.data_dir) / "work"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        path = Path(tmp) / "submission.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r, default=str) + b"\n" for r in records))
        rejects_path = Path(tmp) / "rejects.jsonl"
        warnings_path = Path(tmp) / "warnings.jsonl"
        report = ingest_file(
            ctx,
            path,
            source_id,
            fmt="jsonl",
            rejects_path=rejects_path,
            warnings_path=warnings_path,
            after_merge=after_merge,
        )
        rejected: dict[int, dict[str, Any]] = {}
        if rejects_path.exists():
            for raw in rejects_path.read_bytes().splitlines():
                reject = orjson.loads(raw)
                rejected[int(reject["line"])] = reject
        warned: dict[int, list[dict[str, Any]]] = {}
        if warnings_path.exists():
            for raw in warnings_path.read_bytes().splitlines():
                found = orjson.loads(raw)
                warned.setdefault(int(found["line"]), []).append(
                    {"code": found["code"], "message": found["message"]}
                )
    with ctx.store.transaction() as conn:
        accepted = {
            int(n)
            for (n,) in conn.execute(
                "SELECT line FROM records WHERE submission_id = ?", [report.submission_id]
            )
        }
    results = []
    for index, record in enumerate(records):
        line = index + 1
        srid = record.get("source_record_id")
        result: dict[str, Any] = {
            "index": index,
            "source_record_id": srid if isinstance(srid, str) else None,
        }
        if line in rejected:
            result.update(
                status="rejected",
                reason=rejected[line]["reason"],
                message=rejected[line]["message"],
            )
        else:
            result["status"] = "accepted" if line in accepted else "duplicate"
            if line in warned:
                result["warnings"] = warned[line]
        results.append(result)
    return {
        "submission_id": report.submission_id,
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "warnings": report.warnings,
        "reevaluated": report.reevaluated,
        "results": results,
    }
