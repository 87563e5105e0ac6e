"""Spotting payment card numbers where they must never be. ispcore keeps only processor
tokens: a card number sent in any field of any mutation is refused before anything runs, so
it is neither stored nor logged (PCI DSS keeps systems that never see card data out of
scope). A number counts when it has a card brand's prefix and length and passes the Luhn
check, so account numbers and phone numbers are rarely mistaken for one."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

#: What may stand between the digit groups of a card number as people write, paste and
#: format it: spaces (no-break, thin and zero-width ones too), line breaks, dots, dashes,
#: slashes and HTML tags (``4111</span> <span>1111``); at most a few of them in a row. HTML
#: character references (``&nbsp;``, ``&#52;``) are decoded first.
_SEPARATOR = r"(?:[\s.\-/\u00ad\u2010-\u2015\u200b-\u200d\u2060\ufeff]|<[^<>]{0,64}>)"
#: Digit groups joined by separators.
_GROUPED_DIGITS = re.compile(rf"\d+(?:{_SEPARATOR}{{1,4}}\d+)*")
_DIGITS = re.compile(r"\d+")
#: The fewest and most digits a card number has: shorter texts and smaller numbers are not
#: read.
_SHORTEST, _LONGEST = 13, 19

#: (prefix range low, high, lengths) per brand: Visa, Mastercard, American Express,
#: Discover, JCB, Diners Club, UnionPay.
_BRANDS: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),
    (51, 55, frozenset({16})),
    (2221, 2720, frozenset({16})),
    (34, 34, frozenset({15})),
    (37, 37, frozenset({15})),
    (6011, 6011, frozenset({16, 17, 18, 19})),
    (644, 649, frozenset({16, 17, 18, 19})),
    (65, 65, frozenset({16, 17, 18, 19})),
    (3528, 3589, frozenset({16, 17, 18, 19})),
    (300, 305, frozenset({14, 15, 16, 17, 18, 19})),
    (36, 36, frozenset({14, 15, 16, 17, 18, 19})),
    (38, 39, frozenset({16, 17, 18, 19})),
    (62, 62, frozenset({16, 17, 18, 19})),
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _branded(digits: str) -> bool:
    for low, high, lengths in _BRANDS:
        width = len(str(low))
        if len(digits) in lengths and low <= int(digits[:width]) <= high:
            return True
    return False


def has_card_number(text: str) -> bool:
    """Whether ``text`` holds a card number: consecutive whole digit groups (however they
    are separated) making 13 to 19 digits with a card brand's prefix and length and a valid
    Luhn check digit."""
    if "&" in text:
        text = html.unescape(text)
    for run in _GROUPED_DIGITS.finditer(text):
        groups = _DIGITS.findall(run.group())
        for first in range(len(groups)):
            digits = ""
            for group in groups[first:]:
                digits += group
                if len(digits) > _LONGEST:
                    break
                if len(digits) >= _SHORTEST and _branded(digits) and luhn_valid(digits):
                    return True
    return False


def holds_card_number(value: Any) -> bool:
    """A text or number holding a card number (numbers too: one sent as a JSON number)."""
    if isinstance(value, str):
        return len(value) >= _SHORTEST and has_card_number(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        text = format(value, "f") if isinstance(value, Decimal) else str(value)
        return abs(value) >= 10 ** (_SHORTEST - 1) and has_card_number(text)
    return False


def card_number_paths(value: Any, path: str = "") -> Iterator[str]:
    """The paths (``input.reference``) of the values in ``value`` holding a card number.
    Leaves are checked in place (no generator or path text per value): a mutation may carry
    10,000 usage records."""
    if isinstance(value, dict):
        items: Any = value.items()
        name = (lambda key: f"{path}.{key}") if path else str
    elif isinstance(value, list | tuple):
        items = enumerate(value)
        name = lambda index: f"{path}[{index}]"  # noqa: E731
    else:
        if holds_card_number(value):
            yield path or "input"
        return
    for key, item in items:
        if isinstance(item, dict | list | tuple):
            yield from card_number_paths(item, name(key))
        elif holds_card_number(item):
            yield name(key)
