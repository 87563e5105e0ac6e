"""The poller's scheduler against a real HTTP server speaking the poller's GraphQL operations,
polling real snmpd (v2c and v3), loopback ICMP, a wrong community and a garbage agent: every
device gets results, one failing device never stops the others, refused batches are resent
without the refused devices, failed submissions are retried under the same batch id."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import httpx

from ispcore.network.poller.api import PollerApi
from ispcore.network.poller.scheduler import Scheduler
from tests.peers.poller_api_support import TOKEN, check, device, fake_api, snmp_access

IF_HC_IN = "1.3.6.1.2.1.31.1.1.1.6"
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
IF_NUMBER = "1.3.6.1.2.1.2.1.0"


async def _until(condition: Callable[[], bool], seconds: float = 20) -> None:
    for _ in range(int(seconds * 20)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def _running(api_url: str, **options):
    http = httpx.AsyncClient(timeout=10)
    scheduler = Scheduler(PollerApi(http, api_url, TOKEN), version="test-1",
                          batch_seconds=0.2, backoff=(0.05, 0.2), **options)
    return asyncio.create_task(scheduler.run()), http


async def _stop(task, http) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await http.aclose()


def _latest(api, device_id: str) -> dict:
    return [d for d in api.submitted() if d["deviceId"] == device_id][-1]


async def test_polls_every_device_and_keeps_going_past_failures(snmpd, garbage_agent):
    async with fake_api() as api:
        checks = [check("c-ifnumber", IF_NUMBER),
                  check("c-hcin", IF_HC_IN, "SNMP_WALK", "COUNTER", label_oid=IF_NAME)]
        api.devices = [
            device("v2c", snmp=snmp_access(snmpd.v2c()), icmp=True, checks=checks),
            device("v3", snmp=snmp_access(snmpd.v3()), checks=checks),
            device("wrong-community", snmp=snmp_access(snmpd.v2c("nope"), timeout_ms=200),
                   checks=checks),
            device("garbage", snmp=snmp_access(snmpd.v2c()) | {"port": garbage_agent},
                   checks=checks[:1]),
            device("icmp-only", icmp=True),
        ]
        task, http = await _running(api.url)
        try:
            await _until(lambda: {d["deviceId"] for d in api.submitted()} == {
                "v2c", "v3", "wrong-community", "garbage", "icmp-only"}
                and len(api.of("heartbeat")) >= 1)
        finally:
            await _stop(task, http)

    for device_id in ("v2c", "v3"):
        polled = _latest(api, device_id)
        assert polled["reachable"] is True and polled["error"] is None
        assert polled["sysName"] == socket.gethostname()
        assert polled["sysUptimeTicks"] > 0
        results = {(r["checkId"], r["instance"]): r for r in polled["results"]}
        assert int(results[("c-ifnumber", "")]["value"]) >= 1
        lo = results[("c-hcin", "1")]
        assert lo["label"] == "lo" and lo["counterBits"] == 64 and int(lo["value"]) > 0
    assert _latest(api, "v2c")["icmpLatencyMs"] is not None
    assert _latest(api, "v2c")["icmpLossPercent"] == 0

    wrong = _latest(api, "wrong-community")
    assert wrong["reachable"] is False and "timeout" in wrong["error"]
    assert all(r["error"] and r["value"] is None for r in wrong["results"])
    garbage = _latest(api, "garbage")
    assert "SnmpProtocolError" in garbage["error"]
    icmp_only = _latest(api, "icmp-only")
    assert icmp_only["reachable"] is True and icmp_only["results"] == []

    beat = api.of("heartbeat")[0]["input"]
    assert beat["version"] == "test-1" and beat["lagSeconds"] >= 0
    batch_ids = [b["input"]["batchId"] for b in api.of("accepted")]
    assert len(batch_ids) == len(set(batch_ids))  # a new id per new batch


async def test_failed_submission_is_retried_with_the_same_batch_id():
    async with fake_api() as api:
        api.devices = [device("a", icmp=True)]
        api.submit_script = [500, 502]
        task, http = await _running(api.url)
        try:
            await _until(lambda: len(api.of("accepted")) >= 1)
        finally:
            await _stop(task, http)
    first_three = [call["input"]["batchId"] for call in api.of("submit")[:3]]
    assert len(set(first_three)) == 1
    assert api.of("submit")[2] == api.of("accepted")[0]


async def test_refused_devices_are_dropped_and_the_rest_resent():
    async with fake_api() as api:
        api.devices = [device("mine", icmp=True), device("moved", icmp=True)]
        api.moved = {"moved"}
        task, http = await _running(api.url)
        try:
            await _until(lambda: len(api.of("accepted")) >= 3)
        finally:
            await _stop(task, http)
    submits = api.of("submit")
    refused = next(i for i, call in enumerate(submits)
                   if "moved" in {d["deviceId"] for d in call["input"]["devices"]})
    resent = submits[refused + 1]["input"]
    assert resent["batchId"] != submits[refused]["input"]["batchId"]
    assert "moved" not in {d["deviceId"] for d in resent["devices"]}
    assert len(api.of("workload")) >= 2  # fetched again after the refusal
    assert all(d["deviceId"] == "mine" for d in api.submitted())
    # Once the new workload is in, "moved" is no longer polled at all.
    assert "moved" not in {d["deviceId"] for d in submits[-1]["input"]["devices"]}
