"""Telling people about alerts: an email per person on call (through the message outbox) and,
for rotations with a webhook endpoint, an ``alert.notified`` event delivered to that endpoint
only. Every matching rotation is told; a person in several of them gets one email per alert
and level (the outbox key is the alert, level and user). Closing an alert tells the people
who were emailed about it, and the rotations' endpoints, that it is resolved."""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company
from ispcore.domain.events.service import record_event
from ispcore.domain.identity.models import User
from ispcore.domain.messaging.models import Channel, OutboundMessage
from ispcore.domain.messaging.outbox import queue_message
from ispcore.domain.monitoring import rotations
from ispcore.domain.monitoring.models import Alert, AlertingRotation, AlertKind
from ispcore.domain.monitoring.on_call import next_staffed_level, on_call
from ispcore.domain.webhooks.endpoints import deliver_to
from ispcore.domain.webhooks.models import Webhook

log = logging.getLogger(__name__)

#: ``OutboundMessage.origin`` of alert emails; their keys are ``alert:<id>:L<level>:u<user>``.
ORIGIN = "monitoring.alert"


class Notice(StrEnum):
    OPENED = "OPENED"
    ESCALATED = "ESCALATED"
    RESOLVED = "RESOLVED"


def describe(alert: Alert) -> dict[str, Any]:
    """The alert as events (``alert.*``) carry it."""
    def iso(moment: Any) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {"id": alert.id, "kind": alert.kind, "status": alert.status,
            "subjectKey": alert.subject_key, "deviceId": alert.device_id,
            "checkId": alert.check_id, "instance": alert.instance,
            "pollerId": alert.poller_id, "message": alert.message, "value": alert.value,
            "openedAt": iso(alert.opened_at), "acknowledgedAt": iso(alert.acknowledged_at),
            "closedAt": iso(alert.closed_at), "notifiedLevel": alert.notified_level}


async def rotations_for(uow: UnitOfWork, alert: Alert, network_site_id: int | None
                        ) -> list[AlertingRotation]:
    return await rotations.covering(uow, alert.company_id, network_site_id,
                                    all_sites=alert.kind == AlertKind.POLLER_DOWN)


def _subject(alert: Alert, notice: Notice, level: int) -> str:
    tag = "RESOLVED" if notice == Notice.RESOLVED else "CRITICAL"
    suffix = f" (escalated to level {level})" if notice == Notice.ESCALATED else ""
    return f"[{tag}] {alert.message}{suffix}"[:500]


def _body(alert: Alert, notice: Notice) -> str:
    lines = [alert.message, "", f"Alert {alert.id} ({alert.kind}), opened "
             f"{alert.opened_at.isoformat()}."]
    if alert.value is not None:
        lines.append(f"Value: {alert.value:g}")
    if notice == Notice.RESOLVED:
        lines.append(f"Resolved {alert.closed_at.isoformat() if alert.closed_at else ''}.")
    else:
        lines.append("Acknowledge it (acknowledgeAlert) to stop the escalation.")
    return "\n".join(lines) + "\n"


async def _email(uow: UnitOfWork, alert: Alert, user_ids: set[int], notice: Notice,
                 level: int) -> None:
    if not user_ids:
        return
    users = await uow.session.scalars(select(User).where(User.id.in_(user_ids), User.active))
    step = "resolved" if notice == Notice.RESOLVED else f"L{level}"
    for user in sorted(users, key=lambda u: u.id):
        await queue_message(
            uow, company_id=alert.company_id, channel=Channel.EMAIL, recipient=user.email,
            origin=ORIGIN, origin_key=f"alert:{alert.id}:{step}:u{user.id}",
            subject=_subject(alert, notice, level), body_text=_body(alert, notice))


async def _webhooks(uow: UnitOfWork, alert: Alert, found: list[AlertingRotation],
                    notice: Notice, level: int, users: dict[int, set[int]]) -> None:
    for rotation in found:
        if rotation.webhook_id is None:
            continue
        endpoint = await uow.session.get(Webhook, rotation.webhook_id)
        if endpoint is None or not endpoint.active:
            log.info("rotation %s: its webhook is gone or disabled", rotation.id)
            continue
        event = record_event(uow, "alert.notified", company_id=alert.company_id,
                             entity=alert, payload={
                                 "notice": notice.value, "level": level,
                                 "rotationId": rotation.id, "rotationName": rotation.name,
                                 "userIds": sorted(users.get(rotation.id, ())),
                                 "alert": describe(alert)})
        await deliver_to(uow, endpoint, event)


async def notify_next_level(uow: UnitOfWork, alert: Alert, network_site_id: int | None,
                            notice: Notice) -> int | None:
    """Notify the lowest level above the alert's ``notified_level`` that has anyone on call
    in any rotation covering it; returns that level (None: nobody left, nothing sent). The
    escalation clock restarts either way once a rotation covers the alert."""
    found = await rotations_for(uow, alert, network_site_id)
    now = uow.clock.now()
    if not found:
        return None
    alert.rotation_id = alert.rotation_id if alert.rotation_id in {r.id for r in found} \
        else found[0].id
    time_zone = await uow.session.scalar(select(Company.time_zone)
                                         .where(Company.id == alert.company_id))
    assert time_zone is not None
    shifts = await rotations.shifts_of(uow, [r.id for r in found])
    everyone = [s for r in found for s in shifts[r.id]]
    level = next_staffed_level(everyone, now, time_zone, after=alert.notified_level)
    if alert.notified_at is None:
        alert.notified_at = now
    if level is None:
        return None
    users = {r.id: {s.user_id for s in on_call(shifts[r.id], now, time_zone, level)}
             for r in found}
    await _email(uow, alert, set().union(*users.values()), notice, level)
    alert.notified_level, alert.notified_at = level, now
    await uow.session.flush()
    await _webhooks(uow, alert, found, notice, level, users)
    return level


async def notify_resolved(uow: UnitOfWork, alert: Alert, network_site_id: int | None
                          ) -> None:
    """Tell whoever was emailed about ``alert`` (and the covering rotations' endpoints) that
    it is resolved. Nothing when nobody was ever notified."""
    if alert.notified_level == 0:
        return
    keys = await uow.session.scalars(select(OutboundMessage.origin_key).where(
        OutboundMessage.company_id == alert.company_id, OutboundMessage.origin == ORIGIN,
        OutboundMessage.origin_key.startswith(f"alert:{alert.id}:L")))
    user_ids = {int(key.rsplit(":u", 1)[1]) for key in keys}
    await _email(uow, alert, user_ids, Notice.RESOLVED, alert.notified_level)
    found = await rotations_for(uow, alert, network_site_id)
    await _webhooks(uow, alert, found, Notice.RESOLVED, alert.notified_level,
                    {r.id: user_ids for r in found})
