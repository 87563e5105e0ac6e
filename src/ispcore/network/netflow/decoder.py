"""The one entry point: ``Decoder().decode(datagram, exporter)`` dispatches on the version,
keeps the templates and sampling rates each exporter announced, and counts what it drops."""

from __future__ import annotations

from collections import Counter

from ispcore.network.netflow import ipfix, v5, v9
from ispcore.network.netflow.common import Flow, Malformed
from ispcore.network.netflow.templates import Template, flows

#: Templates kept per (exporter, source id / observation domain); past this, new template
#: ids are dropped (counted ``template_limit``) so garbage cannot grow memory without bound.
MAX_TEMPLATES = 1024


class Decoder:
    """Decodes datagrams of NetFlow v5, v9 and IPFIX into flows.

    ``decode`` raises only ``Malformed`` (and counts its reason in ``counters`` first); the
    datagram is then dropped as a whole, though templates learned from its earlier sets are
    kept. A data set whose template is unknown is counted ``no_template`` and skipped (not
    buffered: exporters resend templates periodically, and until then the data are lost).
    Other counters: ``datagrams``, ``flows``, ``templates``, ``withdrawn``, ``no_address``
    (data sets without a source and destination address), ``reserved_set``.

    Sampling: v5 takes the header's interval; v9/IPFIX take the latest rate an options data
    record of the same exporter and source id / domain announced, applied to later data.
    ``Flow.octets``/``packets`` are multiplied by it and ``Flow.sampling`` says by what.
    """

    def __init__(self) -> None:
        self.counters: Counter[str] = Counter()
        self.templates: dict[tuple[str, int], dict[int, Template]] = {}
        self.sampling: dict[tuple[str, int], int] = {}

    def decode(self, datagram: bytes, exporter: str) -> list[Flow]:
        try:
            if len(datagram) < 4:
                raise Malformed("short")
            version = datagram[0] << 8 | datagram[1]
            if version == 5:
                out = v5.decode(datagram)
            elif version == 9:
                out = v9.decode(self, datagram, exporter)
            elif version == 10:
                out = ipfix.decode(self, datagram, exporter)
            else:
                raise Malformed("unknown_version")
        except Malformed as exc:
            self.counters[exc.reason] += 1
            raise
        self.counters["datagrams"] += 1
        self.counters["flows"] += len(out)
        return out

    def learn(self, key: tuple[str, int], found: list[Template | int],
              options: bool = False) -> None:
        """Store the templates of a template set; an int is an IPFIX withdrawal (of every
        template of that kind when it is the set id, 2 or 3)."""
        known = self.templates.setdefault(key, {})
        for tpl in found:
            if isinstance(tpl, int):
                self.counters["withdrawn"] += 1
                if tpl < 256:
                    for tid in [tid for tid, old in known.items() if old.options == options]:
                        del known[tid]
                else:
                    known.pop(tpl, None)
            elif tpl.tid in known or len(known) < MAX_TEMPLATES:
                known[tpl.tid] = tpl
                self.counters["templates"] += 1
            else:
                self.counters["template_limit"] += 1

    def data_set(self, key: tuple[str, int], set_id: int, data: memoryview, pos: int,
                 end: int, uptime_base: int, export_ms: int, out: list[Flow]) -> None:
        known = self.templates.get(key)
        tpl = known.get(set_id) if known else None
        if tpl is None:
            self.counters["no_template"] += 1
        elif tpl.options:
            rate = tpl.sampling(data, pos, end)
            if rate > 0:
                self.sampling[key] = rate
        elif tpl.family == 0:
            self.counters["no_address"] += 1
        else:
            flows(tpl, data, pos, end, uptime_base, export_ms, self.sampling.get(key, 1), out)
