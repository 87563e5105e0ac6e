"""A company's address space and who held its addresses when, in memory, for the collector.

The space is the company's supernets (every subnet lies in one): the tally keeps totals per
address for every address in it, and whose each address's usage is, is decided when the
totals are written, from the assignments then known (so an assignment, or a subnet, made
while flows to it arrive loses nothing). Addresses are keyed as the tally keys them: an IPv4
address is its integer, an IPv6 address its 16 bytes (as they come off the wire), transit
(neither end in the space) the empty string.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ispcore.domain.usage import attribution
from ispcore.domain.usage.attribution import Holding

Key = int | bytes | str
TRANSIT = ""
#: How much of an IPv4 /24 the plan covers.
NONE, FULL, PART = 0, 1, 2
#: Addresses whose plan membership is remembered; past this the cache starts afresh.
MAX_CACHED = 500_000


def split_key(key: Key) -> tuple[int, int]:
    """(family, address as an integer) of an address key."""
    if type(key) is bytes:
        return 6, int.from_bytes(key, "big")
    return 4, key  # type: ignore[return-value]


def key_of(family: int, value: int) -> Key:
    return value.to_bytes(16, "big") if family == 6 else value


def key_text(key: Key) -> str:
    """The address as people write it ('' for transit)."""
    if key == TRANSIT:
        return ""
    family, value = split_key(key)
    return str(ipaddress.IPv4Address(value) if family == 4 else ipaddress.IPv6Address(value))


class Membership:
    """Whether an address is inside the company's address space, answered from a dict
    (filled on first sight of each address by a binary search over the ranges)."""

    def __init__(self, spans: Iterable[tuple[int, int, int]]) -> None:
        """``spans``: the supernets as (family, first, last) integers."""
        self.signature = tuple(sorted(set(spans)))
        self._firsts: dict[int, list[int]] = {4: [], 6: []}
        self._lasts: dict[int, list[int]] = {4: [], 6: []}
        for family, first, last in self.signature:
            lasts = self._lasts[family]
            if lasts and first <= lasts[-1] + 1:  # overlapping or adjacent: one range
                lasts[-1] = max(lasts[-1], last)
            else:
                self._firsts[family].append(first)
                lasts.append(last)
        self.member: dict[Key, bool] = {}
        self._kinds: dict[int, int] = {}
        #: The IPv4 ranges as numpy arrays, made on first use (:mod:`.vector`).
        self.vector: Any = None

    def ranges(self, family: int) -> tuple[list[int], list[int]]:
        """The first and last addresses of the plan's ranges (merged, in order)."""
        return self._firsts[family], self._lasts[family]

    def kind24(self, prefix: int) -> int:
        """NONE, FULL or PART: how much of the IPv4 /24 ``prefix`` (address >> 8) the plan
        covers (ranges are merged, so one range covers a FULL /24)."""
        kind = self._kinds.get(prefix)
        if kind is None:
            first, last = prefix << 8, prefix << 8 | 255
            firsts, lasts = self._firsts[4], self._lasts[4]
            i = bisect_right(firsts, last) - 1  # the last range starting in or before it
            if i < 0 or lasts[i] < first:
                kind = NONE
            elif firsts[i] <= first and last <= lasts[i]:
                kind = FULL
            else:
                kind = PART
            if len(self._kinds) >= MAX_CACHED:
                self._kinds.clear()
            self._kinds[prefix] = kind
        return kind

    def learn(self, key: Key) -> bool:
        family, value = split_key(key)
        i = bisect_right(self._firsts[family], value) - 1
        inside = i >= 0 and value <= self._lasts[family][i]
        if len(self.member) >= MAX_CACHED:
            self.member.clear()
        self.member[key] = inside
        return inside


class Holdings:
    """The company's address assignments over time, found by address (an address of its
    own, or a prefix containing it)."""

    def __init__(self, rows: Iterable[tuple[int, int, int, Holding]]) -> None:
        """``rows``: (family, first address, prefix length, the holding)."""
        self._tables: dict[int, dict[int, dict[int, list[Holding]]]] = {4: {}, 6: {}}
        for family, first, length, holding in rows:
            by_first = self._tables[family].setdefault(length, {})
            by_first.setdefault(first, []).append(holding)

    def holder(self, key: Key, start: datetime, end: datetime) -> int | None:
        """The account a record of the address over ``[start, end)`` belongs to, by the one
        rule (:mod:`~ispcore.domain.usage.attribution`); None if nobody's (or, which one
        company's assignments never are, ambiguous)."""
        family, value = split_key(key)
        bits = 32 if family == 4 else 128
        found: list[Holding] = []
        for length, by_first in self._tables[family].items():
            shift = bits - length
            found.extend(by_first.get(value >> shift << shift, ()))
        who = attribution.holder(found, start, end) if found else None
        return who.account_id if isinstance(who, Holding) else None
