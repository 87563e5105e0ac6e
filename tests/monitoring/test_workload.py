"""The poller's side of the API: its workload (its monitored devices with a template, the
credentials in clear, SNMP checks only, ICMP when the template pings), its heartbeat, and
``monitoring.watch_pollers`` marking a silent poller down. Poller tokens only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ispcore.workers.monitoring import WATCH_POLLERS_JOB
from ispcore.workers.registry import run_job
from tests.accounts.account_queries import pk_of
from tests.accounts.factories import ok
from tests.monitoring.config_support import POLLER_FIELDS, device, events_of, org, poller
from tests.monitoring.test_templates import IN_OCTETS, LATENCY, UPTIME
from tests.support import count_statements

WORKLOAD = """{ pollerWorkload { pollerId concurrency heartbeatSeconds devices {
  deviceId name address intervalSeconds
  snmp { version port community username authProtocol authKey privProtocol privKey
         timeoutMs retries }
  icmp { count timeoutMs }
  checks { checkId name kind oid valueType labelOid } } } }"""
HEARTBEAT = f"""mutation($input: PollerHeartbeatInput!) {{ pollerHeartbeat(input: $input) {{
  poller {{ {POLLER_FIELDS} }} errors {{ field code message }} }} }}"""


async def _setup(api: Any) -> tuple[Any, dict[str, Any], str, dict[str, Any], dict[str, Any]]:
    o = await org(api)
    p, token = await poller(api, o, "NOC", subnets=["10.0.0.0/8"], concurrency=16)
    full = await ok(api, o.token, "createMonitoringTemplate", {
        "companyId": o.company, "name": "Routers", "intervalSeconds": 30,
        "snmpTimeoutMs": 1500, "snmpRetries": 2, "icmpCount": 5,
        "checks": [UPTIME, IN_OCTETS, LATENCY]})
    snmp_only = await ok(api, o.token, "createMonitoringTemplate", {
        "companyId": o.company, "name": "Switches", "checks": [UPTIME]})
    return o, p, token, full, snmp_only


async def test_the_workload_is_the_pollers_monitored_devices_with_their_secrets(
        api: Any, runtime: Any, vault_key: str) -> None:
    o, p, token, full, snmp_only = await _setup(api)
    router = await device(api, o, "Router", "10.0.0.1", templateId=full["id"],
                          snmpVersion="V2C", snmpCommunity="s3cret", snmpPort=1161)
    switch = await device(api, o, "Switch", "10.0.0.2", templateId=snmp_only["id"],
                          snmpVersion="V3", snmpUsername="noc", snmpAuthProtocol="SHA",
                          snmpAuthKey="auth-pass-1")
    ping_only = await device(api, o, "CPE", "10.0.0.3", templateId=full["id"])
    await device(api, o, "Unmonitored", "10.0.0.4", templateId=full["id"], monitored=False)
    await device(api, o, "No template", "10.0.0.5")
    await device(api, o, "Elsewhere", "192.168.0.1", templateId=full["id"])  # no poller
    other = await org(api, o.token, name="Other ISP")
    await poller(api, other, "Theirs", subnets=["10.0.0.0/8"])
    await device(api, other, "Their router", "10.0.0.1", templateId=None)

    work = (await api.data(WORKLOAD, token=token))["pollerWorkload"]
    assert (work["pollerId"], work["concurrency"], work["heartbeatSeconds"]) == (
        p["id"], 16, 30)
    by_name = {d["name"]: d for d in work["devices"]}
    assert sorted(by_name) == ["CPE", "Router", "Switch"]
    r = by_name["Router"]
    assert (r["deviceId"], r["address"], r["intervalSeconds"]) == (router["id"], "10.0.0.1", 30)
    assert r["snmp"] == {"version": "V2C", "port": 1161, "community": "s3cret", "username": "",
                         "authProtocol": "NONE", "authKey": "", "privProtocol": "NONE",
                         "privKey": "", "timeoutMs": 1500, "retries": 2}
    assert r["icmp"] == {"count": 5, "timeoutMs": 1000}
    checks = {c["name"]: c for c in full["checks"]}
    assert r["checks"] == [
        {"checkId": checks["sysUpTime"]["id"], "name": "sysUpTime", "kind": "SNMP_GET",
         "oid": "1.3.6.1.2.1.1.3.0", "valueType": "GAUGE", "labelOid": None},
        {"checkId": checks["ifHCInOctets"]["id"], "name": "ifHCInOctets",
         "kind": "SNMP_WALK", "oid": "1.3.6.1.2.1.31.1.1.1.6", "valueType": "COUNTER",
         "labelOid": "1.3.6.1.2.1.31.1.1.1.1"}]
    s = by_name["Switch"]
    assert s["deviceId"] == switch["id"] and s["icmp"] is None
    assert (s["snmp"]["version"], s["snmp"]["username"], s["snmp"]["authKey"],
            s["snmp"]["privProtocol"]) == ("V3", "noc", "auth-pass-1", "NONE")
    c = by_name["CPE"]
    assert c["deviceId"] == ping_only["id"]
    assert (c["snmp"], c["checks"], c["icmp"]["count"]) == (None, [], 5)


async def test_only_a_poller_token_may_call_the_pollers_side(api: Any, runtime: Any) -> None:
    o, _p, _token, _full, _ = await _setup(api)
    for query, variables in ((WORKLOAD, None),
                             (HEARTBEAT, {"input": {"version": "1", "lagSeconds": 0}})):
        body = await api.gql(query, variables, o.token)  # an admin's token
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "poller token" in body["errors"][0]["message"]
        body = await api.gql(query, variables)
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # And a poller token may do nothing else.
    _p2, token = await poller(api, o, "Another")
    body = await api.gql("{ devices { totalCount } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_the_workload_reads_a_constant_number_of_statements(
        api: Any, runtime: Any, vault_key: str) -> None:
    o, _p, token, full, _ = await _setup(api)

    async def statements() -> int:
        with count_statements(runtime) as seen:
            await api.data(WORKLOAD, token=token)
        return len(seen)

    await device(api, o, "R0", "10.0.0.1", templateId=full["id"], snmpVersion="V2C",
                 snmpCommunity="c0")
    one = await statements()
    for i in range(1, 12):
        t = await ok(api, o.token, "createMonitoringTemplate", {
            "companyId": o.company, "name": f"T{i}", "checks": [UPTIME, LATENCY]})
        await device(api, o, f"R{i}", f"10.0.0.{i + 1}", templateId=t["id"],
                     snmpVersion="V2C", snmpCommunity=f"c{i}")
    assert len((await api.data(WORKLOAD, token=token))["pollerWorkload"]["devices"]) == 12
    assert await statements() == one


async def test_heartbeats_and_silent_pollers(api: Any, runtime: Any, clock: Any) -> None:
    o, p, token, _full, _ = await _setup(api)
    start = clock.now()
    beat = await api.data(HEARTBEAT, {"input": {"version": "ispcore 0.9", "lagSeconds": 1.5}},
                          token)
    polled = beat["pollerHeartbeat"]["poller"]
    assert beat["pollerHeartbeat"]["errors"] == []
    assert (polled["status"], polled["lagSeconds"], polled["reportedVersion"],
            polled["reportedAddress"]) == ("UP", 1.5, "ispcore 0.9", "203.0.113.7")
    assert polled["lastHeartbeatAt"] == start.isoformat()
    bad = await api.data(HEARTBEAT, {"input": {"version": "x" * 51, "lagSeconds": -1}}, token)
    assert {e["field"] for e in bad["pollerHeartbeat"]["errors"]} == {"version", "lagSeconds"}
    never, _ = await poller(api, o, "Never started")

    clock.advance(timedelta(seconds=90))
    assert await run_job(runtime, WATCH_POLLERS_JOB) == 0  # 90 s is not more than 90 s
    clock.advance(timedelta(seconds=1))
    assert await run_job(runtime, WATCH_POLLERS_JOB) == 1
    assert await run_job(runtime, WATCH_POLLERS_JOB) == 0  # once
    statuses = (await api.data("{ pollers(orderBy: {field: NAME}) { edges { node { name "
                               "status } } } }", token=o.token))["pollers"]["edges"]
    assert [(e["node"]["name"], e["node"]["status"]) for e in statuses] == [
        ("NOC", "DOWN"), ("Never started", "NEVER_SEEN")]
    assert never["status"] == "NEVER_SEEN"
    dash = (await api.data("query($c: ID) { networkDashboard(companyId: $c) { pollersUp "
                           "pollersDown pollersNeverSeen } }", {"c": o.company},
                           o.token))["networkDashboard"]
    assert dash == {"pollersUp": 0, "pollersDown": 1, "pollersNeverSeen": 1}

    clock.advance(timedelta(minutes=5))
    back = await api.data(HEARTBEAT, {"input": {"version": "ispcore 0.9", "lagSeconds": 0}},
                          token)
    assert back["pollerHeartbeat"]["poller"]["status"] == "UP"
    await api.data(HEARTBEAT, {"input": {"version": "ispcore 0.9", "lagSeconds": 0}}, token)
    down_at = (start + timedelta(seconds=91)).isoformat()
    up_at = (start + timedelta(seconds=391)).isoformat()
    assert [e for e in await events_of(runtime, "poller.") if e[0] in (
        "poller.down", "poller.up")] == [
        ("poller.down", {"pollerId": pk_of(p["id"]), "pollerName": "NOC",
                         "lastHeartbeatAt": start.isoformat(), "at": down_at}),
        ("poller.up", {"pollerId": pk_of(p["id"]), "pollerName": "NOC", "at": up_at})]


async def test_a_server_without_the_vault_key_says_so_clearly(
        api: Any, runtime: Any, vault_key: str, monkeypatch: Any) -> None:
    o, _p, token, full, _ = await _setup(api)
    await device(api, o, "Router", "10.0.0.1", templateId=full["id"], snmpVersion="V2C",
                 snmpCommunity="s3cret")
    monkeypatch.setattr(runtime.settings, "vault_key", None)
    body = await api.gql(WORKLOAD, token=token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "ISPCORE_VAULT_KEY" in body["errors"][0]["message"]
