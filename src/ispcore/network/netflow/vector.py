"""Batches of fixed-length IPv4 records folded with numpy: the collector's fast path.

The collector reads the datagrams waiting on its socket in batches and the decoder hands
each one's records to a :class:`BatchSink`, raw. Records numpy can read in place (v5, and
v9/IPFIX templates of fixed length with IPv4 addresses and every flow field) are kept until
the end of the batch; then each layout's records are joined into one array of a big-endian
structured dtype and folded at once (:func:`fold_arrays`): the interval of each end time,
plan membership by a binary search over the plan's ranges (``np.searchsorted``), and the
bytes added per address with ``np.add.at`` into arrays of counters.

Totals are kept per interval, beside the per-record path's, in :class:`VectorTotals`: an
address in the plan is numbered by its offset in the plan's IPv4 ranges laid end to end
(:class:`PlanLayout`), and counters come in blocks of 256 offsets, made on first use and
counted in the memory bound like the per-record path's /24 blocks. The tally's ``take``
adds both kinds together.

The rest takes the per-record path (``Tally.v5`` / ``Tally.data``), which gives the same
totals (``tests/netflow/test_vector.py`` checks it on random datagrams): IPv6 and
variable-length templates, a layout with fewer than ``least`` records in the batch (numpy's
cost per call outweighs the gain), and records whose values do not fit 64-bit arithmetic
(an octet count of 2**40 or more after sampling, an end time past 2**50 ms: garbage the
validity check refuses later), folded one by one with Python integers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ispcore.network.netflow.plan import Membership
from ispcore.network.netflow.tally import BLOCK, RECORD, Table, Tally
from ispcore.network.netflow.templates import Template

#: Fewer records of a layout than this in a batch take the per-record path.
LEAST = 64
#: Octets (after sampling) and end times (ms) at or past these take the exact path.
BIG_OCTETS = 1 << 40
BIG_TIME = 1 << 50
#: A counter array that has summed this many octets takes no more (no int64 overflow).
FULL_OCTETS = 1 << 62
#: Plans with more IPv4 blocks than this (2**26 addresses) take the per-record path.
MAX_BLOCKS = 1 << 18
#: Blocks a new VectorTotals has room for before it grows.
FIRST_BLOCKS = 16

#: v5 records: srcaddr, dstaddr, dOctets, Last (sysUptime ms).
V5_DTYPE = np.dtype({"names": ["s", "d", "o", "la"], "formats": [">u4"] * 4,
                     "offsets": [0, 4, 20, 28], "itemsize": 48})
_V5 = "v5"


class PlanLayout:
    """The plan's IPv4 ranges as arrays. An address inside is numbered by its offset in the
    ranges laid end to end, so a block of 256 offsets holds only addresses in the plan."""

    __slots__ = ("blocks", "firsts", "lasts", "starts")

    def __init__(self, firsts: list[int], lasts: list[int]) -> None:
        self.firsts = np.array(firsts, np.int64)
        self.lasts = np.array(lasts, np.int64)
        sizes = self.lasts - self.firsts + 1
        self.starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        self.blocks = (int(sizes.sum()) + 255) >> 8

    def locate(self, addresses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inside the plan?, offset) of each address; offsets of those outside are junk."""
        if not len(self.firsts):
            return np.zeros(len(addresses), bool), addresses
        i = np.searchsorted(self.firsts, addresses, "right") - 1
        before = i < 0
        i[before] = 0
        inside = addresses <= self.lasts[i]
        inside[before] = False
        return inside, self.starts[i] + addresses - self.firsts[i]

    def addresses(self, offsets: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.starts, offsets, "right") - 1
        return self.firsts[i] + offsets - self.starts[i]


def plan_layout(plan: Membership) -> PlanLayout | None:
    """The plan's layout, made once per plan; None when the plan is too large for it."""
    if plan.vector is None:
        layout = PlanLayout(plan.ranges(4)[0], plan.ranges(4)[1])
        plan.vector = layout if layout.blocks <= MAX_BLOCKS else False
    return plan.vector or None


class VectorTotals:
    """One interval's totals of addresses in the plan: bytes in, bytes out and records per
    offset, in blocks of 256 made on first use (``slots`` maps a block to its place)."""

    __slots__ = ("blocks", "layout", "octets", "records", "slots", "summed")

    def __init__(self, layout: PlanLayout) -> None:
        self.layout = layout
        self.slots = np.full(layout.blocks, -1, np.int32)
        self.blocks: list[int] = []
        self.octets = np.zeros((2, FIRST_BLOCKS * 256), np.int64)  # in, out
        self.records = np.zeros(FIRST_BLOCKS * 256, np.int64)
        self.summed = 0

    def add(self, tally: Tally, offsets: np.ndarray, octets: np.ndarray, side: int) -> None:
        """Add each end's octets (and one record) to its offset's ``side`` (0 in, 1 out);
        ends whose block finds no room in the bound are dropped and counted."""
        blocks = offsets >> 8
        slots = self.slots[blocks]
        missing = slots < 0
        if missing.any():
            self._make(tally, np.unique(blocks[missing]).tolist())
            slots = self.slots[blocks]
            kept = slots >= 0
            if not kept.all():
                tally.dropped += len(kept) - int(np.count_nonzero(kept))
                slots, offsets, octets = slots[kept], offsets[kept], octets[kept]
        at = slots.astype(np.int64) << 8 | (offsets & 255)
        np.add.at(self.octets[side], at, octets)
        np.add.at(self.records, at, 1)

    def _make(self, tally: Tally, blocks: list[int]) -> None:
        for block in blocks:
            if not tally.room(BLOCK):
                return
            self.slots[block] = len(self.blocks)
            self.blocks.append(block)
        size = len(self.blocks) * 256
        if size > len(self.records):
            grown = max(size, 2 * len(self.records))
            self.octets = np.concatenate(
                (self.octets, np.zeros((2, grown - self.octets.shape[1]), np.int64)), axis=1)
            self.records = np.concatenate(
                (self.records, np.zeros(grown - len(self.records), np.int64)))

    def totals_into(self, out: dict[Any, list[int]]) -> int:
        """Add the totals per address (``[bytes_in, bytes_out, records]``) to ``out``;
        returns the room they held in the bound."""
        if not self.blocks:
            return 0
        offsets = (np.array(self.blocks, np.int64)[:, None] << 8 | np.arange(256)).ravel()
        records = self.records[:len(offsets)]
        used = np.flatnonzero(records)
        addresses = self.layout.addresses(offsets[used])
        for address, got_in, got_out, count in zip(
                addresses.tolist(), self.octets[0][used].tolist(),
                self.octets[1][used].tolist(), records[used].tolist(), strict=True):
            found = out.get(address)
            if found is None:
                out[address] = [got_in, got_out, count]
            else:
                found[0] += got_in
                found[1] += got_out
                found[2] += count
        return len(self.blocks) * BLOCK


def reading(tpl: Template) -> tuple[np.dtype, int] | bool:
    """The dtype (src, dst, octets, end time) and time multiplier numpy reads a template's
    records with, or False when they take the per-record path."""
    if tpl.struct is None or tpl.family != 4 or tpl.fast is None:
        return False
    ie_at = {index: ie for ie, index in tpl.pos.items()}
    where: dict[int, tuple[int, int]] = {}
    at = 0
    for ie, size in tpl.fields:
        where.setdefault(ie, (at, size))  # the first of a repeated IE, as the template reads
        at += size
    src, dst, octets, _, _, last = tpl.want
    fields = [where[ie_at[index]] for index in (src, dst, octets, last)]
    return (np.dtype({"names": ["s", "d", "o", "la"],
                      "formats": [f">u{size}" for _, size in fields],
                      "offsets": [offset for offset, _ in fields],
                      "itemsize": tpl.struct.size}), tpl.mult)


class BatchSink:
    """The sink for a batch of datagrams into ``tally``: keeps the records numpy can read,
    folds them in :meth:`fold` (to be called once the batch is decoded); the rest goes to
    the tally's per-record path at once."""

    __slots__ = ("groups", "least", "tally")

    def __init__(self, tally: Tally, least: int = LEAST) -> None:
        self.tally = tally
        self.least = least
        #: Per layout (the v5 marker, or a template): its records, bases, rates, counts.
        self.groups: dict[Any, tuple[list[memoryview], list[int], list[int], list[int]]] = {}

    def v5(self, records: memoryview, base: int, rate: int) -> None:
        self._keep(_V5, records, len(records) // 48, base, rate)

    def data(self, tpl: Template, records: memoryview | list[tuple], base: int,
             export_ms: int, rate: int) -> None:
        if tpl.vector is None:
            tpl.vector = reading(tpl)
        if tpl.vector:
            self._keep(tpl, records, len(records) // tpl.vector[0].itemsize, base, rate)
        else:
            self.tally.data(tpl, records, base, export_ms, rate)

    def _keep(self, key: Any, records: Any, count: int, base: int, rate: int) -> None:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = ([], [], [], [])
        group[0].append(records)
        group[1].append(base)
        group[2].append(rate)
        group[3].append(count)

    def fold(self) -> None:
        """Fold what the batch kept into the tally."""
        groups, self.groups = self.groups, {}
        tally = self.tally
        layout = plan_layout(tally.plan)
        for key, (records, bases, rates, counts) in groups.items():
            if layout is None or sum(counts) < self.least:
                for part, base, rate in zip(records, bases, rates, strict=True):
                    if key == _V5:
                        tally.v5(part, base, rate)
                    else:  # export_ms is for templates without times: not these
                        tally.data(key, part, base, 0, rate)
                continue
            dtype, mult = (V5_DTYPE, 1) if key == _V5 else key.vector
            rows = np.frombuffer(b"".join(records), dtype)
            override = tally.override
            fold_arrays(tally, layout, rows, mult,
                        np.repeat(np.array(bases, np.int64), counts),
                        np.repeat(np.array([override or r for r in rates], np.int64), counts))


def fold_arrays(tally: Tally, layout: PlanLayout, rows: np.ndarray, mult: int,
                bases: np.ndarray, rates: np.ndarray) -> None:
    """Fold records (fields s, d, o, la) with each one's time base and sampling rate."""
    octets, last = rows["o"], rows["la"]
    big = (octets >= (BIG_OCTETS // rates).astype(np.uint64)) | (last >= BIG_TIME // mult)
    if big.any():
        exact(tally, rows[big], mult, bases[big], rates[big])
        keep = ~big
        rows, bases, rates = rows[keep], bases[keep], rates[keep]
        octets, last = rows["o"], rows["la"]
    if not len(rows):
        return
    src = rows["s"].astype(np.int64)
    dst = rows["d"].astype(np.int64)
    scaled = octets.astype(np.int64) * rates
    numbers = (last.astype(np.int64) * mult + bases) // tally.interval_ms
    if numbers.min() == numbers.max():
        _fold_interval(tally, layout, int(numbers[0]), src, dst, scaled)
        return
    for number in np.unique(numbers).tolist():
        mine = numbers == number
        _fold_interval(tally, layout, number, src[mine], dst[mine], scaled[mine])


def _table(tally: Tally, number: int) -> Table:
    table = tally.tables.get(number)
    if table is None:
        table = tally.tables[number] = {"": [0]}
    return table


def _fold_interval(tally: Tally, layout: PlanLayout, number: int, src: np.ndarray,
                   dst: np.ndarray, octets: np.ndarray) -> None:
    table = _table(tally, number)
    totals = table.get(layout)
    if totals is None:
        totals = table[layout] = VectorTotals(layout)
    summed = int(octets.sum())
    if totals.summed + summed >= FULL_OCTETS:  # the counters could overflow: exact path
        slow = tally.slow
        for s, d, o in zip(src.tolist(), dst.tolist(), octets.tolist(), strict=True):
            slow(table, s, d, o + RECORD)
        return
    totals.summed += summed
    in_dst, at_dst = layout.locate(dst)
    in_src, at_src = layout.locate(src)
    transit = ~(in_dst | in_src)
    count = int(np.count_nonzero(transit))
    if count:
        table[""][0] += int(octets[transit].sum()) + count * RECORD
    totals.add(tally, at_dst[in_dst], octets[in_dst], 0)
    totals.add(tally, at_src[in_src], octets[in_src], 1)


def exact(tally: Tally, rows: np.ndarray, mult: int, bases: np.ndarray,
          rates: np.ndarray) -> None:
    """Records with values too large for int64, folded one by one with Python integers (the
    per-record path's exact membership)."""
    ims = tally.interval_ms
    for s, d, o, la, base, rate in zip(rows["s"].tolist(), rows["d"].tolist(),
                                       rows["o"].tolist(), rows["la"].tolist(),
                                       bases.tolist(), rates.tolist(), strict=True):
        tally.slow(_table(tally, (base + la * mult) // ims), s, d, o * rate + RECORD)
