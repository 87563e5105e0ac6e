"""Datagrams of NetFlow v5, v9 and IPFIX built by hand with ``struct`` for the tests and the
bench: every function returns bytes exactly as an exporter would send them."""

from __future__ import annotations

import struct
from collections.abc import Sequence

V5_HEADER = struct.Struct("!HHIIIIBBH")
V5_RECORD = struct.Struct("!IIIHHIIIIHHBBBBHHBBH")


def v5_record(src: int, dst: int, packets: int, octets: int, first: int, last: int,
              sport: int = 1234, dport: int = 80, proto: int = 6) -> bytes:
    return V5_RECORD.pack(src, dst, 0x0A000001, 1, 2, packets, octets, first, last, sport,
                          dport, 0, 0x18, proto, 0, 64512, 64513, 24, 24, 0)


def v5(records: Sequence[bytes], *, uptime: int = 100_000, secs: int = 1_790_000_000,
       nsecs: int = 0, sampling: int = 0, count: int | None = None, seq: int = 0) -> bytes:
    n = len(records) if count is None else count
    return V5_HEADER.pack(5, n, uptime, secs, nsecs, seq, 0, 0, sampling) + b"".join(records)


def flow_set(set_id: int, body: bytes, pad: int = 0) -> bytes:
    """A FlowSet / Set: id, length (header included), body, ``pad`` zero octets."""
    return struct.pack("!HH", set_id, 4 + len(body) + pad) + body + bytes(pad)


def template_record(tid: int, fields: Sequence[tuple[int, int]]) -> bytes:
    """A v9 or IPFIX template record; an IPFIX enterprise field is ``(ie | 0x8000, length,
    enterprise)``."""
    out = struct.pack("!HH", tid, len(fields))
    for field in fields:
        out += struct.pack("!HH", field[0], field[1])
        if len(field) == 3:
            out += struct.pack("!I", field[2])
    return out


def v9_options_record(tid: int, scopes: Sequence[tuple[int, int]],
                      options: Sequence[tuple[int, int]]) -> bytes:
    out = struct.pack("!HHH", tid, 4 * len(scopes), 4 * len(options))
    for ie, length in (*scopes, *options):
        out += struct.pack("!HH", ie, length)
    return out


def ipfix_options_record(tid: int, scopes: Sequence[tuple[int, int]],
                         options: Sequence[tuple[int, int]]) -> bytes:
    out = struct.pack("!HHH", tid, len(scopes) + len(options), len(scopes))
    for ie, length in (*scopes, *options):
        out += struct.pack("!HH", ie, length)
    return out


def v9(sets: Sequence[bytes], *, uptime: int = 100_000, secs: int = 1_790_000_000,
       source_id: int = 7, seq: int = 0, count: int = 0) -> bytes:
    return struct.pack("!HHIIII", 9, count, uptime, secs, seq, source_id) + b"".join(sets)


def ipfix(sets: Sequence[bytes], *, export: int = 1_790_000_000, domain: int = 7,
          seq: int = 0, length: int | None = None) -> bytes:
    body = b"".join(sets)
    size = 16 + len(body) if length is None else length
    return struct.pack("!HHIII", 10, size, export, seq, domain) + body


def varlen(value: bytes) -> bytes:
    """An IPFIX variable-length field: one length octet, or 255 and two."""
    if len(value) < 255:
        return bytes([len(value)]) + value
    return b"\xff" + struct.pack("!H", len(value)) + value


#: A softflowd-like v9 IPv4 template: src, dst, octets, packets, first, last, ports, proto.
V4_FIELDS = [(8, 4), (12, 4), (1, 4), (2, 4), (22, 4), (21, 4), (7, 2), (11, 2), (4, 1)]
V4_RECORD = struct.Struct("!IIIIIIHHB")
#: The same for IPv6, with 64-bit counters.
V6_FIELDS = [(27, 16), (28, 16), (1, 8), (2, 8), (22, 4), (21, 4), (7, 2), (11, 2), (4, 1)]
V6_RECORD = struct.Struct("!16s16sQQIIHHB")
#: An IPFIX IPv4 template with absolute times in milliseconds.
IPFIX_FIELDS = [(8, 4), (12, 4), (1, 8), (2, 8), (152, 8), (153, 8), (7, 2), (11, 2), (4, 1)]
IPFIX_RECORD = struct.Struct("!IIQQQQHHB")
