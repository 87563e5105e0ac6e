"""Poll results pushed by a poller (``submitPollResults``): one transaction per batch.

A batch is checked whole first: every device must be the poller's (and its company's), every
check must be in the device's template, every value decimal text. If anything is wrong, every
fault is reported and nothing is written. Then, in a fixed number of statements whatever the
batch's size: the batch id is recorded (the same id again is a duplicate, answered with the
first count), new samples are stored (a sample stored before is skipped) and folded into the
hourly and daily rollups, the metric states and the devices are updated, and status changes
become events (``device.down``/``device.up``, ``device.threshold_breached``/``_cleared``).

A result older than what is stored (it arrived late) still goes to the history, but moves no
state. A device that does not answer is DOWN and its metric states stay as they were."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update

from ispcore.db import among, bulk_update, bulk_upsert, greatest, least
from ispcore.domain.common.errors import DomainError, ErrorCode, Forbidden, InvalidInput
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_events
from ispcore.domain.monitoring.models import (
    CheckKind,
    CheckState,
    Device,
    DeviceStatus,
    MetricRollup,
    MetricSample,
    MetricState,
    MonitoringCheck,
    PollBatch,
    Poller,
    Rollup,
    ValueType,
)
from ispcore.domain.monitoring.rates import WIDTHS, rate
from ispcore.domain.monitoring.thresholds import state_of, threshold_for

MAX_DEVICES = 5_000
MAX_BATCH_ID = 64
#: How far ahead of the server's clock a poll time may be (the poller's clock drifts).
FUTURE_TOLERANCE = timedelta(minutes=5)
BAD_STATES = (CheckState.WARNING, CheckState.CRITICAL)
_SHORT = {"instance": 100, "label": 255}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One metric as read: ``value`` is decimal text (a raw counter for COUNTER checks,
    ``counter_bits`` 32 or 64), or ``error`` says why there is none."""

    check_id: int
    instance: str = ""
    label: str | None = None
    value: str | None = None
    counter_bits: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceResult:
    """One poll of one device."""

    device_id: int
    polled_at: datetime
    reachable: bool
    error: str | None = None
    sys_name: str | None = None
    sys_uptime_ticks: int | None = None
    icmp_latency_ms: float | None = None
    icmp_loss_percent: float | None = None
    results: Sequence[CheckResult] = ()


@dataclass(frozen=True, slots=True)
class Submitted:
    accepted: int
    duplicate: bool


@dataclass(slots=True)
class _Reading:
    check: Any  # a monitoring_checks row
    instance: str
    label: str | None
    number: Decimal | None
    bits: int | None
    error: str | None


@dataclass(slots=True)
class _Batch:
    """What is to be written, gathered over the whole batch."""

    samples: list[dict[str, Any]] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


class _Errors:
    def __init__(self) -> None:
        self.found: list[DomainError] = []

    def add(self, field: str, code: ErrorCode, message: str) -> None:
        self.found.append(DomainError(message, field=field, code=code))

    def raise_if_any(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise InvalidInput(self.found)


def _clip(text: str | None, length: int) -> str | None:
    return None if text is None else text[:length]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


async def submit(uow: UnitOfWork, batch_id: str, results: Sequence[DeviceResult]
                 ) -> Submitted:
    """Take a batch from the acting poller (see the module's docstring)."""
    poller_id = uow.actor.poller_id
    if poller_id is None:
        raise Forbidden("Only a poller (with its poller token) submits poll results.")
    batch_id = (batch_id or "").strip()
    if not 1 <= len(batch_id) <= MAX_BATCH_ID:
        raise DomainError(f"A batch id is 1 to {MAX_BATCH_ID} characters.", field="batch_id")
    if len(results) > MAX_DEVICES:
        raise DomainError(f"At most {MAX_DEVICES:,} devices a batch.", field="devices")
    session = uow.session
    count = await session.scalar(select(PollBatch.result_count).where(
        PollBatch.poller_id == poller_id, PollBatch.batch_id == batch_id))
    if count is not None:
        return Submitted(accepted=count, duplicate=True)
    company_id = await session.scalar(select(Poller.company_id).where(Poller.id == poller_id))
    devices, checks, readings = await _checked(uow, poller_id, company_id, results)
    now = uow.clock.now()
    session.add(PollBatch(poller_id=poller_id, batch_id=batch_id, received_at=now,
                          result_count=len(results)))
    await session.flush()
    if results:
        await _take(uow, company_id, results, devices, checks, readings)
    await session.execute(update(Poller.__table__).where(Poller.id == poller_id)
                          .values(last_submission_at=now))
    return Submitted(accepted=len(results), duplicate=False)


async def _checked(uow: UnitOfWork, poller_id: int, company_id: int | None,
                   results: Sequence[DeviceResult]
                   ) -> tuple[dict[int, Any], dict[int, dict[int, Any]], list[list[_Reading]]]:
    """The batch's devices and their templates' checks, and each device's readings; raises
    with every fault found."""
    session = uow.session
    errors = _Errors()
    ids = sorted({r.device_id for r in results})
    devices = {row.id: row for row in await session.execute(
        select(Device.id, Device.company_id, Device.poller_id, Device.template_id,
               Device.name, Device.management_address, Device.network_site_id,
               Device.status, Device.status_changed_at, Device.last_polled_at,
               Device.last_error, Device.sys_name, Device.sys_uptime_ticks)
        .where(among(session, Device.id, ids)))} if ids else {}
    templates = {d.template_id for d in devices.values() if d.template_id is not None}
    checks: dict[int, dict[int, Any]] = defaultdict(dict)
    if templates:
        for check in await session.scalars(select(MonitoringCheck).where(
                among(session, MonitoringCheck.template_id, sorted(templates)))):
            checks[check.template_id][check.id] = check
    latest = uow.clock.now() + FUTURE_TOLERANCE
    # Older samples could not be told from ones already counted (their raw rows are gone).
    earliest = uow.clock.now() - timedelta(days=uow.settings.metrics_raw_days)
    seen: set[int] = set()
    readings: list[list[_Reading]] = []
    for index, result in enumerate(results):
        at = f"devices.{index}"
        device = devices.get(result.device_id)
        if result.polled_at.tzinfo is None or result.polled_at > latest:
            errors.add(f"{at}.polled_at", ErrorCode.INVALID,
                       "The poll time is in the future (check the poller's clock).")
        elif result.polled_at < earliest:
            errors.add(f"{at}.polled_at", ErrorCode.INVALID,
                       "The poll time is older than the raw history kept.")
        readings.append([])  # the results of a device refused are not looked at
        if result.device_id in seen:
            errors.add(f"{at}.device_id", ErrorCode.INVALID, "The device is in the batch twice.")
        elif device is None or device.company_id != company_id:
            # Another company's device answers as one that does not exist: a poller token
            # learns nothing about other companies.
            errors.add(f"{at}.device_id", ErrorCode.NOT_FOUND, "No such device.")
        elif device.poller_id != poller_id:
            errors.add(f"{at}.device_id", ErrorCode.FORBIDDEN,
                       "The device is not this poller's: refetch the workload.")
        else:
            readings[-1] = _readings(at, result, checks.get(device.template_id, {}), errors)
        seen.add(result.device_id)
    errors.raise_if_any()
    return devices, checks, readings


def _readings(at: str, result: DeviceResult, template: dict[int, Any], errors: _Errors
              ) -> list[_Reading]:
    """One device's readings: its ICMP figures as their checks' gauges, then its results."""
    out: list[_Reading] = []
    for kind, figure, name, top in (
            (CheckKind.ICMP_LATENCY, result.icmp_latency_ms, "icmp_latency_ms", None),
            (CheckKind.ICMP_LOSS, result.icmp_loss_percent, "icmp_loss_percent", 100)):
        if figure is None:
            continue
        if figure < 0 or (top is not None and figure > top) or figure != figure:
            errors.add(f"{at}.{name}", ErrorCode.INVALID, "Out of range.")
            continue
        for check in template.values():
            if check.kind == kind:
                out.append(_Reading(check, "", None, Decimal(repr(figure)), None, None))
    keys: set[tuple[int, str]] = set()
    for number, given in enumerate(result.results):
        where = f"{at}.results.{number}"
        check = template.get(given.check_id)
        if check is None:
            errors.add(f"{where}.check_id", ErrorCode.NOT_FOUND,
                       "No such check in the device's template.")
            continue
        if check.kind in (CheckKind.ICMP_LATENCY, CheckKind.ICMP_LOSS):
            errors.add(f"{where}.check_id", ErrorCode.INVALID,
                       "ICMP checks take icmpLatencyMs and icmpLossPercent.")
            continue
        for name, length in _SHORT.items():
            if len(getattr(given, name) or "") > length:
                errors.add(f"{where}.{name}", ErrorCode.INVALID, f"At most {length} characters.")
        if (check.id, given.instance) in keys:
            errors.add(f"{where}.instance", ErrorCode.INVALID,
                       "The same check and instance twice for the device.")
        keys.add((check.id, given.instance))
        number_read = _number(where, check, given, errors)
        out.append(_Reading(check, given.instance, given.label, number_read,
                            given.counter_bits, _clip(given.error, 500)))
    return out


def _number(where: str, check: Any, given: CheckResult, errors: _Errors) -> Decimal | None:
    """The result's value as a Decimal (None with an error instead); faults are added."""
    if given.value is None:
        if given.error is None:
            errors.add(f"{where}.value", ErrorCode.REQUIRED, "Give a value or an error.")
        return None
    try:
        number = Decimal(given.value.strip())
    except InvalidOperation:
        number = None
    # Finite as a Decimal is not enough: "1e400" is an infinite float, which the readings
    # (GraphQL has no Infinity) and the events' JSON cannot hold.
    if number is None or not number.is_finite() or not math.isfinite(
            float(number) * check.scale):
        errors.add(f"{where}.value", ErrorCode.INVALID,
                   f"{given.value[:40]!r} is not a decimal number.")
        return None
    if check.value_type == ValueType.COUNTER:
        if given.counter_bits not in WIDTHS:
            errors.add(f"{where}.counter_bits", ErrorCode.INVALID,
                       "A counter's width is 32 or 64 bits.")
            return None
        if number != number.to_integral_value() or not 0 <= number < 2**given.counter_bits:
            errors.add(f"{where}.value", ErrorCode.INVALID,
                       f"Not a {given.counter_bits}-bit counter value.")
            return None
    return number


async def _take(uow: UnitOfWork, company_id: int, results: Sequence[DeviceResult],
                devices: dict[int, Any], checks: dict[int, dict[int, Any]],
                readings: list[list[_Reading]]) -> None:
    session = uow.session
    table = MetricState.__table__
    found = await session.execute(select(table).where(
        among(session, table.c.device_id, sorted(devices))))
    columns = list(found.keys())
    by_device: dict[int, dict[tuple[int, int, str], dict[str, Any]]] = defaultdict(dict)
    for values in found:
        state = dict(zip(columns, values, strict=True))
        by_device[state["device_id"]][
            (state["device_id"], state["check_id"], state["instance"])] = state
    batch = _Batch()
    for result, taken in zip(results, readings, strict=True):
        device = devices[result.device_id]
        _device(company_id, device, result, taken, by_device[result.device_id],
                checks.get(device.template_id, {}), batch)
    await _store_samples(session, batch.samples)
    await bulk_upsert(session, table, batch.states, ("device_id", "check_id", "instance"),
                      update=lambda excluded: {c: excluded[c] for c in (
                          "label", "read_at", "raw_counter", "counter_bits", "value", "state",
                          "state_since", "error")})
    await bulk_update(session, Device, batch.devices)
    await record_events(uow, batch.events)


def _device(company_id: int, device: Any, result: DeviceResult, taken: list[_Reading],
            states: dict[tuple[int, int, str], dict[str, Any]], template: dict[int, Any],
            batch: _Batch) -> None:
    """Work out one device's samples, states (``states``: the device's own; ``template``:
    its template's checks by id), row and events into ``batch``."""
    at = result.polled_at.astimezone(UTC)
    rebooted = (result.sys_uptime_ticks is not None and device.sys_uptime_ticks is not None
                and result.sys_uptime_ticks < device.sys_uptime_ticks)
    first_event = len(batch.events)
    for reading in taken:
        check = reading.check
        key = (device.id, check.id, reading.instance)
        state = states.get(key)
        fresh = state is None or at > state["read_at"]
        if not result.reachable:  # DOWN: history only (ICMP loss), states as they were
            if reading.number is not None and check.value_type == ValueType.GAUGE:
                batch.samples.append(_sample(key, at, float(reading.number) * check.scale))
            continue
        if reading.number is None:
            if fresh:
                _set_state(company_id, key, state, at, reading, states, batch,
                           value=None if state is None else state["value"],
                           new_state=CheckState.UNKNOWN, raw=None if state is None else
                           state["raw_counter"], bits=None if state is None else
                           state["counter_bits"], error=reading.error, device=device)
            continue
        raw = None
        if check.value_type == ValueType.COUNTER:
            raw = int(reading.number)
            same_width = state is not None and state["counter_bits"] == reading.bits
            per_second = rate(int(state["raw_counter"]) if same_width
                              and state["raw_counter"] is not None else None,
                              state["read_at"] if same_width else None, raw, at,
                              reading.bits or 64, rebooted=rebooted)
            value = None if per_second is None else per_second * check.scale
        else:
            value = float(reading.number) * check.scale
        if value is not None:
            batch.samples.append(_sample(key, at, value))
        if not fresh:
            continue  # an older reading arriving late moves no state
        if value is None:  # first reading of a counter, or a reset: keep what was shown
            _set_state(company_id, key, state, at, reading, states, batch,
                       value=None if state is None else state["value"],
                       new_state=CheckState.UNKNOWN if state is None else state["state"],
                       raw=raw, bits=reading.bits, error=None, device=device)
        else:
            _set_state(company_id, key, state, at, reading, states, batch, value=value,
                       new_state=state_of(value, check.warning_threshold,
                                          check.critical_threshold, check.direction),
                       raw=raw, bits=reading.bits, error=None, device=device)
    if device.last_polled_at is not None and at <= device.last_polled_at:
        return  # a late result: history only
    metric_events = len(batch.events)
    _device_row(device, result, taken, states, template, batch)
    # The device's up or down first, then its thresholds.
    batch.events[first_event:] = (batch.events[metric_events:]
                                  + batch.events[first_event:metric_events])


def _sample(key: tuple[int, int, str], at: datetime, value: float) -> dict[str, Any]:
    return {"device_id": key[0], "check_id": key[1], "instance": key[2], "at": at,
            "value": value}


def _set_state(company_id: int, key: tuple[int, int, str], state: dict[str, Any] | None,
               at: datetime, reading: _Reading, states: dict[Any, dict[str, Any]],
               batch: _Batch, *, value: float | None, new_state: str, raw: int | None,
               bits: int | None, error: str | None, device: Any) -> None:
    previous = CheckState.UNKNOWN if state is None else state["state"]
    label = reading.label if reading.label is not None else (
        "" if state is None else state["label"])
    row = {"company_id": company_id, "device_id": key[0], "check_id": key[1],
           "instance": key[2], "label": label, "read_at": at, "raw_counter": raw,
           "counter_bits": bits, "value": value, "state": str(new_state),
           "state_since": at if state is None or new_state != previous
           else state["state_since"], "error": error}
    states[key] = row
    batch.states.append(row)
    if value is None or new_state == previous:
        return
    check = reading.check
    if new_state in BAD_STATES:
        kind, threshold = "device.threshold_breached", threshold_for(
            new_state, check.warning_threshold, check.critical_threshold)
    elif new_state == CheckState.OK and previous in BAD_STATES:
        kind, threshold = "device.threshold_cleared", threshold_for(
            previous, check.warning_threshold, check.critical_threshold)
    else:
        return
    batch.events.append(_event(device, kind, {
        "deviceId": device.id, "deviceName": device.name,
        "networkSiteId": device.network_site_id, "checkId": check.id,
        "checkName": check.name, "instance": key[2], "label": label,
        "state": str(new_state), "previousState": str(previous), "value": value,
        "threshold": threshold, "direction": check.direction, "at": _iso(at)}))


def _event(device: Any, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "company_id": device.company_id, "entity_type": "Device",
            "entity_id": device.id, "payload": payload}


def _device_row(device: Any, result: DeviceResult, taken: list[_Reading],
                states: dict[tuple[int, int, str], dict[str, Any]], template: dict[int, Any],
                batch: _Batch) -> None:
    """The device's row after this poll, and its up/down events. States of checks no
    longer in its template (it changed templates) do not count."""
    at = result.polled_at.astimezone(UTC)
    if not result.reachable:
        status = DeviceStatus.DOWN
    elif any(s["state"] in BAD_STATES and s["check_id"] in template
             for s in states.values()):
        status = DeviceStatus.WARNING
    else:
        status = DeviceStatus.UP
    error = result.error or next((r.error for r in taken if r.error), None)
    batch.devices.append({
        "id": device.id, "status": str(status),
        "status_changed_at": at if status != device.status else device.status_changed_at,
        "last_polled_at": at, "last_error": _clip(error, 500),
        "sys_name": _clip(result.sys_name, 255) if result.sys_name is not None
        else device.sys_name,
        "sys_uptime_ticks": result.sys_uptime_ticks if result.sys_uptime_ticks is not None
        else device.sys_uptime_ticks})
    base = {"deviceId": device.id, "deviceName": device.name,
            "address": device.management_address, "networkSiteId": device.network_site_id}
    if status == DeviceStatus.DOWN and device.status != DeviceStatus.DOWN:
        batch.events.append(_event(device, "device.down", {
            **base, "reason": _clip(result.error, 500) or "No answer.", "at": _iso(at)}))
    elif status != DeviceStatus.DOWN and device.status in (DeviceStatus.DOWN,
                                                            DeviceStatus.UNKNOWN):
        batch.events.append(_event(device, "device.up", {
            **base, "previousStatus": device.status, "at": _iso(at)}))


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _day(moment: datetime) -> datetime:
    return _hour(moment).replace(hour=0)


async def _store_samples(session: Any, samples: list[dict[str, Any]]) -> None:
    """Insert the samples not stored yet, and fold those (only) into the rollups. A batch
    holds at most one sample per metric (a device is in it once), so the metric alone keys
    a sample here."""
    table = MetricSample.__table__
    new = await bulk_upsert(session, table, samples,
                            ("device_id", "check_id", "instance", "at"),
                            returning=("device_id", "check_id", "instance"))
    if not new:
        return
    by_metric = {(s["device_id"], s["check_id"], s["instance"]): s for s in samples}
    buckets: dict[datetime, tuple[tuple[str, datetime], ...]] = {}
    folded: dict[tuple[Any, ...], list[float]] = {}
    for metric in new:
        sample = by_metric[tuple(metric)]
        value, at = sample["value"], sample["at"]
        starts = buckets.get(at)
        if starts is None:
            starts = buckets[at] = ((Rollup.HOUR.value, _hour(at)), (Rollup.DAY.value, _day(at)))
        for granularity, start in starts:
            key = (*metric, granularity, start)
            sums = folded.get(key)
            if sums is None:
                folded[key] = [1, value, value, value]
            else:
                sums[0] += 1
                sums[1] += value
                sums[2] = min(sums[2], value)
                sums[3] = max(sums[3], value)
    rollups = MetricRollup.__table__
    await bulk_upsert(
        session, rollups,
        [{"device_id": k[0], "check_id": k[1], "instance": k[2], "granularity": k[3],
          "bucket_start": k[4], "count": s[0], "total": s[1], "minimum": s[2],
          "maximum": s[3]} for k, s in folded.items()],
        ("device_id", "check_id", "instance", "granularity", "bucket_start"),
        update=lambda excluded: {
            "count": rollups.c["count"] + excluded["count"],
            "total": rollups.c["total"] + excluded["total"],
            "minimum": least(session, rollups.c["minimum"], excluded["minimum"]),
            "maximum": greatest(session, rollups.c["maximum"], excluded["maximum"])})
