"""Periods of download statistics (a month or a day) and the ranking window."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    name: str
    starts_on: date
    ends_on: date  # inclusive

    @property
    def is_month(self) -> bool:
        return len(self.name) == 7


def parse_period(text: str) -> Period:
    """`2026-03` (a month) or `2026-03-14` (a day); ValueError with a reason otherwise."""
    value = text.strip()
    if m := _MONTH.match(value):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12 or year < 1990:
            raise ValueError(f"{text!r} is not a month (YYYY-MM)")
        last = calendar.monthrange(year, month)[1]
        return Period(value, date(year, month, 1), date(year, month, last))
    if _DAY.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
        if day.year < 1990:
            raise ValueError(f"{text!r} is not a plausible date")
        return Period(value, day, day)
    raise ValueError(f"{text!r} is not a period: give a month (2026-03) or a day (2026-03-14)")


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after (or before, if negative) `day`'s month."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Window:
    """The whole calendar months before the as-of month: [start, end)."""

    as_of: date
    start: date
    end: date  # exclusive: the first of the as-of month

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    def contains(self, starts_on: date, ends_on: date) -> bool:
        return self.start <= starts_on and ends_on < self.end

    def describe(self) -> str:
        return f"{self.start:%Y-%m} to {self.last_day:%Y-%m}"


def window_for(as_of: date, months: int) -> Window:
    end = add_months(as_of, 0)
    return Window(as_of=as_of, start=add_months(as_of, -months), end=end)
