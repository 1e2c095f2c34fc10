"""Pseudonymous subject keys: HMAC-SHA256 of the identifier under a deployment secret.

Every table but ``subjects`` joins on this key, so a copy of the ledger without the
subjects table and the secret names nobody. The SQL twin (ids/sql.py) computes the same
HMAC inside DuckDB for bulk ingestion; a property test keeps the two equal.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from xinyong.errors import ConfigurationError

KEY_HEX_CHARS = 32  # 128 bits: no collision in any population on Earth


def subject_key(secret: bytes, identifier: str) -> str:
    return hmac.digest(secret, identifier.encode(), "sha256").hex()[:KEY_HEX_CHARS]


def secret_fingerprint(secret: bytes) -> str:
    """Stored in the database so that a wrong secret is caught before it splits subjects."""
    return hashlib.sha256(b"xinyong-secret-fingerprint:" + secret).hexdigest()[:16]


def load_or_create_secret(configured: str | None, data_dir: Path) -> bytes:
    if configured:
        return configured.encode()
    path = data_dir / "secret.key"
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, value)
    finally:
        os.close(fd)
    return value


def check_fingerprint(stored: str | None, secret: bytes) -> None:
    if stored is not None and stored != secret_fingerprint(secret):
        raise ConfigurationError(
            "The secret for subject keys does not match the one this ledger was created with.",
            hint="Restore XINYONG_SECRET (or DATA_DIR/secret.key) to its original value; "
            "a new secret would split every subject in two.",
        )
