"""Credentials of every principal: sources, partners and subjects, in one place.

A subject's password for the portal is kept here too, as an Argon2id hash in
``subject_logins``, with the count of wrong attempts that locks its sign-in.

A credential is a random token shown once when it is issued and stored only as its
SHA-256 hash, beside the principal it belongs to (``sources``, ``partners``,
``subject_credentials``). This module is the only code that mints, hashes, stores, rotates
or looks up those hashes. A partner that also reports records is one principal with two
roles (its partner row and its source row share the id and the credential), so a rotation
changes both at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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
            h: i
            for h, i in conn.execute("SELECT credential_hash, source_id FROM sources WHERE active")
        },
        partners={
            h: i
            for h, i in conn.execute(
                "SELECT credential_hash, partner_id FROM partners WHERE active"
            )
        },
        subjects={
            h: k
            for h, k in conn.execute("SELECT credential_hash, subject_key FROM subject_credentials")
        },
    )


def source_of(conn: Connection, credential: str) -> str | None:
    """The id of the source that holds ``credential`` (active or not), or None."""
    found = conn.scalar(
        "SELECT source_id FROM sources WHERE credential_hash = ?", [hash_credential(credential)]
    )
    return str(found) if found is not None else None


# -- a subject's own password ---------------------------------------------------------------

_HASHER = PasswordHasher()  # Argon2id with the library's (RFC 9106 low-memory) parameters


@functools.cache
def _dummy() -> str:
    """A hash checked when a subject has no password, so that a wrong identifier costs as
    long as a wrong password and the answer's timing does not tell who has an account.
    Made on first use: hashing takes a fifth of a second, which no command should pay."""
    return _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Login:
    """A subject's sign-in state: whether a password is set, and until when it is locked."""

    has_password: bool
    failures: int
    locked_until: dt.datetime | None
    changed_at: dt.datetime | None  # when the password was last set
    fingerprint: str  # changes with the password: ends older sessions


def login(conn: Connection, subject_key: str) -> Login:
    rows = conn.execute(
        "SELECT password_hash, failures, locked_until, changed_at FROM subject_logins"
        " WHERE subject_key = ?",
        [subject_key],
    )
    if not rows:
        return Login(False, 0, None, None, "")
    password_hash, failures, locked_until, changed_at = rows[0]
    fingerprint = hash_credential(password_hash)[:16] if password_hash else ""
    return Login(bool(password_hash), int(failures), locked_until, changed_at, fingerprint)


def letter_issued_at(conn: Connection, subject_key: str, credential: str) -> dt.datetime | None:
    """When ``credential`` was issued to this subject (a letter credential), or None."""
    rows = conn.execute(
        "SELECT subject_key, created_at FROM subject_credentials WHERE credential_hash = ?",
        [hash_credential(credential)],
    )
    if rows and secrets.compare_digest(str(rows[0][0]), subject_key):
        issued: dt.datetime = rows[0][1]
        return issued
    return None


def password_matches(conn: Connection, subject_key: str | None, password: str) -> bool:
    stored = (
        conn.scalar("SELECT password_hash FROM subject_logins WHERE subject_key = ?", [subject_key])
        if subject_key
        else None
    )
    try:
        return bool(_HASHER.verify(str(stored) if stored else _dummy(), password)) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


def password_matches_nobody(password: str) -> None:
    """Spend the time of one password check (for an identifier that is not even valid)."""
    with contextlib.suppress(VerificationError, InvalidHashError):
        _HASHER.verify(_dummy(), password)


def set_password(conn: Connection, subject_key: str, password: str) -> None:
    """Store a new password (and clear the lock): every older session ends with it."""
    digest = _HASHER.hash(password)
    _ensure_login(conn, subject_key)
    conn.execute(
        "UPDATE subject_logins SET password_hash = ?, failures = 0, locked_until = NULL,"
        " changed_at = ? WHERE subject_key = ?",
        [digest, utcnow(), subject_key],
    )


def record_attempt(
    conn: Connection, subject_key: str, ok: bool, max_failures: int, lock_for: dt.timedelta
) -> None:
    """Count a wrong attempt (locking after ``max_failures`` in a row) or clear the count."""
    _ensure_login(conn, subject_key)
    if ok:
        conn.execute(
            "UPDATE subject_logins SET failures = 0, locked_until = NULL WHERE subject_key = ?",
            [subject_key],
        )
        return
    failures = int(
        conn.scalar("SELECT failures FROM subject_logins WHERE subject_key = ?", [subject_key])
    )
    failures += 1
    locked = utcnow() + lock_for if failures >= max_failures else None
    conn.execute(
        "UPDATE subject_logins SET failures = ?, locked_until = ? WHERE subject_key = ?",
        [0 if locked else failures, locked, subject_key],
    )


def _ensure_login(conn: Connection, subject_key: str) -> None:
    if conn.scalar("SELECT 1 FROM subject_logins WHERE subject_key = ?", [subject_key]) is None:
        conn.execute(
            "INSERT INTO subject_logins (subject_key, password_hash, failures, locked_until,"
            " changed_at) VALUES (?, NULL, 0, NULL, ?)",
            [subject_key, utcnow()],
        )
