"""The signed credit report over real HTTP: the subject downloads it (API and portal), the
real `xinyong report verify` accepts it on the deployment and offline with the published
key, and refuses it after one byte is changed; the verification page does the same by
upload. The PDF shows the masked identifier, never the raw one."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from tests.api.live import UNKNOWN, City, Server, assert_problem, cli, cli_json, serving
from xinyong import signing
from xinyong.catalog import load_catalog
from xinyong.ids.masking import mask
from xinyong.portal.report import render

PASSWORD = "the report's own sentence"


@dataclass
class Deployment:
    data: Path
    server: Server
    listed: str
    credential: str  # the listed person's own (letter) credential

    def browser(self) -> httpx.Client:
        """Keeps cookies as a browser does; follows no redirect."""
        return httpx.Client(base_url=self.server.url, timeout=60, trust_env=False)


@pytest.fixture(scope="module")
def deployment(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data = city.copy(tmp_path_factory.mktemp("portal-report") / "data")
    credential = cli_json(data, "subject", "credential", city.listed)["credential"]
    env = {"XINYONG_PORTAL_SECURE_COOKIES": "false"}  # plain HTTP on loopback
    with serving(data, env=env) as server:
        yield Deployment(data, server, city.listed, credential)


def _report(deployment: Deployment, lang: str | None = None) -> httpx.Response:
    params = {"lang": lang} if lang else {}
    with deployment.server.client(deployment.credential) as client:
        return client.get(f"/v1/subjects/{deployment.listed}/report", params=params)


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _verify(data_dir: Path, path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return cli(data_dir, "report", "verify", str(path), *extra, check=False)


def _flip(pdf: bytes, position: int) -> bytes:
    changed = bytearray(pdf)
    changed[position] ^= 0x01
    return bytes(changed)


def _token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found, "the page has no CSRF field"
    return found.group(1)


def test_the_subject_downloads_a_report_that_verifies_and_one_byte_breaks_it(
    deployment: Deployment, tmp_path: Path
) -> None:
    answer = _report(deployment)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "no-store"
    assert "attachment" in answer.headers["content-disposition"]
    assert deployment.listed not in answer.headers["content-disposition"]
    pdf = answer.content
    assert pdf.startswith(b"%PDF-") and b"%%EOF\n%xinyong-signature ed25519 " in pdf

    report = tmp_path / "credit-report.pdf"
    report.write_bytes(pdf)
    valid = _verify(deployment.data, report)
    assert valid.returncode == 0, valid.stderr + valid.stdout
    assert "valid" in valid.stdout and "unchanged" in valid.stdout
    outcome = json.loads(_verify(deployment.data, report, "--json").stdout)
    assert outcome["valid"] is True and outcome["code"] == "valid"
    assert re.fullmatch(r"[0-9a-f]{16}", outcome["key_id"])
    assert dt.datetime.fromisoformat(outcome["issued_at"]).tzinfo is not None

    # One byte changed, in the content, the cross-reference table or the signature line.
    for position in (len(pdf) // 2, len(pdf) - 300, len(pdf) - 20):
        report.write_bytes(_flip(pdf, position))
        broken = _verify(deployment.data, report)
        assert broken.returncode == 1, (position, broken.stdout, broken.stderr)
        assert "not valid" in broken.stderr
    report.write_bytes(_flip(pdf, len(pdf) // 2))
    refused = json.loads(_verify(deployment.data, report, "--json").stdout)
    assert refused["valid"] is False and refused["code"] == "altered"


def test_the_pdf_shows_the_masked_identifier_never_the_raw_one(deployment: Deployment) -> None:
    zh = _report(deployment).content
    en = _report(deployment, "en").content
    masked = mask(deployment.listed)
    for pdf in (zh, en):
        reader = PdfReader(io.BytesIO(pdf))  # the signature line does not disturb a reader
        assert len(reader.pages) >= 1
        text = _text(pdf)
        assert masked in text
        assert deployment.listed not in text
        assert deployment.listed.encode() not in pdf
        assert reader.metadata is not None and reader.metadata.subject == masked
    zh_text, en_text = _text(zh), _text(en)
    assert "信用报告" in zh_text and "如何验证本报告" in zh_text and "黑名单" in zh_text
    assert "Credit report" in en_text and "How to verify this report" in en_text
    assert "Lists in force" in en_text and "Black list" in en_text
    assert "Dishonest judgment defaulters" in en_text  # the court list the person is on
    assert "Fa Shi [2015] No. 17" in en_text  # a measure's legal basis
    assert f"{deployment.server.url}/report/verify" in en_text.replace("\n", "")


def test_the_published_key_verifies_offline_and_another_key_refuses(
    deployment: Deployment, tmp_path: Path
) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(_report(deployment, "en").content)
    with deployment.browser() as client:
        published = client.get("/report/key")
    assert published.status_code == 200
    assert published.headers["content-type"].startswith("text/plain")
    assert published.text.startswith("-----BEGIN PUBLIC KEY-----")
    key = tmp_path / "xinyong-report-key.pem"
    key.write_text(published.text)

    elsewhere = tmp_path / "elsewhere"  # a landlord's machine: no deployment at all
    offline = _verify(elsewhere, report, "--key", str(key))
    assert offline.returncode == 0, offline.stderr
    assert published.headers["x-key-id"] in offline.stdout
    assert not elsewhere.exists()  # checking creates nothing

    no_key = _verify(elsewhere, report)
    assert no_key.returncode == 2 and "--key" in no_key.stderr

    other_key = tmp_path / "other.pem"  # another deployment's key
    other_key.write_bytes(signing.public_pem(Ed25519PrivateKey.generate().public_key()))
    wrong = _verify(elsewhere, report, "--key", str(other_key))
    assert wrong.returncode == 1 and "unknown_key" in wrong.stderr
    either = _verify(elsewhere, report, "--key", str(other_key), "--key", str(key))
    assert either.returncode == 0, either.stderr  # an earlier key and the current one

    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("not a key")
    assert _verify(elsewhere, report, "--key", str(bad_key)).returncode == 2


def test_the_api_answers_only_the_subject_and_logs_the_access(deployment: Deployment) -> None:
    path = f"/v1/subjects/{deployment.listed}/report"
    with deployment.server.client() as anonymous:
        assert_problem(anonymous.get(path), 401, "credential_invalid")
    other = cli_json(deployment.data, "subject", "credential", UNKNOWN)["credential"]
    with deployment.server.client(other) as someone_else:
        assert_problem(someone_else.get(path), 403, "credential_other_subject")
    with deployment.server.client(deployment.credential) as client:
        assert_problem(client.get(path, params={"lang": "fr"}), 422, "parameter_invalid")
        before = client.get(f"/v1/subjects/{deployment.listed}/access-log").json()["entries"]
        assert client.get(path).status_code == 200
        after = client.get(f"/v1/subjects/{deployment.listed}/access-log").json()["entries"]
    assert len(after) == len(before) + 1
    assert after[-1]["kind"] == "lookup" and after[-1]["who"] == "subject"


def test_the_verification_page_takes_an_upload(deployment: Deployment) -> None:
    pdf = _report(deployment).content
    with deployment.browser() as client:
        page = client.get("/report/verify?lang=en")
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.text
        assert '<label for="report">' in page.text and "<script" not in page.text
        key_id = client.get("/report/key").headers["x-key-id"]
        assert key_id in page.text
        token = _token(page)

        def upload(content: bytes) -> httpx.Response:
            files = {"report": ("credit-report.pdf", content, "application/pdf")}
            return client.post("/report/verify?lang=en", data={"csrf": token}, files=files)

        genuine = upload(pdf)
        assert genuine.status_code == 200, genuine.text
        assert "Valid: the report is genuine" in genuine.text and key_id in genuine.text
        altered = upload(_flip(pdf, len(pdf) // 2))
        assert "Not valid" in altered.text and "changed after it was signed" in altered.text
        unsigned = upload(b"%PDF-1.4\n%%EOF\n")
        assert "Not valid" in unsigned.text and "no signature" in unsigned.text
        zh = client.post(
            "/report/verify?lang=zh",
            data={"csrf": token},
            files={"report": ("r.pdf", pdf, "application/pdf")},
        )
        assert "验证通过" in zh.text
        nothing = client.post("/report/verify?lang=en", data={"csrf": token})
        assert nothing.status_code == 422 and "Choose the report file" in nothing.text
    with deployment.browser() as stranger:  # no CSRF cookie, no token: refused
        refused = stranger.post(
            "/report/verify", files={"report": ("r.pdf", pdf, "application/pdf")}
        )
        assert refused.status_code == 403


def test_the_signed_in_subject_downloads_the_report_from_the_portal(
    deployment: Deployment,
) -> None:
    with deployment.browser() as client:
        away = client.get("/me/report.pdf")
        assert away.status_code == 303 and away.headers["location"].startswith("/sign-in")
        token = _token(client.get("/sign-in"))
        signed_in = client.post(
            "/sign-in",
            data={
                "csrf": token,
                "identifier": deployment.listed,
                "secret": deployment.credential,
                "next": "/me",
            },
        )
        assert signed_in.status_code == 303, signed_in.text
        answer = client.get("/me/report.pdf?lang=en")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["cache-control"] == "no-store"
    assert "Credit report" in _text(answer.content)
    with deployment.browser() as client:
        token = _token(client.get("/report/verify"))
        checked = client.post(
            "/report/verify?lang=en",
            data={"csrf": token},
            files={"report": ("mine.pdf", answer.content, "application/pdf")},
        )
    assert "Valid: the report is genuine" in checked.text


def test_the_same_file_renders_the_same_bytes() -> None:
    """Rendering is deterministic (``invariant``): same input, same PDF."""
    data = {
        "identifier": "110101199003071234",
        "kind": "person",
        "region": "东城区",
        "current_records": [],
        "state": {"not_evaluated": "Nothing evaluated yet."},
        "objections": [],
    }
    issued = dt.datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    args = {
        "lang": "zh",
        "catalog": load_catalog(None),
        "sources": {},
        "issuer": "https://credit.example.cn",
        "issued_at": issued,
        "key_id": "0123456789abcdef",
    }
    first, second = render(data, **args), render(data, **args)
    assert first == second
    text = _text(first)
    assert "110101********1234" in text and "信用状况尚未评价" in text
    assert b"110101199003071234" not in first
