"""Tax arithmetic and which rates apply where. Each rate is applied to each taxable line's
net amount (after discounts) and rounded per line and rate; a line may carry several rates
(state and county, say)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ispcore.domain.billing.money import Rounding, round_minor

#: Tax rates are stored as millionths of the whole: 8.875% is 88_750.
RATE_SCALE = 10_000
MAX_RATE = 100 * RATE_SCALE


@dataclass(frozen=True)
class Rate:
    id: int
    name: str
    rate_scaled: int
    gl_code_id: int
    country: str
    subdivision: str | None


@dataclass(frozen=True)
class Place:
    """Where an account is taxed: a country and, optionally, a subdivision (state, province),
    both as stored (:func:`ispcore.domain.common.reference.clean_jurisdiction`)."""

    country: str | None
    subdivision: str | None


def tax_on(net: int, rate_scaled: int, rule: Rounding) -> int:
    """The tax ``rate_scaled`` levies on ``net`` minor units (negative for a credit)."""
    return round_minor(Decimal(net) * rate_scaled / (100 * RATE_SCALE), rule)


def rates_for(place: Place, rates: list[Rate], exempt: dict[int, date | None],
              on: date) -> list[Rate]:
    """The rates of ``place``'s jurisdiction: a rate with no subdivision covers its whole
    country. ``exempt`` maps a rate to the last day of an exemption (None: no end)."""
    if place.country is None:
        return []
    out = []
    for rate in rates:
        if rate.country != place.country:
            continue
        if rate.subdivision is not None and rate.subdivision != place.subdivision:
            continue
        if rate.id in exempt and (exempt[rate.id] is None or on <= exempt[rate.id]):
            continue
        out.append(rate)
    return out
