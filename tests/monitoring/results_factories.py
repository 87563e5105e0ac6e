"""Rows the poll-results tests need (company, template and checks, poller with its token,
devices), made with the ORM models directly, and a helper to submit results as a poller."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ispcore.domain.companies.models import Company
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.identity.secrets import TokenKind, mint_token, token_hash
from ispcore.domain.monitoring.models import (
    CheckKind,
    Device,
    MonitoringCheck,
    MonitoringTemplate,
    Poller,
    ValueType,
)
from ispcore.domain.network.addressing import to_key
from ispcore.schema.nodes import encode_global_id

SUBMIT = """mutation($input: SubmitPollResultsInput!) { submitPollResults(input: $input) {
  accepted duplicate errors { field code message } } }"""

#: A template of every kind of check: ICMP latency and loss, a gauge, a counter walk.
CHECKS = [
    {"name": "icmpLatency", "kind": CheckKind.ICMP_LATENCY, "unit": "ms",
     "warning_threshold": 50.0, "critical_threshold": 200.0},
    {"name": "icmpLoss", "kind": CheckKind.ICMP_LOSS, "unit": "%",
     "critical_threshold": 50.0},
    {"name": "cpuLoad", "kind": CheckKind.SNMP_GET, "oid": "1.3.6.1.2.1.25.3.3.1.2.1",
     "unit": "%", "warning_threshold": 80.0, "critical_threshold": 95.0},
    {"name": "ifHCInOctets", "kind": CheckKind.SNMP_WALK, "oid": "1.3.6.1.2.1.31.1.1.1.6",
     "value_type": ValueType.COUNTER, "label_oid": "1.3.6.1.2.1.31.1.1.1.1", "unit": "bit/s",
     "scale": 8.0},
]


@dataclass
class Setup:
    company_id: int
    template_id: int
    poller_id: int
    token: str
    checks: dict[str, int]  # name -> id
    devices: list[int] = field(default_factory=list)


def gid(type_name: str, pk: int) -> str:
    return encode_global_id(type_name, pk)


async def new_company(uow: Any, name: str) -> int:
    now = uow.clock.now()
    row = Company(name=name, currency="USD", time_zone="UTC", created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    return row.id


async def new_poller(uow: Any, company_id: int, name: str) -> tuple[int, str]:
    token = mint_token(TokenKind.POLLER)
    now = uow.clock.now()
    row = Poller(company_id=company_id, name=name, token_hash=token_hash(token),
                 created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    return row.id, token


async def new_template(uow: Any, company_id: int, name: str,
                       checks: list[dict[str, Any]] | None = None) -> tuple[int, dict[str, int]]:
    now = uow.clock.now()
    template = MonitoringTemplate(company_id=company_id, name=name, created_at=now,
                                  updated_at=now)
    uow.session.add(template)
    await uow.session.flush()
    ids: dict[str, int] = {}
    for spec in checks if checks is not None else CHECKS:
        check = MonitoringCheck(company_id=company_id, template_id=template.id,
                                created_at=now, updated_at=now,
                                **{"value_type": ValueType.GAUGE, **spec})
        uow.session.add(check)
        await uow.session.flush()
        ids[check.name] = check.id
    return template.id, ids


async def new_device(uow: Any, company_id: int, name: str, address: str, *,
                     template_id: int | None, poller_id: int | None) -> int:
    now = uow.clock.now()
    ip = ipaddress.ip_address(address)
    row = Device(company_id=company_id, name=name, management_address=address,
                 family=ip.version, address_key=to_key(int(ip)), template_id=template_id,
                 poller_id=poller_id, created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    return row.id


async def monitoring_setup(runtime: Any, *, devices: int = 1, name: str = "Acme Fibre",
                           checks: list[dict[str, Any]] | None = None) -> Setup:
    """A company with a template, a poller and ``devices`` devices it owns."""
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        company_id = await new_company(uow, name)
        template_id, check_ids = await new_template(uow, company_id, "Routers", checks)
        poller_id, token = await new_poller(uow, company_id, "Main poller")
        setup = Setup(company_id, template_id, poller_id, token, check_ids)
        for n in range(devices):
            setup.devices.append(await new_device(
                uow, company_id, f"router-{n}", f"10.0.{n // 250}.{n % 250 + 1}",
                template_id=template_id, poller_id=poller_id))
        return setup


def device_input(device_id: int, polled_at: datetime, *, reachable: bool = True,
                 results: list[dict[str, Any]] | None = None, **more: Any) -> dict[str, Any]:
    return {"deviceId": gid("Device", device_id), "polledAt": polled_at.isoformat(),
            "reachable": reachable, "results": results or [], **more}


def result(check_id: int, value: str | None, *, instance: str = "", **more: Any
           ) -> dict[str, Any]:
    return {"checkId": gid("MonitoringCheck", check_id), "instance": instance,
            "value": value, **more}


async def submit(api: Any, token: str, batch_id: str, devices: list[dict[str, Any]]
                 ) -> dict[str, Any]:
    """``submitPollResults``' payload."""
    data = await api.data(SUBMIT, {"input": {"batchId": batch_id, "devices": devices}}, token)
    return data["submitPollResults"]
