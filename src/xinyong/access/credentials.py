"""Credentials that only a subject holds, to read its own access log over HTTP.

Issued by ``xinyong subject credential ID`` (until the portal brings sign-in); shown once,
stored as a SHA-256 hash beside the subject's key.
"""

from __future__ import annotations

import secrets

from xinyong.clock import utcnow
from xinyong.ledger.sources import hash_credential
from xinyong.store.base import Connection

PREFIX = "xys_subj_"


def issue(conn: Connection, subject_key: str) -> str:
    credential = PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO subject_credentials (credential_hash, subject_key, created_at)"
        " VALUES (?, ?, ?)",
        [hash_credential(credential), subject_key, utcnow()],
    )
    return credential


def all_credentials(conn: Connection) -> dict[str, str]:
    """credential hash -> subject key (the service keeps them in memory)."""
    return {
        h: k
        for h, k in conn.execute("SELECT credential_hash, subject_key FROM subject_credentials")
    }
