"""The sink that turns decoded rows into :class:`Flow` tuples (what ``Decoder.decode``
returns). The collector has its own sink (:mod:`ispcore.network.netflow.tally`), which folds
the same rows into per-address totals without making a Flow per record."""

from __future__ import annotations

from ispcore.network.netflow.common import Flow, new
from ispcore.network.netflow.templates import SKIP, Template
from ispcore.network.netflow.v5 import RECORD

_from_bytes = int.from_bytes


class FlowList:
    """Collects every flow of a datagram in ``flows``."""

    __slots__ = ("flows",)

    def __init__(self) -> None:
        self.flows: list[Flow] = []

    def v5(self, records: memoryview, base: int, rate: int) -> None:
        """v5 records, unpacked as ``(src, dst, packets, octets, first, last)``; ``base`` + a
        sysUptime is Unix ms."""
        rows = RECORD.iter_unpack(records)
        if rate == 1:
            self.flows += [new(Flow, (4, s, d, o, p, base + f, base + la, 1))
                           for s, d, p, o, f, la in rows]
        else:
            self.flows += [new(Flow, (4, s, d, o * rate, p * rate, base + f, base + la, rate))
                           for s, d, p, o, f, la in rows]

    def data(self, tpl: Template, records: memoryview | list[tuple], base: int,
             export_ms: int, rate: int) -> None:
        """The records of one v9/IPFIX data set (raw when ``tpl.struct`` unpacks them).
        ``base`` + a template time (times its multiplier) is Unix ms; records without times
        get the export time."""
        rows = tpl.unpack(records)
        out = self.flows
        mult = tpl.mult
        if tpl.fast is not None:
            plain, scaled = tpl.fast
            out += plain(rows, base) if rate == 1 and mult == 1 else scaled(rows, base, rate,
                                                                             mult)
            return
        family = tpl.family
        i_src, i_dst, i_oct, i_pkt, i_first, i_last = tpl.want
        timed = i_first != SKIP
        for row in rows:
            src, dst = row[i_src], row[i_dst]
            if family == 6:
                src, dst = _from_bytes(src, "big"), _from_bytes(dst, "big")
            octets = row[i_oct] * rate if i_oct != SKIP else 0
            packets = row[i_pkt] * rate if i_pkt != SKIP else 0
            if timed:
                start, stop = base + row[i_first] * mult, base + row[i_last] * mult
            else:
                start = stop = export_ms
            out.append(new(Flow, (family, src, dst, octets, packets, start, stop, rate)))
