"""Decimals as text: plain notation everywhere (the API, JSON, documents, messages), never
the exponent form ``str(Decimal)`` falls into ("1E+1" for a 10% rate)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def plain(value: Decimal) -> str:
    """``value`` in plain notation with exactly its own digits: money keeps its minor
    digits ("10.00"), 1E+1 is "10", 1E-7 is "0.0000001", and a negative zero is "0"."""
    return format(value.copy_abs() if value.is_zero() else value, "f")


def percent(value: Decimal | int, scale: int = 1) -> Decimal:
    """A percentage as it is shown: ``value / scale`` exactly, without trailing zeros
    (``percent(88_750, 10_000)`` is 8.875; a rate of 10 shows as "10")."""
    return (Decimal(value) / scale).normalize()


def plain_output(value: Any) -> Any:
    """What a template prints (Jinja's ``finalize``): a Decimal in plain notation, anything
    else as it is."""
    return plain(value) if isinstance(value, Decimal) else value
