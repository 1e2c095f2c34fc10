"""Every setting is documented in docs/operations.md, and a bad one is one clear error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from xinyong.context import settings_or_explain
from xinyong.errors import ConfigurationError
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


BAD_VALUES = [
    ("XINYONG_TIMEZONE", "Nowhere/City"),
    ("XINYONG_DATABASE_URL", "mysql://root@127.0.0.1/test"),
    ("XINYONG_BATCH_ROWS", "-5"),
    ("XINYONG_LOCK_TIMEOUT", "0"),
    ("XINYONG_NOTICE_ATTEMPTS", "0"),
    ("XINYONG_PORTAL_MAX_ATTEMPTS", "many"),
    ("XINYONG_PORTAL_LOCKOUT_MINUTES", "0"),
    ("XINYONG_PORTAL_SECURE_COOKIES", "perhaps"),
    ("XINYONG_SCORE_MAX_PARITY_DIFFERENCE", "1.5"),
    ("XINYONG_SCORE_MIN_GROUP", "0"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_bad_setting_is_one_configuration_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as raised:
        settings_or_explain()
    assert name in raised.value.message and raised.value.exit_code == 2


def test_the_command_line_reports_a_bad_setting_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XINYONG_")}
    env.update(XINYONG_DATA_DIR=str(tmp_path / "data"), XINYONG_TIMEZONE="Nowhere/City")
    done = subprocess.run(
        ["xinyong", "evaluate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "XINYONG_TIMEZONE" in done.stderr and "Traceback" not in done.stderr
    helped = subprocess.run(
        ["xinyong", "evaluate", "--help"], env=env, capture_output=True, text=True, timeout=120
    )
    assert helped.returncode == 0  # --help works whatever the settings
