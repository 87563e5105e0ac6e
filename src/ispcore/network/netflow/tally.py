"""Folding decoded flows into per-address totals per interval: the collector's sink.

Per flow: the interval its end time falls in, whether each end is in the company's plan
(one dict lookup each), and one or two counters added. A flow whose destination is in the
plan adds to that address's ``bytes_in``, whose source is in the plan to its ``bytes_out``
(between two customers: both); with neither end in the plan it is transit (key ``""``).

The loops are generated per row layout (like the decoder's): each row is unpacked straight
into names and no Flow object is made. Entries are ``[bytes_in, bytes_out, records]``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ispcore.network.netflow.flowlist import FlowList
from ispcore.network.netflow.plan import Key, Membership
from ispcore.network.netflow.templates import Template

Table = dict[Key, list[int]]


class Bound:
    """Entries held in memory by every tally and every batch not yet written: past
    ``limit``, flows that would need a new entry are dropped (and counted)."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0


_FOLD_SOURCE = """
def fold(tally, rows, base, rate, mult):
    ims = tally.interval_ms
    tables = tally.tables
    member = tally.plan.member
    learn = tally.plan.learn
    add = tally.add
    cur = None
    tab = None
    for {names} in rows:
{convert}        b = ({end}) // ims
        if b != cur:
            cur = b
            tab = tables.get(b)
            if tab is None:
                tab = tables[b] = {{}}
{octets}        md = member.get(d)
        if md is None:
            md = learn(d)
        ms = member.get(s)
        if ms is None:
            ms = learn(s)
        if md:
            e = tab.get(d)
            if e is None:
                add(tab, d, o, 0)
            else:
                e[0] += o
                e[2] += 1
            if ms:
                e = tab.get(s)
                if e is None:
                    add(tab, s, 0, o)
                else:
                    e[1] += o
                    e[2] += 1
        elif ms:
            e = tab.get(s)
            if e is None:
                add(tab, s, 0, o)
            else:
                e[1] += o
                e[2] += 1
        else:
            e = tab.get("")
            if e is None:
                add(tab, "", o, 0)
            else:
                e[0] += o
                e[2] += 1
"""

Fold = Callable[[Any, Iterable[tuple], int, int, int], None]
_FOLDS: dict[tuple, tuple[Fold, Fold]] = {}
#: Distinct layouts compiled; past this, new ones take the generic path (Flows, then fold).
MAX_FOLDS = 256


def folds(src: int, dst: int, octets: int, last: int, width: int, to_bytes: bool = False
          ) -> tuple[Fold, Fold] | None:
    """The (plain, scaled) folds of rows of ``width`` fields with the source, destination,
    octets and end time at those indexes: plain takes rate 1 and multiplier 1, scaled
    multiplies the octets by the rate and the end time by the multiplier. ``to_bytes``
    turns integer IPv6 addresses into the 16-byte keys. Generated from a fixed source in
    which only the order of the loop's names varies; None once MAX_FOLDS are made."""
    key = (src, dst, octets, last, width, to_bytes)
    found = _FOLDS.get(key)
    if found is None:
        if len(_FOLDS) >= MAX_FOLDS:  # garbage templates must not grow this without bound
            return None
        names = [f"_{i}" for i in range(width)]
        for index, name in ((src, "s"), (dst, "d"), (octets, "o"), (last, "la")):
            names[index] = name
        convert = ('        s, d = s.to_bytes(16, "big"), d.to_bytes(16, "big")\n'
                   if to_bytes else "")
        made = []
        for end, octets_line in (("base + la", ""),
                                 ("base + la * mult", "        o *= rate\n")):
            scope: dict[str, Any] = {}
            exec(_FOLD_SOURCE.format(names=", ".join(names), convert=convert, end=end,
                                     octets=octets_line), scope)  # our own source
            made.append(scope["fold"])
        found = _FOLDS[key] = (made[0], made[1])
    return found


#: v5 rows (src, dst, packets, octets, first, last), and Flows from the generic path.
_V5 = folds(0, 1, 3, 5, 6)
_FLOWS = {4: folds(1, 2, 3, 6, 8), 6: folds(1, 2, 3, 6, 8, to_bytes=True)}


class Tally:
    """One exporter's totals: ``tables[interval number][address key]`` ->
    ``[bytes_in, bytes_out, records]`` (interval number = end time // interval). The
    exporter's sampling ``override``, when set, replaces the rate the exporter announced."""

    __slots__ = ("bound", "dropped", "interval_ms", "override", "plan", "tables")

    def __init__(self, plan: Membership, interval_ms: int, bound: Bound,
                 override: int | None = None) -> None:
        self.plan = plan
        self.interval_ms = interval_ms
        self.bound = bound
        self.override = override
        self.tables: dict[int, Table] = {}
        #: Flows dropped because the bound was reached.
        self.dropped = 0

    def add(self, table: Table, key: Key, bytes_in: int, bytes_out: int) -> None:
        """A new entry (the loops add to existing ones themselves)."""
        bound = self.bound
        if bound.used >= bound.limit:
            self.dropped += 1
            return
        bound.used += 1
        table[key] = [bytes_in, bytes_out, 1]

    # --- the sink the decoder feeds ------------------------------------------------------

    def v5(self, rows: Iterable[tuple], base: int, rate: int) -> None:
        plain, scaled = _V5  # type: ignore[misc]
        rate = self.override or rate
        if rate == 1:
            plain(self, rows, base, 1, 1)
        else:
            scaled(self, rows, base, rate, 1)

    def data(self, tpl: Template, rows: Iterable[tuple], base: int, export_ms: int,
             rate: int) -> None:
        rate = self.override or rate
        loops = None
        if tpl.fast is not None:  # fixed length, every flow field present
            src, dst, octets, _, _, last = tpl.want
            loops = folds(src, dst, octets, last, len(tpl.pos))
        if loops is None:
            flows = FlowList()
            flows.data(tpl, rows, base, export_ms, rate)
            loops, rows, base, rate, mult = _FLOWS[tpl.family], flows.flows, 0, 1, 1
        else:
            mult = tpl.mult
        plain, scaled = loops  # type: ignore[misc]
        if rate == 1 and mult == 1:
            plain(self, rows, base, 1, 1)
        else:
            scaled(self, rows, base, rate, mult)

    # --- for the flush -------------------------------------------------------------------

    def take(self, due: Callable[[int], bool]) -> list[tuple[int, Table]]:
        """Remove and return the tables of the intervals ``due`` says are ready."""
        ready = [number for number in self.tables if due(number)]
        return [(number, self.tables.pop(number)) for number in sorted(ready)]

    @property
    def entries(self) -> int:
        return sum(len(table) for table in self.tables.values())

