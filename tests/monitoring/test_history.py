"""Reading history back: ``device.metrics`` (raw, hourly, daily, auto) and ``device.readings``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.monitoring.results_factories import (
    device_input,
    gid,
    monitoring_setup,
    result,
    submit,
)
from tests.support import count_statements

METRICS = """query($id: ID!, $name: String!, $from: DateTime!, $to: DateTime!,
  $granularity: MetricGranularity, $instance: String) {
  node(id: $id) { ... on Device { metrics(name: $name, from: $from, to: $to,
    granularity: $granularity, instance: $instance) {
      name instance label unit granularity points { at value minimum maximum count } } } } }"""
READINGS = """query { devices(first: 100) { edges { node { name status readings {
  name instance label unit value state since readAt error } } } } }"""


async def metrics(api: Any, token: str, device_id: int, name: str, start: Any, end: Any,
                  granularity: str | None = None, instance: str | None = None) -> Any:
    return await api.gql(METRICS, {"id": gid("Device", device_id), "name": name,
                                   "from": start.isoformat(), "to": end.isoformat(),
                                   "granularity": granularity, "instance": instance}, token)


async def test_raw_hourly_daily_and_auto(api, runtime, clock):
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    cpu = setup.checks["cpuLoad"]
    hour = (clock.now() - timedelta(days=1)).replace(minute=0)
    times = [hour + timedelta(minutes=m) for m in (5, 20, 40, 70)]
    for n, (at, value) in enumerate(zip(times, ["10", "20", "30", "40"], strict=True)):
        await submit(api, setup.token, f"b-{n}", [device_input(device_id, at,
                                                               results=[result(cpu, value)])])
    admin = await api.admin_token()
    start, end = hour - timedelta(hours=1), hour + timedelta(hours=3)

    async def series(granularity: str | None, start: Any = start, end: Any = end) -> Any:
        body = await metrics(api, admin, device_id, "cpuLoad", start, end, granularity)
        assert not body.get("errors"), body
        [found] = body["data"]["node"]["metrics"]
        return found

    raw = await series("RAW")
    assert (raw["name"], raw["instance"], raw["unit"], raw["granularity"]) == (
        "cpuLoad", "", "%", "RAW")
    assert [(p["value"], p["count"]) for p in raw["points"]] == [
        (10.0, 1), (20.0, 1), (30.0, 1), (40.0, 1)]
    hourly = await series("HOUR")
    assert [(p["at"], p["value"], p["minimum"], p["maximum"], p["count"])
            for p in hourly["points"]] == [
        (hour.isoformat(), 20.0, 10.0, 30.0, 3),
        ((hour + timedelta(hours=1)).isoformat(), 40.0, 40.0, 40.0, 1)]
    daily = await series("DAY")
    assert [(p["value"], p["count"]) for p in daily["points"]] == [(25.0, 4)]
    assert (await series(None))["granularity"] == "RAW"  # AUTO: a short recent span
    assert (await series("AUTO", end=start + timedelta(days=10)))["granularity"] == "HOUR"
    assert (await series("AUTO", start=end - timedelta(days=200)))["granularity"] == "DAY"
    # Older than the raw retention, a short span is read from the hourly rollups.
    old = clock.now() - timedelta(days=20)
    assert (await series("AUTO", start=old, end=old + timedelta(hours=5)))["points"] == []


async def test_one_series_per_instance(api, runtime, clock):
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    octets = setup.checks["ifHCInOctets"]
    t0 = clock.now() - timedelta(minutes=10)
    for n in range(3):
        await submit(api, setup.token, f"b-{n}", [device_input(
            device_id, t0 + timedelta(minutes=n), results=[
                result(octets, str(1000 + 6000 * n), instance="10", label="sfp-1",
                       counterBits=64),
                result(octets, str(1000 + 600 * n), instance="2", label="ether1",
                       counterBits=64)])])
    admin = await api.admin_token()
    body = await metrics(api, admin, device_id, "ifHCInOctets", t0, clock.now(), "RAW")
    found = body["data"]["node"]["metrics"]
    assert [(s["instance"], s["label"], [p["value"] for p in s["points"]]) for s in found] == [
        ("2", "ether1", [80.0, 80.0]), ("10", "sfp-1", [800.0, 800.0])]
    body = await metrics(api, admin, device_id, "ifHCInOctets", t0, clock.now(), "RAW",
                         instance="10")
    assert [s["instance"] for s in body["data"]["node"]["metrics"]] == ["10"]


async def test_bad_questions_are_errors(api, runtime, clock):
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    admin = await api.admin_token()
    now = clock.now()
    cases = [("noSuchMetric", now - timedelta(hours=1), now, None, "no check named"),
             ("cpuLoad", now, now, None, "after `from`"),
             ("cpuLoad", now - timedelta(days=8), now, "RAW", "at most 7 days")]
    for name, start, end, granularity, message in cases:
        body = await metrics(api, admin, device_id, name, start, end, granularity)
        [error] = body["errors"]
        assert message in error["message"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_readings_of_a_page_of_devices_in_constant_statements(api, runtime, clock):
    setup = await monitoring_setup(runtime, devices=6)
    cpu, octets = setup.checks["cpuLoad"], setup.checks["ifHCInOctets"]
    at = clock.now() - timedelta(minutes=1)
    await submit(api, setup.token, "b", [device_input(d, at, icmpLatencyMs=70.0, results=[
        result(cpu, "12"), result(octets, None, instance="2", error="noSuchInstance")])
        for d in setup.devices])
    admin = await api.admin_token()
    await api.data("{ devices(first: 1) { totalCount } }", token=admin)  # the token's first use
    with count_statements(runtime) as seen:
        data = await api.data(READINGS, token=admin)
    nodes = [e["node"] for e in data["devices"]["edges"]]
    assert len(nodes) == 6
    assert {n["status"] for n in nodes} == {"WARNING"}  # latency past its warning
    assert nodes[0]["readings"] == [
        {"name": "cpuLoad", "instance": "", "label": "", "unit": "%", "value": 12.0,
         "state": "OK", "since": at.isoformat(), "readAt": at.isoformat(), "error": None},
        {"name": "icmpLatency", "instance": "", "label": "", "unit": "ms", "value": 70.0,
         "state": "WARNING", "since": at.isoformat(), "readAt": at.isoformat(),
         "error": None},
        {"name": "ifHCInOctets", "instance": "2", "label": "", "unit": "bit/s",
         "value": None, "state": "UNKNOWN", "since": at.isoformat(),
         "readAt": at.isoformat(), "error": "noSuchInstance"}]
    many = len(seen)
    with count_statements(runtime) as seen:
        await api.data(READINGS.replace("first: 100", "first: 1"), token=admin)
    assert len(seen) == many


async def test_pruning_keeps_raw_days_and_hourly_days(api, runtime, clock, system_uow):
    from sqlalchemy import select

    from ispcore.domain.monitoring.models import MetricRollup, MetricSample
    from ispcore.domain.monitoring.retention import PRUNE_JOB, prune_history
    from ispcore.workers.registry import run_job

    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    cpu = setup.checks["cpuLoad"]
    now = clock.now()
    ages = [timedelta(days=100), timedelta(days=10, minutes=5), timedelta(days=10),
            timedelta(days=1)]
    for n, age in enumerate(ages):
        clock.set(now - age + timedelta(seconds=1))  # each sent as it was polled
        await submit(api, setup.token, f"b-{n}", [device_input(
            device_id, now - age, results=[result(cpu, str(n))])])
    clock.set(now)
    assert await prune_history(lambda: system_uow(), batch=1) == {
        "samples": 3, "hourly_rollups": 1}
    async with system_uow() as uow:
        assert list(await uow.session.scalars(select(MetricSample.value))) == [3.0]
        kept = sorted((r.granularity, r.total) for r in await uow.session.scalars(
            select(MetricRollup)))
    # Hourly: the 100-day-old one went; daily: all kept (the 10-day-old two share a day).
    assert kept == [("DAY", 0.0), ("DAY", 3.0), ("DAY", 3.0),
                    ("HOUR", 1.0), ("HOUR", 2.0), ("HOUR", 3.0)]
    assert await run_job(runtime, PRUNE_JOB) == {"samples": 0, "hourly_rollups": 0}
