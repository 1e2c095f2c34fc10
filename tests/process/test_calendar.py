"""Deadlines in calendar and working days (process/calendar.py, `xinyong calendar`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from xinyong.cli.main import app
from xinyong.errors import CalendarYearMissing, ConfigurationError
from xinyong.process.calendar import Calendar, load_calendar

D = dt.date


def test_working_days_skip_a_public_holiday_and_count_a_make_up_day() -> None:
    calendar = Calendar()
    # National Day 2026: 1 to 7 October off; Saturday 10 October is a make-up working day.
    assert calendar.add_days(D(2026, 9, 30), 1, "working") == D(2026, 10, 8)
    assert calendar.add_days(D(2026, 9, 30), 3, "working") == D(2026, 10, 10)
    assert calendar.add_days(D(2026, 9, 30), 4, "working") == D(2026, 10, 12)  # Sunday off
    assert calendar.working_days_between(D(2026, 9, 30), D(2026, 10, 12)) == 4


def test_an_ordinary_week_and_calendar_days() -> None:
    calendar = Calendar()
    assert calendar.add_days(D(2026, 11, 20), 3, "working") == D(2026, 11, 25)  # Fri -> Wed
    assert calendar.add_days(D(2026, 11, 20), 15, "calendar") == D(2026, 12, 5)
    assert calendar.add_days(D(2026, 11, 20), 0, "working") == D(2026, 11, 20)


def test_a_year_nobody_covers_is_an_error_naming_it() -> None:
    with pytest.raises(CalendarYearMissing, match="no data for 2027") as caught:
        Calendar().add_days(D(2026, 12, 29), 5, "working")
    assert "[years.2027]" in (caught.value.hint or "")
    # Calendar days need no calendar.
    assert Calendar().add_days(D(2026, 12, 29), 5) == D(2027, 1, 3)


def test_a_deployment_adds_and_replaces_years(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(
        '[years.2027]\nholidays = ["2027-01-01", "2027-01-04"]\nworkdays = ["2027-01-09"]\n'
        '[years.2026]\nholidays = []\nworkdays = []\n'
    )
    calendar = load_calendar(path)
    # 30, 31 Dec; 1 Jan off, 2 and 3 weekend, 4 off; 5, 6, 7, 8; Saturday 9 a working day.
    assert calendar.add_days(D(2026, 12, 29), 7, "working") == D(2027, 1, 9)
    # 2026 replaced: National Day counts as ordinary weekdays now.
    assert calendar.add_days(D(2026, 9, 30), 1, "working") == D(2026, 10, 1)


@pytest.mark.parametrize(
    "text",
    [
        '[years.2027]\nholidays = ["not a date"]\n',
        '[years.2027]\nholidays = ["2028-01-01"]\n',
        "[years.2027\n",
        '[years.next]\nholidays = []\n',
    ],
)
def test_a_bad_calendar_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / f"bad-{abs(hash(text))}.toml"
    path.write_text(text)
    with pytest.raises(ConfigurationError):
        load_calendar(path)


def test_the_command_prints_the_due_day(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"XINYONG_DATA_DIR": str(tmp_path / "data")}
    result = runner.invoke(app, ["calendar", "add-days", "2026-09-30", "3", "--working", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert orjson.loads(result.stdout) == {
        "start": "2026-09-30", "days": 3, "unit": "working", "due": "2026-10-10"
    }
    missing = runner.invoke(app, ["calendar", "add-days", "2026-12-29", "5", "--working"], env=env)
    assert missing.exit_code == 2
    assert "2027" in missing.stderr and "Traceback" not in missing.output
