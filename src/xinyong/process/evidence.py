"""Evidence files of objections and repair applications: stored once by content hash,
owner-only, size-limited, and never published."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from xinyong.clock import utcnow
from xinyong.errors import RequestInvalid, TooLarge
from xinyong.store.base import Connection

MAX_FILES = 5
MAX_BYTES = 10 * 2**20  # per file
_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


@dataclass(frozen=True)
class Evidence:
    name: str
    sha256: str
    size: int


def read_files(paths: list[Path]) -> list[tuple[str, bytes]]:
    out = []
    for path in paths:
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise RequestInvalid(
                f"Cannot read evidence file {path}: {exc.strerror}.", code="evidence_invalid"
            ) from None
        if size > MAX_BYTES:
            raise TooLarge(
                f"Evidence file {path.name} has {size:,} bytes; at most {MAX_BYTES:,} are taken.",
                hint="Send a smaller scan, or several pages as separate files.",
                code="evidence_too_large",
            )
        out.append((path.name, path.read_bytes()))
    return out


def store(data_dir: Path, files: list[tuple[str, bytes]]) -> list[Evidence]:
    """Write the files under DATA_DIR/evidence/ (owner-only); checks every limit first."""
    if len(files) > MAX_FILES:
        raise TooLarge(
            f"At most {MAX_FILES} evidence files are taken; got {len(files)}.",
            code="evidence_too_large",
        )
    for name, body in files:
        if len(body) > MAX_BYTES:
            raise TooLarge(
                f"Evidence file {name} has {len(body):,} bytes; at most {MAX_BYTES:,} are taken.",
                code="evidence_too_large",
            )
    folder = Path(data_dir) / "evidence"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored = []
    for name, body in files:
        digest = hashlib.sha256(body).hexdigest()
        target = folder / digest
        if not target.exists():
            tmp = folder / f".{digest}.{os.getpid()}.partial"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, body)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        clean = _NAME.sub("_", Path(name).name)[:120] or "evidence"
        stored.append(Evidence(clean, digest, len(body)))
    return stored


def record(conn: Connection, case_id: str, files: list[Evidence]) -> None:
    for f in files:
        conn.execute(
            "INSERT INTO evidence (case_id, name, sha256, size, received_at) VALUES (?, ?, ?, ?, ?)",
            [case_id, f.name, f.sha256, f.size, utcnow()],
        )


def of_case(conn: Connection, case_id: str) -> list[dict[str, object]]:
    return conn.dicts(
        "SELECT name, sha256, size FROM evidence WHERE case_id = ? ORDER BY name", [case_id]
    )
