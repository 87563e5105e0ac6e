"""The network dashboard's figures: monitored devices by status per network site, open
alerts, pollers up and down, and the devices with the worst latency. A fixed handful of
grouped reads, whatever the size of the network."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, func, select

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.monitoring.models import (
    Alert,
    AlertStatus,
    CheckKind,
    Device,
    DeviceStatus,
    MetricState,
    MonitoringCheck,
    Poller,
    PollerStatus,
)
from ispcore.domain.network.models import NetworkSite

OPEN = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)
WORST = 10


@dataclass
class SiteHealth:
    site_id: int | None  # None: devices with no site
    by_status: dict[str, int] = field(default_factory=dict)
    open_alerts: int = 0


@dataclass
class Dashboard:
    sites: list[SiteHealth]
    open_alerts: int
    open_alerts_by_kind: dict[str, int]
    pollers_by_status: dict[str, int]
    #: (device id, latency in ms), worst first.
    worst_latency: list[tuple[int, float]]


def _scoped(stmt: Select, column: object, company_id: int | None) -> Select:
    return stmt if company_id is None else stmt.where(column == company_id)


async def dashboard(uow: UnitOfWork, company_id: int | None) -> Dashboard:
    """One company's figures (``None``: every company's)."""
    run = uow.session.execute
    sites: dict[int | None, SiteHealth] = {}
    site_rows = await run(_scoped(select(NetworkSite.id).order_by(NetworkSite.name,
                                                                  NetworkSite.id),
                                  NetworkSite.company_id, company_id))
    for (site_id,) in site_rows:
        sites[site_id] = SiteHealth(site_id)
    sites[None] = SiteHealth(None)
    counts = await run(_scoped(
        select(Device.network_site_id, Device.status, func.count())
        .where(Device.monitored.is_(True))
        .group_by(Device.network_site_id, Device.status), Device.company_id, company_id))
    for site_id, status, count in counts:
        sites.setdefault(site_id, SiteHealth(site_id)).by_status[status] = count
    per_site = await run(_scoped(
        select(Device.network_site_id, func.count())
        .select_from(Alert).join(Device, Device.id == Alert.device_id)
        .where(Alert.status.in_(OPEN)).group_by(Device.network_site_id),
        Alert.company_id, company_id))
    for site_id, count in per_site:
        sites.setdefault(site_id, SiteHealth(site_id)).open_alerts = count
    by_kind = dict((await run(_scoped(
        select(Alert.kind, func.count()).where(Alert.status.in_(OPEN)).group_by(Alert.kind),
        Alert.company_id, company_id))).all())
    pollers = dict((await run(_scoped(
        select(Poller.status, func.count()).where(Poller.active.is_(True))
        .group_by(Poller.status), Poller.company_id, company_id))).all())
    worst = (await run(_scoped(
        select(MetricState.device_id, func.max(MetricState.value).label("latency"))
        .join(MonitoringCheck, MonitoringCheck.id == MetricState.check_id)
        .join(Device, Device.id == MetricState.device_id)
        .where(MonitoringCheck.kind == CheckKind.ICMP_LATENCY,
               MetricState.value.is_not(None), Device.monitored.is_(True))
        .group_by(MetricState.device_id)
        .order_by(func.max(MetricState.value).desc(), MetricState.device_id).limit(WORST),
        MetricState.company_id, company_id))).all()
    for health in sites.values():
        for status in DeviceStatus:
            health.by_status.setdefault(status, 0)
    for status in PollerStatus:
        pollers.setdefault(status, 0)
    return Dashboard(sites=list(sites.values()), open_alerts=sum(by_kind.values()),
                     open_alerts_by_kind=by_kind, pollers_by_status=pollers,
                     worst_latency=[(d, float(v)) for d, v in worst])
