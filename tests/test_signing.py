"""The report signature: what was signed verifies, and nothing else does: no byte changed
anywhere, no cut, nothing appended, no other key, no damaged signature line."""

from __future__ import annotations

import base64
import datetime as dt
import os
import stat
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from xinyong import signing
from xinyong.errors import ConfigurationError, FileFormatError

PDF = (
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
    b"trailer\n<< /Root 1 0 R /Size 3 >>\nstartxref\n0\n%%EOF\n"
)
ISSUED = dt.datetime(2026, 11, 30, 9, 15, 7, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def signer(tmp_path: Path) -> signing.Signer:
    return signing.load_or_create(tmp_path)


@pytest.fixture
def signed(signer: signing.Signer) -> bytes:
    return signer.sign(PDF, ISSUED)


def test_a_signed_report_verifies_with_its_key_id_and_time(
    signer: signing.Signer, signed: bytes
) -> None:
    result = signing.verify(signed, [signer.public])
    assert result.valid and result.code == "valid", result
    assert result.key_id == signer.key_id and len(signer.key_id) == 16
    assert result.issued_at == ISSUED
    # The PDF is kept as it was, and one line follows its %%EOF.
    assert signed.startswith(PDF)
    line = signed[len(PDF) :]
    assert line.startswith(b"%xinyong-signature ed25519 " + signer.key_id.encode())
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert b" 2026-11-30T09:15:07+08:00 " in line


def test_the_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    first = signing.load_or_create(tmp_path)
    path = tmp_path / signing.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signing.load_or_create(tmp_path).key_id == first.key_id
    assert signing.key_id(signing.deployment_key(tmp_path)) == first.key_id
    assert [p.name for p in tmp_path.iterdir()] == [signing.KEY_FILE]  # no temporary left


def test_workers_starting_at_once_agree_on_one_key(tmp_path: Path) -> None:
    ids: list[str] = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        ids.append(signing.load_or_create(tmp_path).key_id)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == 1, ids


def _positions(size: int) -> list[int]:
    """Bytes at the start, the middle, the %%EOF, each field of the signature line (its
    marker, algorithm, key id, time, signature and padding) and the final newline."""
    picked = {0, 1, 5, size // 3, size // 2}
    picked |= set(range(size - 200, size))  # the whole line and what precedes it
    return sorted(p for p in picked if 0 <= p < size)


def test_changing_any_single_byte_fails(signer: signing.Signer, signed: bytes) -> None:
    accepted = []
    for position in _positions(len(signed)):
        for flip in (0x01, 0x20, 0x80):
            changed = bytearray(signed)
            changed[position] ^= flip
            if signing.verify(bytes(changed), [signer.public]).valid:
                accepted.append((position, flip))
    assert not accepted, f"changed bytes still verify: {accepted}"


def test_every_byte_of_the_signature_line_matters(signer: signing.Signer, signed: bytes) -> None:
    """Every character of the line, replaced by every other printable character."""
    start = signed.rfind(signing.MARKER)
    accepted = []
    for position in range(start, len(signed)):
        for value in range(0x20, 0x7F):
            if value == signed[position]:
                continue
            changed = bytearray(signed)
            changed[position] = value
            if signing.verify(bytes(changed), [signer.public]).valid:
                accepted.append((position, chr(value)))
    assert not accepted, f"changed line still verifies: {accepted}"


def test_a_non_canonical_signature_encoding_fails(signer: signing.Signer, signed: bytes) -> None:
    """The last base64 character has spare bits: setting them decodes to the same
    signature, and must fail all the same."""
    line_end = len(signed) - 1
    sig_end = line_end - 2  # before "=="
    last = chr(signed[sig_end - 1])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    same_bits = [c for c in alphabet if alphabet.index(c) >> 4 == alphabet.index(last) >> 4]
    for other in same_bits:
        if other == last:
            continue
        changed = signed[: sig_end - 1] + other.encode() + signed[sig_end:]
        text = changed[signed.rfind(b" ") + 1 : -1]
        assert base64.b64decode(text) == base64.b64decode(signed[signed.rfind(b" ") + 1 : -1])
        result = signing.verify(changed, [signer.public])
        assert not result.valid and result.code == "altered", (other, result)


def test_a_cut_fails(signer: signing.Signer, signed: bytes) -> None:
    for cut in (1, 2, 10, 90, 150, len(signed) - len(PDF), len(signed) - 8):
        result = signing.verify(signed[:-cut], [signer.public])
        assert not result.valid, cut
    front = signing.verify(signed[1:], [signer.public])
    assert not front.valid and front.code == "altered"


def test_anything_appended_or_inserted_fails(signer: signing.Signer, signed: bytes) -> None:
    for extra in (b"\n", b" ", b"%%EOF\n", b"x"):
        appended = signing.verify(signed + extra, [signer.public])
        assert not appended.valid and appended.code == "malformed", extra
    inserted = signed[:100] + b" " + signed[100:]
    assert signing.verify(inserted, [signer.public]).code == "altered"


def test_an_incremental_update_after_the_signature_fails(
    signer: signing.Signer, signed: bytes
) -> None:
    """A PDF can be changed by appending an update; after the signature line it is refused."""
    update = b"1 0 obj\n<< /Type /Catalog >>\nendobj\nstartxref\n0\n%%EOF\n"
    assert signing.verify(signed + update, [signer.public]).code == "malformed"


def test_another_key_fails(signed: bytes) -> None:
    other = Ed25519PrivateKey.generate().public_key()
    result = signing.verify(signed, [other])
    assert not result.valid and result.code == "unknown_key"
    assert result.key_id is not None and result.key_id in result.reason
    assert not signing.verify(signed, []).valid


def test_a_forged_key_id_does_not_help(signer: signing.Signer, signed: bytes) -> None:
    """Re-signed by someone else under the deployment's key id: the signature fails."""
    forger = signing.Signer(Ed25519PrivateKey.generate())
    forged = forger.sign(PDF, ISSUED).replace(forger.key_id.encode(), signer.key_id.encode())
    result = signing.verify(forged, [signer.public])
    assert not result.valid and result.code == "altered"


def test_unsigned_files_and_garbage_fail(signer: signing.Signer, signed: bytes) -> None:
    assert signing.verify(PDF, [signer.public]).code == "unsigned"
    assert signing.verify(b"", [signer.public]).code == "unsigned"
    assert signing.verify(os.urandom(4096), [signer.public]).code == "unsigned"
    start = signed.rfind(signing.MARKER)
    for tail in (
        b"%xinyong-signature\n",
        b"%xinyong-signature ed25519\n",
        b"%xinyong-signature ed25519 " + signer.key_id.encode() + b" yesterday AAAA==\n",
        b"%xinyong-signature rsa " + signed[start + 27 :],
        signed[start:].replace(b"+08:00", b"      "),
        signed[start:].replace(b"2026-11-30T09:15:07+08:00", b"2026-13-30T09:15:07+08:00"),
        signed[start:].replace(b"+08:00", b""),
    ):
        result = signing.verify(signed[:start] + tail, [signer.public])
        assert not result.valid and result.code != "valid", (tail, result)
    no_eof = signed.replace(b"%%EOF\n%xinyong", b"%%EOX\n%xinyong")
    assert signing.verify(no_eof, [signer.public]).code == "malformed"


def test_signing_twice_or_a_non_pdf_is_refused(signer: signing.Signer, signed: bytes) -> None:
    with pytest.raises(FileFormatError):
        signer.sign(signed, ISSUED)  # a signed report ends with its signature, not %%EOF
    with pytest.raises(FileFormatError):
        signer.sign(b"hello", ISSUED)
    with pytest.raises(ValueError, match="time zone"):
        signer.sign(PDF, dt.datetime(2026, 1, 1))


def test_a_pdf_without_a_final_newline_is_signed_too(signer: signing.Signer) -> None:
    signed = signer.sign(PDF.rstrip(b"\n"), ISSUED)
    assert signing.verify(signed, [signer.public]).valid


def test_the_published_key_round_trips(signer: signing.Signer, signed: bytes) -> None:
    pem = signing.public_pem(signer.public)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    loaded = signing.load_public_key(pem)
    assert signing.verify(signed, [loaded]).valid
    with pytest.raises(FileFormatError, match="not a PEM public key"):
        signing.load_public_key(b"not a key")
    other_kind = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(FileFormatError, match="not an Ed25519 public key"):
        signing.load_public_key(other_kind)


def test_no_key_yet_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no report-signing key") as caught:
        signing.deployment_key(tmp_path)
    assert "--key" in str(caught.value)
    assert not (tmp_path / signing.KEY_FILE).exists()  # checking never creates one


def test_a_damaged_key_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / signing.KEY_FILE).write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n")
    with pytest.raises(ConfigurationError, match="not an unencrypted PEM private key"):
        signing.load_or_create(tmp_path)
