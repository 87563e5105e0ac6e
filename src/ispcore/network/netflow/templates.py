"""Templates of NetFlow v9 and IPFIX, compiled once when they arrive, and the data records
they describe decoded into flows.

A template keeps only the information elements (IEs) a usage collector needs; every other
field (enterprise-specific ones included) is skipped by its length. A template whose fields
all have fixed lengths gets one precompiled ``struct.Struct`` (needed fields typed, the rest
``Nx`` padding): a data set is one ``iter_unpack`` over its records, then the flow fields are
picked by index. Templates with IPFIX variable-length fields are walked record by record.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterable
from typing import Any

from ispcore.network.netflow.common import Flow, Malformed, new

OCTETS, PACKETS, SRC4, DST4 = 1, 2, 8, 12
LAST_UPTIME, FIRST_UPTIME, SRC6, DST6 = 21, 22, 27, 28
SAMPLING_INTERVAL, SAMPLER_RANDOM_INTERVAL = 34, 50
OCTETS_TOTAL, PACKETS_TOTAL = 85, 86
START_S, END_S, START_MS, END_MS = 150, 151, 152, 153
SAMPLING_PACKET_INTERVAL, SAMPLING_PACKET_SPACE = 305, 306

VARIABLE = 65535
#: A template with more fields than this is refused (real ones have well under 100).
MAX_FIELDS = 256
#: Marks a field that is never read: an enterprise IE or a v9 options scope field.
SKIP = -1

_EXACT = {SRC4: 4, DST4: 4, SRC6: 16, DST6: 16, FIRST_UPTIME: 4, LAST_UPTIME: 4,
          START_S: 4, END_S: 4, START_MS: 8, END_MS: 8}
_UNSIGNED = frozenset({OCTETS, PACKETS, OCTETS_TOTAL, PACKETS_TOTAL, SAMPLING_INTERVAL,
                       SAMPLER_RANDOM_INTERVAL, SAMPLING_PACKET_INTERVAL,
                       SAMPLING_PACKET_SPACE})
_INT_CODE = {1: "B", 2: "H", 4: "I", 8: "Q"}
WANTED = frozenset(_EXACT) | _UNSIGNED
_SAMPLING = (SAMPLING_INTERVAL, SAMPLER_RANDOM_INTERVAL, SAMPLING_PACKET_INTERVAL,
             SAMPLING_PACKET_SPACE)

#: How the times of a template's records become Unix ms: (start IE, end IE, multiplier).
_TIMES = ((START_MS, END_MS, 1), (START_S, END_S, 1000), (FIRST_UPTIME, LAST_UPTIME, 1))
UPTIME, ABSOLUTE, EXPORT_TIME = "uptime", "absolute", "export"

_FIELD = struct.Struct("!HH")
_U16 = struct.Struct("!H")
_from_bytes = int.from_bytes


def field_code(ie: int, length: int) -> str:
    """The struct code of a needed field, checking its length against its type."""
    if length == VARIABLE:
        raise Malformed("bad_field_length")
    exact = _EXACT.get(ie)
    if exact is not None:
        if length != exact:
            raise Malformed("bad_field_length")
        return "16s" if exact == 16 else _INT_CODE[length]
    code = _INT_CODE.get(length)
    if code is None:  # counters: 1, 2, 4 or 8 octets (other reduced sizes are not supported)
        raise Malformed("bad_field_length")
    return code


class Template:
    """A compiled template. ``pos`` maps each needed IE to its index in a decoded row."""

    __slots__ = ("family", "fast", "fields", "folds", "length", "mult", "options", "pos",
                 "steps", "struct", "tid", "time", "vector", "want")

    def __init__(self, tid: int, fields: list[tuple[int, int]], options: bool = False,
                 uptime: bool = True) -> None:
        if not fields or len(fields) > MAX_FIELDS:
            raise Malformed("bad_template")
        self.tid = tid
        self.fields = fields
        self.options = options
        pos: dict[int, int] = {}
        fmt = ["!"]
        steps: list[tuple[int, struct.Struct | None]] = []
        length = 0
        variable = False
        for ie, size in fields:
            if size == 0:
                raise Malformed("bad_field_length")
            if ie in WANTED and ie not in pos:
                code = field_code(ie, size)
                pos[ie] = len(pos)
                fmt.append(code)
                steps.append((size, struct.Struct("!" + code)))
            else:
                if size == VARIABLE:
                    variable = True
                    length += 1  # the shortest a variable field can be on the wire
                else:
                    fmt.append(f"{size}x")
                steps.append((size, None))
            if size != VARIABLE:
                length += size
        self.pos = pos
        #: The record length (fixed templates) or the shortest record (variable ones): less
        #: than this at the end of a set is padding.
        self.length = length
        self.struct = None if variable else struct.Struct("".join(fmt))
        self.steps = steps
        if SRC4 in pos and DST4 in pos:
            self.family, src, dst = 4, pos[SRC4], pos[DST4]
        elif SRC6 in pos and DST6 in pos:
            self.family, src, dst = 6, pos[SRC6], pos[DST6]
        else:
            self.family, src, dst = 0, SKIP, SKIP
        octets = pos.get(OCTETS, pos.get(OCTETS_TOTAL, SKIP))
        packets = pos.get(PACKETS, pos.get(PACKETS_TOTAL, SKIP))
        self.time, self.mult, first, last = EXPORT_TIME, 1, SKIP, SKIP
        for start_ie, end_ie, mult in _TIMES:
            if start_ie in pos and end_ie in pos and (uptime or start_ie != FIRST_UPTIME):
                self.time = UPTIME if start_ie == FIRST_UPTIME else ABSOLUTE
                self.mult, first, last = mult, pos[start_ie], pos[end_ie]
                break
        self.want = (src, dst, octets, packets, first, last)
        #: The common case gets a tight loop made for its field order: fixed length, every
        #: flow field present.
        self.fast = (fast_loops(self.want, len(pos), self.family)
                     if self.struct is not None and self.family and SKIP not in self.want
                     else None)
        #: The collector's tally loops for this layout, found on first use.
        self.folds: Any = None
        #: How numpy reads the records (:func:`~ispcore.network.netflow.vector.reading`),
        #: found on first use.
        self.vector: Any = None

    def unpack(self, records: memoryview | list[tuple]) -> Iterable[tuple]:
        """The rows of a data set's records as the decoder hands them over: raw whole
        records (a fixed template) are unpacked, decoded rows are returned as they are."""
        return records if self.struct is None else self.struct.iter_unpack(records)  # type: ignore[arg-type]

    def rows(self, data: memoryview, pos: int, end: int) -> tuple[Iterable[tuple], int]:
        """The decoded rows of the records in ``data[pos:end]`` (a data set's body) and how
        many there are; what is left that is shorter than a record is padding. A record that
        overruns the set raises before any row is returned."""
        if self.struct is not None:
            size = self.struct.size
            count = (end - pos) // size
            return self.struct.iter_unpack(data[pos:pos + count * size]), count
        rows = self.variable_rows(data, pos, end)
        return rows, len(rows)

    def variable_rows(self, data: memoryview, pos: int, end: int) -> list[tuple]:
        out = []
        steps = self.steps
        shortest = self.length
        while end - pos >= shortest:
            row = []
            for size, unpack in steps:
                if size == VARIABLE:
                    if pos >= end:
                        raise Malformed("bad_record")
                    size = data[pos]
                    pos += 1
                    if size == 255:
                        if pos + 2 > end:
                            raise Malformed("bad_record")
                        size = _U16.unpack_from(data, pos)[0]
                        pos += 2
                elif unpack is not None:
                    if pos + size > end:
                        raise Malformed("bad_record")
                    row.append(unpack.unpack_from(data, pos)[0])
                pos += size
                if pos > end:
                    raise Malformed("bad_record")
            out.append(tuple(row))
        return out

    def sampling(self, data: memoryview, pos: int, end: int) -> int:
        """The sampling rate an options data set carries (the last record's), 0 if none:
        samplingInterval (34), samplerRandomInterval (50), or samplingPacketInterval (305)
        with samplingPacketSpace (306) as (interval + space) / interval."""
        found = [ie for ie in _SAMPLING if ie in self.pos]
        if not found:
            return 0
        rate = 0
        for row in self.rows(data, pos, end)[0]:
            values = {ie: row[self.pos[ie]] for ie in found}
            if values.get(SAMPLING_INTERVAL):
                rate = values[SAMPLING_INTERVAL]
            elif values.get(SAMPLER_RANDOM_INTERVAL):
                rate = values[SAMPLER_RANDOM_INTERVAL]
            elif values.get(SAMPLING_PACKET_INTERVAL) and SAMPLING_PACKET_SPACE in values:
                interval = values[SAMPLING_PACKET_INTERVAL]
                rate = round((interval + values[SAMPLING_PACKET_SPACE]) / interval)
        return rate


_LOOP_SOURCE = """
def plain(rows, base):
    return [new(Flow, ({family}, {src}, {dst}, o, p, base + f, base + la, 1))
            for {names} in rows]

def scaled(rows, base, rate, mult):
    return [new(Flow, ({family}, {src}, {dst}, o * rate, p * rate, base + f * mult,
                       base + la * mult, rate))
            for {names} in rows]
"""
_LOOPS: dict[tuple, tuple[Callable, Callable]] = {}
#: Distinct field orders compiled; past this, new ones take the generic loop.
MAX_LOOPS = 256


def fast_loops(want: tuple[int, ...], width: int, family: int
               ) -> tuple[Callable, Callable] | None:
    """The comprehensions that turn rows of a fixed template into flows, unpacking each row
    straight into names in the template's own field order (no per-field indexing): generated
    from a fixed source, where only the order of the loop's target names and the family vary,
    and compiled once per distinct (order, width, family). None once MAX_LOOPS are made."""
    key = (want, width, family)
    loops = _LOOPS.get(key)
    if loops is None:
        if len(_LOOPS) >= MAX_LOOPS:  # garbage templates must not grow this without bound
            return None
        names = [f"_{i}" for i in range(width)]
        for index, name in zip(want, ("s", "d", "o", "p", "f", "la"), strict=True):
            names[index] = name
        src, dst = ("s", "d") if family == 4 else ("fb(s, 'big')", "fb(d, 'big')")
        code = _LOOP_SOURCE.format(family=family, src=src, dst=dst,
                                   names=", ".join(names))
        scope: dict[str, Any] = {"new": new, "Flow": Flow, "fb": _from_bytes}
        exec(code, scope)  # our own source: only the names' order varies
        loops = _LOOPS[key] = (scope["plain"], scope["scaled"])
    return loops


def _fixed(fields: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """v9 has no variable-length encoding: a length of 65535 is an error there."""
    if any(size == VARIABLE for _, size in fields):
        raise Malformed("bad_field_length")
    return fields


def v9_templates(data: memoryview, pos: int, end: int) -> list[Template]:
    """The records of a v9 template FlowSet (id 0)."""
    out = []
    while end - pos >= 4:
        tid, count = _FIELD.unpack_from(data, pos)
        pos += 4
        if tid < 256 or count == 0 or count > MAX_FIELDS or pos + count * 4 > end:
            raise Malformed("bad_template")
        fields = [_FIELD.unpack_from(data, pos + 4 * i) for i in range(count)]
        pos += count * 4
        out.append(Template(tid, _fixed(fields)))
    return out


def v9_options_templates(data: memoryview, pos: int, end: int) -> list[Template]:
    """The records of a v9 options template FlowSet (id 1): scope fields (system, interface,
    …: not IEs) are skipped by length, option fields are IEs."""
    out = []
    while end - pos >= 6:
        tid, scope_len, option_len = struct.unpack_from("!HHH", data, pos)
        pos += 6
        count = (scope_len + option_len) // 4
        if (tid < 256 or scope_len % 4 or option_len % 4 or count == 0
                or count > MAX_FIELDS or pos + count * 4 > end):
            raise Malformed("bad_template")
        fields = [_FIELD.unpack_from(data, pos + 4 * i) for i in range(count)]
        scopes = scope_len // 4
        fields = [(SKIP, size) for _, size in fields[:scopes]] + fields[scopes:]
        pos += count * 4
        out.append(Template(tid, _fixed(fields), options=True))
    return out


def ipfix_templates(data: memoryview, pos: int, end: int, set_id: int
                    ) -> list[Template | int]:
    """The records of an IPFIX (options) template set (id 2 or 3). A withdrawal (field count
    0) comes out as the withdrawn template id: the set id itself withdraws them all."""
    options = set_id == 3
    out: list[Template | int] = []
    while end - pos >= 4:
        tid, count = _FIELD.unpack_from(data, pos)
        pos += 4
        if count == 0:
            if tid < 256 and tid != set_id:
                raise Malformed("bad_template")
            out.append(tid)
            continue
        if tid < 256 or count > MAX_FIELDS:
            raise Malformed("bad_template")
        scopes = 0
        if options:
            if pos + 2 > end:
                raise Malformed("bad_template")
            scopes = _U16.unpack_from(data, pos)[0]
            pos += 2
            if scopes == 0 or scopes > count:
                raise Malformed("bad_template")
        fields = []
        for i in range(count):
            if pos + 4 > end:
                raise Malformed("bad_template")
            ie, size = _FIELD.unpack_from(data, pos)
            pos += 4
            if ie & 0x8000:  # enterprise-specific: a 4-byte enterprise number follows
                if pos + 4 > end:
                    raise Malformed("bad_template")
                pos += 4
                ie = SKIP
            fields.append((SKIP if i < scopes else ie, size))
        out.append(Template(tid, fields, options=options, uptime=False))
    return out
