"""Day-based proration. A price covers a period; a part of the period costs the price times
its share of the days. Parts are rounded *cumulatively* (each part is the rounded amount up
to its end minus the rounded amount up to its start), so the parts of a period always sum to
the full price exactly, however it is cut."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ispcore.domain.billing.calendar import Period
from ispcore.domain.billing.money import Rounding, round_minor


def accrued(price: int, period: Period, until: date, rule: Rounding) -> int:
    """What ``price`` for ``period`` has accrued by ``until`` (clamped to the period)."""
    if until <= period.start:
        return 0
    if until >= period.end:
        return price
    return round_minor(Decimal(price) * (until - period.start).days / period.days, rule)


def portion(price: int, period: Period, part: Period, rule: Rounding) -> int:
    """The share of ``price`` (for ``period``) that ``part`` of it costs."""
    return accrued(price, period, part.end, rule) - accrued(price, period, part.start, rule)
