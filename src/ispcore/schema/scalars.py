"""Scalars with stricter rules than strawberry's defaults."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NewType

import strawberry

from ispcore.domain.common.decimals import plain


def _parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("A DateTime is an ISO 8601 string.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date and time.") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset; write e.g. 2026-03-01T14:00:00Z.")
    return moment.astimezone(UTC)


#: Every timestamp in the API: ISO 8601 with an offset. Input without one is refused, so no
#: instant is ever guessed.
AwareDateTime = strawberry.scalar(
    name="DateTime",
    description="An instant, ISO 8601 with a UTC offset (2026-03-01T14:00:00Z).",
    serialize=lambda value: value.isoformat(),
    parse_value=_parse_datetime,
)


#: JavaScript reads JSON numbers exactly up to 2^53 - 1.
MAX_SAFE_INTEGER = 2**53 - 1


def _parse_big_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("A BigInt is a whole number (or a string of digits).")
    if isinstance(value, str):
        if not value.strip().lstrip("-").isdigit():
            raise ValueError(f"{value!r} is not a whole number.")
        value = int(value)
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"{value} is beyond 2^53 - 1.")
    return value


#: Counts past GraphQL's 32-bit Int: bytes of usage. Sent as a JSON number.
BigInt = NewType("BigInt", int)

BigIntScalar = strawberry.scalar(
    name="BigInt",
    description="A whole number up to 2^53 - 1, as a JSON number (byte counts).",
    serialize=int,
    parse_value=_parse_big_int,
)

def _parse_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("A Decimal is a string (or a number), e.g. \"19.99\".")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number.") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number.")
    return number


def _serialize_decimal(value: Any) -> str:
    return plain(value if isinstance(value, Decimal) else Decimal(str(value)))


#: Every decimal and money amount in the API, one serialisation: a string in plain notation
#: ("10", "19.99", "0.0000001"), never the exponent form str(Decimal) can give ("1E+1").
DecimalScalar = strawberry.scalar(
    name="Decimal",
    description="An exact decimal number as a string in plain notation (\"19.99\", \"8.875\"; "
    "never exponent form). Input: a string or a number; not NaN or infinity.",
    serialize=_serialize_decimal,
    parse_value=_parse_decimal,
)

def _parse_decimal_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("A DecimalText is a string of a decimal number, e.g. \"12.5\".")
    return value if isinstance(value, str) else str(value)


#: A machine reading sent as text and checked where it is used (a poller's raw counter may
#: pass 2^64, beyond what JSON numbers carry exactly). A number, never free text: the card
#: number check does not read it.
DecimalText = NewType("DecimalText", str)

DecimalTextScalar = strawberry.scalar(
    name="DecimalText",
    description="A decimal number as a string (\"12.5\", \"18446744073709551615\"), read "
    "exactly; checked where it is used.",
    serialize=str,
    parse_value=_parse_decimal_text,
)

SCALAR_MAP: dict[object, Any] = {datetime: AwareDateTime, BigInt: BigIntScalar,
                                 Decimal: DecimalScalar, DecimalText: DecimalTextScalar}
