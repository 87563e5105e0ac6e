"""IPFIX (RFC 7011): a 16-byte header whose length bounds the message, then Sets: 2 templates,
3 options templates, 256 and up data. Times come from IEs 150-153, else the export time."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ispcore.network.netflow import templates as t
from ispcore.network.netflow.common import Flow, Malformed

if TYPE_CHECKING:
    from ispcore.network.netflow.decoder import Decoder

HEADER = struct.Struct("!HHIII")
SET = struct.Struct("!HH")
HEADER_SIZE = 16


def decode(dec: Decoder, data: bytes, exporter: str) -> list[Flow]:
    if len(data) < HEADER_SIZE:
        raise Malformed("short")
    _, size, export_s, _, domain = HEADER.unpack_from(data)
    if size < HEADER_SIZE or size > len(data):
        raise Malformed("bad_length")
    export_ms = export_s * 1000
    key = (exporter, domain)
    view = memoryview(data)
    out: list[Flow] = []
    pos = HEADER_SIZE
    while pos < size:
        if pos + 4 > size:
            raise Malformed("bad_set")
        set_id, length = SET.unpack_from(data, pos)
        end = pos + length
        if length < 4 or end > size:
            raise Malformed("bad_set")
        if set_id >= 256:
            dec.data_set(key, set_id, view, pos + 4, end, 0, export_ms, out)
        elif set_id == 2 or set_id == 3:
            dec.learn(key, t.ipfix_templates(view, pos + 4, end, set_id), set_id == 3)
        else:
            dec.counters["reserved_set"] += 1
        pos = end
    return out
