"""Alert types: alerts about devices, checks and pollers, and the alerting rotations that
are told about them."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET, relay
from strawberry.types import Info

from ispcore.domain.monitoring import models as m
from ispcore.schema.filtering import (
    BooleanFilter,
    DateTimeFilter,
    IdOf,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.monitoring import Device, MonitoringCheck, Poller
from ispcore.schema.nodes import ModelNode, model_node, related
from ispcore.schema.relations import One, Rows, relation
from ispcore.schema.webhooks import Webhook

if TYPE_CHECKING:
    from ispcore.schema.identity import User

READ = "monitoring:read"

AlertKind = strawberry.enum(m.AlertKind, description="DEVICE_DOWN: a device stopped "
                            "answering; THRESHOLD: a check went past its critical "
                            "threshold; POLLER_DOWN: a poller stopped reporting.")
AlertStatus = strawberry.enum(m.AlertStatus, description="OPEN (escalates until "
                              "acknowledged), ACKNOWLEDGED (someone took it), CLOSED (the "
                              "subject recovered).")


@strawberry.type(description="Someone on call some days of the week between two times "
                 "(company time zone), at an escalation level (1 first).")
class RotationShift:
    level: int
    weekdays: list[int] = strawberry.field(description="ISO weekdays the shift starts on: 1 "
                                           "Monday ... 7 Sunday.")
    start_minute: int = strawberry.field(description="Minute of the day it starts, 0-1439.")
    end_minute: int = strawberry.field(description="Minute of the day it ends (exclusive, "
                                       "1440 is midnight); not after the start: it runs past "
                                       "midnight into the next day.")
    user_id: strawberry.Private[int]

    @strawberry.field
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy(
            "ispcore.schema.identity")] | None:
        from ispcore.schema.identity import User

        return await related(info, User, self.user_id)


def _shifts(rows: list[m.RotationShift]) -> list[RotationShift]:
    return [RotationShift(level=r.level, weekdays=list(r.weekdays),
                          start_minute=r.start_minute, end_minute=r.end_minute,
                          user_id=r.user_id)
            for r in sorted(rows, key=lambda r: (r.level, r.start_minute, r.id))]


@strawberry.type(description="Who is told about alerts, by schedule: the members on call at "
                 "level 1 first; an alert nobody acknowledges within escalateAfterMinutes "
                 "goes to the next level that has anyone on call.")
@model_node(m.AlertingRotation, read_permission=READ)
class AlertingRotation(ModelNode):
    name: str
    description: str
    escalate_after_minutes: int
    active: bool
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    webhook_id: strawberry.Private[int | None]
    network_site_ids: strawberry.Private[list[int]]

    webhook: Webhook | None = relation(One("Webhook", "webhook_id"), description="Also "
                                       "receives alert.notified (the endpoint need not "
                                       "subscribe to it).")
    shifts: list[RotationShift] = relation(Rows(m.RotationShift, "rotation_id",
                                                order_by=("level", "start_minute", "id"),
                                                build=_shifts))

    @strawberry.field(name="networkSiteIds", description="The sites whose devices' alerts "
                      "it receives; empty: every site (and devices with none).")
    def site_ids(self) -> list[relay.GlobalID]:
        return [relay.GlobalID("NetworkSite", str(i)) for i in self.network_site_ids]


@strawberry.type(description="An alert: a device down, a check past its critical threshold "
                 "or a silent poller. At most one is open per subject; it closes on "
                 "recovery.")
@model_node(m.Alert, read_permission=READ)
class Alert(ModelNode):
    kind: AlertKind
    status: AlertStatus
    subject_key: str = strawberry.field(description="device:<id>, check:<device>:<check>:"
                                        "<instance> or poller:<id>.")
    message: str
    value: float | None = strawberry.field(description="The value that breached the "
                                           "threshold (THRESHOLD alerts).")
    instance: str = strawberry.field(description="The check's instance (an interface index); "
                                     "empty for scalars.")
    opened_at: datetime
    acknowledged_at: datetime | None
    closed_at: datetime | None
    notified_level: int = strawberry.field(description="The escalation level last notified "
                                           "(0: nobody yet).")
    notified_at: datetime | None
    company_id: strawberry.Private[int]
    device_id: strawberry.Private[int | None]
    check_id: strawberry.Private[int | None]
    poller_id: strawberry.Private[int | None]
    rotation_id: strawberry.Private[int | None]
    acknowledged_by_id: strawberry.Private[int | None]

    device: Device | None = relation(One("Device", "device_id"))
    poller: Poller | None = relation(One("Poller", "poller_id"))
    check: MonitoringCheck | None = relation(One("MonitoringCheck", "check_id"))
    rotation: AlertingRotation | None = relation(
        One("AlertingRotation", "rotation_id"), description="The first rotation (by id) "
        "covering it; every covering rotation is notified.")
    acknowledged_by: Annotated[User, strawberry.lazy("ispcore.schema.identity")] | None = (
        relation(One("User", "acknowledged_by_id")))


@strawberry.type(description="Someone on call at a level.")
class OnCallEntry:
    level: int
    user_id: strawberry.Private[int]

    @strawberry.field
    async def user(self, info: Info) -> Annotated[User, strawberry.lazy(
            "ispcore.schema.identity")] | None:
        from ispcore.schema.identity import User

        return await related(info, User, self.user_id)


ALERT_LISTING = listing_inputs(
    "Alert", {"id": IdOf("Alert"), "company_id": IdOf("Company"), "status": StringFilter,
              "kind": StringFilter, "device_id": IdOf("Device"), "poller_id": IdOf("Poller"),
              "subject_key": StringFilter, "opened_at": DateTimeFilter,
              "closed_at": DateTimeFilter},
    order_by=["opened_at", "notified_level"])
ROTATION_LISTING = listing_inputs(
    "AlertingRotation", {"id": IdOf("AlertingRotation"), "company_id": IdOf("Company"),
                         "name": StringFilter, "active": BooleanFilter},
    order_by=["name", "created_at"])


@strawberry.input(description="Someone on call on some weekdays between two times.")
class RotationShiftInput:
    user_id: relay.GlobalID
    weekdays: list[int] = strawberry.field(description="ISO weekdays: 1 Monday ... 7 Sunday.")
    level: int = 1
    start_minute: int = strawberry.field(default=0, description="0-1439.")
    end_minute: int = strawberry.field(default=1440, description="1-1440 (exclusive); not "
                                       "after the start: runs past midnight.")


@strawberry.input
class CreateAlertingRotationInput:
    company_id: relay.GlobalID
    name: str
    description: str | None = UNSET
    network_site_ids: list[relay.GlobalID] | None = strawberry.field(
        default=UNSET, description="Empty or omitted: every site.")
    escalate_after_minutes: int | None = strawberry.field(default=UNSET,
                                                          description="Default 15.")
    webhook_id: relay.GlobalID | None = strawberry.field(
        default=UNSET, description="A webhook endpoint of the same company that also "
        "receives alert.notified.")
    active: bool | None = UNSET
    shifts: list[RotationShiftInput] | None = UNSET


@strawberry.input(description="Omitted fields stay; shifts, when given, replace all.")
class UpdateAlertingRotationInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET
    network_site_ids: list[relay.GlobalID] | None = UNSET
    escalate_after_minutes: int | None = UNSET
    webhook_id: relay.GlobalID | None = UNSET
    active: bool | None = UNSET
    shifts: list[RotationShiftInput] | None = UNSET


@strawberry.input
class AcknowledgeAlertInput:
    id: relay.GlobalID
    note: str | None = strawberry.field(default=UNSET, description="Why, or what is being "
                                        "done (kept in the alert.acknowledged event).")
