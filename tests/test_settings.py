"""Every setting is documented in docs/operations.md."""

from __future__ import annotations

from pathlib import Path

from xinyong.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [
        f"XINYONG_{name.upper()}"
        for name in Settings.model_fields
        if f"XINYONG_{name.upper()}" not in text
    ]
    assert not missing, f"document these in docs/operations.md: {missing}"
