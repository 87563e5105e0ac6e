"""One poll of one device: ICMP if it has a probe, one SNMP GET of its scalar checks (with
sysName and sysUpTime), a GETBULK walk per table check. Returns a ``DevicePollInput`` as JSON;
never raises for the device's own failures (they go in ``error`` fields)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ispcore.network.icmp import IcmpError, ping
from ispcore.network.poller.workload import PolledCheck, PolledDevice
from ispcore.network.snmp import SnmpClient, SnmpError, SnmpTimeout
from ispcore.network.snmp import values as v

SYS_NAME, SYS_UPTIME = "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.3.0"
#: OIDs per GET request: small enough for any agent's message size (tooBig splits further).
GET_CHUNK = 40
WALK_REPETITIONS = 25


def numeric_text(value: v.SnmpValue) -> str:
    """The value as decimal text (the API's contract); ValueError when it is not a number."""
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, bytes):  # some agents report gauges as strings ("23.5")
        text = value.decode("ascii", "replace").strip()
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(f"OctetString {text[:40]!r} is not a number")
        return text
    raise ValueError(f"{value.snmp_type} is not a number")


LABEL_LENGTH = 255


def _result(check: PolledCheck, value: v.SnmpValue, instance: str = "",
            label: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {"checkId": check.check_id, "instance": instance, "label": label,
                           "value": None, "counterBits": None, "error": None}
    if v.is_exception(value):
        row["error"] = value.snmp_type
        return row
    try:
        row["value"] = numeric_text(value)
    except ValueError as exc:
        row["error"] = str(exc)[:200]
        return row
    if check.value_type == "COUNTER" and value.counter_bits is None:
        # The API refuses a counter without its width; sent as is, the whole device's poll
        # would be refused each time (a COUNTER check on a Gauge32 OID, say).
        row["value"] = None
        row["error"] = f"{value.snmp_type} is not a counter (the check is a COUNTER)"
        return row
    row["counterBits"] = value.counter_bits
    return row


def _failed(check: PolledCheck, error: str) -> dict[str, Any]:
    return {"checkId": check.check_id, "instance": "", "label": None, "value": None,
            "counterBits": None, "error": error}


def describe(exc: Exception) -> str:
    if isinstance(exc, SnmpTimeout):
        return "SNMP timeout (no answer, or a wrong community)"
    return f"{type(exc).__name__}: {exc}"[:500]


async def _walk_check(client: SnmpClient, check: PolledCheck) -> list[dict[str, Any]]:
    base = check.oid.strip(".") + "."
    rows = await client.walk(check.oid, WALK_REPETITIONS)
    labels: dict[str, str] = {}
    if check.label_oid:
        label_base = check.label_oid.strip(".") + "."
        # Labels are display text: clipped to what the API keeps (255) rather than refused.
        labels = {oid[len(label_base):]: value.text()[:LABEL_LENGTH]
                  for oid, value in await client.walk(check.label_oid, WALK_REPETITIONS)}
    return [_result(check, value, oid[len(base):], labels.get(oid[len(base):]))
            for oid, value in rows]


async def _snmp(device: PolledDevice, out: dict[str, Any]) -> bool:
    """Fills ``out`` with the SNMP part; True when the agent answered."""
    assert device.snmp is not None
    scalars = [c for c in device.checks if c.kind == "SNMP_GET"]
    walks = [c for c in device.checks if c.kind == "SNMP_WALK"]
    results: list[dict[str, Any]] = out["results"]
    oids = [SYS_NAME, SYS_UPTIME, *(c.oid for c in scalars)]
    async with SnmpClient(device.address, device.snmp.credentials, device.snmp.timeout,
                          device.snmp.retries) as client:
        try:
            values: list[v.SnmpValue] = []
            for start in range(0, len(oids), GET_CHUNK):
                values += [value for _, value in await client.get(oids[start:start + GET_CHUNK])]
        except SnmpError as exc:
            out["error"] = describe(exc)
            results += [_failed(c, out["error"]) for c in device.checks]
            return not isinstance(exc, SnmpTimeout)
        name, uptime = values[0], values[1]
        if isinstance(name, v.OctetString):
            out["sysName"] = name.text()[:255]
        if isinstance(uptime, v.TimeTicks):
            out["sysUptimeTicks"] = int(uptime)
        results += [_result(c, value) for c, value in zip(scalars, values[2:], strict=True)]
        for check in walks:
            try:
                results += await _walk_check(client, check)
            except SnmpError as exc:
                results.append(_failed(check, describe(exc)))
    return True


async def poll_device(device: PolledDevice,
                      now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, Any]:
    out: dict[str, Any] = {"deviceId": device.device_id, "polledAt": now().isoformat(),
                           "reachable": False, "error": None, "sysName": None,
                           "sysUptimeTicks": None, "icmpLatencyMs": None,
                           "icmpLossPercent": None, "results": []}
    answered = False
    errors: list[str] = []
    if device.icmp is not None:
        try:
            result = await ping(device.address, count=device.icmp.count,
                                timeout=device.icmp.timeout)
            out["icmpLatencyMs"] = result.latency_ms
            out["icmpLossPercent"] = result.loss_percent
            answered = result.reachable
            if not answered:
                errors.append("no ICMP echo reply")
        except IcmpError as exc:
            errors.append(f"ICMP: {exc}"[:300])
    if device.snmp is not None:
        try:
            answered = await _snmp(device, out) or answered
        except Exception as exc:  # a bug or an odd agent: this device only
            out["error"] = describe(exc)
    if out["error"] is None and errors and not answered:
        out["error"] = "; ".join(errors)[:500]
    out["reachable"] = answered
    return out
