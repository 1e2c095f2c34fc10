"""File ingestion: read, validate, spool, merge in one transaction, write the rejects file.

Nothing is silently dropped: every record read is accepted, counted as a duplicate, or
rejected with a reason in the rejects file. A crash or kill before the merge commits
leaves nothing visible; a re-run does the whole job and adds each record once.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from xinyong.clock import today, utcnow
from xinyong.ledger import reasons
from xinyong.ledger.context import AfterMerge, LedgerContext
from xinyong.ledger.merge import FileInfo, merge_submission
from xinyong.ledger.readers import RecordFile, Unreadable
from xinyong.ledger.records import COLUMNS
from xinyong.ledger.sources import get_source
from xinyong.ledger.spool import Spool
from xinyong.ledger.validate import Validator
from xinyong.sql import literal

Progress = Callable[[str, int, int, str], None]  # (phase, done, total, unit)

REJECT_SCHEMA = pa.schema(
    [
        ("line", pa.int64()),
        ("reason", pa.string()),
        ("field", pa.string()),
        ("message", pa.string()),
        ("record", pa.string()),
    ]
)


@dataclass
class IngestReport:
    file: str
    source_id: str
    format: str
    submission_id: str
    read: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    rejects_file: str | None = None
    warnings: int = 0  # accepted, but to be looked at again (exit_unmatched, document_repeated)
    warnings_by_code: dict[str, int] = field(default_factory=dict)
    warnings_file: str | None = None
    reevaluated: int | None = None  # subjects re-evaluated; None when nothing is evaluated yet
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_rejects_path(path: Path) -> Path:
    return path.with_name(path.stem + ".rejects.jsonl")


def default_warnings_path(path: Path) -> Path:
    return path.with_name(path.stem + ".warnings.jsonl")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def ingest_file(
    ctx: LedgerContext,
    path: Path,
    source_id: str,
    *,
    fmt: str | None = None,
    sheet: str | None = None,
    encoding: str = "utf-8",
    rejects_path: Path | None = None,
    progress: Progress | None = None,
    after_merge: AfterMerge | None = None,
    allow_repeat: bool = False,
    warnings_path: Path | None = None,
) -> IngestReport:
    """Ingest one file of ``source_id``: every record accepted, a duplicate or rejected.

    ``after_merge`` runs inside the merge's transaction when records were accepted
    (the callers that keep an evaluated state pass xinyong.evaluation's hook)."""
    started = time.perf_counter()
    path = Path(path)
    record_file = RecordFile(
        path, fmt, encoding=encoding, batch_rows=ctx.settings.batch_rows, sheet=sheet
    )
    with ctx.store.transaction() as conn:
        source = get_source(conn, source_id)
    validator = Validator(ctx.catalog, source.grant, ctx.secret, today(ctx.settings.timezone))
    spool = Spool(ctx.settings.data_dir)
    report = IngestReport(
        file=str(path),
        source_id=source_id,
        format=record_file.fmt,
        submission_id=spool.submission_id,
    )
    by_reason: Counter[str] = Counter()
    try:
        for chunk in record_file.chunks():
            report.read += chunk.table.num_rows + len(chunk.unreadable)
            if chunk.unreadable:
                spool.write("rejects", _unreadable_table(chunk.unreadable))
                by_reason.update(u.reason for u in chunk.unreadable)
            if chunk.table.num_rows:
                checked = validator.spool(chunk.table, spool.part("staged"))
                spool.write("refs", checked.references)
                spool.write("subjects", checked.subjects)
                if checked.rejected.num_rows:
                    spool.write("rejects", _rejected_table(checked.rejected, validator))
                    by_reason.update(checked.rejected.column("reason").to_pylist())
            if progress:
                progress("validating", chunk.progress, record_file.total, record_file.unit)
        validator.close()
        info = FileInfo(
            name=path.name,
            sha256=file_sha256(path),
            format=record_file.fmt,
            records_read=report.read,
            rejected_early=sum(by_reason.values()),
        )
        if progress:
            progress(
                "merging into the ledger", record_file.total, record_file.total, record_file.unit
            )
        with ctx.store.transaction() as conn:
            exits = {c.code: c.ends for c in ctx.catalog.categories.values() if c.ends}
            outcome = merge_submission(
                ctx.store,
                conn,
                spool=spool,
                source_id=source_id,
                file=info,
                received_at=utcnow(),
                exits=exits,
                allow_repeat=allow_repeat,
            )
            if outcome.first_event is not None and after_merge is not None:
                # The credit state follows the ledger in the same transaction: decisions
                # never see records without their consequences, or the reverse.
                last = outcome.last_event if outcome.last_event is not None else outcome.first_event
                report.reevaluated = after_merge(conn, outcome.first_event, last)
        by_reason.update(r["status"] for r in outcome.late_rejects)
        report.accepted, report.duplicates = outcome.accepted, outcome.duplicates
        report.rejected = sum(by_reason.values())
        report.rejected_by_reason = dict(by_reason.most_common())
        target = rejects_path or default_rejects_path(path)
        if report.rejected:
            _write_rejects(spool, outcome.late_rejects, target)
            report.rejects_file = str(target)
        elif rejects_path is None and target.exists():
            target.unlink()  # a stale rejects file from an earlier run of this file would mislead
        report.warnings = len(outcome.warnings)
        report.warnings_by_code = dict(Counter(w["code"] for w in outcome.warnings).most_common())
        warned = warnings_path or default_warnings_path(path)
        if outcome.warnings:
            _write_warnings(outcome.warnings, warned)
            report.warnings_file = str(warned)
        elif warnings_path is None and warned.exists():
            warned.unlink()
    finally:
        spool.remove()
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _write_warnings(found: list[dict[str, Any]], target: Path) -> None:
    """One JSON line per warned record: line, code, source_record_id, a sentence."""
    tmp = target.with_name(target.name + ".partial")
    with open(tmp, "wb") as out:
        for w in found:
            hint = (
                f"Current listings of this subject: {w['candidates']}."
                if w.get("candidates")
                else "The subject has no current listing that it could end."
            )
            row = {
                "line": w["line"],
                "code": w["code"],
                "source_record_id": w.get("source_record_id"),
                "document": w.get("document"),
                "message": reasons.warning(w["code"], value=w.get("document"), hint=hint),
            }
            out.write(orjson.dumps(row) + b"\n")
    tmp.replace(target)


def _record_json(record: dict[str, Any]) -> str:
    """The record as it was read; details that were a JSON object are shown as one."""
    shown = {k: v for k, v in record.items() if v is not None}
    details = shown.get("details")
    if isinstance(details, str) and details.lstrip().startswith("{"):
        # Malformed text stays as it came: it is why the record was rejected.
        with contextlib.suppress(orjson.JSONDecodeError):
            shown["details"] = orjson.loads(details)
    try:
        return orjson.dumps(shown, default=str).decode()
    except TypeError:  # nested deeper than orjson writes (254 levels): shown as it came
        shown["details"] = details
        return orjson.dumps(shown, default=str).decode()


def _unreadable_table(rows: list[Unreadable]) -> pa.Table:
    return pa.table(
        {
            "line": [u.line for u in rows],
            "reason": [u.reason for u in rows],
            "field": [u.field for u in rows],
            "message": [reasons.message(u.reason, field=u.field, hint=u.hint) for u in rows],
            "record": [orjson.dumps(u.record).decode() for u in rows],
        },
        schema=REJECT_SCHEMA,
    )


def _rejected_table(rejected: pa.Table, validator: Validator) -> pa.Table:
    grant = ", ".join(sorted(validator.grant.categories)) or "nothing"
    out: dict[str, list[Any]] = {n: [] for n in REJECT_SCHEMA.names}
    for row in rejected.to_pylist():
        record = {c: row[f"r_{c}"] for c in COLUMNS}
        reason, fieldname = row["reason"], row["field"]
        out["line"].append(row["line"])
        out["reason"].append(reason)
        out["field"].append(fieldname)
        out["message"].append(
            reasons.explain(reason, record, field=fieldname, hint=row["hint"], grant=grant)
        )
        out["record"].append(_record_json(record))
    return pa.table(out, schema=REJECT_SCHEMA)


def _write_rejects(spool: Spool, late: list[dict[str, Any]], target: Path) -> None:
    """All rejects of the file, in line order, as JSON Lines; written whole, then renamed."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # it would write to stdout
    try:
        files = spool.files("rejects")
        late_table = pa.table(
            {
                "line": [r["line"] for r in late],
                "reason": [r["status"] for r in late],
                "field": [None for _ in late],
                "message": [
                    reasons.message(
                        r["status"],
                        value=r["supersedes"]
                        if r["status"] == "supersedes_unknown"
                        else r["document"]
                        if r["status"] == "document_repeated"
                        else r["source_record_id"],
                    )
                    for r in late
                ],
                "record": [
                    _record_json(
                        {
                            "source_record_id": r["source_record_id"],
                            "subject": r["identifier"],
                            "category": r["category"],
                            "occurred_on": r["occurred_on"],
                            "amount": r["amount"],
                            "document": r["document"],
                            "legal_basis": r["legal_basis"],
                            "supersedes": r["supersedes"],
                            "action": r["action"],
                        }
                    )
                    for r in late
                ],
            },
            schema=REJECT_SCHEMA,
        )
        con.register("late", late_table)
        sources = ["SELECT * FROM late"]
        if files:
            paths = ", ".join(literal(p) for p in files)
            sources.append(f"SELECT * FROM read_parquet([{paths}])")
        reader = con.sql(" UNION ALL ".join(sources) + " ORDER BY line").to_arrow_reader(
            batch_size=50_000
        )
        tmp = target.with_name(target.name + ".partial")
        with open(tmp, "wb") as out:
            for batch in reader:
                for row in batch.to_pylist():
                    row["record"] = orjson.Fragment(row["record"])
                    out.write(orjson.dumps(row) + b"\n")
        tmp.replace(target)
    finally:
        con.close()
