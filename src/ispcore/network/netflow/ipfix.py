"""IPFIX (RFC 7011): a 16-byte header whose length bounds the message, then Sets: 2 templates,
3 options templates, 256 and up data. Times come from IEs 150-153, else the export time."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ispcore.network.netflow import templates as t
from ispcore.network.netflow.common import Malformed, sets

if TYPE_CHECKING:
    from ispcore.network.netflow.decoder import Decoder, Pending

HEADER = struct.Struct("!HHIII")
HEADER_SIZE = 16


def decode(dec: Decoder, data: bytes, exporter: str) -> list[Pending]:
    """Learn the datagram's templates and decode its data sets (for the sink)."""
    if len(data) < HEADER_SIZE:
        raise Malformed("short")
    _, size, export_s, _, domain = HEADER.unpack_from(data)
    if size < HEADER_SIZE or size > len(data):
        raise Malformed("bad_length")
    export_ms = export_s * 1000
    key = (exporter, domain)
    view = memoryview(data)
    out: list[Pending] = []
    for set_id, body, end in sets(data, HEADER_SIZE, size):
        if set_id >= 256:
            dec.data_set(key, set_id, view, body, end, 0, export_ms, out)
        elif set_id == 2 or set_id == 3:
            dec.learn(key, t.ipfix_templates(view, body, end, set_id), set_id == 3)
        else:
            dec.events["reserved_set"] += 1
    return out
