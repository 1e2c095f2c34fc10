"""Every message of every template and portal module has its Chinese translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from xinyong.portal import i18n

PORTAL = Path(i18n.__file__).parent
METHODS = [("templates/**.html", "jinja2"), ("templates/**.svg", "jinja2"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def _used() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        PORTAL, METHODS, options_map=OPTIONS, keywords={"_": None, "gettext": None, "N_": None}
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_has_a_chinese_translation() -> None:
    # A message may keep its form in Chinese (CSV, JSON), so membership counts, not change.
    catalog = getattr(i18n.translations("zh"), "_catalog", {})
    missing = sorted(m for m in _used() if not catalog.get(m))
    assert not missing, "no Chinese translation for:\n" + "\n".join(missing)


def test_the_default_language_is_chinese() -> None:
    assert i18n.DEFAULT == "zh"
    assert i18n.translations("zh").gettext("Search") != "Search"
