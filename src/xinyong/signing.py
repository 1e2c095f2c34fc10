"""The deployment's report-signing key, and the signature that makes a credit report
verifiable by anyone who holds the published public key.

A signed report is the PDF exactly as rendered, followed after its final ``%%EOF`` by one
line, a PDF comment that every reader ignores::

    %xinyong-signature ed25519 <key id> <issued at> <signature>\\n

The Ed25519 signature (base64, canonical) covers every byte of the file before it: the
whole PDF and the line's own start, algorithm, key id and time of issue included. So a
change of any byte anywhere, a cut, or anything appended fails verification. The key id is
the first 16 hex digits of SHA-256 over the raw public key; it only selects the key, the
signature is what proves.

The private key is created on first use in ``DATA_DIR/report-signing.key`` (PKCS #8 PEM,
mode 0600); back it up with the deployment secret, and copy it to every host that serves.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import hashlib
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from xinyong.errors import ConfigurationError, FileFormatError

KEY_FILE = "report-signing.key"
MARKER = b"%xinyong-signature "
ALGORITHM = "ed25519"
# The whole trailer line; the signature is 64 bytes, 88 base64 characters with padding.
TRAILER = re.compile(
    rb"%xinyong-signature (?P<alg>[a-z0-9]+) (?P<kid>[0-9a-f]{16}) "
    rb"(?P<at>[0-9T:+\-]{19,25}) (?P<sig>[A-Za-z0-9+/]{86}==)\n\Z"
)
EOF = re.compile(rb"%%EOF\r?\n\Z")


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class Signer:
    """The deployment's private key and what it signs with."""

    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, pdf: bytes, issued_at: dt.datetime) -> bytes:
        """``pdf`` with the signature line after its final ``%%EOF``."""
        if issued_at.tzinfo is None:
            raise ValueError("issued_at must carry its time zone")
        stripped = pdf.rstrip(b" \t\r\n")
        if not stripped.startswith(b"%PDF-") or not stripped.endswith(b"%%EOF"):
            raise FileFormatError(
                "Only a whole PDF is signed: this one does not start with %PDF- and end with %%EOF.",
                code="report_not_pdf",
            )
        body = stripped + b"\n"
        stamp = issued_at.replace(microsecond=0).isoformat()
        head = body + MARKER + f"{ALGORITHM} {self.key_id} {stamp} ".encode()
        signature = base64.b64encode(self.private.sign(head))
        return head + signature + b"\n"


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_FILE


def load_or_create(data_dir: Path) -> Signer:
    """The deployment's signing key, created on first use.

    A new key is written to a private temporary file and linked into place, so that two
    workers starting at once agree on one key and nobody reads a half-written file."""
    path = key_path(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        temporary = path.with_name(f".{KEY_FILE}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, pem)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            with contextlib.suppress(FileExistsError):  # another process made one first
                os.link(temporary, path)
        finally:
            temporary.unlink()
    return Signer(_read_private(path))


def _read_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"{path} is not an unencrypted PEM private key ({exc}).",
            hint="Restore the report-signing key from its backup; a new key (delete the file) "
            "makes reports signed before unverifiable with the published key.",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigurationError(
            f"{path} holds a {type(key).__name__}, not an Ed25519 key.",
            hint="Restore the report-signing key from its backup.",
        )
    return key


def deployment_key(data_dir: Path) -> Ed25519PublicKey:
    """The public half of this deployment's key, without creating one."""
    path = key_path(data_dir)
    if not path.exists():
        raise ConfigurationError(
            f"This deployment has no report-signing key yet ({path} does not exist).",
            hint="Pass the issuer's published key with --key (the portal serves it at "
            "/report/key), or set --data-dir to the deployment's data directory.",
        )
    return _read_private(path).public_key()


def load_public_key(pem: bytes, where: str = "the key") -> Ed25519PublicKey:
    """A published public key (PEM, as served at /report/key)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, binascii.Error):
        raise FileFormatError(
            f"{where} is not a PEM public key.",
            hint="Download the issuer's key from its portal at /report/key and pass that file.",
            code="key_invalid",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise FileFormatError(
            f"{where} is a {type(key).__name__}, not an Ed25519 public key.",
            hint="Download the issuer's key from its portal at /report/key and pass that file.",
            code="key_invalid",
        )
    return key


@dataclass(frozen=True)
class Verification:
    """The outcome of checking one file. ``code`` is stable (``valid``, ``unsigned``,
    ``malformed``, ``unknown_key``, ``altered``); ``reason`` says it to a person."""

    valid: bool
    code: str
    reason: str
    key_id: str | None = None
    issued_at: dt.datetime | None = None


def verify(data: bytes, public_keys: Iterable[Ed25519PublicKey]) -> Verification:
    """Whether ``data`` is a report signed by one of ``public_keys`` and unchanged since."""
    start = data.rfind(MARKER)
    if start < 0:
        return Verification(
            False, "unsigned", "The file carries no xinyong signature: it is not a signed report."
        )
    found = TRAILER.match(data, start)
    if found is None or not EOF.search(data, 0, start):
        return Verification(
            False,
            "malformed",
            "The signature line is damaged, or something was added after it: the file is not "
            "as it was issued.",
        )
    kid = found["kid"].decode()
    try:
        issued_at = dt.datetime.fromisoformat(found["at"].decode())
    except ValueError:
        issued_at = None
    if issued_at is None or issued_at.tzinfo is None or found["alg"] != ALGORITHM.encode():
        return Verification(
            False,
            "malformed",
            "The signature line is damaged: the file is not as it was issued.",
            kid,
        )
    keys = {key_id(k): k for k in public_keys}
    if kid not in keys:
        known = ", ".join(sorted(keys)) or "none"
        return Verification(
            False,
            "unknown_key",
            f"The report names signing key {kid}, which is not the key given ({known}): it was "
            "issued elsewhere, under an older key, or the key id was changed.",
            kid,
            issued_at,
        )
    text = found["sig"]
    signature = base64.b64decode(text, validate=True)
    # Base64 has spare bits in its last character: only the canonical text counts, so that
    # no byte of the line can change without failing.
    canonical = base64.b64encode(signature) == text
    try:
        keys[kid].verify(signature, data[: found.start("sig")])
    except InvalidSignature:
        canonical = False
    if not canonical:
        return Verification(
            False,
            "altered",
            "The signature does not match the file: it was changed after it was issued.",
            kid,
            issued_at,
        )
    return Verification(
        True, "valid", "Issued by the holder of this key and unchanged since.", kid, issued_at
    )


def issued_now(timezone: str) -> dt.datetime:
    """The time of issue in the deployment's time zone, to the second."""
    return dt.datetime.now(ZoneInfo(timezone)).replace(microsecond=0)
