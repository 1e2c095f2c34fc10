"""The portal in a real browser: Debian's chromium driven by Playwright, with JavaScript
disabled (every page must work without it), as a visitor and as a listed person would use
it. Every page is saved as a screenshot in both languages and checked by axe-core (no
serious or critical violations); axe needs JavaScript, so it runs in a second context that
shares the first one's cookies and loads the same pages.

Screenshots go to the test's temporary folder, or to $XINYONG_SCREENSHOTS (docs/portal/
holds the set the portal guide shows: XINYONG_SCREENSHOTS=docs/portal pytest this file)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.api.live import UNKNOWN, City, Server, add_partner, cli_env, cli_json, serving

CHROMIUM = "/usr/bin/chromium"
# Without the networking flags chromium tries to reach Google's hosts, which this machine's
# closed network refuses (see the machine notes); --no-sandbox because the tests run as root.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "my own long passphrase"
FLIGHT = "flight.ticket.purchase"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% bank receipt: paid in full\n%%EOF\n"

# CI installs chromium (.ci/run); elsewhere these tests skip without it, saying so.
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (apt-get install chromium)",
    ),
]


@dataclass
class Site:
    data: Path
    server: Server
    listed: str
    letter: str
    organisation: str  # the registered name of an organisation on the court's list
    listed_name: str
    shots: Path
    seen: list[str] = field(default_factory=list)  # every page path visited


@pytest.fixture(scope="module")
def site(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = city.copy(tmp_path_factory.mktemp("portal-browser") / "data")
    letter = cli_json(data, "subject", "credential", city.listed)["credential"]
    airline = add_partner(data, "air", "airline", "ticket sales")["credential"]
    shots = Path(os.environ.get("XINYONG_SCREENSHOTS") or tmp_path_factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    with serving(data) as server:
        with server.client(airline) as client:
            denied = client.post("/v1/decisions", json={"subject": city.listed, "action": FLIGHT})
            assert denied.json()["decision"] == "deny"
            public = client.get("/v1/public/lists/judicial_defaulters").json()
        subjects = [e["subject"] for e in public["entries"]]
        org = next(s for s in subjects if s["kind"] == "organisation" and s["name"])
        person = next(s for s in subjects if s["kind"] == "person" and s["name"])
        yield Site(data, server, city.listed, letter, org["name"], person["name"], shots)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    made = browser.new_context(
        java_script_enabled=False, base_url=site.server.url, viewport={"width": 1000, "height": 800}
    )
    yield made
    made.close()


def _shoot(site: Site, page: Page, name: str) -> None:
    assert "<script" not in page.content()
    page.screenshot(path=site.shots / f"{name}.jpg", full_page=True, type="jpeg", quality=70)


def _look(site: Site, page: Page, name: str) -> None:
    """Save the page in both languages (and at a phone's width) and remember it for the axe
    pass. An answer to a form post is saved as it is, in the language it was asked in."""
    path = re.sub(r"[?&]lang=\w+", "", page.url.removeprefix(site.server.url))
    if name.endswith("-result"):
        _shoot(site, page, f"{name}-en")
        return
    site.seen.append(path)
    for lang in ("zh", "en"):
        sep = "&" if "?" in path else "?"
        page.goto(f"{path}{sep}lang={lang}")
        _shoot(site, page, f"{name}-{lang}")
    page.set_viewport_size({"width": 390, "height": 844})
    _shoot(site, page, f"{name}-en-phone")
    page.set_viewport_size({"width": 1000, "height": 800})


def test_a_visitor_finds_a_company_and_a_listed_person_but_no_one_else(
    site: Site, context: BrowserContext
) -> None:
    page = context.new_page()
    page.goto("/?lang=en")
    _look(site, page, "home")
    page.fill("input[name=q]", site.organisation)
    page.click("form[role=search] button")
    assert site.organisation in page.content()
    _look(site, page, "search-organisation")
    page.click(f"a:has-text('{site.organisation}')")
    profile = page.content()
    assert "Legal basis" in profile or "legal basis" in profile.lower()
    _look(site, page, "organisation")
    page.goto("/search?lang=en&q=" + site.listed_name)
    found = page.content()
    assert site.listed_name in found
    assert "*" in found, "identifiers are masked"
    assert site.listed not in found
    page.goto("/search?lang=en&q=" + UNKNOWN)
    assert UNKNOWN not in page.content()
    page.goto("/lists/judicial_defaulters?lang=en")
    listing = page.content()
    assert "Fa Shi" in listing and site.listed not in listing
    _look(site, page, "list-defaulters")
    page.goto("/lists?lang=en")
    _look(site, page, "lists")
    page.goto("/transparency?lang=en")
    assert page.locator("svg").count() >= 2, "the transparency page shows its charts"
    _look(site, page, "transparency")


def test_a_listed_person_signs_in_objects_and_downloads_a_signed_report(
    site: Site, context: BrowserContext, tmp_path: Path
) -> None:
    page = context.new_page()
    page.goto("/sign-in?lang=en")
    _look(site, page, "sign-in")
    page.fill("#identifier", site.listed)
    page.fill("#secret", site.letter)
    page.click("main button[type=submit]")
    assert "/me/password" in page.url
    _look(site, page, "password")
    page.fill("#password", PASSWORD)
    page.fill("#repeat", PASSWORD)
    page.click("main button[type=submit]")
    assert page.url.endswith("/me?password=set")
    page.goto("/me?lang=en")
    mine = page.content()
    assert "Measures in force" in mine and "How to end it" in mine
    assert "flight.ticket.purchase" in mine
    _look(site, page, "my-file")
    page.goto("/me/access-log?lang=en")
    looked = page.content()
    assert "denied" in looked and "air" in looked
    _look(site, page, "access-log")

    page.goto("/me/objections?lang=en")
    option = page.locator("#record option", has_text="judicial.defaulter.listed").first
    page.select_option("#record", value=option.get_attribute("value"))
    page.fill("#text", "I paid the full amount on 1 May; the receipt is attached.")
    evidence = tmp_path / "receipt.pdf"
    evidence.write_bytes(PDF)
    page.set_input_files("#evidence", str(evidence))
    page.click("main form[enctype] button[type=submit]")
    assert "is filed" in page.content()
    _look(site, page, "objections")
    page.goto("/me?lang=en")
    assert "disputed" in page.content()
    page.goto("/me/notices?lang=en")
    _look(site, page, "notices")
    page.goto("/me/repairs?lang=en")
    _look(site, page, "repairs")

    # Consent to the commercial score: an unticked box that must be ticked, then the score
    # with its reasons; withdrawn with one button (the demo may have given it already).
    page.goto("/me/consent?lang=en")
    if page.locator("input[name=decision][value=withdraw]").count():
        page.click("main form button[type=submit]")
        assert "Your consent is withdrawn" in page.content()
    assert not page.is_checked("#agree")
    page.click("main form button[type=submit]")
    assert "Tick the box" in page.content()
    page.check("#agree")
    page.click("main form button[type=submit]")
    given = page.content()
    assert "Your consent is recorded" in given and "How each feature scored" in given
    _look(site, page, "consent")
    page.goto("/me?lang=en")
    assert "How each feature scored" in page.content()
    page.goto("/me/consent?lang=en")
    page.click("main form button[type=submit]")
    assert "Your consent is withdrawn" in page.content()
    assert "How each feature scored" not in page.content()

    # Downloads as a person makes them: by the links on their file's page.
    page.goto("/me?lang=en")
    with page.expect_download() as whole:
        page.click("a[href='/me/file.json']")
    assert json.loads(Path(whole.value.path()).read_text())["identifier"] == site.listed
    with page.expect_download() as report:
        page.click("a[href^='/me/report.pdf']")
    signed = tmp_path / "report.pdf"
    report.value.save_as(signed)
    assert signed.read_bytes().startswith(b"%PDF")
    assert _verify(site, signed).returncode == 0
    tampered = tmp_path / "tampered.pdf"
    body = bytearray(signed.read_bytes())
    body[len(body) // 2] ^= 0x01
    tampered.write_bytes(bytes(body))
    assert _verify(site, tampered).returncode == 1

    page.goto("/report/verify?lang=en")
    _look(site, page, "verify")
    page.set_input_files("input[type=file]", str(signed))
    page.click("main form[enctype] button[type=submit]")
    assert "valid" in page.content().lower()
    _look(site, page, "verify-result")


def _verify(site: Site, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["xinyong", "report", "verify", str(path)],
        env=cli_env(site.data),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_page_passes_the_accessibility_check(
    site: Site, browser: Browser, context: BrowserContext
) -> None:
    assert site.seen, "run after the pages were visited"
    checked = browser.new_context(
        java_script_enabled=True, base_url=site.server.url, storage_state=context.storage_state()
    )
    axe = Axe()
    failures: dict[str, Any] = {}
    try:
        page = checked.new_page()
        # The checker itself finds what it should: an image without a text alternative.
        page.set_content("<!doctype html><html lang='en'><title>t</title><img src='x.png'></html>")
        assert any(v["id"] == "image-alt" for v in axe.run(page).response["violations"])
        for path in dict.fromkeys(site.seen):
            if path.startswith("/sign-in") or path.startswith("/me/password"):
                continue  # visited while signed out / on first sign-in only
            for lang in ("zh", "en"):
                page.goto(path + ("&" if "?" in path else "?") + f"lang={lang}")
                assert page.url.split("?")[0].endswith(path.split("?")[0]), (path, page.url)
                results = axe.run(page)
                bad = [
                    (v["id"], v["impact"], len(v["nodes"]))
                    for v in results.response["violations"]
                    if v["impact"] in ("serious", "critical")
                ]
                if bad:
                    failures[f"{path} [{lang}]"] = bad
        page.goto("/sign-out")  # a GET: not allowed, renders the error page
        page.context.clear_cookies()
        for path in ("/sign-in", "/"):
            page.goto(path)
            results = axe.run(page)
            bad = [
                v["id"]
                for v in results.response["violations"]
                if v["impact"] in ("serious", "critical")
            ]
            if bad:
                failures[path] = bad
    finally:
        checked.close()
    assert not failures, failures


def test_the_site_answers_plain_http_clients_without_scripts(site: Site) -> None:
    with httpx.Client(base_url=site.server.url, trust_env=False) as client:
        for path in ("/", "/lists", "/transparency", "/sign-in", "/report/verify"):
            page = client.get(path)
            assert page.status_code == 200, path
            assert "<script" not in page.text
            assert page.headers["content-security-policy"].startswith("default-src 'none'")
