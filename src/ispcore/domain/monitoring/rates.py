"""Counters into rates: the increase of a raw SNMP counter per second between two polls.

A counter only grows, until it wraps past its width (Counter32 at 2^32, a few seconds of a
10 Gbit/s link) or restarts from zero (the device rebooted, the interface was reset). A fall
of a Counter32 is taken as a wrap unless the wrapped increase would mean a rate no link
carries; a fall of a Counter64 (which cannot wrap in practice) or any fall after a reboot is
a reset. A reset, a first reading and a reading no newer than the last give no rate."""

from __future__ import annotations

from datetime import datetime, timedelta

#: 100 Gbit/s in octets per second: a wrapped Counter32 increase implying more is a reset.
MAX_RATE = 12.5e9
WIDTHS = (32, 64)


def rate(previous: int | None, previous_at: datetime | None, raw: int, at: datetime,
         bits: int, *, rebooted: bool = False, max_rate: float = MAX_RATE) -> float | None:
    """Per-second increase from ``previous`` (read at ``previous_at``) to ``raw`` (at
    ``at``) of a counter ``bits`` wide, or None when there is no rate to give."""
    if previous is None or previous_at is None:
        return None  # first reading
    micros = (at - previous_at) // timedelta(microseconds=1)
    if micros <= 0:
        return None  # the same reading again, or an older one arriving late
    if rebooted:
        return None
    delta = raw - previous
    if delta < 0:
        if bits != 32:
            return None
        delta += 2**32
        if delta * 1_000_000 / micros > max_rate:
            return None
    return delta * 1_000_000 / micros  # exact integers, one rounding
