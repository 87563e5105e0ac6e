"""Alert tests' helpers: a company with email settings, devices and pollers as rows (their
producers live elsewhere), monitoring events recorded exactly as a producer records them,
alerting rotations through the API, and running the jobs that follow."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from strawberry import relay

from ispcore.domain.events.service import record_event
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.monitoring.alerts import ESCALATE_JOB
from ispcore.domain.monitoring.models import (
    Device,
    MonitoringCheck,
    MonitoringTemplate,
    Poller,
)
from ispcore.domain.network.addressing import to_key
from ispcore.runtime import Runtime
from ispcore.workers.registry import run_job
from tests.accounts.factories import MUTATIONS, Setup, _mutation, company_setup, ok
from tests.messaging.test_transport_smtp import configure
from tests.network.ipam_support import MUTATIONS as _  # noqa: F401  (createNetworkSite)

ROTATION = """id name escalateAfterMinutes active networkSiteIds webhook { id }
  shifts { level weekdays startMinute endMinute user { email } }"""
MUTATIONS.update({
    "createAlertingRotation": _mutation("createAlertingRotation", "CreateAlertingRotationInput",
                                        "alertingRotation", ROTATION),
    "updateAlertingRotation": _mutation("updateAlertingRotation", "UpdateAlertingRotationInput",
                                        "alertingRotation", ROTATION),
    "acknowledgeAlert": _mutation("acknowledgeAlert", "AcknowledgeAlertInput", "alert",
                                  "id status acknowledgedAt acknowledgedBy { email }"),
})
ALERT = """id kind status subjectKey message value openedAt acknowledgedAt closedAt
  notifiedLevel device { id name flapping } poller { id } check { id } rotation { id }
  acknowledgedBy { email }"""
ALERTS = f"""query($filter: AlertFilter) {{ alerts(filter: $filter, orderBy: [{{field:
  OPENED_AT, direction: ASC}}]) {{ totalCount edges {{ node {{ {ALERT} }} }} }} }}"""


def gid(type_name: str, pk: int) -> str:
    return str(relay.GlobalID(type_name, str(pk)))


def pk_of(global_id: str) -> int:
    return int(relay.GlobalID.from_id(global_id).node_id)


@dataclass
class Alerting:
    setup: Setup
    company_id: int
    #: Users on call, by email, with their global ids.
    users: dict[str, str]


async def alerting_company(api: Any, smtp_port: int | None = None,
                           emails: tuple[str, ...] = ("noc1@example.com", "noc2@example.com",
                                                      "boss@example.com")) -> Alerting:
    setup = await company_setup(api)
    if smtp_port is not None:
        await configure(api, setup.token, setup.company, smtp_port)
    users = {}
    for email in emails:
        user_id, _token = await api.user_with_token(email, permissions=["monitoring:read"])
        users[email] = gid("User", user_id)
    return Alerting(setup, pk_of(setup.company), users)


async def add_device(runtime: Runtime, company_id: int, name: str = "core-router-1", *,
                     address: str = "192.0.2.1", site_id: int | None = None) -> int:
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        now = uow.clock.now()
        device = Device(company_id=company_id, name=name, management_address=address,
                        family=4, address_key=to_key(int(ipaddress.ip_address(address))),
                        network_site_id=site_id, status="UP", created_at=now, updated_at=now)
        uow.session.add(device)
        await uow.session.flush()
        return device.id


async def add_check(runtime: Runtime, company_id: int, name: str = "ifInRate") -> int:
    """A template with one SNMP walk check past 900 critical; the check's id."""
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        now = uow.clock.now()
        template = MonitoringTemplate(company_id=company_id, name=f"template {name}",
                                      created_at=now, updated_at=now)
        uow.session.add(template)
        await uow.session.flush()
        check = MonitoringCheck(company_id=company_id, template_id=template.id, name=name,
                                kind="SNMP_WALK", oid="1.3.6.1.2.1.31.1.1.1.6",
                                value_type="COUNTER", critical_threshold=900.0,
                                warning_threshold=800.0, created_at=now, updated_at=now)
        uow.session.add(check)
        await uow.session.flush()
        return check.id


async def add_poller(runtime: Runtime, company_id: int, name: str = "poller-east") -> int:
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        now = uow.clock.now()
        poller = Poller(company_id=company_id, name=name, token_hash=f"hash-{name}",
                        created_at=now, updated_at=now)
        uow.session.add(poller)
        await uow.session.flush()
        return poller.id


async def device_event(runtime: Runtime, event_type: str, device_id: int, *,
                       status: str | None = None, **extra: Any) -> None:
    """``device.down`` / ``device.up`` (or a threshold event with ``extra``) as a producer
    records it: the device's status changed and the event in the same unit of work."""
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        device = await uow.session.get_one(Device, device_id)
        now = uow.clock.now()
        if status is not None:
            device.status, device.status_changed_at = status, now
        payload: dict[str, Any] = {"deviceId": device.id, "deviceName": device.name,
                                   "networkSiteId": device.network_site_id,
                                   "at": now.isoformat()}
        if event_type in ("device.down", "device.up"):
            payload["address"] = device.management_address
        if event_type == "device.down":
            payload["reason"] = "no ICMP reply"
        if event_type == "device.up":
            payload["previousStatus"] = "DOWN"
        payload.update(extra)
        record_event(uow, event_type, company_id=device.company_id, entity=device,
                     payload=payload)


async def down(runtime: Runtime, device_id: int) -> None:
    await device_event(runtime, "device.down", device_id, status="DOWN")


async def up(runtime: Runtime, device_id: int) -> None:
    await device_event(runtime, "device.up", device_id, status="UP")


async def threshold(runtime: Runtime, device_id: int, check_id: int, state: str,
                    previous: str, value: float, *, instance: str = "2") -> None:
    kind = "device.threshold_cleared" if state == "OK" else "device.threshold_breached"
    await device_event(runtime, kind, device_id, checkId=check_id, checkName="ifInRate",
                       instance=instance, label="eth1", state=state, previousState=previous,
                       value=value, threshold=900.0, direction="ABOVE")


async def poller_event(runtime: Runtime, event_type: str, poller_id: int) -> None:
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        poller = await uow.session.get_one(Poller, poller_id)
        now = uow.clock.now()
        payload: dict[str, Any] = {"pollerId": poller.id, "pollerName": poller.name,
                                   "at": now.isoformat()}
        if event_type == "poller.down":
            payload["lastHeartbeatAt"] = None
        record_event(uow, event_type, company_id=poller.company_id, entity=poller,
                     payload=payload)


async def settle(runtime: Runtime) -> None:
    """Every job queued so far, and those they queue (the event dispatcher and its handlers,
    the webhook fan-out and delivery, the email sender)."""
    await runtime.jobs.drain()


async def escalate(runtime: Runtime) -> Any:
    """The every-minute sweep, as cron runs it, then what it queued."""
    result = await run_job(runtime, ESCALATE_JOB)
    await runtime.jobs.drain()
    return result


async def rotation(api: Any, a: Alerting, shifts: list[dict[str, Any]], **fields: Any
                   ) -> dict[str, Any]:
    return await ok(api, a.setup.token, "createAlertingRotation", {
        "companyId": a.setup.company, "name": fields.pop("name", "NOC"),
        "shifts": shifts, **fields})


def all_week(user: str, level: int = 1) -> dict[str, Any]:
    return {"userId": user, "level": level, "weekdays": [1, 2, 3, 4, 5, 6, 7]}


async def alerts(api: Any, token: str, **flt: Any) -> list[dict[str, Any]]:
    data = await api.data(ALERTS, {"filter": flt or None}, token)
    return [edge["node"] for edge in data["alerts"]["edges"]]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


MUTATIONS["deleteAlertingRotation"] = _mutation("deleteAlertingRotation", "IdInput",
                                                "deletedId", "")
