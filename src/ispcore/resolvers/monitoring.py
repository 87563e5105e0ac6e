"""Root fields for monitoring: devices, monitoring templates and their checks, pollers (and
the poller's own side: its workload and heartbeat), the network dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import func, select
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.monitoring import dashboard, devices, pollers, templates, workload
from ispcore.domain.monitoring import models as m
from ispcore.resolvers.billing import listing
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.mutations import mutate
from ispcore.resolvers.prefetch import prefetch, sub_selections
from ispcore.schema import monitoring as s
from ispcore.schema.accounts import Account, IdInput
from ispcore.schema.companies import Company
from ispcore.schema.ipam import NetworkSite
from ispcore.schema.monitoring import Device, MonitoringCheck, MonitoringTemplate, Poller
from ispcore.schema.nodes import decode_id, global_id
from ispcore.schema.permissions import requires

READ, WRITE = "monitoring:read", "monitoring:write"


@strawberry.type
class MonitoringQuery:
    devices = listing(Device, s.DEVICE_LISTING, (Device.model.name,
                                                 Device.model.management_address,
                                                 Device.model.sys_name),
                      "Network devices.", permission=READ)
    monitoring_templates = listing(MonitoringTemplate, s.TEMPLATE_LISTING,
                                   (MonitoringTemplate.model.name,),
                                   "Monitoring templates.", permission=READ)
    pollers = listing(Poller, s.POLLER_LISTING, (Poller.model.name,), "Pollers.",
                      permission=READ)


IDS = {"company_id": Company, "network_site_id": NetworkSite, "account_id": Account,
       "template_id": MonitoringTemplate, "network_site_ids": NetworkSite}


async def _create_device(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"device": await devices.create_device(uow, values_of(data, IDS))}


async def _update_device(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True,
                       nullable=("network_site_id", "account_id", "template_id"))
    return {"device": await devices.update_device(uow, pk(data.id, Device), values)}


async def _delete_device(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"deleted_id": global_id(await devices.delete_device(uow, pk(data.id, Device)))}


async def _create_template(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS)
    values["checks"] = [values_of(c) for c in values.get("checks") or []]
    return {"monitoring_template": await templates.create_template(uow, values)}


async def _update_template(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"monitoring_template": await templates.update_template(
        uow, pk(data.id, MonitoringTemplate), values_of(data, IDS, update=True))}


async def _delete_template(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row = await templates.delete_template(uow, pk(data.id, MonitoringTemplate))
    return {"deleted_id": global_id(row)}


async def _add_check(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"monitoring_check": await templates.add_check(uow, values_of(data, IDS))}


async def _update_check(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True, nullable=(
        "oid", "label_oid", "warning_threshold", "critical_threshold"))
    return {"monitoring_check": await templates.update_check(
        uow, pk(data.id, MonitoringCheck), values)}


async def _remove_check(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row = await templates.remove_check(uow, pk(data.id, MonitoringCheck))
    return {"deleted_id": global_id(row)}


async def _create_poller(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row, token = await pollers.create_poller(uow, values_of(data, IDS))
    return {"poller": row, "token": token}


async def _update_poller(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True, nullable=("network_site_ids", "subnets"))
    return {"poller": await pollers.update_poller(uow, pk(data.id, Poller), values)}


async def _rotate_token(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row, token = await pollers.rotate_token(uow, pk(data.id, Poller))
    return {"poller": row, "token": token}


async def _delete_poller(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"deleted_id": global_id(await pollers.delete_poller(uow, pk(data.id, Poller)))}


async def poller_device_count(info: Info, poller_id: int) -> int:
    """``Poller.deviceCount``: one grouped count for all the pollers of the response."""

    async def load(ids: Sequence[int]) -> list[int]:
        async with info.context.rows() as conn:
            found = dict((await conn.execute(
                select(m.Device.poller_id, func.count()).where(m.Device.poller_id.in_(ids))
                .group_by(m.Device.poller_id))).all())
        return [found.get(i, 0) for i in ids]

    return await info.context.loaders.batch("pollerDeviceCount", load).load(poller_id)


def _workload(w: workload.Workload) -> s.PollerWorkload:
    def snmp(d: workload.PolledDevice) -> s.SnmpAccess | None:
        c = d.snmp
        return None if c is None else s.SnmpAccess(
            version=c.version, port=c.port, community=c.community, username=c.username,
            auth_protocol=c.auth_protocol, auth_key=c.auth_key,
            priv_protocol=c.priv_protocol, priv_key=c.priv_key,
            timeout_ms=d.snmp_timeout_ms, retries=d.snmp_retries)

    return s.PollerWorkload(
        poller_id=relay.GlobalID("Poller", str(w.poller_id)), concurrency=w.concurrency,
        heartbeat_seconds=w.heartbeat_seconds, devices=[s.PolledDevice(
            device_id=relay.GlobalID("Device", str(d.device_id)), name=d.name,
            address=d.address, interval_seconds=d.interval_seconds, snmp=snmp(d),
            icmp=None if d.icmp is None else s.IcmpProbe(count=d.icmp[0],
                                                         timeout_ms=d.icmp[1]),
            checks=[s.PolledCheck(check_id=relay.GlobalID("MonitoringCheck", str(c.check_id)),
                                  name=c.name, kind=c.kind, oid=c.oid,
                                  value_type=c.value_type, label_oid=c.label_oid)
                    for c in d.checks]) for d in w.devices])


async def _heartbeat(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"poller": await pollers.heartbeat(uow, uow.actor.poller_id,  # type: ignore[arg-type]
                                              version=data.version,
                                              lag_seconds=data.lag_seconds)}


@strawberry.type
class MonitoringConfigQuery:
    @strawberry.field(extensions=s.poller_only(), description="The devices the calling "
                      "poller polls, with their credentials and checks (poller tokens only).")
    async def poller_workload(self, info: Info) -> s.PollerWorkload:
        actor = info.context.actor
        try:
            async with info.context.unit_of_work("pollerWorkload") as uow:
                found = await workload.workload(uow, actor.poller_id, actor.company_id)
        except DomainError as exc:  # sealed secrets the server cannot open (no vault key)
            raise GraphQLError(exc.message, extensions={"code": exc.code.value}) from None
        return _workload(found)

    @strawberry.field(extensions=requires(READ), description="Devices by status per network "
                      "site, open alerts, pollers and the worst-latency devices; of one "
                      "company, or of all when companyId is omitted.")
    async def network_dashboard(self, info: Info, company_id: relay.GlobalID | None = None
                                ) -> s.NetworkDashboard:
        company = None
        if company_id is not None:
            try:
                company = decode_id(company_id, Company, "company_id")
            except DomainError as exc:
                raise GraphQLError(exc.message, extensions={"code": "BAD_USER_INPUT"}) from None
        async with info.context.unit_of_work("networkDashboard") as uow:
            d = await dashboard.dashboard(uow, company)
        return s.NetworkDashboard(
            open_alerts=d.open_alerts,
            open_alerts_by_kind=[s.AlertKindCount(kind=k, count=c)
                                 for k, c in sorted(d.open_alerts_by_kind.items())],
            pollers_up=d.pollers_by_status["UP"], pollers_down=d.pollers_by_status["DOWN"],
            pollers_never_seen=d.pollers_by_status["NEVER_SEEN"], figures=d)


async def _nodes(info: Info, node_type: Any, ids: list[int], below: str) -> dict[int, Any]:
    """Nodes by id through the request's loader (one query), with the relations selected
    under the field ``below`` prefetched for all of them at once."""
    rows = await info.context.loaders.nodes(node_type).load_many(ids)
    nodes = {i: node_type.from_model(r) for i, r in zip(ids, rows, strict=True)
             if r is not None}
    await prefetch(info.context, node_type, list(nodes.values()),
                   sub_selections(info.selected_fields[0].selections, below))
    return nodes


async def dashboard_sites(info: Info, d: dashboard.Dashboard) -> list[s.SiteHealth]:
    sites = await _nodes(info, NetworkSite, [h.site_id for h in d.sites if h.site_id],
                         "networkSite")
    return [s.SiteHealth(network_site=sites.get(h.site_id) if h.site_id else None,
                         up=h.by_status["UP"], warning=h.by_status["WARNING"],
                         down=h.by_status["DOWN"], unknown=h.by_status["UNKNOWN"],
                         total=sum(h.by_status.values()), open_alerts=h.open_alerts)
            for h in d.sites if h.site_id is None or h.site_id in sites]


async def dashboard_worst_latency(info: Info, d: dashboard.Dashboard) -> list[s.DeviceLatency]:
    found = await _nodes(info, Device, [i for i, _ in d.worst_latency], "device")
    return [s.DeviceLatency(device=found[i], latency_ms=v) for i, v in d.worst_latency
            if i in found]


@strawberry.type
class MonitoringMutation:
    create_device = command(
        _create_device, input_type=s.CreateDeviceInput, permission=WRITE,
        payload=payload_type("CreateDevice", "device", Device),
        description="Add a device; the poller whose scope holds it owns it.")
    update_device = command(
        _update_device, input_type=s.UpdateDeviceInput, permission=WRITE,
        payload=payload_type("UpdateDevice", "device", Device),
        description="Change a device (a new address or site may move it to another poller).")
    delete_device = command(
        _delete_device, input_type=IdInput, permission=WRITE,
        payload=payload_type("DeleteDevice", "deleted_id", Device),
        description="Delete a device with its history and alerts.")
    create_monitoring_template = command(
        _create_template, input_type=s.CreateMonitoringTemplateInput, permission=WRITE,
        payload=payload_type("CreateMonitoringTemplate", "monitoring_template",
                             MonitoringTemplate),
        description="Create a template, from a preset and/or with its first checks.")
    update_monitoring_template = command(
        _update_template, input_type=s.UpdateMonitoringTemplateInput, permission=WRITE,
        payload=payload_type("UpdateMonitoringTemplate", "monitoring_template",
                             MonitoringTemplate),
        description="Change a template's name, interval, probe and SNMP settings.")
    delete_monitoring_template = command(
        _delete_template, input_type=IdInput, permission=WRITE,
        payload=payload_type("DeleteMonitoringTemplate", "deleted_id", MonitoringTemplate),
        description="Delete a template no device uses.")
    add_monitoring_check = command(
        _add_check, input_type=s.AddMonitoringCheckInput, permission=WRITE,
        payload=payload_type("AddMonitoringCheck", "monitoring_check", MonitoringCheck),
        description="Add a check to a template.")
    update_monitoring_check = command(
        _update_check, input_type=s.UpdateMonitoringCheckInput, permission=WRITE,
        payload=payload_type("UpdateMonitoringCheck", "monitoring_check", MonitoringCheck),
        description="Change a check (its history stays).")
    remove_monitoring_check = command(
        _remove_check, input_type=IdInput, permission=WRITE,
        payload=payload_type("RemoveMonitoringCheck", "deleted_id", MonitoringCheck),
        description="Remove a check with its history.")
    create_poller = command(
        _create_poller, input_type=s.CreatePollerInput, permission=WRITE,
        payload=s.CreatePollerPayload,
        description="Register a poller; its token is in the payload, shown this once.")
    update_poller = command(
        _update_poller, input_type=s.UpdatePollerInput, permission=WRITE,
        payload=payload_type("UpdatePoller", "poller", Poller),
        description="Change a poller, its scopes or whether it is active (its devices' "
                    "owners are recomputed).")
    rotate_poller_token = command(
        _rotate_token, input_type=IdInput, permission=WRITE,
        payload=s.RotatePollerTokenPayload,
        description="A new token for a poller (shown once); the old one stops at once.")
    delete_poller = command(
        _delete_poller, input_type=IdInput, permission=WRITE,
        payload=payload_type("DeletePoller", "deleted_id", Poller),
        description="Delete a poller; its devices go to the next matching poller, if any.")

    @strawberry.mutation(extensions=s.poller_only(), description="The calling poller reports "
                         "in (poller tokens only): it is UP, with its version and lag.")
    async def poller_heartbeat(self, info: Info, input: s.PollerHeartbeatInput
                               ) -> s.PollerHeartbeatPayload:
        return await mutate(info, s.PollerHeartbeatPayload,
                            lambda uow: _heartbeat(uow, input))
