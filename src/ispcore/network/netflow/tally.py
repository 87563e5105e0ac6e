"""Folding decoded flows into per-address totals per interval: the collector's sink.

Per flow: the interval its end time falls in, whether each end is in the company's plan
(its address space: the supernets, :mod:`.plan`), and the bytes added to that address (a
destination in the plan gains ``bytes_in``, a source ``bytes_out``; between two customers
both); with neither end in the plan it is transit. Whose an address's totals are is decided
only when they are written.

The work per flow is what the collector's speed is made of, so the layout is chosen for it:

* IPv4 totals are kept per /24, in a *block*: a list of 512 counters (256 in, 256 out),
  indexed by the address's last octet. One dict lookup per end (``address >> 8``) answers
  both "is it in the plan" (a block, or ``False``) and "where are its totals". The dict of
  an interval has one key per /24 seen, so it stays small and hot in the CPU's caches; a
  dict per address (65,000 addresses in the bench) does not, and each lookup then waits on
  memory. A /24 only partly in the plan (a /26 supernet, say) takes a slower path per flow.
* IPv6 totals are kept per address (16-byte keys), and transit per interval.
* A counter holds the bytes plus the number of records times 2**128 (``RECORD``), so one
  addition counts both. (A record's bytes reach 2**96 at most, a 64-bit counter times a
  32-bit sampling rate: absurd sums still come out whole, for the validity check to
  refuse.)

The loops are generated per row layout (like the decoder's): each row is unpacked straight
into names and no Flow object is made."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ispcore.network.netflow.flowlist import FlowList
from ispcore.network.netflow.plan import FULL, NONE, TRANSIT, Key, Membership
from ispcore.network.netflow.templates import Template
from ispcore.network.netflow.v5 import RECORD as V5_RECORD

#: One record, in a counter's high bits (bytes are the low 128).
SHIFT = 128
RECORD = 1 << SHIFT
LOW = RECORD - 1
#: Units of the memory bound a /24 block takes (it can hold 256 addresses' totals).
BLOCK = 256
_EMPTY = [0] * 512

Table = dict[Any, Any]


class Bound:
    """Totals held in memory by every tally and every batch not yet written (a /24 block
    counts 256, a remembered /24 outside the plan 1): past ``limit``, flows that would need
    a new one are dropped (and counted)."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0


_V4_SOURCE = """
def fold(tally, rows, base, rate, mult):
    ims = tally.interval_ms
    tables = tally.tables
    block = tally.block
    slow = tally.slow
    lo = hi = 0
    tab = tb = bget = None
    for {names} in rows:
{switch}            bget = tab.get
            tb = tab[""]
{octets}        bd = bget(d >> 8)
        if bd is None:
            bd = block(tab, d >> 8)
            if bd is None:
                slow(tab, s, d, o)
                continue
        bs = bget(s >> 8)
        if bs is None:
            bs = block(tab, s >> 8)
            if bs is None:
                slow(tab, s, d, o)
                continue
        if bd:
            bd[d & 255] += o
            if bs:
                bs[256 + (s & 255)] += o
        elif bs:
            bs[256 + (s & 255)] += o
        else:
            tb[0] += o
"""

_V6_SOURCE = """
def fold(tally, rows, base, rate, mult):
    ims = tally.interval_ms
    tables = tally.tables
    member = tally.plan.member
    learn = tally.plan.learn
    entry = tally.entry
    lo = hi = 0
    tab = tb = None
    for {names} in rows:
{convert}{switch}            tb = tab[""]
{octets}        md = member.get(d)
        if md is None:
            md = learn(d)
        ms = member.get(s)
        if ms is None:
            ms = learn(s)
        if md:
            e = tab.get(d) or entry(tab, d)
            if e:
                e[0] += o
        if ms:
            e = tab.get(s) or entry(tab, s)
            if e:
                e[1] += o
        elif not md:
            tb[0] += o
"""

#: Both loops: a flow outside the current interval's window moves to its interval's table.
_SWITCH = """        if not lo <= {window} < hi:
            number = (base + {window}) // ims
            lo = number * ims - base
            hi = lo + ims
            tab = tables.get(number)
            if tab is None:
                tab = tables[number] = {{"": [0]}}
"""

Fold = Callable[[Any, Iterable[tuple], int, int, int], None]
_FOLDS: dict[tuple, tuple[Fold, Fold]] = {}
#: Distinct layouts compiled; past this, new ones take the generic path (Flows, then fold).
MAX_FOLDS = 256


def folds(family: int, src: int, dst: int, octets: int, last: int, width: int,
          to_bytes: bool = False) -> tuple[Fold, Fold] | None:
    """The (plain, scaled) folds of rows of ``width`` fields with the source, destination,
    octets and end time at those indexes. Plain takes rate 1 and multiplier 1; scaled
    multiplies the octets by the rate and the end time by the multiplier. ``to_bytes`` turns
    integer IPv6 addresses into the 16-byte keys. Generated from a fixed source in which
    only the order of the loop's names varies; None once MAX_FOLDS are made."""
    key = (family, src, dst, octets, last, width, to_bytes)
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
        for window, octets_line in (("la", "        o += RECORD\n"),
                                    ("la * mult", "        o = o * rate + RECORD\n")):
            source = (_V4_SOURCE if family == 4 else _V6_SOURCE).format(
                names=", ".join(names), convert=convert, octets=octets_line,
                switch=_SWITCH.format(window=window))
            scope: dict[str, Any] = {"RECORD": RECORD}
            exec(source, scope)  # our own source: only the names' order varies
            made.append(scope["fold"])
        found = _FOLDS[key] = (made[0], made[1])
    return found


#: v5 rows (src, dst, packets, octets, first, last), and Flows from the generic path.
_V5 = folds(4, 0, 1, 3, 5, 6)
_FLOWS = {4: folds(4, 1, 2, 3, 6, 8), 6: folds(6, 1, 2, 3, 6, 8, to_bytes=True)}


class Tally:
    """One exporter's totals: ``tables[interval number]`` (interval number = end time //
    interval) holds its /24 blocks and markers (int keys), the totals of addresses in /24s
    only partly in the plan (``("m", /24)`` keys, blocks too), IPv6 addresses (16-byte
    keys, ``[in, out]``) and transit (key ``""``, ``[total]``); counters hold bytes plus
    records times :data:`RECORD`. The exporter's sampling ``override``, when set, replaces
    the rate the exporter announced."""

    __slots__ = ("bound", "dropped", "interval_ms", "override", "plan", "tables")

    def __init__(self, plan: Membership, interval_ms: int, bound: Bound,
                 override: int | None = None) -> None:
        self.plan = plan
        self.interval_ms = interval_ms
        self.bound = bound
        self.override = override
        self.tables: dict[int, Table] = {}
        #: Flows (ends of flows) dropped because the bound was reached.
        self.dropped = 0

    def room(self, units: int) -> bool:
        bound = self.bound
        if bound.used + units > bound.limit:
            return False
        bound.used += units
        return True

    def block(self, table: Table, prefix: int) -> list[int] | bool | None:
        """The block of an IPv4 /24 first seen in this interval: a new block (all in the
        plan), False (none of it; remembered), or None (partly in it, or no room: the flow
        takes :meth:`slow`)."""
        kind = self.plan.kind24(prefix)
        if kind == NONE:
            if self.room(1):
                table[prefix] = False
            return False
        if kind == FULL and self.room(BLOCK):
            new = table[prefix] = _EMPTY.copy()
            return new
        return None

    def slow(self, table: Table, src: int, dst: int, octets: int) -> None:
        """An IPv4 flow with an end in a /24 only partly in the plan (or when a block could
        not be made): exact membership per address."""
        learn, member = self.plan.learn, self.plan.member
        inside_dst = member.get(dst)
        if inside_dst is None:
            inside_dst = learn(dst)
        inside_src = member.get(src)
        if inside_src is None:
            inside_src = learn(src)
        if inside_dst:
            self._add_v4(table, dst, octets, 0)
        if inside_src:
            self._add_v4(table, src, octets, 256)
        if not (inside_dst or inside_src):
            table[TRANSIT][0] += octets

    def _add_v4(self, table: Table, address: int, octets: int, side: int) -> None:
        prefix = address >> 8
        found = table.get(prefix)
        if found is None:
            found = self.block(table, prefix)  # a /24 all in the plan gets its usual block
        if not found:
            key = ("m", prefix)
            found = table.get(key)
            if found is None:
                if not self.room(BLOCK):
                    self.dropped += 1
                    return
                found = table[key] = _EMPTY.copy()
        found[side + (address & 255)] += octets

    def entry(self, table: Table, key: bytes) -> list[int] | None:
        """A new IPv6 address's ``[in, out]`` (None, and counted, when there is no room)."""
        if not self.room(1):
            self.dropped += 1
            return None
        new = table[key] = [0, 0]
        return new

    # --- the sink the decoder feeds ------------------------------------------------------

    def v5(self, records: memoryview, base: int, rate: int) -> None:
        plain, scaled = _V5  # type: ignore[misc]
        rate = self.override or rate
        rows = V5_RECORD.iter_unpack(records)
        if rate == 1:
            plain(self, rows, base, 1, 1)
        else:
            scaled(self, rows, base, rate, 1)

    def data(self, tpl: Template, records: memoryview | list[tuple], base: int,
             export_ms: int, rate: int) -> None:
        rate = self.override or rate
        rows: Iterable[tuple] = tpl.unpack(records)
        loops = tpl.folds
        if loops is None and tpl.fast is not None:  # fixed length, every flow field present
            src, dst, octets, _, _, last = tpl.want
            loops = tpl.folds = folds(tpl.family, src, dst, octets, last, len(tpl.pos))
        if loops is None:
            flows = FlowList()
            flows.data(tpl, records, base, export_ms, rate)
            loops, rows, base, rate, mult = _FLOWS[tpl.family], flows.flows, 0, 1, 1
        else:
            mult = tpl.mult
        plain, scaled = loops  # type: ignore[misc]
        if rate == 1 and mult == 1:
            plain(self, rows, base, 1, 1)
        else:
            scaled(self, rows, base, rate, mult)

    # --- for the flush -------------------------------------------------------------------

    def take(self, due: Callable[[int], bool]) -> list[tuple[int, dict[Key, list[int]]]]:
        """Remove the tables of the intervals ``due`` says are ready and return their
        totals per address as ``[bytes_in, bytes_out, records]`` (their room in the bound
        is given back: the caller counts what it keeps)."""
        ready = sorted(number for number in self.tables if due(number))
        return [(number, self._totals(self.tables.pop(number))) for number in ready]

    def _totals(self, table: Table) -> dict[Key, list[int]]:
        out: dict[Key, list[int]] = {}
        released = 0
        batched = []
        for key, value in table.items():
            if type(value) is not list and value is not False:
                batched.append(value)  # a batch path's totals (vector.py): added last
            elif value is False:
                released += 1
            elif key == TRANSIT:
                if value[0]:
                    out[TRANSIT] = [value[0] & LOW, 0, value[0] >> SHIFT]
            elif type(key) is bytes:
                released += 1
                out[key] = [value[0] & LOW, value[1] & LOW, (value[0] >> SHIFT)
                            + (value[1] >> SHIFT)]
            else:
                released += BLOCK
                first = (key[1] if type(key) is tuple else key) << 8
                for i in range(256):
                    got_in, got_out = value[i], value[256 + i]
                    if got_in or got_out:
                        out[first | i] = [got_in & LOW, got_out & LOW,
                                          (got_in >> SHIFT) + (got_out >> SHIFT)]
        for totals in batched:
            released += totals.totals_into(out)
        self.bound.used -= released
        return out
