"""Reference data checks: ISO 4217 currencies, ISO 3166 countries, IANA time zones."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

import pycountry


@lru_cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_currency(code: str) -> bool:
    return len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None


def is_country(code: str) -> bool:
    return len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


def is_time_zone(name: str) -> bool:
    return name in _time_zones()
