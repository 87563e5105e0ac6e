"""Monitoring types: devices, monitoring templates and their checks, pollers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from ispcore.domain.monitoring import models as m
from ispcore.schema.accounts import Account
from ispcore.schema.filtering import (
    BooleanFilter,
    DateTimeFilter,
    IdOf,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.ipam import NetworkSite
from ispcore.schema.monitoring_results import MetricGranularity, MetricReading, MetricSeries
from ispcore.schema.nodes import ModelNode, model_node
from ispcore.schema.relations import Many, One, relation

READ = "monitoring:read"

SnmpVersion = strawberry.enum(m.SnmpVersion, description="NONE: ICMP only.")
SnmpAuthProtocol = strawberry.enum(m.SnmpAuthProtocol, description="SNMPv3 authentication.")
SnmpPrivProtocol = strawberry.enum(m.SnmpPrivProtocol, description="SNMPv3 privacy "
                                   "(encryption).")
CheckKind = strawberry.enum(m.CheckKind, description="ICMP_LATENCY (ms) and ICMP_LOSS (%) "
                            "come from one ping per poll; SNMP_GET reads one OID; SNMP_WALK "
                            "walks a subtree with GETBULK, one instance per row (an "
                            "interface table column).")
ValueType = strawberry.enum(m.ValueType, description="COUNTER values are stored as rates per "
                            "second (wraps of 32-bit counters are handled; a reset gives no "
                            "rate for that poll).")
ThresholdDirection = strawberry.enum(m.ThresholdDirection, description="ABOVE: breached at or "
                                     "above the threshold; BELOW: at or below it.")
CheckState = strawberry.enum(m.CheckState)
DeviceStatus = strawberry.enum(m.DeviceStatus, description="UNKNOWN until first polled; DOWN "
                               "when it does not answer; WARNING when a check is past a "
                               "threshold.")
PollerStatus = strawberry.enum(m.PollerStatus)


@strawberry.type(description="One check of a monitoring template.")
@model_node(m.MonitoringCheck, read_permission=READ)
class MonitoringCheck(ModelNode):
    name: str = strawberry.field(description="The metric name (unique in the template).")
    kind: CheckKind
    oid: str | None = strawberry.field(description="Numeric OID, dotted; null for ICMP.")
    value_type: ValueType
    label_oid: str | None = strawberry.field(description="For walks: the column whose value "
                                             "at the same index labels each instance "
                                             "(ifName).")
    unit: str
    scale: float = strawberry.field(description="Stored value = value read (or rate) x scale.")
    direction: ThresholdDirection
    warning_threshold: float | None
    critical_threshold: float | None
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    template_id: strawberry.Private[int]


@strawberry.type(description="Which checks a device gets, and how often.")
@model_node(m.MonitoringTemplate, read_permission=READ)
class MonitoringTemplate(ModelNode):
    name: str
    description: str
    interval_seconds: int
    icmp_count: int = strawberry.field(description="ICMP probes per poll.")
    icmp_timeout_ms: int
    snmp_timeout_ms: int
    snmp_retries: int
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    checks: list[MonitoringCheck] = relation(
        Many("MonitoringCheck", "template_id", order_by=("name",)))


@strawberry.type(description="An `ispcore poller` process inside the network: it polls the "
                 "devices it owns (by site or subnet) and pushes results through the API.")
@model_node(m.Poller, read_permission=READ)
class Poller(ModelNode):
    name: str
    description: str
    concurrency: int = strawberry.field(description="Requests in flight at once.")
    active: bool
    status: PollerStatus
    status_changed_at: datetime | None
    last_heartbeat_at: datetime | None
    last_submission_at: datetime | None
    lag_seconds: float | None = strawberry.field(description="How far behind its schedule it "
                                                 "said it was at its last heartbeat.")
    reported_version: str
    reported_address: str
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]


@strawberry.type(description="A network device: router, switch, access point, radio or CPE. "
                 "SNMP secrets are sealed and never shown.")
@model_node(m.Device, read_permission=READ)
class Device(ModelNode):
    name: str
    description: str
    management_address: str
    serial_number: str
    mac_address: str
    monitored: bool
    snmp_version: SnmpVersion
    snmp_port: int
    snmp_username: str
    snmp_auth_protocol: SnmpAuthProtocol
    snmp_priv_protocol: SnmpPrivProtocol
    status: DeviceStatus
    status_changed_at: datetime | None
    last_polled_at: datetime | None
    last_error: str | None = strawberry.field(description="Why the last poll (or part of it) "
                                              "failed, e.g. an SNMP timeout; null if it "
                                              "did not.")
    sys_name: str = strawberry.field(description="sysName as the device last reported it.")
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    network_site_id: strawberry.Private[int | None]
    account_id: strawberry.Private[int | None]
    template_id: strawberry.Private[int | None]
    poller_id: strawberry.Private[int | None]

    network_site: NetworkSite | None = relation(One("NetworkSite", "network_site_id"))
    account: Account | None = relation(One("Account", "account_id"),
                                       description="The customer whose premises it is on.")
    template: MonitoringTemplate | None = relation(One("MonitoringTemplate", "template_id"))
    poller: Poller | None = relation(One("Poller", "poller_id"),
                                     description="The poller that owns it (by site or "
                                     "subnet); null: none does, so it is not polled.")

    @strawberry.field(description="History of one of its template's metrics over [from, "
                      "to): one series per instance (only `instance` when given).")
    async def metrics(
            self, info: Info, name: str,
            start: Annotated[datetime, strawberry.argument(name="from")],
            to: datetime,
            granularity: MetricGranularity | None = MetricGranularity.AUTO,
            instance: str | None = None,
    ) -> list[MetricSeries]:
        from ispcore.resolvers.monitoring_results import device_metrics

        return await device_metrics(info, self, name, start, to, granularity, instance)

    @strawberry.field(description="The last reading of each of its metrics.")
    async def readings(self, info: Info
                       ) -> list[MetricReading]:
        from ispcore.resolvers.monitoring_results import device_readings

        return await device_readings(info, self)


DEVICE_LISTING = listing_inputs(
    "Device", {"id": IdOf("Device"), "company_id": IdOf("Company"), "name": StringFilter,
               "management_address": StringFilter, "status": StringFilter,
               "network_site_id": IdOf("NetworkSite"), "account_id": IdOf("Account"),
               "poller_id": IdOf("Poller"), "monitored": BooleanFilter,
               "last_polled_at": DateTimeFilter},
    order_by=["name", "created_at", "status", "last_polled_at"])
TEMPLATE_LISTING = listing_inputs(
    "MonitoringTemplate", {"id": IdOf("MonitoringTemplate"), "company_id": IdOf("Company"),
                           "name": StringFilter}, order_by=["name", "created_at"])
POLLER_LISTING = listing_inputs(
    "Poller", {"id": IdOf("Poller"), "company_id": IdOf("Company"), "name": StringFilter,
               "status": StringFilter, "active": BooleanFilter},
    order_by=["name", "created_at"])
