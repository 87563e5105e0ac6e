"""The network dashboard: monitored devices by status per site (and with no site), open
alerts per site and by kind, pollers up and down, the worst-latency devices; one company or
all; a constant number of statements. Status, alerts and readings are written directly (their
writers are other parts of the monitoring work)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.monitoring.models import Alert, Device, MetricState
from tests.accounts.account_queries import pk_of
from tests.accounts.factories import ok
from tests.monitoring.config_support import Org, device, org
from tests.monitoring.test_templates import LATENCY, UPTIME
from tests.support import count_statements

DASHBOARD = """query($c: ID) { networkDashboard(companyId: $c) {
  sites { networkSite { name } up warning down unknown total openAlerts }
  openAlerts openAlertsByKind { kind count }
  pollersUp pollersDown pollersNeverSeen
  worstLatency { latencyMs device { name networkSite { name } } } } }"""


async def _status(runtime: Any, gid: str, status: str) -> None:
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        await uow.session.execute(update(Device).where(Device.id == pk_of(gid))
                                  .values(status=status))


async def _alert(runtime: Any, company: str, kind: str, status: str, subject: str,
                 device_id: str | None = None) -> None:
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        uow.session.add(Alert(company_id=pk_of(company), kind=kind, status=status,
                              subject_key=subject, message=subject,
                              device_id=pk_of(device_id) if device_id else None,
                              opened_at=uow.clock.now()))


async def _latency(runtime: Any, company: str, gid: str, check: str, value: float) -> None:
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        now = uow.clock.now()
        uow.session.add(MetricState(company_id=pk_of(company), device_id=pk_of(gid),
                                    check_id=pk_of(check), instance="", read_at=now,
                                    value=value, state="OK", state_since=now))


async def _network(api: Any, runtime: Any, o: Org) -> dict[str, Any]:
    template = await ok(api, o.token, "createMonitoringTemplate", {
        "companyId": o.company, "name": "T", "checks": [UPTIME, LATENCY]})
    latency = next(c["id"] for c in template["checks"] if c["kind"] == "ICMP_LATENCY")
    uptime = next(c["id"] for c in template["checks"] if c["kind"] == "SNMP_GET")
    made = {}
    for name, site, status in (("a1", o.site_a, "UP"), ("a2", o.site_a, "UP"),
                               ("a3", o.site_a, "DOWN"), ("b1", o.site_b, "WARNING"),
                               ("n1", None, "UNKNOWN")):
        made[name] = (await device(api, o, name, f"10.0.0.{len(made) + 1}",
                                   networkSiteId=site, templateId=template["id"]))["id"]
        await _status(runtime, made[name], status)
    made["off"] = (await device(api, o, "off", "10.0.1.1", networkSiteId=o.site_a,
                                monitored=False))["id"]
    await _status(runtime, made["off"], "DOWN")
    for i in range(11):
        made[f"cpe{i}"] = (await device(api, o, f"cpe{i}", f"10.0.2.{i + 1}",
                                        templateId=template["id"]))["id"]
        await _latency(runtime, o.company, made[f"cpe{i}"], latency, 10.0 + i)
    await _latency(runtime, o.company, made["a3"], latency, 500.0)
    await _latency(runtime, o.company, made["a1"], uptime, 9e9)  # not a latency
    await _latency(runtime, o.company, made["off"], latency, 9e9)  # not monitored
    await _alert(runtime, o.company, "DEVICE_DOWN", "OPEN", "device:a3", made["a3"])
    await _alert(runtime, o.company, "THRESHOLD", "ACKNOWLEDGED", "check:b1", made["b1"])
    await _alert(runtime, o.company, "THRESHOLD", "CLOSED", "check:a1", made["a1"])
    await _alert(runtime, o.company, "POLLER_DOWN", "OPEN", "poller:1")
    return made


async def test_the_dashboard_counts_per_site_and_finds_the_worst_latency(
        api: Any, runtime: Any, vault_key: str) -> None:
    o = await org(api)
    await _network(api, runtime, o)
    await ok(api, o.token, "createPoller", {"companyId": o.company, "name": "P"})
    d = (await api.data(DASHBOARD, {"c": o.company}, o.token))["networkDashboard"]
    rows = [((s["networkSite"] or {}).get("name"), s["up"], s["warning"], s["down"],
             s["unknown"], s["total"], s["openAlerts"]) for s in d["sites"]]
    assert rows == [("Acme Fibre North", 2, 0, 1, 0, 3, 1),
                    ("Acme Fibre South", 0, 1, 0, 0, 1, 1),
                    (None, 0, 0, 0, 12, 12, 0)]
    assert d["openAlerts"] == 3
    assert d["openAlertsByKind"] == [{"kind": "DEVICE_DOWN", "count": 1},
                                     {"kind": "POLLER_DOWN", "count": 1},
                                     {"kind": "THRESHOLD", "count": 1}]
    assert (d["pollersUp"], d["pollersDown"], d["pollersNeverSeen"]) == (0, 0, 1)
    worst = [(w["device"]["name"], w["latencyMs"]) for w in d["worstLatency"]]
    assert worst == [("a3", 500.0)] + [(f"cpe{i}", 10.0 + i) for i in range(10, 1, -1)]
    assert d["worstLatency"][0]["device"]["networkSite"] == {"name": "Acme Fibre North"}


async def test_one_company_or_all_in_a_constant_number_of_statements(
        api: Any, runtime: Any, vault_key: str) -> None:
    o = await org(api)
    other = await org(api, o.token, name="Other ISP")
    await device(api, other, "theirs", "10.9.9.9", networkSiteId=other.site_a)

    async def statements(company: str | None) -> tuple[int, dict[str, Any]]:
        with count_statements(runtime) as seen:
            d = (await api.data(DASHBOARD, {"c": company}, o.token))["networkDashboard"]
        return len(seen), d

    made = await _network(api, runtime, o)
    few, d = await statements(o.company)
    assert sum(s["total"] for s in d["sites"]) == 16
    template = await ok(api, o.token, "createMonitoringTemplate", {
        "companyId": o.company, "name": "More", "checks": [LATENCY]})
    for i in range(5):
        site = (await ok(api, o.token, "createNetworkSite", {
            "companyId": o.company, "name": f"Site {i}", "kind": "TOWER"}))["id"]
        gid = (await device(api, o, f"far{i}", f"10.0.3.{i + 1}", networkSiteId=site,
                            templateId=template["id"]))["id"]
        await _latency(runtime, o.company, gid, template["checks"][0]["id"], 1000.0 + i)
        await _alert(runtime, o.company, "DEVICE_DOWN", "OPEN", f"device:far{i}", gid)
    many, d = await statements(o.company)
    assert many == few and sum(s["total"] for s in d["sites"]) == 21
    assert d["openAlerts"] == 8 and d["worstLatency"][0]["device"]["name"] == "far4"
    everyone, d = await statements(None)
    assert everyone == few
    assert [(s["networkSite"] or {}).get("name") for s in d["sites"]] == [
        "Acme Fibre North", "Acme Fibre South", "Other ISP North", "Other ISP South",
        "Site 0", "Site 1", "Site 2", "Site 3", "Site 4", None]
    assert sum(s["total"] for s in d["sites"]) == 22
    assert made
    body = await api.gql(DASHBOARD, {"c": o.site_a}, o.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
