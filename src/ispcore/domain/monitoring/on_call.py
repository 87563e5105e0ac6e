"""Who is on call: the shifts of an alerting rotation that cover an instant.

Shifts are wall-clock times in the company's time zone on ISO weekdays (1 Monday … 7
Sunday); ``end_minute`` is exclusive (1440 is midnight), and a shift whose end is not after
its start runs past midnight into the next day (it belongs to the weekday it starts on). The
instant is turned into the zone's wall clock first, so a DST change moves nobody's shift:
a 22:00-06:00 night shift covers 22:00 to 06:00 local on the night the clocks change too
(seven or nine hours long that night).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

DAY = 1440


@dataclass(frozen=True)
class Shift:
    user_id: int
    level: int
    weekdays: frozenset[int]
    start_minute: int
    end_minute: int

    @property
    def wraps(self) -> bool:
        return self.end_minute <= self.start_minute

    def covers(self, local: datetime) -> bool:
        """Whether this shift covers the wall-clock time ``local``."""
        minute, weekday = local.hour * 60 + local.minute, local.isoweekday()
        if not self.wraps:
            return weekday in self.weekdays and self.start_minute <= minute < self.end_minute
        yesterday = 7 if weekday == 1 else weekday - 1
        return ((weekday in self.weekdays and minute >= self.start_minute)
                or (yesterday in self.weekdays and minute < self.end_minute))


def local_time(at: datetime, time_zone: str) -> datetime:
    return at.astimezone(ZoneInfo(time_zone))


def on_call(shifts: Iterable[Shift], at: datetime, time_zone: str,
            level: int | None = None) -> list[Shift]:
    """The shifts covering ``at`` (of ``level`` when given), by level then user."""
    local = local_time(at, time_zone)
    return sorted((s for s in shifts if (level is None or s.level == level)
                   and s.covers(local)), key=lambda s: (s.level, s.user_id))


def next_staffed_level(shifts: Iterable[Shift], at: datetime, time_zone: str,
                       after: int) -> int | None:
    """The lowest level above ``after`` that has anyone on call at ``at``; None: none."""
    levels = [s.level for s in on_call(shifts, at, time_zone) if s.level > after]
    return min(levels) if levels else None
