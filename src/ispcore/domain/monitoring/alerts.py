"""Alerts open and close from monitoring events: a device down, a check past its critical
threshold, a silent poller; recovery closes them. One handler (``HANDLER``) runs once per
event after the producer's commit (in batches, in id order); it is also safe to run twice: at
most one alert is open per subject (a partial unique index), and opening one that is open
already does nothing.

Rules:

- ``device.down`` opens DEVICE_DOWN (``device:<id>``), ``device.up`` closes it, unless the
  device is flapping (``flapping.py``): then neither opens, closes nor notifies, and
  :func:`sweep` settles the alert once the device is stable.
- ``device.threshold_breached`` with state CRITICAL opens THRESHOLD
  (``check:<device>:<check>:<instance>``); any later breached or cleared event of that subject
  with another state closes it (WARNING alone never opens one).
- ``poller.down`` opens POLLER_DOWN (``poller:<id>``), ``poller.up`` closes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite

from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.records import load, lock_row
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.models import Event
from ispcore.domain.events.service import record_event
from ispcore.domain.monitoring import flapping, notify
from ispcore.domain.monitoring.models import (
    Alert,
    AlertingRotation,
    AlertKind,
    AlertStatus,
    Device,
    DeviceStatus,
    MonitoringCheck,
    Poller,
)

log = logging.getLogger(__name__)

HANDLER = "monitoring.alerts"
EVENT_TYPES = {"device.down", "device.up", "device.threshold_breached",
               "device.threshold_cleared", "poller.down", "poller.up"}
ESCALATE_JOB = "monitoring.escalate_alerts"
CRITICAL = "CRITICAL"
THRESHOLD_EVENTS = ("device.threshold_breached", "device.threshold_cleared")


@dataclass(frozen=True)
class Subject:
    """What an alert would be about."""

    company_id: int
    kind: AlertKind
    key: str
    message: str
    device_id: int | None = None
    network_site_id: int | None = None
    check_id: int | None = None
    instance: str = ""
    poller_id: int | None = None
    value: float | None = None


def _at(event: Event) -> datetime:
    at = event.payload.get("at")
    return datetime.fromisoformat(at) if at else event.occurred_at


def _device_subject(company_id: int, p: dict[str, Any]) -> Subject:
    return Subject(company_id, AlertKind.DEVICE_DOWN, f"device:{p['deviceId']}",
                   f"{p.get('deviceName') or 'device ' + str(p['deviceId'])} is down",
                   device_id=p["deviceId"], network_site_id=p.get("networkSiteId"))


def _check_subject(company_id: int, p: dict[str, Any]) -> Subject:
    what = " ".join(x for x in (p.get("checkName"), p.get("label") or p.get("instance")) if x)
    threshold = p.get("threshold")
    limit = "" if threshold is None else (
        f" ({'at or below' if p.get('direction') == 'BELOW' else 'at or above'} "
        f"{threshold:g})")
    value = p.get("value")
    shown = "?" if value is None else f"{value:g}"
    return Subject(company_id, AlertKind.THRESHOLD,
                   f"check:{p['deviceId']}:{p['checkId']}:{p.get('instance', '')}",
                   f"{p.get('deviceName', '')} {what} is {shown}{limit}".strip(),
                   device_id=p["deviceId"], network_site_id=p.get("networkSiteId"),
                   check_id=p["checkId"], instance=p.get("instance", ""), value=value)


def _poller_subject(company_id: int, p: dict[str, Any]) -> Subject:
    return Subject(company_id, AlertKind.POLLER_DOWN, f"poller:{p['pollerId']}",
                   f"poller {p.get('pollerName') or p['pollerId']} is down",
                   poller_id=p["pollerId"])


async def open_alert(uow: UnitOfWork, subject: Subject, at: datetime) -> Alert | None:
    """Open an alert about ``subject`` and notify its rotations; None when one is open
    already (this very event handled before, or a concurrent one won the race)."""
    values = {"company_id": subject.company_id, "kind": subject.kind.value,
              "status": AlertStatus.OPEN.value, "subject_key": subject.key,
              "device_id": subject.device_id, "check_id": subject.check_id,
              "instance": subject.instance, "poller_id": subject.poller_id,
              "message": subject.message[:500], "value": subject.value, "opened_at": at,
              "notified_level": 0}
    dialect = postgresql if uow.session.bind.dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(Alert).values(values)
                 .on_conflict_do_nothing(index_elements=["subject_key"],
                                         index_where=text("status <> 'CLOSED'"))
                 .returning(Alert.id))
    alert_id = await uow.session.scalar(statement)
    if alert_id is None:
        return None
    alert = await uow.session.get_one(Alert, alert_id)
    record_event(uow, "alert.opened", company_id=alert.company_id, entity=alert,
                 payload=notify.describe(alert))
    await notify.notify_next_level(uow, alert, subject.network_site_id, notify.Notice.OPENED)
    return alert


async def close_alert(uow: UnitOfWork, subject_key: str, at: datetime,
                      network_site_id: int | None) -> Alert | None:
    """Close the open alert about ``subject_key`` and tell who was told; None if none."""
    alert_id = await uow.session.scalar(select(Alert.id).where(
        Alert.subject_key == subject_key, Alert.status != AlertStatus.CLOSED))
    alert = await lock_row(uow, Alert, alert_id) if alert_id is not None else None
    if alert is None or alert.status == AlertStatus.CLOSED:
        return None
    alert.status, alert.closed_at = AlertStatus.CLOSED.value, at
    await uow.session.flush()
    record_event(uow, "alert.closed", company_id=alert.company_id, entity=alert,
                 payload=notify.describe(alert))
    await notify.notify_resolved(uow, alert, network_site_id)
    return alert


async def _device_changed(uow: UnitOfWork, event: Event, down: bool) -> None:
    p, at = event.payload, _at(event)
    device = await uow.session.get(Device, p["deviceId"])
    if device is None:
        return
    state = flapping.record_change(flapping.parse_changes(device.status_changes),
                                   device.flapping_until, at)
    device.status_changes = flapping.dump_changes(state.changes)
    device.flapping_until = state.flapping_until
    await uow.session.flush()
    if state.flapping_at(at):
        log.info("device %s is flapping: %s raises no alert", device.id, event.type)
        return
    if device.status_changed_at is not None and at < device.status_changed_at:
        # Stale: its status changed since (a failed run retried after the next event's).
        log.info("device %s: %s is older than its status; no alert", device.id, event.type)
        return
    subject = _device_subject(device.company_id, p)
    if down:
        await open_alert(uow, subject, at)
    else:
        await close_alert(uow, subject.key, at, subject.network_site_id)


@dataclass
class _Known:
    """What a batch of events names, read once for the batch: the devices (loaded into the
    session), the checks and pollers that still exist, and the threshold events superseded
    by a later one of the same device, check and instance."""

    devices: set[int]
    checks: set[int]
    pollers: set[int]
    superseded: set[int]


def _subject_of(payload: dict[str, Any]) -> tuple[Any, Any, str]:
    return payload.get("deviceId"), payload.get("checkId"), payload.get("instance", "")


async def _known(uow: UnitOfWork, events: list[Event]) -> _Known:
    session = uow.session
    payloads = [e.payload for e in events]
    devices = {p["deviceId"] for p in payloads if "deviceId" in p}
    checks = {p["checkId"] for p in payloads if "checkId" in p}
    pollers = {p["pollerId"] for p in payloads if "pollerId" in p}
    known = _Known(
        {d.id for d in await session.scalars(select(Device).where(Device.id.in_(devices)))}
        if devices else set(),
        set(await session.scalars(select(MonitoringCheck.id).where(
            MonitoringCheck.id.in_(checks)))) if checks else set(),
        set(await session.scalars(select(Poller.id).where(Poller.id.in_(pollers))))
        if pollers else set(), set())
    thresholds = [e for e in events if e.type in THRESHOLD_EVENTS]
    if thresholds:
        # A run retried after the next event's was handled must not undo it.
        later = await session.execute(select(Event.id, Event.payload).where(
            Event.entity_type == "Device",
            Event.entity_id.in_({e.entity_id for e in thresholds}),
            Event.type.in_(THRESHOLD_EVENTS), Event.id > min(e.id for e in thresholds)))
        last = {}
        for pk, payload in later:
            subject = _subject_of(payload)
            last[subject] = max(pk, last.get(subject, 0))
        known.superseded = {e.id for e in thresholds
                            if last.get(_subject_of(e.payload), 0) > e.id}
    return known


async def handle(uow: UnitOfWork, events: list[Event]) -> None:
    """A batch of monitoring events, in id order; what they name is read for the whole batch
    first, then each event opens or closes its alert."""
    known = await _known(uow, events)
    for event in events:
        await _handle_one(uow, event, known)


async def _handle_one(uow: UnitOfWork, event: Event, known: _Known) -> None:
    p, company_id = event.payload, event.company_id
    if company_id is None:
        return
    if event.type in ("device.down", "device.up"):
        if p["deviceId"] in known.devices:
            await _device_changed(uow, event, event.type == "device.down")
    elif event.type in THRESHOLD_EVENTS:
        if p["deviceId"] not in known.devices or p["checkId"] not in known.checks:
            return  # deleted since: nothing to alert about
        if event.id in known.superseded:
            log.info("%s %s is older than a later one for its check; no alert change",
                     event.type, event.id)
            return
        subject = _check_subject(company_id, p)
        if event.type == "device.threshold_breached" and p.get("state") == CRITICAL:
            await open_alert(uow, subject, _at(event))
        else:
            await close_alert(uow, subject.key, _at(event), subject.network_site_id)
    elif event.type == "poller.down":
        if p["pollerId"] not in known.pollers:
            return
        await open_alert(uow, _poller_subject(company_id, p), _at(event))
    elif event.type == "poller.up":
        await close_alert(uow, _poller_subject(company_id, p).key, _at(event), None)


async def acknowledge(uow: UnitOfWork, pk: int, note: str | None) -> Alert:
    """The actor takes the alert: it stops escalating. Acknowledging an acknowledged alert
    changes nothing; a closed one is refused."""
    await load(uow, Alert, pk, field="id", what="alert")
    alert = await lock_row(uow, Alert, pk)
    assert alert is not None
    if alert.status == AlertStatus.CLOSED:
        raise DomainError("The alert is closed already.", field="id")
    if alert.status == AlertStatus.ACKNOWLEDGED:
        return alert
    note = (note or "").strip()
    if len(note) > 1000:
        raise DomainError("A note is at most 1000 characters.", field="note")
    alert.status = AlertStatus.ACKNOWLEDGED.value
    alert.acknowledged_at = uow.clock.now()
    alert.acknowledged_by_id = uow.actor.user_id
    await uow.session.flush()
    record_event(uow, "alert.acknowledged", company_id=alert.company_id, entity=alert,
                 payload={**notify.describe(alert),
                          "acknowledgedById": alert.acknowledged_by_id, "note": note})
    return alert


async def _site_of(uow: UnitOfWork, alert: Alert) -> int | None:
    if alert.device_id is None:
        return None
    return await uow.session.scalar(select(Device.network_site_id)
                                    .where(Device.id == alert.device_id))


async def _escalate_one(uow: UnitOfWork, alert_id: int) -> int | None:
    alert = await lock_row(uow, Alert, alert_id)
    if alert is None or alert.status != AlertStatus.OPEN or alert.notified_at is None:
        return None
    delay = await uow.session.scalar(select(AlertingRotation.escalate_after_minutes)
                                     .where(AlertingRotation.id == alert.rotation_id))
    if delay is None or uow.clock.now() - alert.notified_at < timedelta(minutes=delay):
        return None
    level = await notify.notify_next_level(uow, alert, await _site_of(uow, alert),
                                           notify.Notice.ESCALATED)
    if level is not None:
        record_event(uow, "alert.escalated", company_id=alert.company_id, entity=alert,
                     payload={**notify.describe(alert), "level": level})
    return level


async def _settle(uow: UnitOfWork, device_id: int) -> None:
    """A device that stopped flapping gets the alert its status calls for now."""
    device = await lock_row(uow, Device, device_id)
    now = uow.clock.now()
    if device is None or not device.flapping_until or device.flapping_until > now:
        return
    device.flapping_until = None
    await uow.session.flush()
    subject = _device_subject(device.company_id, {
        "deviceId": device.id, "deviceName": device.name,
        "networkSiteId": device.network_site_id})
    if device.status == DeviceStatus.DOWN:
        await open_alert(uow, subject, now)
    else:
        await close_alert(uow, subject.key, now, device.network_site_id)


async def sweep(open_uow: Callable[[], UnitOfWork]) -> dict[str, int]:
    """Every minute: escalate the open alerts nobody acknowledged within their rotation's
    delay, and settle devices that stopped flapping. Each alert and device in its own
    transaction; running twice escalates nothing twice (the second finds it not due)."""
    async with open_uow() as uow:
        now = uow.clock.now()
        rows = await uow.session.execute(
            select(Alert.id, Alert.notified_at, AlertingRotation.escalate_after_minutes)
            .join(AlertingRotation, AlertingRotation.id == Alert.rotation_id)
            .where(Alert.status == AlertStatus.OPEN,
                   Alert.notified_at <= now - timedelta(minutes=1))
            .order_by(Alert.id))
        due = [alert_id for alert_id, notified_at, minutes in rows
               if now - notified_at >= timedelta(minutes=minutes)]
        settled = list(await uow.session.scalars(select(Device.id).where(
            Device.flapping_until.is_not(None), Device.flapping_until <= now)))
    escalated = 0
    for alert_id in due:
        async with open_uow() as uow:
            escalated += await _escalate_one(uow, alert_id) is not None
    for device_id in settled:
        async with open_uow() as uow:
            await _settle(uow, device_id)
    return {"escalated": escalated, "settled": len(settled)}
