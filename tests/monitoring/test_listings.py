"""The devices and alerts listings with their relations: the statement count does not grow
with the page size (relations go through the batched loaders)."""

from __future__ import annotations

from typing import Any

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.monitoring.models import Alert
from tests.accounts.factories import ok
from tests.monitoring.alerts_support import alerting_company, all_week, pk_of, rotation
from tests.monitoring.config_support import Org, device, poller
from tests.monitoring.test_templates import LATENCY
from tests.support import count_statements

DEVICES = """{ devices(first: 50) { totalCount edges { node { name status flapping
  networkSite { name } account { id } template { name checks { name } } poller { name }
  readings { name value state } } } } }"""
ALERTS = """{ alerts(first: 50) { totalCount edges { node { kind status device { name
  networkSite { name } } poller { name } check { name } rotation { name }
  acknowledgedBy { email } } } } }"""


async def _grow(api: Any, runtime: Any, o: Org, template: str, site: str, start: int,
                count: int) -> None:
    for i in range(start, start + count):
        made = await device(api, o, f"d{i}", f"10.0.0.{i + 1}", networkSiteId=site,
                            templateId=template)
        async with runtime.unit_of_work(SYSTEM, action="test") as uow:
            now = uow.clock.now()
            uow.session.add(Alert(company_id=pk_of(o.company), kind="DEVICE_DOWN",
                                  status="OPEN", subject_key=f"device:{pk_of(made['id'])}",
                                  device_id=pk_of(made["id"]), message="down", opened_at=now))


async def test_devices_and_alerts_pages_cost_the_same_whatever_their_size(api, runtime):
    a = await alerting_company(api)
    o = Org(a.setup.token, a.setup.company, "", "")
    await rotation(api, a, [all_week(a.users["noc1@example.com"])])
    site = (await ok(api, o.token, "createNetworkSite", {
        "companyId": o.company, "name": "North", "kind": "TOWER"}))["id"]
    template = (await ok(api, o.token, "createMonitoringTemplate", {
        "companyId": o.company, "name": "Ping", "checks": [LATENCY]}))["id"]
    await poller(api, o, "p1", subnets=["10.0.0.0/24"])

    async def cost(query: str) -> tuple[int, dict[str, Any]]:
        with count_statements(runtime) as seen:
            data = await api.data(query, None, o.token)
        return len(seen), data

    await _grow(api, runtime, o, template, site, 0, 2)
    few_devices, data = await cost(DEVICES)
    assert data["devices"]["totalCount"] == 2
    assert {e["node"]["poller"]["name"] for e in data["devices"]["edges"]} == {"p1"}
    few_alerts, data = await cost(ALERTS)
    assert data["alerts"]["totalCount"] == 2

    await _grow(api, runtime, o, template, site, 2, 8)
    many_devices, data = await cost(DEVICES)
    assert data["devices"]["totalCount"] == 10
    many_alerts, data = await cost(ALERTS)
    assert data["alerts"]["totalCount"] == 10
    assert {e["node"]["device"]["networkSite"]["name"]
            for e in data["alerts"]["edges"]} == {"North"}
    assert (many_devices, many_alerts) == (few_devices, few_alerts), (few_devices, few_alerts)
