"""Root fields for alerts and alerting rotations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import select
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company
from ispcore.domain.monitoring import alerts, rotations
from ispcore.domain.monitoring.on_call import on_call
from ispcore.resolvers.billing import listing
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import fetch_node
from ispcore.schema import alerts as s
from ispcore.schema.accounts import IdInput
from ispcore.schema.alerts import Alert, AlertingRotation, OnCallEntry
from ispcore.schema.companies import Company as CompanyNode
from ispcore.schema.identity import User
from ispcore.schema.ipam import NetworkSite
from ispcore.schema.nodes import global_id
from ispcore.schema.permissions import requires
from ispcore.schema.webhooks import Webhook

READ, WRITE = "monitoring:read", "monitoring:write"
IDS = {"company_id": CompanyNode, "network_site_ids": NetworkSite, "webhook_id": Webhook}


def _rotation_values(data: Any, update: bool) -> dict[str, Any]:
    values = values_of(data, IDS, update=update, nullable=("webhook_id",))
    if values.get("network_site_ids") is None and "network_site_ids" in values:
        values["network_site_ids"] = []
    if "shifts" in values:
        values["shifts"] = [{"user_id": pk(item.user_id, User, f"shifts.{n}.user_id"),
                             "level": item.level, "weekdays": list(item.weekdays),
                             "start_minute": item.start_minute,
                             "end_minute": item.end_minute}
                            for n, item in enumerate(data.shifts or [])]
    return values


async def _create(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"alerting_rotation": await rotations.create_rotation(
        uow, _rotation_values(data, update=False))}


async def _update(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"alerting_rotation": await rotations.update_rotation(
        uow, pk(data.id, AlertingRotation), _rotation_values(data, update=True))}


async def _delete(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"deleted_id": global_id(await rotations.delete_rotation(
        uow, pk(data.id, AlertingRotation)))}


async def _acknowledge(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    note = data.note if isinstance(data.note, str) else None
    return {"alert": await alerts.acknowledge(uow, pk(data.id, Alert), note)}


@strawberry.type
class AlertQuery:
    alerts = listing(Alert, s.ALERT_LISTING, (Alert.model.message, Alert.model.subject_key),
                     "Alerts, open and closed.", permission=READ)
    alerting_rotations = listing(AlertingRotation, s.ROTATION_LISTING,
                                 (AlertingRotation.model.name,), "Alerting rotations.",
                                 permission=READ)

    @strawberry.field(extensions=requires(READ), description="Who is on call in a rotation at "
                      "an instant (now when omitted), by level then user.")
    async def on_call(self, info: Info, rotation_id: relay.GlobalID,
                      at: datetime | None = None) -> list[OnCallEntry]:
        rotation = await fetch_node(info, AlertingRotation, rotation_id)
        if rotation is None:
            return []
        async with info.context.unit_of_work("onCall") as uow:
            moment = at or uow.clock.now()
            time_zone = await uow.session.scalar(select(Company.time_zone).where(
                Company.id == rotation.company_id))
            shifts = (await rotations.shifts_of(uow, [rotation.pk]))[rotation.pk]
        return [OnCallEntry(level=s.level, user_id=s.user_id)
                for s in on_call(shifts, moment, time_zone)]


@strawberry.type
class AlertMutation:
    create_alerting_rotation = command(
        _create, input_type=s.CreateAlertingRotationInput, permission=WRITE,
        payload=payload_type("CreateAlertingRotation", "alerting_rotation", AlertingRotation),
        description="Create an alerting rotation with its shifts.")
    update_alerting_rotation = command(
        _update, input_type=s.UpdateAlertingRotationInput, permission=WRITE,
        payload=payload_type("UpdateAlertingRotation", "alerting_rotation", AlertingRotation),
        description="Change a rotation (shifts, when given, replace all).")
    delete_alerting_rotation = command(
        _delete, input_type=IdInput, permission=WRITE,
        payload=payload_type("DeleteAlertingRotation", "deleted_id", AlertingRotation),
        description="Delete a rotation; its alerts go on to the rotations that still cover "
                    "them.")
    acknowledge_alert = command(
        _acknowledge, input_type=s.AcknowledgeAlertInput, permission=WRITE,
        payload=payload_type("AcknowledgeAlert", "alert", Alert),
        description="Take an open alert: it stops escalating. A closed alert is refused.")
