"""How one usage record is cut into rollup pieces: by UTC hour, by day of the company's
calendar, and into free and billable time by the policy's free periods. Pure functions.

A record covers ``[start, end)``; its bytes are spread evenly over that time and each piece
gets the share of its duration, rounded so that the pieces add up exactly to the record
(the remainder goes where the cumulative share crosses a whole byte)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 1440
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class FreeWindow:
    """Free usage on ``weekday`` (ISO: 1 Monday … 7 Sunday) from ``start_minute`` up to, not
    including, ``end_minute`` of that day, in the company's time zone."""

    weekday: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True, slots=True)
class Piece:
    hour: datetime
    day: date
    free: bool
    bytes_in: int
    bytes_out: int


def _hour_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _wall(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``minute`` past midnight of ``day`` on the zone's clocks."""
    if minute >= MINUTES_PER_DAY:
        day, minute = day + timedelta(days=1), minute - MINUTES_PER_DAY
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(UTC)


def is_free(moment: datetime, zone: ZoneInfo, windows: Sequence[FreeWindow]) -> bool:
    return _free_at(moment.astimezone(zone), windows)


def _free_at(local: datetime, windows: Sequence[FreeWindow]) -> bool:
    weekday, minute = local.isoweekday(), local.hour * 60 + local.minute
    return any(w.weekday == weekday and w.start_minute <= minute < w.end_minute
               for w in windows)


def _minute_of_day(local: datetime) -> float:
    return local.hour * 60 + local.minute + (local.second + local.microsecond / 1e6) / 60


def _one_piece(local_start: datetime, local_end: datetime,
               windows: Sequence[FreeWindow]) -> bool:
    """Whether a record within one UTC hour and one local day also stays on one side of
    every free window's boundaries (the common case: short records)."""
    if local_start.utcoffset() != local_end.utcoffset():
        return False  # a clock change inside: let the general path place the cuts
    if not windows:
        return True
    weekday = local_start.isoweekday()
    first, last = _minute_of_day(local_start), _minute_of_day(local_end)
    return not any(w.weekday == weekday and (first < w.start_minute < last
                                             or first < w.end_minute < last)
                   for w in windows)


def _cuts(start: datetime, end: datetime, zone: ZoneInfo,
          windows: Sequence[FreeWindow]) -> list[datetime]:
    """Every instant in ``(start, end)`` where the hour, the local day or free time changes,
    with ``start`` and ``end``, in order."""
    cuts = {start, end}
    hour = _hour_of(start) + timedelta(hours=1)
    while hour < end:
        cuts.add(hour)
        hour += timedelta(hours=1)
    day = start.astimezone(zone).date()
    last = end.astimezone(zone).date()
    while day <= last:
        minutes = {0, MINUTES_PER_DAY}
        for w in windows:
            if w.weekday == day.isoweekday():
                minutes.update((w.start_minute, w.end_minute))
        for minute in minutes:
            moment = _wall(day, minute, zone)
            if start < moment < end:
                cuts.add(moment)
        day += timedelta(days=1)
    return sorted(cuts)


def split(start: datetime, end: datetime, bytes_in: int, bytes_out: int, zone: ZoneInfo,
          windows: Sequence[FreeWindow] = ()) -> list[Piece]:
    """The pieces of a record (``start`` and ``end`` timezone-aware, ``end >= start``), one
    per (hour, local day, free) it touches; a record with no duration is one piece."""
    local_start, hour = start.astimezone(zone), _hour_of(start)
    day = local_start.date()
    if end <= start or (end <= hour + _HOUR and (local_end := end.astimezone(zone)).date() == day
                        and _one_piece(local_start, local_end, windows)):
        return [Piece(hour, day, _free_at(local_start, windows) if windows else False,
                      bytes_in, bytes_out)]
    return _split_at_cuts(start, end, bytes_in, bytes_out, zone, windows)


def _split_at_cuts(start: datetime, end: datetime, bytes_in: int, bytes_out: int,
                   zone: ZoneInfo, windows: Sequence[FreeWindow]) -> list[Piece]:
    """The general path: cut at every hour, local midnight and window boundary inside."""
    cuts = _cuts(start, end, zone, windows)
    micro = timedelta(microseconds=1)
    total = (end - start) // micro
    merged: dict[tuple[datetime, date, bool], list[int]] = {}
    done_in = done_out = 0
    for lo, hi in itertools.pairwise(cuts):
        reached = (hi - start) // micro
        upto_in, upto_out = bytes_in * reached // total, bytes_out * reached // total
        key = (_hour_of(lo), lo.astimezone(zone).date(),
               is_free(lo, zone, windows) if windows else False)
        sums = merged.setdefault(key, [0, 0])
        sums[0] += upto_in - done_in
        sums[1] += upto_out - done_out
        done_in, done_out = upto_in, upto_out
    return [Piece(hour, day, free, sums[0], sums[1])
            for (hour, day, free), sums in merged.items()]
