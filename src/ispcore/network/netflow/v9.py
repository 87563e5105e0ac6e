"""NetFlow v9 (RFC 3954): a 20-byte header, then FlowSets: 0 templates, 1 options templates,
256 and up data. The header's count (records of every kind) is not checked: exporters
disagree on it; every FlowSet length is."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ispcore.network.netflow import templates as t
from ispcore.network.netflow.common import Malformed, sets

if TYPE_CHECKING:
    from ispcore.network.netflow.decoder import Decoder, Pending

HEADER = struct.Struct("!HHIIII")
HEADER_SIZE = 20


def decode(dec: Decoder, data: bytes, exporter: str) -> list[Pending]:
    """Learn the datagram's templates and decode its data sets (for the sink)."""
    size = len(data)
    if size < HEADER_SIZE:
        raise Malformed("short")
    _, _, uptime, secs, _, source_id = HEADER.unpack_from(data)
    export_ms = secs * 1000
    uptime_base = export_ms - uptime
    key = (exporter, source_id)
    view = memoryview(data)
    out: list[Pending] = []
    for set_id, body, end in sets(data, HEADER_SIZE, size):
        if set_id >= 256:
            dec.data_set(key, set_id, view, body, end, uptime_base, export_ms, out)
        elif set_id == 0:
            dec.learn(key, t.v9_templates(view, body, end))
        elif set_id == 1:
            dec.learn(key, t.v9_options_templates(view, body, end))
        else:
            dec.events["reserved_set"] += 1
    return out
