"""Devices, templates and pollers through the API, for the monitoring configuration tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.accounts.factories import MUTATIONS, _mutation, ok
from tests.network.ipam_support import MUTATIONS as _  # noqa: F401  (createNetworkSite, …)

DEVICE_FIELDS = """id name description managementAddress serialNumber macAddress monitored
  snmpVersion snmpPort snmpUsername snmpAuthProtocol snmpPrivProtocol status
  networkSite { id } account { id } template { id } poller { id name }"""
CHECK_FIELDS = """id name kind oid valueType labelOid unit scale direction warningThreshold
  criticalThreshold"""
TEMPLATE_FIELDS = f"""id name description intervalSeconds icmpCount icmpTimeoutMs
  snmpTimeoutMs snmpRetries checks {{ {CHECK_FIELDS} }}"""
POLLER_FIELDS = """id name description concurrency active status lastHeartbeatAt lagSeconds
  reportedVersion reportedAddress deviceCount
  scopes { subnets networkSites { id name } }"""

MUTATIONS.update({
    "createDevice": _mutation("createDevice", "CreateDeviceInput", "device", DEVICE_FIELDS),
    "updateDevice": _mutation("updateDevice", "UpdateDeviceInput", "device", DEVICE_FIELDS),
    "deleteDevice": _mutation("deleteDevice", "IdInput", "deletedId", ""),
    "createMonitoringTemplate": _mutation("createMonitoringTemplate",
                                          "CreateMonitoringTemplateInput",
                                          "monitoringTemplate", TEMPLATE_FIELDS),
    "updateMonitoringTemplate": _mutation("updateMonitoringTemplate",
                                          "UpdateMonitoringTemplateInput",
                                          "monitoringTemplate", TEMPLATE_FIELDS),
    "deleteMonitoringTemplate": _mutation("deleteMonitoringTemplate", "IdInput",
                                          "deletedId", ""),
    "addMonitoringCheck": _mutation("addMonitoringCheck", "AddMonitoringCheckInput",
                                    "monitoringCheck", CHECK_FIELDS),
    "updateMonitoringCheck": _mutation("updateMonitoringCheck", "UpdateMonitoringCheckInput",
                                       "monitoringCheck", CHECK_FIELDS),
    "removeMonitoringCheck": _mutation("removeMonitoringCheck", "IdInput", "deletedId", ""),
    "createPoller": _mutation("createPoller", "CreatePollerInput", None,
                              f"poller {{ {POLLER_FIELDS} }} token"),
    "updatePoller": _mutation("updatePoller", "UpdatePollerInput", "poller", POLLER_FIELDS),
    "rotatePollerToken": _mutation("rotatePollerToken", "IdInput", None,
                                   f"poller {{ {POLLER_FIELDS} }} token"),
    "deletePoller": _mutation("deletePoller", "IdInput", "deletedId", ""),
})


@dataclass
class Org:
    token: str
    company: str
    site_a: str
    site_b: str


async def org(api: Any, token: str | None = None, name: str = "Acme Fibre") -> Org:
    """A company with two network sites."""
    token = token or await api.admin_token()
    company = (await ok(api, token, "createCompany", {
        "name": name, "currency": "USD", "timeZone": "America/Chicago", "country": "US"}))["id"]
    sites = [(await ok(api, token, "createNetworkSite", {
        "companyId": company, "name": f"{name} {site}", "kind": "TOWER"}))["id"]
        for site in ("North", "South")]
    return Org(token, company, *sites)


async def device(api: Any, o: Org, name: str, address: str, **fields: Any) -> dict[str, Any]:
    return await ok(api, o.token, "createDevice", {
        "companyId": o.company, "name": name, "managementAddress": address, **fields})


async def poller(api: Any, o: Org, name: str, **fields: Any) -> tuple[dict[str, Any], str]:
    made = await ok(api, o.token, "createPoller", {"companyId": o.company, "name": name,
                                                   **fields})
    return made["poller"], made["token"]


async def events_of(runtime: Any, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    from sqlalchemy import select

    from ispcore.domain.events.models import Event

    async with runtime.db.session() as session:
        rows = await session.scalars(select(Event).where(Event.type.startswith(prefix))
                                     .order_by(Event.id))
        return [(e.type, e.payload) for e in rows]
