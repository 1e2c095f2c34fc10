"""Languages of the portal: Chinese by default, English on request.

Messages are gettext catalogues (``locale/<lang>/*.po``, one file per area of the portal so
that areas are translated independently); the English msgids are the source text. The
catalogues are compiled in memory with Babel when first used, so no binary ``.mo`` file
is kept in the repository.
"""

from __future__ import annotations

import functools
import io
from gettext import NullTranslations
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

LOCALES = Path(__file__).parent / "locale"
LANGUAGES: dict[str, str] = {"zh": "中文", "en": "English"}
DEFAULT = "zh"
COOKIE = "xy_lang"
# BCP 47 tags for <html lang> and Babel locales for dates and numbers.
TAGS = {"zh": "zh-Hans-CN", "en": "en"}
BABEL_LOCALES = {"zh": "zh_Hans_CN", "en": "en_GB"}


@functools.cache
def translations(lang: str) -> NullTranslations:
    """Every catalogue of ``lang`` merged into one (English: the msgids themselves)."""
    merged: NullTranslations = NullTranslations()
    for po in sorted((LOCALES / lang).glob("*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        loaded = Translations(buffer)
        if isinstance(merged, Translations):
            merged.merge(loaded)
        else:
            merged = loaded
    return merged


def language(request: Request) -> str:
    """``?lang=`` wins (and is remembered in a cookie by the page), then the cookie, then
    Chinese, the portal's default."""
    for wanted in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if wanted in LANGUAGES:
            return wanted
    return DEFAULT


def N_(message: str) -> str:
    """Marks a message for translation where it is defined; it is translated where shown."""
    return message


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)
