"""The subject's own area over real HTTP: sign-in with the letter credential, a password of
one's own, the lock-out, the whole file with the denial's reasons, who looked, an
objection with a PDF that marks the record disputed, and the downloads."""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.live import UNKNOWN, City, Server, add_partner, cli_json, serving

FLIGHT = "flight.ticket.purchase"
PASSWORD = "a sentence I will remember"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% bank receipt: paid in full\n%%EOF\n"


@dataclass
class Portal:
    data: Path
    server: Server
    listed: str
    letter: str  # the listed person's letter credential
    airline: str

    def browser(self) -> httpx.Client:
        """A client that keeps cookies, as a browser does, and does not follow redirects."""
        return httpx.Client(base_url=self.server.url, timeout=60, trust_env=False)


@pytest.fixture(scope="module")
def portal(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data = city.copy(tmp_path_factory.mktemp("portal-self") / "data")
    letter = cli_json(data, "subject", "credential", city.listed)["credential"]
    airline = add_partner(data, "air", "airline", "ticket sales")["credential"]
    env = {"XINYONG_PORTAL_SECURE_COOKIES": "false"}
    with serving(data, env=env) as server:
        yield Portal(data, server, city.listed, letter, airline)


def _token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found, "the page has no CSRF field"
    return found.group(1)


def _sign_in(client: httpx.Client, identifier: str, secret: str) -> httpx.Response:
    token = _token(client.get("/sign-in"))
    return client.post(
        "/sign-in", data={"csrf": token, "identifier": identifier, "secret": secret, "next": "/me"}
    )


@contextlib.contextmanager
def _signed_in(portal: Portal) -> Iterator[httpx.Client]:
    with portal.browser() as client:
        _sign_in_as_listed(portal, client)
        yield client


def _sign_in_as_listed(portal: Portal, client: httpx.Client) -> None:
    answer = _sign_in(client, portal.listed, PASSWORD)
    if answer.status_code != 303:  # the first test to run chooses the password
        answer = _sign_in(client, portal.listed, portal.letter)
        assert answer.status_code == 303, answer.text
        token = _token(client.get("/me/password?first=1"))
        chosen = client.post(
            "/me/password?first=1", data={"csrf": token, "password": PASSWORD, "repeat": PASSWORD}
        )
        assert chosen.status_code == 303, chosen.text


def test_a_letter_signs_in_once_then_the_password_does(portal: Portal) -> None:
    with portal.browser() as client:
        assert client.get("/me").headers["location"].startswith("/sign-in")
        first = _sign_in(client, portal.listed, portal.letter)
        assert first.status_code == 303 and first.headers["location"] == "/me/password?first=1"
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        token = _token(client.get("/me/password?first=1"))
        short = client.post("/me/password", data={"csrf": token, "password": "x", "repeat": "x"})
        assert short.status_code == 422
        done = client.post(
            "/me/password", data={"csrf": token, "password": PASSWORD, "repeat": PASSWORD}
        )
        assert done.status_code == 303
        assert client.get("/me").status_code == 200
    with portal.browser() as other:
        # The letter no longer opens the file once a password is set...
        assert _sign_in(other, portal.listed, portal.letter).status_code == 401
        # ...the password does.
        assert _sign_in(other, portal.listed, PASSWORD).status_code == 303


def test_the_file_shows_the_denial_with_its_reasons_and_who_looked(portal: Portal) -> None:
    with portal.server.client(portal.airline) as airline:
        asked = airline.post("/v1/decisions", json={"subject": portal.listed, "action": FLIGHT})
    assert asked.json()["decision"] == "deny"
    with _signed_in(portal) as client:
        page = client.get("/me?lang=en")
        assert page.status_code == 200
        assert "Measures in force" in page.text and "Fa Shi [2015] No. 17" in page.text
        assert "How to end it" in page.text
        looked = client.get("/me/access-log?lang=en").text
        assert "air" in looked and "denied" in looked and FLIGHT in looked
        assert "Because of:" in looked
        zh = client.get("/me?lang=zh").text
        assert "正在实施的措施" in zh
        past = client.get("/me?as_of=2015-01-01&lang=en").text
        assert "You are on no list." in past


def test_an_objection_with_a_pdf_marks_the_record_disputed(portal: Portal) -> None:
    with _signed_in(portal) as client:
        page = client.get("/me/objections")
        record = re.search(r'<option value="([^"]+)"[^>]*>[^<]*judicial.defaulter.listed', page.text)
        assert record, "the listing is not offered for an objection"
        filed = client.post(
            "/me/objections?lang=en",
            data={"csrf": _token(page), "record": record.group(1), "text": "I paid on 1 May."},
            files=[("evidence", ("receipt.pdf", PDF, "application/pdf"))],
        )
        assert filed.status_code == 201, filed.text
        assert "is filed" in filed.text
        mine = client.get("/me?lang=en").text
        assert "disputed" in mine
    with portal.server.client(portal.airline) as airline:
        asked = airline.post("/v1/decisions", json={"subject": portal.listed, "action": FLIGHT})
    assert any(r.get("disputed") for r in asked.json()["reasons"]), asked.json()


def test_the_whole_file_downloads_as_json_and_csv(portal: Portal) -> None:
    with _signed_in(portal) as client:
        as_json = client.get("/me/file.json")
        assert as_json.headers["content-disposition"].startswith("attachment")
        data = as_json.json()
        assert data["identifier"] == portal.listed
        assert data["current_records"] and data["access_log"] and "state" in data
        as_csv = client.get("/me/file.csv")
        rows = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff"))))
        sections = {r["section"] for r in rows}
        assert {"record", "list", "measure", "access"} <= sections
        assert not any(v.startswith(("=", "+", "@")) for r in rows for v in r.values() if v)


def test_wrong_attempts_lock_the_identifier(portal: Portal) -> None:
    with portal.browser() as client:
        for _ in range(5):
            assert _sign_in(client, UNKNOWN, "not the password").status_code == 401
        locked = _sign_in(client, UNKNOWN, "not the password")
        assert locked.status_code == 429
        # Same answer for a wrong secret whether or not the identifier is known.
    with portal.browser() as client:
        assert _sign_in(client, "110101199001011234", "whatever").status_code == 401


def test_forms_need_their_token_and_pages_carry_the_headers(portal: Portal) -> None:
    with portal.browser() as client:
        client.get("/sign-in")
        forged = client.post(
            "/sign-in", data={"identifier": portal.listed, "secret": PASSWORD, "next": "/me"}
        )
        assert forged.status_code == 403
        wrong = client.post(
            "/sign-in",
            data={"csrf": "0" * 64, "identifier": portal.listed, "secret": PASSWORD},
        )
        assert wrong.status_code == 403
        page = client.get("/sign-in")
        csp = page.headers["content-security-policy"]
        assert "script-src" not in csp and "default-src 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY"
        assert "<script" not in page.text
        # Signing in never sends the browser to another site.
        token = _token(page)
        away = client.post(
            "/sign-in",
            data={
                "csrf": token,
                "identifier": portal.listed,
                "secret": PASSWORD,
                "next": "//evil.example/me",
            },
        )
        assert away.status_code in (303, 401)
        if away.status_code == 303:
            assert away.headers["location"] in ("/me", "/me/password?first=1")


def test_a_new_password_ends_other_sessions(portal: Portal) -> None:
    first, second = portal.browser(), portal.browser()
    _sign_in_as_listed(portal, first)
    _sign_in_as_listed(portal, second)
    token = _token(second.get("/me/password"))
    changed = second.post(
        "/me/password", data={"csrf": token, "password": PASSWORD, "repeat": PASSWORD}
    )
    assert changed.status_code == 303
    assert second.get("/me").status_code == 200
    assert first.get("/me").status_code == 303  # the older session is over
    first.close()
    second.close()
