"""What a poller polls: its monitored devices that have a template, with their credentials
opened and their template's checks. Three reads however many devices it owns."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.monitoring.credentials import SnmpCredentials, snmp_credentials
from ispcore.domain.monitoring.models import (
    Device,
    MonitoringCheck,
    MonitoringTemplate,
    Poller,
)
from ispcore.domain.monitoring.templates import ICMP_KINDS


@dataclass(frozen=True)
class PolledCheck:
    check_id: int
    name: str
    kind: str
    oid: str
    value_type: str
    label_oid: str | None


@dataclass(frozen=True)
class PolledDevice:
    device_id: int
    name: str
    address: str
    interval_seconds: int
    snmp: SnmpCredentials | None
    snmp_timeout_ms: int
    snmp_retries: int
    #: (probes, timeout in ms) when the template has an ICMP check, else ``None``.
    icmp: tuple[int, int] | None
    checks: list[PolledCheck]


@dataclass(frozen=True)
class Workload:
    poller_id: int
    concurrency: int
    heartbeat_seconds: int
    devices: list[PolledDevice]


async def workload(uow: UnitOfWork, poller_id: int, company_id: int) -> Workload:
    poller = await uow.session.get(Poller, poller_id)
    assert poller is not None and poller.company_id == company_id
    pairs = (await uow.session.execute(
        select(Device, MonitoringTemplate)
        .join(MonitoringTemplate, MonitoringTemplate.id == Device.template_id)
        .where(Device.poller_id == poller_id, Device.company_id == company_id,
               Device.monitored.is_(True))
        .order_by(Device.id))).all()
    checks: dict[int, list[MonitoringCheck]] = {}
    template_ids = {t.id for _, t in pairs}
    if template_ids:
        for check in await uow.session.scalars(
                select(MonitoringCheck).where(MonitoringCheck.template_id.in_(template_ids))
                .order_by(MonitoringCheck.id)):
            checks.setdefault(check.template_id, []).append(check)
    vault_key = uow.settings.vault_key
    devices = []
    for device, template in pairs:
        own = checks.get(template.id, [])
        snmp = snmp_credentials(vault_key, device)
        devices.append(PolledDevice(
            device_id=device.id, name=device.name, address=device.management_address,
            interval_seconds=template.interval_seconds, snmp=snmp,
            snmp_timeout_ms=template.snmp_timeout_ms, snmp_retries=template.snmp_retries,
            icmp=((template.icmp_count, template.icmp_timeout_ms)
                  if any(c.kind in ICMP_KINDS for c in own) else None),
            checks=[PolledCheck(c.id, c.name, c.kind, c.oid or "", c.value_type, c.label_oid)
                    for c in own if c.kind not in ICMP_KINDS and snmp is not None]))
    return Workload(poller_id=poller.id, concurrency=poller.concurrency,
                    heartbeat_seconds=uow.settings.poller_heartbeat_seconds, devices=devices)
