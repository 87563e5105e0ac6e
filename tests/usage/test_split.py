"""Cutting a usage record into hourly, daily and free/billable pieces (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ispcore.domain.usage.split import FreeWindow, _split_at_cuts, split

CHICAGO = ZoneInfo("America/Chicago")
KOLKATA = ZoneInfo("Asia/Kolkata")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_a_record_inside_one_hour_is_one_piece() -> None:
    pieces = split(utc(2026, 11, 2, 15, 1), utc(2026, 11, 2, 15, 6), 500, 70, CHICAGO)
    assert [(p.hour, p.day, p.free, p.bytes_in, p.bytes_out) for p in pieces] == [
        (utc(2026, 11, 2, 15), date(2026, 11, 2), False, 500, 70)]


def test_bytes_are_spread_over_hours_in_proportion_to_time() -> None:
    pieces = split(utc(2026, 11, 2, 15, 30), utc(2026, 11, 2, 17, 0), 3000, 300, CHICAGO)
    assert [(p.hour.hour, p.bytes_in, p.bytes_out) for p in pieces] == [
        (15, 1000, 100), (16, 2000, 200)]


def test_local_days_follow_the_company_zone() -> None:
    # 05:30 UTC is 23:30 in Chicago (CST, UTC-6): half the record is on the 1st locally.
    pieces = split(utc(2026, 12, 2, 5, 30), utc(2026, 12, 2, 6, 30), 100, 0, CHICAGO)
    by_day = {}
    for p in pieces:
        by_day[p.day] = by_day.get(p.day, 0) + p.bytes_in
    assert by_day == {date(2026, 12, 1): 50, date(2026, 12, 2): 50}


def test_half_hour_zones_cut_days_inside_an_hour() -> None:
    # Midnight in Kolkata (UTC+5:30) is 18:30 UTC.
    pieces = split(utc(2026, 11, 2, 18, 0), utc(2026, 11, 2, 19, 0), 60, 0, KOLKATA)
    assert sorted((p.day, p.bytes_in) for p in pieces) == [
        (date(2026, 11, 2), 30), (date(2026, 11, 3), 30)]
    assert {p.hour for p in pieces} == {utc(2026, 11, 2, 18)}


def test_free_windows_are_wall_clock_times_of_their_weekday() -> None:
    # Sunday 00:00-06:00 in Chicago; 1 Nov 2026 is a Sunday and the day DST ends (the
    # night has 7 hours before 06:00 local: 05:00 to 12:00 UTC).
    sunday_night = [FreeWindow(7, 0, 360)]
    pieces = split(utc(2026, 11, 1, 4), utc(2026, 11, 1, 13), 9000, 0, CHICAGO, sunday_night)
    free = sum(p.bytes_in for p in pieces if p.free)
    billable = sum(p.bytes_in for p in pieces if not p.free)
    assert (free, billable) == (7000, 2000)


def test_a_window_ending_at_midnight() -> None:
    late = [FreeWindow(1, 23 * 60, 1440)]  # Monday 23:00-24:00
    # Monday 2 Nov 2026 22:30 to Tuesday 00:30 Chicago = 04:30 to 06:30 UTC on the 3rd.
    pieces = split(utc(2026, 11, 3, 4, 30), utc(2026, 11, 3, 6, 30), 120, 0, CHICAGO, late)
    assert sum(p.bytes_in for p in pieces if p.free) == 60


def test_a_record_without_duration_lands_at_its_start() -> None:
    moment = utc(2026, 11, 1, 6, 30)  # Sunday 01:30 CDT
    [piece] = split(moment, moment, 10, 20, CHICAGO, [FreeWindow(7, 0, 360)])
    assert (piece.free, piece.bytes_in, piece.bytes_out) == (True, 10, 20)


moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1),
                       timezones=st.just(UTC))
windows = st.lists(st.builds(lambda d, a, b: FreeWindow(d, min(a, b), max(a, b)),
                             st.integers(1, 7), st.integers(0, 1440), st.integers(0, 1440)),
                   max_size=4)


@settings(max_examples=300, deadline=None)
@given(moments, st.integers(0, 3 * 24 * 3600), st.integers(0, 10**13),
       st.integers(0, 10**13), windows,
       st.sampled_from([CHICAGO, KOLKATA, ZoneInfo("UTC"), ZoneInfo("Australia/Lord_Howe")]))
def test_pieces_add_up_to_the_record(start: datetime, seconds: int, bytes_in: int,
                                     bytes_out: int, free: list[FreeWindow],
                                     zone: ZoneInfo) -> None:
    end = start + timedelta(seconds=seconds)
    pieces = split(start, end, bytes_in, bytes_out, zone, free)
    assert sum(p.bytes_in for p in pieces) == bytes_in
    assert sum(p.bytes_out for p in pieces) == bytes_out
    assert all(p.bytes_in >= 0 and p.bytes_out >= 0 for p in pieces)
    assert len({(p.hour, p.day, p.free) for p in pieces}) == len(pieces)
    assert all(start - timedelta(hours=1) < p.hour <= end for p in pieces)


@settings(max_examples=500, deadline=None)
@given(moments, st.integers(1, 3600), st.lists(st.tuples(st.integers(-90, 90),
                                                         st.integers(0, 120)), max_size=3),
       st.sampled_from([CHICAGO, KOLKATA, ZoneInfo("Australia/Lord_Howe")]))
def test_short_records_take_the_quick_path_to_the_same_pieces(
        start: datetime, seconds: int, near: list[tuple[int, int]], zone: ZoneInfo) -> None:
    """Records within an hour skip the cutting when no boundary falls inside them; the
    pieces are those the general path gives. Windows are placed around the record."""
    local = start.astimezone(zone)
    minute = local.hour * 60 + local.minute
    free = [FreeWindow(local.isoweekday(), max(0, minute + offset),
                       min(1440, max(0, minute + offset) + length))
            for offset, length in near]
    end = start + timedelta(seconds=seconds)
    assert sorted(split(start, end, 10**9, 10**6, zone, free), key=repr) == sorted(
        _split_at_cuts(start, end, 10**9, 10**6, zone, free), key=repr)
