"""NetFlow v5: a 24-byte header and ``count`` fixed 48-byte records, all IPv4."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ispcore.network.netflow.common import Malformed

if TYPE_CHECKING:
    from ispcore.network.netflow.decoder import Sink

HEADER = struct.Struct("!HHIIIIBBH")
#: srcaddr, dstaddr, (nexthop, input, output), dPkts, dOctets, First, Last, (the rest).
RECORD = struct.Struct("!II8xIIII16x")
HEADER_SIZE = 24
RECORD_SIZE = 48


def sampling_rate(field: int) -> int:
    """The header's sampling field: mode in the top 2 bits, interval in the low 14. Any
    non-zero interval is the rate (some exporters leave the mode at 0), else 1."""
    return (field & 0x3FFF) or 1


def decode(data: bytes, sink: Sink) -> int:
    """Give the records to ``sink`` (raw: :data:`RECORD` unpacks each into (src, dst,
    packets, octets, first, last)), with the base that makes a sysUptime Unix ms; returns
    their count."""
    if len(data) < HEADER_SIZE:
        raise Malformed("short")
    _, count, uptime, secs, nsecs, _, _, _, sampling = HEADER.unpack_from(data)
    end = HEADER_SIZE + count * RECORD_SIZE
    if end > len(data):
        raise Malformed("count_overrun")
    # First/Last are sysUptime in ms: base + first is Unix ms.
    base = secs * 1000 + nsecs // 1_000_000 - uptime
    sink.v5(memoryview(data)[HEADER_SIZE:end], base, sampling_rate(sampling))
    return count
