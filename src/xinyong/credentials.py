"""Credentials of every principal: sources, partners and subjects, in one place.

A credential is a random token shown once when it is issued and stored only as its
SHA-256 hash, beside the principal it belongs to (``sources``, ``partners``,
``subject_credentials``). This module is the only code that mints, hashes, stores, rotates
or looks up those hashes. A partner that also reports records is one principal with two
roles (its partner row and its source row share the id and the credential), so a rotation
changes both at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Literal

from xinyong.clock import utcnow
from xinyong.store.base import Connection

Kind = Literal["source", "partner", "subject"]

# Prefixes tell a leaked token's kind at a glance (and to secret scanners).
PREFIXES: dict[Kind, str] = {"source": "xys_", "partner": "xyp_", "subject": "xys_subj_"}


def hash_credential(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


def mint(kind: Kind) -> tuple[str, str]:
    """A new credential of ``kind`` and its hash: show the first once, store the second."""
    credential = PREFIXES[kind] + secrets.token_urlsafe(32)
    return credential, hash_credential(credential)


def rotate_partner(conn: Connection, partner_id: str) -> str:
    """A new credential for the partner and, when it also reports records, for its source
    role; the old credential stops working for both at once."""
    old = conn.scalar("SELECT credential_hash FROM partners WHERE partner_id = ?", [partner_id])
    credential, digest = mint("partner")
    conn.execute(
        "UPDATE partners SET credential_hash = ? WHERE partner_id = ?", [digest, partner_id]
    )
    conn.execute(
        "UPDATE sources SET credential_hash = ? WHERE source_id = ? AND credential_hash = ?",
        [digest, partner_id, old],
    )
    return credential


def share_with_source(conn: Connection, partner_id: str) -> None:
    """Give the source row of a partner that reports records the partner's credential."""
    conn.execute(
        "UPDATE sources SET credential_hash ="
        " (SELECT credential_hash FROM partners WHERE partner_id = ?) WHERE source_id = ?",
        [partner_id, partner_id],
    )


def issue_subject(conn: Connection, subject_key: str) -> str:
    """A credential that lets the subject read its own file over HTTP."""
    credential, digest = mint("subject")
    conn.execute(
        "INSERT INTO subject_credentials (credential_hash, subject_key, created_at)"
        " VALUES (?, ?, ?)",
        [digest, subject_key, utcnow()],
    )
    return credential


@dataclass
class Holders:
    """Credential hash -> principal id, for each kind (active principals only)."""

    sources: dict[str, str] = field(default_factory=dict)
    partners: dict[str, str] = field(default_factory=dict)
    subjects: dict[str, str] = field(default_factory=dict)


def holders(conn: Connection) -> Holders:
    """Every valid credential (the service keeps them in memory and hashes what it gets)."""
    return Holders(
        sources={
            h: i for h, i in conn.execute("SELECT credential_hash, source_id FROM sources WHERE active")
        },
        partners={
            h: i
            for h, i in conn.execute("SELECT credential_hash, partner_id FROM partners WHERE active")
        },
        subjects={
            h: k for h, k in conn.execute("SELECT credential_hash, subject_key FROM subject_credentials")
        },
    )


def source_of(conn: Connection, credential: str) -> str | None:
    """The id of the source that holds ``credential`` (active or not), or None."""
    found = conn.scalar(
        "SELECT source_id FROM sources WHERE credential_hash = ?", [hash_credential(credential)]
    )
    return str(found) if found is not None else None
