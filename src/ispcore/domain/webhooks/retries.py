"""When a failed delivery is tried again: a fixed schedule (now, 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 10 h: eight attempts over about a day) with bounded jitter so that endpoints failing
together are not retried together, and at least what the receiver asked for in
``Retry-After``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

#: Seconds to wait before attempt n + 1 (n = attempts made); the first attempt is immediate.
SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
MAX_ATTEMPTS = len(SCHEDULE)
#: Each wait is moved by up to this fraction, up or down.
JITTER = 0.1
#: A Retry-After longer than this is taken as this.
MAX_RETRY_AFTER = timedelta(hours=24)


def next_delay(attempts_made: int, retry_after: timedelta | None, rng: random.Random
               ) -> timedelta | None:
    """How long to wait after ``attempts_made`` attempts; None when there are no more."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    base = SCHEDULE[attempts_made]
    delay = timedelta(seconds=base * (1 + JITTER * rng.uniform(-1, 1)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))
