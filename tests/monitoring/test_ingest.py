"""``submitPollResults``: samples, rates, rollups, states, device status and events, in one
transaction and a fixed number of statements; bad batches refused whole."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.events.models import Event
from ispcore.domain.monitoring.models import (
    Device,
    MetricRollup,
    MetricSample,
    MetricState,
    PollBatch,
    Poller,
)
from tests.monitoring.results_factories import (
    SUBMIT,
    device_input,
    gid,
    monitoring_setup,
    new_device,
    new_poller,
    new_template,
    result,
    submit,
)
from tests.support import count_statements


async def rows(system_uow: Any, model: Any, *where: Any, order: Any = None) -> list[Any]:
    async with system_uow() as uow:
        statement = select(model).where(*where)
        if order is not None:
            statement = statement.order_by(*order)
        return list(await uow.session.scalars(statement))


async def events(system_uow: Any) -> list[tuple[str, dict[str, Any]]]:
    found = await rows(system_uow, Event, Event.type.like("device.%"), order=(Event.id,))
    return [(e.type, e.payload) for e in found]


async def count(system_uow: Any, model: Any) -> int:
    async with system_uow() as uow:
        return await uow.session.scalar(select(func.count()).select_from(model))


async def test_first_poll_stores_history_and_brings_the_device_up(api, runtime, clock,
                                                                  system_uow):
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    at = clock.now() - timedelta(seconds=30)
    payload = await submit(api, setup.token, "b-1", [device_input(
        device_id, at, sysName="core-1", sysUptimeTicks=123456, icmpLatencyMs=4.5,
        icmpLossPercent=0.0, results=[result(setup.checks["cpuLoad"], "42.5")])])
    assert payload == {"accepted": 1, "duplicate": False, "errors": []}
    [device] = await rows(system_uow, Device)
    assert (device.status, device.status_changed_at, device.last_polled_at, device.sys_name,
            device.sys_uptime_ticks, device.last_error) == ("UP", at, at, "core-1", 123456,
                                                             None)
    samples = {s.check_id: s.value for s in await rows(system_uow, MetricSample)}
    assert samples == {setup.checks["icmpLatency"]: 4.5, setup.checks["icmpLoss"]: 0.0,
                       setup.checks["cpuLoad"]: 42.5}
    hour = at.replace(minute=0, second=0, microsecond=0)
    rollups = {(r.check_id, r.granularity): (r.bucket_start, r.count, r.total)
               for r in await rows(system_uow, MetricRollup)}
    assert rollups[(setup.checks["cpuLoad"], "HOUR")] == (hour, 1, 42.5)
    assert rollups[(setup.checks["cpuLoad"], "DAY")] == (hour.replace(hour=0), 1, 42.5)
    states = {s.check_id: (s.value, s.state) for s in await rows(system_uow, MetricState)}
    assert states[setup.checks["cpuLoad"]] == (42.5, "OK")
    [poller] = await rows(system_uow, Poller)
    assert poller.last_submission_at == clock.now()
    assert await events(system_uow) == [("device.up", {
        "deviceId": device_id, "deviceName": "router-0", "address": "10.0.0.1",
        "networkSiteId": None, "previousStatus": "UNKNOWN", "at": at.isoformat()})]


async def test_counters_become_rates_across_polls(api, runtime, clock, system_uow):
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    octets = setup.checks["ifHCInOctets"]
    t0 = clock.now() - timedelta(minutes=10)

    def poll(n: int, raw: int, bits: int = 64, ticks: int | None = None) -> dict[str, Any]:
        return device_input(device_id, t0 + timedelta(minutes=n), sysUptimeTicks=ticks,
                            results=[result(octets, str(raw), instance="2", label="ether1",
                                            counterBits=bits)])

    await submit(api, setup.token, "b-0", [poll(0, 10**15, ticks=1000)])
    assert await count(system_uow, MetricSample) == 0  # the first reading gives no rate
    [state] = await rows(system_uow, MetricState)
    assert (state.raw_counter, state.value, state.state, state.label) == (
        10**15, None, "UNKNOWN", "ether1")
    await submit(api, setup.token, "b-1", [poll(1, 10**15 + 60_000, ticks=7000)])
    [sample] = await rows(system_uow, MetricSample)
    assert (sample.instance, sample.value) == ("2", 8000.0)  # 1000 octets/s x 8
    # A Counter64 going down is a reset: no rate; the next poll rates from the new raw.
    await submit(api, setup.token, "b-2", [poll(2, 500, ticks=13000)])
    await submit(api, setup.token, "b-3", [poll(3, 500 + 6_000, ticks=19000)])
    values = [s.value for s in await rows(system_uow, MetricSample, order=(MetricSample.at,))]
    assert values == [8000.0, 800.0]
    # A Counter32 wraps; after a reboot (sysUpTime went back) a fall is a reset.
    await submit(api, setup.token, "b-4", [poll(4, 2**32 - 600, bits=32, ticks=25000)])
    await submit(api, setup.token, "b-5", [poll(5, 5400, bits=32, ticks=31000)])
    await submit(api, setup.token, "b-6", [poll(6, 100, bits=32, ticks=50)])
    values = [s.value for s in await rows(system_uow, MetricSample, order=(MetricSample.at,))]
    assert values == [8000.0, 800.0, 800.0]
    [state] = await rows(system_uow, MetricState)
    assert (state.raw_counter, state.value, state.counter_bits) == (100, 800.0, 32)


async def test_a_late_sample_goes_to_history_but_moves_no_state(api, runtime, clock,
                                                                system_uow):
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    cpu = setup.checks["cpuLoad"]
    late, now = clock.now() - timedelta(minutes=2), clock.now() - timedelta(minutes=1)
    await submit(api, setup.token, "b-new", [device_input(device_id, now,
                                                          results=[result(cpu, "10")])])
    await submit(api, setup.token, "b-old", [device_input(device_id, late,
                                                          results=[result(cpu, "99")])])
    [state] = await rows(system_uow, MetricState)
    assert (state.value, state.state, state.read_at) == (10.0, "OK", now)
    [device] = await rows(system_uow, Device)
    assert (device.status, device.last_polled_at) == ("UP", now)
    assert [s.value for s in await rows(system_uow, MetricSample,
                                        order=(MetricSample.at,))] == [99.0, 10.0]
    # The same late sample again (under another batch id) is stored once, counted once.
    await submit(api, setup.token, "b-old-again", [device_input(
        device_id, late, results=[result(cpu, "99")])])
    [hourly] = await rows(system_uow, MetricRollup, MetricRollup.granularity == "HOUR")
    assert (hourly.count, hourly.total, hourly.minimum, hourly.maximum) == (2, 109.0, 10.0,
                                                                            99.0)
    assert [e for e, _ in await events(system_uow)] == ["device.up"]


async def test_thresholds_raise_and_clear_events(api, runtime, clock, system_uow):
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    cpu = setup.checks["cpuLoad"]
    t0 = clock.now() - timedelta(minutes=10)
    statuses = []
    for n, value in enumerate(["50", "85", "97", "90", "10"]):
        await submit(api, setup.token, f"b-{n}", [device_input(
            device_id, t0 + timedelta(minutes=n), results=[result(cpu, value)])])
        statuses.append((await rows(system_uow, Device))[0].status)
    assert statuses == ["UP", "WARNING", "WARNING", "WARNING", "UP"]
    found = await events(system_uow)
    assert [(e, p.get("previousState"), p.get("state")) for e, p in found] == [
        ("device.up", None, None),
        ("device.threshold_breached", "OK", "WARNING"),
        ("device.threshold_breached", "WARNING", "CRITICAL"),
        ("device.threshold_breached", "CRITICAL", "WARNING"),
        ("device.threshold_cleared", "WARNING", "OK")]
    assert found[2][1] == {
        "deviceId": device_id, "deviceName": "router-0", "networkSiteId": None,
        "checkId": cpu, "checkName": "cpuLoad", "instance": "", "label": "",
        "state": "CRITICAL", "previousState": "WARNING", "value": 97.0, "threshold": 95.0,
        "direction": "ABOVE", "at": (t0 + timedelta(minutes=2)).isoformat()}
    assert found[4][1]["threshold"] == 80.0  # the threshold it came back inside


async def test_down_leaves_metric_states_and_up_follows(api, runtime, clock, system_uow):
    setup = await monitoring_setup(runtime, devices=2)
    first, second = setup.devices
    cpu = setup.checks["cpuLoad"]
    t0 = clock.now() - timedelta(minutes=10)
    await submit(api, setup.token, "b-0", [
        device_input(first, t0, results=[result(cpu, "85")]),
        device_input(second, t0, reachable=False, error="No answer to ICMP",
                     icmpLossPercent=100.0)])
    await submit(api, setup.token, "b-1", [device_input(
        first, t0 + timedelta(minutes=1), reachable=False, icmpLossPercent=100.0,
        results=[result(cpu, "10")])])
    [state] = await rows(system_uow, MetricState, MetricState.device_id == first)
    assert (state.value, state.state) == (85.0, "WARNING")  # as it was before going down
    await submit(api, setup.token, "b-2", [device_input(
        first, t0 + timedelta(minutes=2), results=[result(cpu, "86")])])
    found = await events(system_uow)
    assert [(e, p["deviceId"]) for e, p in found] == [
        ("device.up", first), ("device.threshold_breached", first), ("device.down", second),
        ("device.down", first), ("device.up", first)]
    assert found[2][1] == {"deviceId": second, "deviceName": "router-1",
                           "address": "10.0.0.2", "networkSiteId": None,
                           "reason": "No answer to ICMP", "at": t0.isoformat()}
    assert found[4][1]["previousStatus"] == "DOWN"
    devices = {d.id: d for d in await rows(system_uow, Device)}
    assert (devices[first].status, devices[second].status) == ("WARNING", "DOWN")
    # The loss of a device that is down is history all the same.
    losses = await rows(system_uow, MetricSample,
                        MetricSample.check_id == setup.checks["icmpLoss"])
    assert sorted((s.device_id, s.value) for s in losses) == [(first, 100.0),
                                                               (second, 100.0)]


async def test_snmp_errors_with_icmp_answering_stay_up(api, runtime, clock, system_uow):
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    cpu = setup.checks["cpuLoad"]
    t0 = clock.now() - timedelta(minutes=5)
    await submit(api, setup.token, "b-0", [device_input(device_id, t0,
                                                        results=[result(cpu, "90")])])
    await submit(api, setup.token, "b-1", [device_input(
        device_id, t0 + timedelta(minutes=1), icmpLatencyMs=3.0, icmpLossPercent=0.0,
        results=[result(cpu, None, error="noSuchObject")])])
    [device] = await rows(system_uow, Device)
    assert (device.status, device.last_error) == ("UP", "noSuchObject")
    [state] = await rows(system_uow, MetricState, MetricState.check_id == cpu)
    assert (state.state, state.error, state.value) == ("UNKNOWN", "noSuchObject", 90.0)
    await submit(api, setup.token, "b-2", [device_input(
        device_id, t0 + timedelta(minutes=2), error="SNMP request timed out",
        icmpLatencyMs=3.0, icmpLossPercent=0.0)])
    [device] = await rows(system_uow, Device)
    assert (device.status, device.last_error) == ("UP", "SNMP request timed out")
    assert [e for e, _ in await events(system_uow)] == [
        "device.up", "device.threshold_breached"]  # none for the errors


async def test_the_same_batch_twice_is_taken_once(api, runtime, clock, system_uow):
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    batch = [device_input(device_id, clock.now(), results=[
        result(setup.checks["cpuLoad"], "12")])]
    assert (await submit(api, setup.token, "same", batch))["duplicate"] is False
    batch[0]["polledAt"] = (clock.now() + timedelta(seconds=1)).isoformat()
    again = await submit(api, setup.token, "same", batch)
    assert again == {"accepted": 1, "duplicate": True, "errors": []}
    assert await count(system_uow, MetricSample) == 1
    assert await count(system_uow, PollBatch) == 1


async def test_a_bad_batch_is_refused_whole_and_writes_nothing(api, runtime, clock,
                                                               system_uow):
    setup = await monitoring_setup(runtime, devices=3)
    mine, also_mine, third = setup.devices
    async with system_uow() as uow:
        other_poller, _ = await new_poller(uow, setup.company_id, "Branch poller")
        theirs = await new_device(uow, setup.company_id, "branch-1", "10.9.0.1",
                                  template_id=setup.template_id, poller_id=other_poller)
        _, foreign_checks = await new_template(uow, setup.company_id, "Switches")
    other = await monitoring_setup(runtime, name="Other ISP")
    now = clock.now()
    cpu, octets = setup.checks["cpuLoad"], setup.checks["ifHCInOctets"]
    payload = await submit(api, setup.token, "bad", [
        device_input(mine, now, results=[
            result(cpu, "12,5"),
            result(foreign_checks["cpuLoad"], "1"),
            result(octets, "1.5", instance="1", counterBits=64),
            result(octets, "2", instance="2", counterBits=16),
            result(octets, str(2**32), instance="3", counterBits=32)]),
        device_input(theirs, now),
        device_input(other.devices[0], now),
        device_input(also_mine, now + timedelta(hours=1)),
        {**device_input(0, now), "deviceId": gid("Account", 1)},
        device_input(third, now - timedelta(days=8)),
    ])
    assert payload["accepted"] == 0
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("devices.0.results.0.value", "INVALID"),
        ("devices.0.results.1.checkId", "NOT_FOUND"),
        ("devices.0.results.2.value", "INVALID"),
        ("devices.0.results.3.counterBits", "INVALID"),
        ("devices.0.results.4.value", "INVALID"),
        ("devices.1.deviceId", "FORBIDDEN"),
        ("devices.2.deviceId", "NOT_FOUND"),
        ("devices.3.polledAt", "INVALID"),
        ("devices.4.deviceId", "NOT_FOUND"),
        ("devices.5.polledAt", "INVALID")]
    for model in (MetricSample, MetricState, MetricRollup, PollBatch, Event):
        assert await count(system_uow, model) == 0, model
    [device, *_] = await rows(system_uow, Device, Device.poller_id == setup.poller_id,
                              order=(Device.id,))
    assert (device.status, device.last_polled_at) == ("UNKNOWN", None)
    # The poller drops what was refused and sends the rest under the same id: it is taken.
    payload = await submit(api, setup.token, "bad", [device_input(mine, now, results=[
        result(cpu, "12.5")])])
    assert payload == {"accepted": 1, "duplicate": False, "errors": []}


async def test_another_companys_device_answers_as_one_that_does_not_exist(api, runtime, clock):
    """A poller token learns nothing of other companies: their device ids answer exactly as
    ids nobody has."""
    setup = await monitoring_setup(runtime)
    other = await monitoring_setup(runtime, name="Other ISP")
    theirs = other.devices[0]
    answers = [(await submit(api, setup.token, f"b{device}", [
        device_input(device, clock.now())]))["errors"] for device in (theirs, theirs + 1000)]
    assert answers[0] == answers[1] == [{"field": "devices.0.deviceId", "code": "NOT_FOUND",
                                         "message": "No such device."}]


async def test_only_pollers_submit(api, runtime, clock):
    setup = await monitoring_setup(runtime)
    token = await api.admin_token()
    payload = await submit(api, token, "b", [device_input(setup.devices[0], clock.now())])
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(None, "FORBIDDEN")]


async def test_statements_do_not_grow_with_the_batch(api, runtime, clock):
    setup = await monitoring_setup(runtime, devices=51)
    octets, cpu = setup.checks["ifHCInOctets"], setup.checks["cpuLoad"]

    def entry(device_id: int, n: int) -> dict[str, Any]:
        return device_input(device_id, clock.now() - timedelta(minutes=5 - n),
                            icmpLatencyMs=2.0, icmpLossPercent=0.0, results=[
                                result(cpu, "97"),
                                *[result(octets, str(1000 * n), instance=str(i),
                                         counterBits=64) for i in range(1, 4)]])

    counts = []
    for n in range(2):  # a first poll (device.up, breaches), then a second (rates)
        with count_statements(runtime) as one:
            await submit(api, setup.token, f"one-{n}", [entry(setup.devices[0], n)])
        with count_statements(runtime) as fifty:
            await submit(api, setup.token, f"fifty-{n}",
                         [entry(d, n) for d in setup.devices[1:]])
        counts.append((len(one), len(fifty)))
    assert all(a == b for a, b in counts), counts


async def test_a_pollers_batch_may_be_larger_than_other_requests(api, runtime, clock,
                                                                 system_uow):
    setup = await monitoring_setup(runtime)
    big = "x" * (runtime.settings.max_request_bytes + 1000)
    payload = await submit(api, setup.token, "big", [device_input(
        setup.devices[0], clock.now(), sysName=big)])
    assert payload == {"accepted": 1, "duplicate": False, "errors": []}
    [device] = await rows(system_uow, Device)
    assert device.sys_name == "x" * 255


async def test_states_of_a_former_template_do_not_count(api, runtime, clock, system_uow):
    from sqlalchemy import update

    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    t0 = clock.now() - timedelta(minutes=5)
    await submit(api, setup.token, "b-0", [device_input(
        device_id, t0, results=[result(setup.checks["cpuLoad"], "99")])])
    async with system_uow() as uow:
        template_id, checks = await new_template(uow, setup.company_id, "Quiet routers")
        await uow.session.execute(update(Device).values(template_id=template_id))
    await submit(api, setup.token, "b-1", [device_input(
        device_id, t0 + timedelta(minutes=1), results=[result(checks["cpuLoad"], "99")])])
    [device] = await rows(system_uow, Device)
    assert device.status == "WARNING"  # the new template's check is past its threshold too
    await submit(api, setup.token, "b-2", [device_input(
        device_id, t0 + timedelta(minutes=2), results=[result(checks["cpuLoad"], "5")])])
    [device] = await rows(system_uow, Device)
    assert device.status == "UP"  # the old template's WARNING state no longer counts


async def test_a_gauge_past_the_float_range_is_refused(api, runtime, clock, system_uow):
    """"1e400" is a finite decimal but an infinite float: stored, it would break the
    readings (GraphQL has no Infinity) and the event's JSON."""
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    payload = await submit(api, setup.token, "huge", [device_input(
        device_id, clock.now(), results=[result(setup.checks["cpuLoad"], "1e400")])])
    assert payload["accepted"] == 0
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [
        ("devices.0.results.0.value", "INVALID")]
    for model in (MetricSample, MetricState, PollBatch, Event):
        assert await count(system_uow, model) == 0, model


async def test_a_counter_shaped_like_a_card_number_is_a_reading(api, runtime, clock,
                                                               system_uow):
    """A Counter64 of 16 digits passes the Luhn check about one time in ten; a reading is a
    number, not text, so the card number check leaves it alone (and still reads labels)."""
    setup = await monitoring_setup(runtime)
    [device_id] = setup.devices
    octets = setup.checks["ifHCInOctets"]
    visa_like = "4111111111111111"  # a test card number's digits, and a valid Counter64
    poll = device_input(device_id, clock.now() - timedelta(minutes=1), results=[
        result(octets, visa_like, instance="2", label="ether1", counterBits=64)])
    answer = await submit(api, setup.token, "b-card-shaped", [poll])
    assert answer["errors"] == []
    [state] = await rows(system_uow, MetricState)
    assert state.raw_counter == int(visa_like)
    labelled = device_input(device_id, clock.now(), results=[
        result(octets, "1", instance="2", label=f"card {visa_like}", counterBits=64)])
    body = await api.gql(SUBMIT, {"input": {"batchId": "b-card-label",
                                            "devices": [labelled]}}, setup.token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["CARD_NUMBER_REFUSED"]
    assert body["errors"][0]["extensions"]["fields"] == ["input.devices[0].results[0].label"]
