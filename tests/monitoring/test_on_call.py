"""Who is on call (pure): weekdays, shifts past midnight, levels, and DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ispcore.domain.monitoring.on_call import Shift, next_staffed_level, on_call

CHICAGO = "America/Chicago"
WEEKDAYS = frozenset({1, 2, 3, 4, 5})
DAY = Shift(user_id=1, level=1, weekdays=WEEKDAYS, start_minute=8 * 60, end_minute=17 * 60)
# Friday and Saturday nights, 22:00 to 06:00 next morning
NIGHT = Shift(user_id=2, level=1, weekdays=frozenset({5, 6}), start_minute=22 * 60,
              end_minute=6 * 60)
BACKUP = Shift(user_id=3, level=2, weekdays=frozenset(range(1, 8)), start_minute=0,
               end_minute=1440)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(CHICAGO))


def users(at: datetime, level: int | None = None) -> list[int]:
    return [s.user_id for s in on_call([DAY, NIGHT, BACKUP], at, CHICAGO, level)]


@pytest.mark.parametrize(("moment", "expected"), [
    (local(2026, 11, 2, 8, 0), [1, 3]),  # Monday 08:00, start inclusive
    (local(2026, 11, 2, 16, 59), [1, 3]),
    (local(2026, 11, 2, 17, 0), [3]),  # end exclusive
    (local(2026, 11, 6, 23, 0), [2, 3]),  # Friday night
    (local(2026, 11, 7, 5, 59), [2, 3]),  # Saturday early: Friday's shift
    (local(2026, 11, 7, 6, 0), [3]),
    (local(2026, 11, 8, 3, 0), [2, 3]),  # Sunday early: Saturday's shift
    (local(2026, 11, 9, 3, 0), [3]),  # Monday early: Sunday has no night shift
    (local(2026, 11, 6, 21, 59), [3]),
])
def test_who_is_on_call(moment, expected):
    assert users(moment) == expected


def test_levels_and_the_next_staffed_level():
    monday_noon = local(2026, 11, 2, 12, 0)
    assert users(monday_noon, level=2) == [3]
    shifts = [DAY, NIGHT, BACKUP]
    assert next_staffed_level(shifts, monday_noon, CHICAGO, after=0) == 1
    assert next_staffed_level(shifts, monday_noon, CHICAGO, after=1) == 2
    assert next_staffed_level(shifts, monday_noon, CHICAGO, after=2) is None
    saturday_noon = local(2026, 11, 7, 12, 0)
    assert next_staffed_level(shifts, saturday_noon, CHICAGO, after=0) == 2


def test_a_night_shift_keeps_its_wall_clock_times_across_the_fall_back():
    """2026-11-01 02:00 CDT the clocks went back to 01:00 CST: Saturday's night shift ran
    from 22:00 CDT (03:00 UTC) to 06:00 CST (12:00 UTC), nine hours."""
    night = [NIGHT]
    assert on_call(night, datetime(2026, 11, 1, 2, 59, tzinfo=UTC), CHICAGO) == []
    assert on_call(night, datetime(2026, 11, 1, 3, 0, tzinfo=UTC), CHICAGO) == night
    # 01:30 happens twice that night, both inside the shift
    assert on_call(night, datetime(2026, 11, 1, 6, 30, tzinfo=UTC), CHICAGO) == night
    assert on_call(night, datetime(2026, 11, 1, 7, 30, tzinfo=UTC), CHICAGO) == night
    assert on_call(night, datetime(2026, 11, 1, 11, 59, tzinfo=UTC), CHICAGO) == night
    assert on_call(night, datetime(2026, 11, 1, 12, 0, tzinfo=UTC), CHICAGO) == []


def test_a_day_shift_keeps_its_wall_clock_times_across_the_spring_forward():
    """2026-03-08 02:00 CST became 03:00 CDT: Monday's 08:00 is 13:00 UTC again, not 14:00."""
    day = [DAY]
    assert on_call(day, datetime(2026, 3, 6, 14, 0, tzinfo=UTC), CHICAGO) == day  # Fri 08:00 CST
    assert on_call(day, datetime(2026, 3, 9, 12, 59, tzinfo=UTC), CHICAGO) == []
    assert on_call(day, datetime(2026, 3, 9, 13, 0, tzinfo=UTC), CHICAGO) == day  # 08:00 CDT
    assert on_call(day, datetime(2026, 3, 9, 21, 59, tzinfo=UTC), CHICAGO) == day
    assert on_call(day, datetime(2026, 3, 9, 22, 0, tzinfo=UTC), CHICAGO) == []
