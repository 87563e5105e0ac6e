"""Monitoring types: devices, monitoring templates and their checks, pollers."""

from __future__ import annotations

import asyncio
import enum
from datetime import datetime
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry import UNSET, relay
from strawberry.extensions import FieldExtension
from strawberry.permission import PermissionExtension
from strawberry.types import Info

from ispcore.domain.monitoring import models as m
from ispcore.domain.monitoring.flapping import is_flapping
from ispcore.domain.monitoring.templates import PRESETS
from ispcore.schema.accounts import Account
from ispcore.schema.errors import UserError
from ispcore.schema.filtering import (
    BooleanFilter,
    DateTimeFilter,
    IdOf,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.ipam import NetworkSite
from ispcore.schema.monitoring_results import MetricGranularity, MetricReading, MetricSeries
from ispcore.schema.nodes import ModelNode, model_node, related
from ispcore.schema.permissions import Require, denied
from ispcore.schema.relations import Many, One, Rows, relation

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


@strawberry.type(description="The network sites and subnets a poller owns.")
class PollerScopes:
    subnets: list[str] = strawberry.field(description="CIDR blocks, canonical.")
    site_ids: strawberry.Private[list[int]]

    @strawberry.field
    async def network_sites(self, info: Info) -> list[NetworkSite]:
        found = await asyncio.gather(*(related(info, NetworkSite, pk) for pk in self.site_ids))
        return [site for site in found if site is not None]


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

    scopes: PollerScopes = relation(
        Rows(m.PollerScope, "poller_id", build=lambda rows: PollerScopes(
            site_ids=[r.network_site_id for r in rows if r.network_site_id is not None],
            subnets=[r.cidr for r in rows if r.cidr is not None])),
        description="What it owns: devices in these subnets (longest prefix first), else "
                    "at these network sites.")

    @strawberry.field(description="Devices it owns now (by its scopes).")
    async def device_count(self, info: Info) -> int:
        from ispcore.resolvers.monitoring import poller_device_count

        return await poller_device_count(info, self.pk)


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
    flapping_until: strawberry.Private[datetime | None]

    @strawberry.field(description="Its status keeps changing: its changes raise no alerts "
                      "until it is stable for a while (see the README's alerts section).")
    def flapping(self, info: Info) -> bool:
        return is_flapping(self.flapping_until, info.context.runtime.clock.now())

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


# --- writing: devices, templates and checks, pollers --------------------------------------

MonitoringTemplatePreset = strawberry.enum(
    enum.Enum("MonitoringTemplatePreset", {name: name for name in PRESETS}),
    description="A starting set of checks: ROUTER_BASICS is sysUpTime, ifHCInOctets and "
                "ifHCOutOctets walked per interface (bit/s, labelled by ifName), and ICMP "
                "latency and loss.")


@strawberry.input(description="SNMP secrets are write-only: sealed with the server's vault "
                  "key, never shown.")
class CreateDeviceInput:
    company_id: relay.GlobalID
    name: str
    management_address: str = strawberry.field(description="IPv4 or IPv6; stored canonical.")
    description: str | None = UNSET
    network_site_id: relay.GlobalID | None = UNSET
    account_id: relay.GlobalID | None = strawberry.field(
        default=UNSET, description="For customer premises equipment.")
    serial_number: str | None = UNSET
    mac_address: str | None = strawberry.field(default=UNSET, description="Any usual "
                                               "notation; stored as AA:BB:CC:DD:EE:FF.")
    template_id: relay.GlobalID | None = UNSET
    monitored: bool | None = strawberry.field(default=UNSET, description="Default true.")
    snmp_version: SnmpVersion | None = strawberry.field(default=UNSET,
                                                        description="Default NONE.")
    snmp_port: int | None = strawberry.field(default=UNSET, description="Default 161.")
    snmp_community: str | None = strawberry.field(default=UNSET, description="V2C.")
    snmp_username: str | None = strawberry.field(default=UNSET, description="V3.")
    snmp_auth_protocol: SnmpAuthProtocol | None = UNSET
    snmp_auth_key: str | None = strawberry.field(default=UNSET, description="V3, at least "
                                                 "8 characters.")
    snmp_priv_protocol: SnmpPrivProtocol | None = UNSET
    snmp_priv_key: str | None = strawberry.field(default=UNSET, description="V3, at least "
                                                 "8 characters.")


@strawberry.input(description="Omitted fields stay (secrets too). Changing the SNMP version "
                  "(or a protocol to NONE) drops the secrets it no longer uses.")
class UpdateDeviceInput:
    id: relay.GlobalID
    name: str | None = UNSET
    management_address: str | None = UNSET
    description: str | None = UNSET
    network_site_id: relay.GlobalID | None = UNSET
    account_id: relay.GlobalID | None = UNSET
    serial_number: str | None = UNSET
    mac_address: str | None = UNSET
    template_id: relay.GlobalID | None = UNSET
    monitored: bool | None = UNSET
    snmp_version: SnmpVersion | None = UNSET
    snmp_port: int | None = UNSET
    snmp_community: str | None = UNSET
    snmp_username: str | None = UNSET
    snmp_auth_protocol: SnmpAuthProtocol | None = UNSET
    snmp_auth_key: str | None = UNSET
    snmp_priv_protocol: SnmpPrivProtocol | None = UNSET
    snmp_priv_key: str | None = UNSET


@strawberry.input(description="A check. OIDs are numeric and dotted (1.3.6.1.2.1.1.3.0): MIB "
                  "names are not looked up. ICMP checks have no OID and are GAUGE.")
class MonitoringCheckInput:
    name: str = strawberry.field(description="The metric name, unique in the template.")
    kind: CheckKind
    oid: str | None = None
    value_type: ValueType | None = strawberry.field(default=UNSET, description="Default "
                                                    "GAUGE.")
    label_oid: str | None = strawberry.field(default=None, description="SNMP_WALK only: the "
                                             "column labelling each row (ifName).")
    unit: str | None = UNSET
    scale: float | None = strawberry.field(default=UNSET, description="Default 1 (8 turns "
                                           "octets into bits).")
    direction: ThresholdDirection | None = strawberry.field(default=UNSET,
                                                            description="Default ABOVE.")
    warning_threshold: float | None = None
    critical_threshold: float | None = None


@strawberry.input
class AddMonitoringCheckInput(MonitoringCheckInput):
    template_id: relay.GlobalID


@strawberry.input(description="Omitted fields stay; oid, labelOid and thresholds may be "
                  "set to null.")
class UpdateMonitoringCheckInput:
    id: relay.GlobalID
    name: str | None = UNSET
    kind: CheckKind | None = UNSET
    oid: str | None = UNSET
    value_type: ValueType | None = UNSET
    label_oid: str | None = UNSET
    unit: str | None = UNSET
    scale: float | None = UNSET
    direction: ThresholdDirection | None = UNSET
    warning_threshold: float | None = UNSET
    critical_threshold: float | None = UNSET


@strawberry.input
class CreateMonitoringTemplateInput:
    company_id: relay.GlobalID
    name: str
    description: str | None = UNSET
    interval_seconds: int | None = strawberry.field(default=UNSET, description="10 to 86400; "
                                                    "default 60.")
    icmp_count: int | None = strawberry.field(default=UNSET, description="1 to 20; default 3.")
    icmp_timeout_ms: int | None = strawberry.field(default=UNSET, description="100 to 10000; "
                                                   "default 1000.")
    snmp_timeout_ms: int | None = strawberry.field(default=UNSET, description="100 to 60000; "
                                                   "default 2000.")
    snmp_retries: int | None = strawberry.field(default=UNSET, description="0 to 5; "
                                                "default 1.")
    preset: MonitoringTemplatePreset | None = strawberry.field(
        default=UNSET, description="Start from these checks (before `checks`).")
    checks: list[MonitoringCheckInput] | None = strawberry.field(
        default=UNSET, description="Its first checks; change them later with "
        "addMonitoringCheck, updateMonitoringCheck and removeMonitoringCheck.")


@strawberry.input(description="Omitted fields stay. Checks change with their own mutations.")
class UpdateMonitoringTemplateInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET
    interval_seconds: int | None = UNSET
    icmp_count: int | None = UNSET
    icmp_timeout_ms: int | None = UNSET
    snmp_timeout_ms: int | None = UNSET
    snmp_retries: int | None = UNSET


@strawberry.input
class CreatePollerInput:
    company_id: relay.GlobalID
    name: str
    description: str | None = UNSET
    concurrency: int | None = strawberry.field(default=UNSET, description="1 to 1024; "
                                               "default 64.")
    active: bool | None = UNSET
    network_site_ids: list[relay.GlobalID] | None = strawberry.field(
        default=UNSET, description="It owns the devices at these sites (unless a subnet "
        "scope of some poller holds their address).")
    subnets: list[str] | None = strawberry.field(
        default=UNSET, description="It owns the devices whose management address is in "
        "these CIDR blocks (the longest prefix wins across pollers).")


@strawberry.input(description="Omitted fields stay; networkSiteIds and subnets, when either "
                  "is given, replace all the scopes.")
class UpdatePollerInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET
    concurrency: int | None = UNSET
    active: bool | None = strawberry.field(default=UNSET, description="An inactive poller's "
                                           "token is refused and it owns nothing.")
    network_site_ids: list[relay.GlobalID] | None = UNSET
    subnets: list[str] | None = UNSET


@strawberry.type
class PollerTokenFields:
    """The poller and its token (not a type of its own in the schema)."""

    poller: Poller | None = None
    token: str | None = strawberry.field(default=None, description="isp_pol_… : give it to "
                                         "`ispcore poller` as ISPCORE_POLLER_TOKEN; it is "
                                         "not shown again.")
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="The new poller and its token, shown this once.")
class CreatePollerPayload(PollerTokenFields):
    pass


@strawberry.type(description="The poller and its new token, shown this once.")
class RotatePollerTokenPayload(PollerTokenFields):
    pass


# --- the poller's side (poller tokens only) -------------------------------------------------

POLL = "monitoring:poll"


class RequirePoller(Require):
    """``monitoring:poll``, and the caller must be a poller: a user's token (an admin's too)
    is refused, so one cannot be used by mistake to run a poller."""

    def __init__(self) -> None:
        super().__init__(POLL)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        actor = info.context.actor
        if actor.poller_id is not None and actor.can(POLL):
            return True
        if not actor.authenticated:
            raise denied(actor, POLL)
        raise GraphQLError("Only a poller token (isp_pol_…) may call this; a user's token "
                           "may not, an admin's neither.",
                           extensions={"code": "FORBIDDEN", "permission": POLL})


def poller_only() -> list[FieldExtension]:
    """The ``extensions=`` of a field only pollers call."""
    return [PermissionExtension(permissions=[RequirePoller()], use_directives=False)]


@strawberry.type(description="How to reach a device by SNMP (secrets in clear, for its "
                 "poller only).")
class SnmpAccess:
    version: SnmpVersion
    port: int
    community: str
    username: str
    auth_protocol: SnmpAuthProtocol
    auth_key: str
    priv_protocol: SnmpPrivProtocol
    priv_key: str
    timeout_ms: int
    retries: int


@strawberry.type(description="How to ping a device.")
class IcmpProbe:
    count: int
    timeout_ms: int


@strawberry.type(description="An SNMP check to run on a device.")
class PolledCheck:
    check_id: relay.GlobalID
    name: str
    kind: CheckKind
    oid: str
    value_type: ValueType
    label_oid: str | None


@strawberry.type(description="A device to poll.")
class PolledDevice:
    device_id: relay.GlobalID
    name: str
    address: str
    interval_seconds: int
    snmp: SnmpAccess | None = strawberry.field(description="Null: ICMP only.")
    icmp: IcmpProbe | None = strawberry.field(description="Null: its template has no ICMP "
                                              "check.")
    checks: list[PolledCheck] = strawberry.field(description="SNMP checks only.")


@strawberry.type(description="What the calling poller polls, and how.")
class PollerWorkload:
    poller_id: relay.GlobalID
    concurrency: int
    heartbeat_seconds: int
    devices: list[PolledDevice]


@strawberry.input
class PollerHeartbeatInput:
    version: str
    lag_seconds: float = strawberry.field(description="How far behind its schedule it is.")


@strawberry.type
class PollerHeartbeatPayload:
    poller: Poller | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


# --- the network dashboard ------------------------------------------------------------------

@strawberry.type(description="Monitored devices of one network site by status, and their "
                 "open alerts.")
class SiteHealth:
    network_site: NetworkSite | None = strawberry.field(description="Null: the devices with "
                                                        "no site.")
    up: int
    warning: int
    down: int
    unknown: int
    total: int
    open_alerts: int = strawberry.field(description="OPEN or ACKNOWLEDGED alerts of its "
                                        "devices.")


@strawberry.type
class AlertKindCount:
    kind: str = strawberry.field(description="DEVICE_DOWN, THRESHOLD or POLLER_DOWN.")
    count: int


@strawberry.type
class DeviceLatency:
    device: Device
    latency_ms: float = strawberry.field(description="Its latest ICMP latency reading.")


@strawberry.type(description="The network at a glance.")
class NetworkDashboard:
    open_alerts: int = strawberry.field(description="OPEN or ACKNOWLEDGED alerts.")
    open_alerts_by_kind: list[AlertKindCount]
    pollers_up: int = strawberry.field(description="Active pollers by status.")
    pollers_down: int
    pollers_never_seen: int
    figures: strawberry.Private[Any]

    @strawberry.field(description="Every network site (by name), then the devices with no "
                      "site.")
    async def sites(self, info: Info) -> list[SiteHealth]:
        from ispcore.resolvers.monitoring import dashboard_sites

        return await dashboard_sites(info, self.figures)

    @strawberry.field(description="The 10 monitored devices with the highest latency, worst "
                      "first.")
    async def worst_latency(self, info: Info) -> list[DeviceLatency]:
        from ispcore.resolvers.monitoring import dashboard_worst_latency

        return await dashboard_worst_latency(info, self.figures)
