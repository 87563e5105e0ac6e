"""Monitoring end to end, every part real: devices, a template and a poller made through the
API; the `ispcore poller` scheduler polling net-snmp's snmpd (v2c and v3) and ICMP, pushing
its results through the real GraphQL API; status and history read back; a critical threshold
and a device that stops answering (a network namespace taken down) open alerts that reach the
on-call rotation by email, and close on recovery."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ispcore.network.poller.api import PollerApi
from ispcore.network.poller.probe import poll_device
from ispcore.network.poller.scheduler import Scheduler
from tests.accounts.factories import ok
from tests.messaging.transport_support import smtp_server
from tests.monitoring.alerts_support import (
    alerting_company,
    alerts,
    all_week,
    rotation,
    settle,
)
from tests.monitoring.config_support import Org, device, poller
from tests.peers.netns_support import netns  # noqa: F401  (fixture)
from tests.peers.snmpd_support import AUTH_KEY, COMMUNITY, PRIV_KEY, USER, snmpd  # noqa: F401

pytestmark = pytest.mark.usefixtures("private_targets_allowed")  # SMTP on loopback

HR_SYSTEM_PROCESSES = "1.3.6.1.2.1.25.1.6.0"
DEVICE = """query($id: ID!, $metric: String!, $from: DateTime!, $to: DateTime!) {
  node(id: $id) { ... on Device { name status sysName lastError lastPolledAt
  readings { name instance label value state error }
  metrics(name: $metric, from: $from, to: $to, granularity: RAW) {
    instance label unit points { at value } } } } }"""


async def _device(api: Any, token: str, device_id: str, metric: str = "ifHCInOctets"
                  ) -> dict[str, Any]:
    now = datetime.now(UTC)
    data = await api.data(DEVICE, {"id": device_id, "metric": metric,
                                   "from": (now - timedelta(hours=1)).isoformat(),
                                   "to": (now + timedelta(hours=1)).isoformat()}, token)
    return data["node"]


async def _until(check: Callable[[], Any], seconds: float = 40) -> Any:
    for _ in range(int(seconds * 4)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.25)
    raise AssertionError("not reached in time")


def _reading(device: dict[str, Any], name: str, label: str | None = None
             ) -> dict[str, Any] | None:
    return next((r for r in device["readings"] if r["name"] == name
                 and (label is None or r["label"] == label)), None)


async def _template(api: Any, token: str, company: str, checks: list[dict[str, Any]]) -> str:
    made = await ok(api, token, "createMonitoringTemplate", {
        "companyId": company, "name": f"peer {uuid.uuid4().hex[:6]}", "intervalSeconds": 10,
        "icmpCount": 2, "icmpTimeoutMs": 500, "snmpTimeoutMs": 1000, "snmpRetries": 1,
        "checks": checks})
    return made["id"]


async def test_snmpd_polled_through_the_api_with_a_threshold_alert_to_the_rotation(
        api, runtime, clock, vault_key, snmpd):  # noqa: F811  (fixtures imported above)
    clock.set(datetime.now(UTC))
    with smtp_server() as (inbox, smtp_port):
        a = await alerting_company(api, smtp_port)
        await rotation(api, a, [all_week(a.users["noc1@example.com"])])
        o = Org(a.setup.token, a.setup.company, "", "")
        template = await _template(api, o.token, o.company, [
            {"name": "sysUpTime", "kind": "SNMP_GET", "oid": "1.3.6.1.2.1.1.3.0",
             "valueType": "GAUGE", "unit": "ticks"},
            {"name": "ifHCInOctets", "kind": "SNMP_WALK", "oid": "1.3.6.1.2.1.31.1.1.1.6",
             "valueType": "COUNTER", "labelOid": "1.3.6.1.2.1.31.1.1.1.1", "scale": 8,
             "unit": "bit/s"},
            # snmpd always runs some processes: a critical threshold of 1 is breached at once
            {"name": "processes", "kind": "SNMP_GET", "oid": HR_SYSTEM_PROCESSES,
             "valueType": "GAUGE", "criticalThreshold": 1},
            {"name": "latency", "kind": "ICMP_LATENCY", "unit": "ms"},
            {"name": "loss", "kind": "ICMP_LOSS", "unit": "%"}])
        _, token = await poller(api, o, "poller-loopback", subnets=["127.0.0.0/8"])
        v2c = await device(api, o, "router-v2c", "127.0.0.1", templateId=template,
                           snmpVersion="V2C", snmpPort=snmpd.port, snmpCommunity=COMMUNITY)
        v3 = await device(api, o, "router-v3", "127.0.0.1", templateId=template,
                          snmpVersion="V3", snmpPort=snmpd.port, snmpUsername=USER,
                          snmpAuthProtocol="SHA", snmpAuthKey=AUTH_KEY,
                          snmpPrivProtocol="AES128", snmpPrivKey=PRIV_KEY)
        wrong = await device(api, o, "router-wrong-key", "127.0.0.1", templateId=template,
                             snmpVersion="V3", snmpPort=snmpd.port, snmpUsername=USER,
                             snmpAuthProtocol="SHA", snmpAuthKey="not-the-key",
                             snmpPrivProtocol="AES128", snmpPrivKey=PRIV_KEY)
        assert v2c["poller"] is not None and v2c["status"] == "UNKNOWN"

        scheduler = Scheduler(PollerApi(api.client, "/graphql", token), version="e2e",
                              batch_seconds=0.2, backoff=(0.05, 0.2))
        task = asyncio.create_task(scheduler.run())
        try:
            async def rated() -> Any:
                found = [await _device(api, o.token, d["id"]) for d in (v2c, v3)]
                return found if all((_reading(d, "ifHCInOctets", "lo") or {}).get("value")
                                    is not None for d in found) else None

            # two polls of each device: the second turns the counters into rates
            for polled in await _until(rated):
                assert polled["sysName"] != "" and polled["lastPolledAt"] is not None
                assert polled["status"] == "WARNING"  # the process count is past critical
                assert _reading(polled, "sysUpTime")["value"] > 0
                assert _reading(polled, "latency")["value"] is not None
                assert _reading(polled, "loss")["value"] == 0
                assert _reading(polled, "processes")["state"] == "CRITICAL"
                assert _reading(polled, "ifHCInOctets", "lo")["value"] >= 0
                [lo] = [s for s in polled["metrics"] if s["label"] == "lo"]
                assert lo["unit"] == "bit/s" and len(lo["points"]) >= 1

            # wrong v3 key: a clear per-device error; ICMP still answers, so it is not down
            bad = await _device(api, o.token, wrong["id"])
            assert bad["lastError"] is not None and "auth" in bad["lastError"].lower()
            assert bad["status"] != "DOWN"

            await settle(runtime)
            threshold = [x for x in await alerts(api, o.token, status={"eq": "OPEN"})
                         if x["kind"] == "THRESHOLD"]
            assert {x["device"]["name"] for x in threshold} == {"router-v2c", "router-v3"}
            assert sorted(m["Subject"] for m in inbox.messages)[0].startswith("[CRITICAL]")
            assert {m["To"] for m in inbox.messages} == {"noc1@example.com"}

            # raise the threshold past any process count: the next polls close both alerts
            check_id = next(c["id"] for c in (await api.data(
                'query($id: ID!) { node(id: $id) { ... on MonitoringTemplate { checks { id '
                'name } } } }', {"id": template}, o.token))["node"]["checks"]
                if c["name"] == "processes")
            await ok(api, o.token, "updateMonitoringCheck", {"id": check_id,
                                                             "criticalThreshold": 1e9})

            async def recovered() -> Any:
                await settle(runtime)
                open_now = [x for x in await alerts(api, o.token, status={"eq": "OPEN"})
                            if x["kind"] == "THRESHOLD"]
                return not open_now

            await _until(recovered)
            assert sum(m["Subject"].startswith("[RESOLVED]") for m in inbox.messages) == 2
            assert scheduler.accepted >= 6 and scheduler.dropped == 0
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_device_that_stops_answering_is_down_and_alerts_until_it_answers(
        api, runtime, clock, netns):  # noqa: F811  (fixture imported above)
    clock.set(datetime.now(UTC))
    a = await alerting_company(api)
    o = Org(a.setup.token, a.setup.company, "", "")
    template = await _template(api, o.token, o.company, [
        {"name": "latency", "kind": "ICMP_LATENCY", "unit": "ms"},
        {"name": "loss", "kind": "ICMP_LOSS", "unit": "%"}])
    _, token = await poller(api, o, "poller-ns", subnets=["10.213.0.0/16", "127.0.0.0/8"])
    far = await device(api, o, "radio-far", netns.address, templateId=template)
    near = await device(api, o, "loopback", "127.0.0.1", templateId=template)
    poller_api = PollerApi(api.client, "/graphql", token)

    async def poll_all() -> dict[str, dict[str, Any]]:
        workload = await poller_api.workload()
        results = [await poll_device(d) for d in workload.devices]
        submitted = await poller_api.submit(uuid.uuid4().hex, results)
        assert submitted.errors == [] and submitted.accepted == 2
        await settle(runtime)
        return {d["name"]: d for d in [await _device(api, o.token, x["id"], "latency")
                                       for x in (far, near)]}

    polled = await poll_all()
    assert polled["radio-far"]["status"] == "UP" and polled["loopback"]["status"] == "UP"
    assert _reading(polled["loopback"], "latency")["value"] > 0
    assert len(polled["loopback"]["metrics"][0]["points"]) == 1

    netns.link("down")
    clock.advance(timedelta(seconds=10))
    polled = await poll_all()
    assert polled["radio-far"]["status"] == "DOWN" and polled["loopback"]["status"] == "UP"
    [alert] = await alerts(api, o.token, status={"eq": "OPEN"})
    assert (alert["kind"], alert["device"]["name"]) == ("DEVICE_DOWN", "radio-far")

    netns.link("up")
    clock.advance(timedelta(seconds=10))
    polled = await poll_all()
    assert polled["radio-far"]["status"] == "UP"
    [alert] = await alerts(api, o.token)
    assert alert["status"] == "CLOSED" and alert["closedAt"] is not None
