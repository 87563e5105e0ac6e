"""Billing dates. A billing cycle is a run of whole months anchored on a day of the month;
when a month is too short for the anchor (the 31st in February) the cycle boundary falls on
its last day, and the next month goes back to the anchor."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, order=True)
class Period:
    """Days ``start`` up to, not including, ``end``."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day < self.end

    def clip(self, start: date, end: date | None) -> Period | None:
        """The part of this period within ``[start, end)`` (``end`` None: open), if any."""
        lo = max(self.start, start)
        hi = self.end if end is None else min(self.end, end)
        return Period(lo, hi) if lo < hi else None


def anchored(year: int, month: int, anchor_day: int) -> date:
    """The anchor day in that month, or the month's last day when it is shorter."""
    return date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """``day`` moved by whole months, keeping ``anchor_day`` (default: ``day``'s own)."""
    index = day.year * 12 + day.month - 1 + months
    return anchored(index // 12, index % 12 + 1, anchor_day or day.day)


def cycle_containing(day: date, anchor_day: int, months: int = 1) -> Period:
    """The cycle of ``months`` months, anchored on ``anchor_day``, that ``day`` falls in.
    Multi-month cycles count from the anchor month at or before ``day``: with an anchor of
    the 1st, the 3-month cycle containing 15 May starts on 1 May."""
    start = anchored(day.year, day.month, anchor_day)
    if start > day:
        start = add_months(start, -1, anchor_day)
    return Period(start, add_months(start, months, anchor_day))


def next_boundary(day: date, anchor_day: int) -> date:
    """The first cycle start after ``day``."""
    return cycle_containing(day, anchor_day).end


def plus_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
