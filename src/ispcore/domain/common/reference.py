"""Reference data checks: ISO 4217 currencies, ISO 3166 countries and subdivisions, IANA time
zones.

A jurisdiction is stored as the country's ISO 3166-1 alpha-2 code ("US") and the part of the
subdivision's ISO 3166-2 code after the dash ("KS" of "US-KS"): what a postal address prints
("Wichita, KS 67202"), with the country beside it in its own column. Every write of a country
or subdivision (companies, addresses, tax rates) goes through :func:`clean_jurisdiction`, so
the tax matcher compares like with like.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

import pycountry

from ispcore.domain.common.errors import DomainError, Validator


@lru_cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_currency(code: str) -> bool:
    return len(code) == 3 and pycountry.currencies.get(alpha_3=code) is not None


def is_time_zone(name: str) -> bool:
    return name in _time_zones()


def country_code(given: str | None, *, required: bool = True) -> str | None:
    """``given`` as an ISO 3166-1 alpha-2 code ("us " -> "US"); blank is null when not
    ``required``. Anything else is a :class:`DomainError` on ``country``."""
    code = (given or "").strip().upper()
    if not code and not required:
        return None
    if len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        raise DomainError(f"{given!r} is not an ISO 3166 country code (two letters, e.g. "
                          "US).", field="country")
    return code


def subdivision_code(country: str | None, given: str | None) -> str | None:
    """The subdivision ``given`` of ``country`` as stored ("KS"), written as its full ISO
    3166-2 code ("US-KS"), its short code ("KS") or its English name ("Kansas"), in any
    case; blank is null. One of another country, or none at all, is a :class:`DomainError`
    on ``subdivision``."""
    text = (given or "").strip()
    if not text:
        return None
    if country is None:
        raise DomainError("A subdivision needs its country.", field="subdivision")
    found = _spellings(country).get(text.casefold())
    if found is None:
        raise DomainError(f"{given!r} is not an ISO 3166-2 subdivision of {country} (write "
                          f"e.g. {country}-XX or its part after the dash).",
                          field="subdivision")
    return found


@lru_cache(maxsize=512)
def _spellings(country: str) -> dict[str, str]:
    """Every accepted spelling of ``country``'s subdivisions, case-folded, to the stored
    code. Codes win over names; a name two subdivisions share names neither."""
    known = [(sub.code.split("-", 1)[1], sub.code.casefold(), sub.name.casefold())
             for sub in pycountry.subdivisions.get(country_code=country) or []]
    table = {}
    for short, code, _name in known:
        table[code] = table[short.casefold()] = short
    names = Counter(name for _short, _code, name in known)
    for short, _code, name in known:
        if names[name] == 1:
            table.setdefault(name, short)
    return table


def clean_jurisdiction(v: Validator, values: dict[str, Any], current: Any = None, *,
                       country_required: bool = True) -> None:
    """Normalise the ``country`` and ``subdivision`` of ``values`` in place (those given);
    the subdivision is checked against the country the row will have (given, else
    ``current``'s). Errors go on ``v``."""
    try:
        if "country" in values:
            values["country"] = country_code(values["country"], required=country_required)
        if "country" in values or "subdivision" in values:
            country = values.get("country", getattr(current, "country", None))
            subdivision = values.get("subdivision", getattr(current, "subdivision", None))
            checked = subdivision_code(country, subdivision)
            if "subdivision" in values:
                values["subdivision"] = checked
    except DomainError as exc:
        v.errors.append(exc)
