"""Free text that a subject or a source writes and that reaches a subject's page or notice:
bounded, and without control or bidirectional-override characters (which can hide or
reorder what a reader sees)."""

from __future__ import annotations

import unicodedata

from xinyong.errors import RequestInvalid

_ALLOWED_CONTROLS = {"\n", "\t"}


def clean_text(value: str, field: str, max_chars: int) -> str:
    text = value.strip()
    if not text:
        raise RequestInvalid(
            f"{field} is empty.", hint=f"Say in words why ({field}).", code="text_invalid"
        )
    if len(text) > max_chars:
        raise RequestInvalid(
            f"{field} has {len(text):,} characters; at most {max_chars:,} are kept.",
            hint="Shorten it, and send documents as evidence files.",
            code="text_invalid",
        )
    for char in text:
        category = unicodedata.category(char)
        if char not in _ALLOWED_CONTROLS and (category in ("Cc", "Cs") or category == "Cf"):
            raise RequestInvalid(
                f"{field} holds the invisible character U+{ord(char):04X}, which is not allowed.",
                hint="Remove control and text-direction characters.",
                code="text_invalid",
            )
    return text
