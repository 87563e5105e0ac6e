"""Exact money. Amounts are ``Decimal`` in code and integer minor units (cents) in the
database. Every rounding in billing goes through :func:`round_minor`, with the company's
rounding rule: the one place where fractions of a cent are decided."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import pycountry

from ispcore.domain.common.decimals import plain
from ispcore.domain.common.errors import DomainError, Validator

#: ISO 4217 currencies whose minor unit is not the cent (pycountry does not carry exponents).
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0,
    "XPF": 0, "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}


class Rounding(StrEnum):
    """How a fraction of a minor unit is settled: half up (0.5 cent goes up, the usual
    commercial rule) or half even (banker's rounding)."""

    HALF_UP = "HALF_UP"
    HALF_EVEN = "HALF_EVEN"


_MODES = {Rounding.HALF_UP: ROUND_HALF_UP, Rounding.HALF_EVEN: ROUND_HALF_EVEN}


def exponent(currency: str) -> int:
    """Decimal places of ``currency`` (USD 2, JPY 0, KWD 3)."""
    if pycountry.currencies.get(alpha_3=currency) is None:
        raise DomainError(f"{currency!r} is not an ISO 4217 currency.", field="currency")
    return _EXPONENTS.get(currency, 2)


def round_minor(value: Decimal | int, rule: Rounding = Rounding.HALF_UP) -> int:
    """``value`` (in minor units, possibly fractional) to a whole number of minor units."""
    return int(Decimal(value).quantize(Decimal(1), rounding=_MODES[Rounding(rule)]))


def to_minor(amount: Decimal | str | int, currency: str, *, field: str = "amount",
             allow_negative: bool = False, allow_zero: bool = True) -> int:
    """An amount as given by a caller, checked and converted to minor units. More decimal
    places than the currency has is an error, never a silent rounding."""
    try:
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    except InvalidOperation:
        raise DomainError(f"{amount!r} is not a number.", field=field) from None
    if not value.is_finite():
        raise DomainError("An amount must be a finite number.", field=field)
    places = exponent(currency)
    minor = value.scaleb(places)
    if minor != minor.to_integral_value():
        raise DomainError(f"{currency} amounts have at most {places} decimal place(s).",
                          field=field)
    if value < 0 and not allow_negative:
        raise DomainError("An amount cannot be negative.", field=field)
    if value == 0 and not allow_zero:
        raise DomainError("An amount must be more than zero.", field=field)
    if abs(minor) >= 10 ** 15:
        raise DomainError("That amount is too large.", field=field)
    return int(minor)


def from_minor(minor: int, currency: str) -> Decimal:
    """Minor units as an exact decimal amount with the currency's places (1999 -> 19.99)."""
    places = exponent(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def amount_text(minor: int, currency: str) -> str:
    """Minor units as the text event payloads carry: the currency's places, plain notation
    (1999 -> "19.99")."""
    return plain(from_minor(minor, currency))


def same_currency(given: str | None, currency: str, *, field: str = "currency") -> None:
    """A caller may state the currency of the amounts it sends; it must be the company's
    (amounts are never converted)."""
    if given is not None and given.strip().upper() != currency:
        raise DomainError(f"Amounts here are in {currency}, the company's currency; "
                          f"{given!r} was given.", field=field)


def amount_to_minor(values: dict[str, Any], key: str, target: str, currency: str,
                    v: Validator) -> None:
    """Replace the amount ``values[key]`` (when given; null stays null) by its minor units
    in ``values[target]``; a bad amount is an error on ``v``."""
    if key in values:
        amount = values.pop(key)
        try:
            values[target] = None if amount is None else to_minor(amount, currency, field=key)
        except DomainError as exc:
            v.errors.append(exc)


def check_stated_currency(values: dict[str, Any], currency: str, v: Validator) -> None:
    """Take the currency a caller stated with its amounts out of ``values``; one other than
    the company's is an error on ``v``."""
    try:
        same_currency(values.pop("currency", None), currency)
    except DomainError as exc:
        v.errors.append(exc)
