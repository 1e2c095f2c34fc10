"""The working-day calendar of the mainland, for deadlines counted in working days.

Working days are Monday to Friday, except public holidays, plus the make-up working days
that fall on a weekend. The maintained ``chinesecalendar`` package knows the years the State
Council has published; a deployment adds later years (or corrects one) in a TOML file named
by ``XINYONG_CALENDAR``:

    [years.2027]
    holidays = ["2027-01-01", "2027-02-08"]   # weekdays that are days off
    workdays = ["2027-02-06"]                 # weekend days that are working days

A year in the file is defined by the file alone. A date in a year that neither covers is an
error naming the year, never a guess.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import chinese_calendar

from xinyong.errors import CalendarYearMissing, ConfigurationError

Unit = Literal["calendar", "working"]


@dataclass(frozen=True)
class Year:
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)


class Calendar:
    def __init__(self, overrides: dict[int, Year] | None = None) -> None:
        self.overrides = overrides or {}

    def is_working_day(self, day: dt.date) -> bool:
        year = self.overrides.get(day.year)
        if year is not None:
            if day in year.workdays:
                return True
            return day.weekday() < 5 and day not in year.holidays
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            raise CalendarYearMissing(
                f"The working-day calendar has no data for {day.year}, so a deadline that "
                f"reaches {day.isoformat()} cannot be counted.",
                hint=f"Add [years.{day.year}] with its holidays and make-up working days to the "
                "file named by XINYONG_CALENDAR (docs/due-process.md, the calendar).",
            ) from None

    def add_days(self, start: dt.date, days: int, unit: Unit = "calendar") -> dt.date:
        """The day ``days`` days after ``start``, counting only working days if asked.

        Working days are counted from the day after ``start``: 3 working days from a Friday
        before an ordinary weekend is the next Wednesday."""
        if days < 0:
            raise ValueError("a deadline counts forward")
        if unit == "calendar":
            return start + dt.timedelta(days=days)
        day, left = start, days
        while left:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end``."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later, or the month's last day where it has no such day
    (31 January + 1 month is 28 or 29 February), as SQL date arithmetic counts."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def _dates(values: object, where: str) -> frozenset[dt.date]:
    if not isinstance(values, list):
        raise ConfigurationError(f"{where} must be a list of dates (YYYY-MM-DD).")
    out = set()
    for value in values:
        try:
            out.add(value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)))
        except ValueError:
            raise ConfigurationError(f"{where}: {value!r} is not a date (YYYY-MM-DD).") from None
    return frozenset(out)


@lru_cache(maxsize=8)
def load_calendar(path: Path | None = None) -> Calendar:
    """The built-in calendar, with the years of ``path`` (a TOML file) added or replaced."""
    if path is None:
        return Calendar()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(
            f"Cannot read the calendar file {path}: {exc}.",
            hint="XINYONG_CALENDAR names a TOML file with [years.YYYY] tables.",
        ) from None
    years: dict[int, Year] = {}
    for name, body in (data.get("years") or {}).items():
        where = f"{path}: years.{name}"
        if not str(name).isdigit() or not isinstance(body, dict):
            raise ConfigurationError(f"{where} must be a year with holidays and workdays.")
        year = Year(
            _dates(body.get("holidays", []), where + ".holidays"),
            _dates(body.get("workdays", []), where + ".workdays"),
        )
        stray = [d for d in year.holidays | year.workdays if d.year != int(name)]
        if stray:
            raise ConfigurationError(f"{where} lists {stray[0]}, a day of another year.")
        years[int(name)] = year
    return Calendar(years)
