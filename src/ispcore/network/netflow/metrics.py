"""The collector's counters for Prometheus, read from its state when scraped (the datagram
path only adds to plain integers), served on their own port by ``ispcore netflow``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import REGISTRY, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ispcore.network.netflow.collector import NetflowCollector

log = logging.getLogger(__name__)


class NetflowMetrics(Collector):
    def __init__(self, collector: NetflowCollector) -> None:
        self.collector = collector
        self._server: Any = None
        self._registered = False

    def serve(self, host: str, port: int) -> None:
        """Register with the default registry and serve it on ``host:port``."""
        REGISTRY.register(self)
        self._registered = True
        self._server, _thread = start_http_server(port, addr=host)
        log.info("NetFlow metrics on http://%s:%d/metrics", host, port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._registered:
            REGISTRY.unregister(self)
            self._registered = False

    def collect(self) -> Iterator[Metric]:
        c = self.collector
        datagrams = CounterMetricFamily("ispcore_netflow_datagrams", "Datagrams received "
                                        "from each exporter", labels=["exporter"])
        flows = CounterMetricFamily("ispcore_netflow_flows", "Flow records decoded",
                                    labels=["exporter"])
        rejected = CounterMetricFamily("ispcore_netflow_rejected", "Datagrams, data sets, "
                                       "flows or totals refused, per reason",
                                       labels=["exporter", "reason"])
        for exporter in list(c.exporters.values()):
            counters = exporter.counters()
            datagrams.add_metric([exporter.address], counters["received"])
            flows.add_metric([exporter.address], counters["flows"])
            for reason, count in sorted(exporter.rejected_total.items()):
                rejected.add_metric([exporter.address, reason], count)
        rejected.add_metric(["", "unknown_exporter"], c.totals.unknown)
        yield from (datagrams, flows, rejected)
        t = c.totals
        for name, value, text in (
                ("credited_bytes", t.credited_bytes, "Bytes credited to accounts"),
                ("unattributed_bytes", t.unattributed_bytes, "Bytes no account held "
                 "(transit included)"),
                ("write_failures", t.failures, "Batches whose write failed (then retried)"),
                ("lost_totals", t.lost, "Address-interval totals never written (the "
                 "collector stopped with the database unreachable)")):
            yield CounterMetricFamily(f"ispcore_netflow_{name}", text, value=value)
        yield GaugeMetricFamily("ispcore_netflow_totals_held", "Address-interval totals in "
                                "memory, written or not yet", value=c.bound.used)
        yield GaugeMetricFamily("ispcore_netflow_batches_waiting", "Batches waiting to be "
                                "written", value=len(c.pending))
