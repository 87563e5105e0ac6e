"""The one entry point: ``Decoder().decode(datagram, exporter)`` dispatches on the version,
keeps the templates and sampling rates each exporter announced, and counts what it drops.
``Decoder().feed(datagram, exporter, sink)`` hands the decoded rows to a sink instead (the
collector's per-address tally), without building a Flow per record."""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from ispcore.network.netflow import ipfix, v5, v9
from ispcore.network.netflow.common import Flow, Malformed
from ispcore.network.netflow.flowlist import FlowList
from ispcore.network.netflow.templates import UPTIME, Template

#: Templates kept per (exporter, source id / observation domain); past this, new template
#: ids are dropped (counted ``template_limit``) so garbage cannot grow memory without bound.
MAX_TEMPLATES = 1024

#: A data set decoded but not yet given to the sink: (template, records, how many, base,
#: export ms, sampling rate).
Pending = tuple[Template, "Records", int, int, int, int]
#: A data set's records: raw (a memoryview of whole records, ``tpl.struct`` unpacks them)
#: when the template has a fixed length, else the rows decoded one by one.
Records = memoryview | list[tuple]


class Sink(Protocol):
    """Where decoded records go: v5 records (raw, ``v5.RECORD`` unpacks them), and the data
    sets of v9/IPFIX templates (see :class:`~ispcore.network.netflow.flowlist.FlowList` for
    what the arguments mean). Records stay raw so that a sink may unpack them its own way
    (the collector's batches: :mod:`ispcore.network.netflow.vector`)."""

    def v5(self, records: memoryview, base: int, rate: int) -> None: ...

    def data(self, tpl: Template, records: Records, base: int, export_ms: int,
             rate: int) -> None: ...


class Decoder:
    """Decodes datagrams of NetFlow v5, v9 and IPFIX into flows.

    ``decode`` raises only ``Malformed`` (and counts its reason in ``counters`` first); the
    datagram is then dropped as a whole (no row of it reaches the sink), though templates
    learned from its earlier sets are kept. A data set whose template is unknown is counted
    ``no_template`` and skipped (not buffered: exporters resend templates periodically, and
    until then the data are lost). Other counters: ``datagrams``, ``flows``, ``templates``,
    ``withdrawn``, ``no_address`` (data sets without a source and destination address),
    ``reserved_set``.

    Sampling: v5 takes the header's interval; v9/IPFIX take the latest rate an options data
    record of the same exporter and source id / domain announced, applied to later data.
    ``Flow.octets``/``packets`` are multiplied by it and ``Flow.sampling`` says by what.
    """

    def __init__(self) -> None:
        #: Every counter but the two counted per datagram, which are plain attributes (a
        #: Counter's item update costs more than the rest of a small datagram's header).
        self.events: Counter[str] = Counter()
        self.datagrams = 0
        self.flows = 0
        self.templates: dict[tuple[str, int], dict[int, Template]] = {}
        self.sampling: dict[tuple[str, int], int] = {}

    @property
    def counters(self) -> Counter[str]:
        """Every counter by name (a copy)."""
        out = Counter(self.events)
        if self.datagrams:
            out["datagrams"] = self.datagrams
        if self.flows:
            out["flows"] = self.flows
        return out

    def decode(self, datagram: bytes, exporter: str) -> list[Flow]:
        out = FlowList()
        self.feed(datagram, exporter, out)
        return out.flows

    def feed(self, datagram: bytes, exporter: str, sink: Sink) -> int:
        """Decode one datagram into ``sink``; returns the number of flow records."""
        try:
            if len(datagram) < 4:
                raise Malformed("short")
            version = datagram[0] << 8 | datagram[1]
            if version == 5:
                count = v5.decode(datagram, sink)
            else:
                if version == 9:
                    pending = v9.decode(self, datagram, exporter)
                elif version == 10:
                    pending = ipfix.decode(self, datagram, exporter)
                else:
                    raise Malformed("unknown_version")
                count = 0
                for tpl, records, n, base, export_ms, rate in pending:
                    sink.data(tpl, records, base, export_ms, rate)
                    count += n
        except Malformed as exc:
            self.events[exc.reason] += 1
            raise
        self.datagrams += 1
        self.flows += count
        return count

    def learn(self, key: tuple[str, int], found: list[Template | int],
              options: bool = False) -> None:
        """Store the templates of a template set; an int is an IPFIX withdrawal (of every
        template of that kind when it is the set id, 2 or 3)."""
        known = self.templates.setdefault(key, {})
        for tpl in found:
            if isinstance(tpl, int):
                self.events["withdrawn"] += 1
                if tpl < 256:
                    for tid in [tid for tid, old in known.items() if old.options == options]:
                        del known[tid]
                else:
                    known.pop(tpl, None)
            elif tpl.tid in known or len(known) < MAX_TEMPLATES:
                known[tpl.tid] = tpl
                self.events["templates"] += 1
            else:
                self.events["template_limit"] += 1

    def data_set(self, key: tuple[str, int], set_id: int, data: memoryview, pos: int,
                 end: int, uptime_base: int, export_ms: int, pending: list[Pending]) -> None:
        """Decode one data set into ``pending`` (given to the sink once the whole datagram
        has decoded), or count why it is skipped; options data update the sampling rate."""
        known = self.templates.get(key)
        tpl = known.get(set_id) if known else None
        if tpl is None:
            self.events["no_template"] += 1
        elif tpl.options:
            rate = tpl.sampling(data, pos, end)
            if rate > 0:
                self.sampling[key] = rate
        elif tpl.family == 0:
            self.events["no_address"] += 1
        else:
            fixed = tpl.struct
            records: Records
            if fixed is not None:  # whole records, raw; what is left is padding
                size = fixed.size
                count = (end - pos) // size
                records = data[pos:pos + count * size]
            else:
                records = tpl.variable_rows(data, pos, end)
                count = len(records)
            pending.append((tpl, records, count, uptime_base if tpl.time == UPTIME else 0,
                            export_ms, self.sampling.get(key, 1)))
