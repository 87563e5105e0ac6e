"""The poller's view of its work (``pollerWorkload``), parsed from the API's JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ispcore.domain.monitoring.credentials import SnmpCredentials


@dataclass(frozen=True)
class PolledCheck:
    check_id: str
    name: str
    kind: str  # SNMP_GET or SNMP_WALK
    oid: str
    value_type: str
    label_oid: str | None = None


@dataclass(frozen=True)
class SnmpAccess:
    credentials: SnmpCredentials
    timeout: float  # seconds per try
    retries: int


@dataclass(frozen=True)
class IcmpProbe:
    count: int
    timeout: float  # seconds per echo


@dataclass(frozen=True)
class PolledDevice:
    device_id: str
    name: str
    address: str
    interval_seconds: int
    snmp: SnmpAccess | None
    icmp: IcmpProbe | None
    checks: tuple[PolledCheck, ...]


@dataclass(frozen=True)
class Workload:
    poller_id: str
    concurrency: int
    heartbeat_seconds: int
    devices: tuple[PolledDevice, ...]


def _snmp(data: dict[str, Any] | None) -> SnmpAccess | None:
    if not data:
        return None
    creds = SnmpCredentials(
        version=data["version"], port=data["port"], community=data["community"],
        username=data["username"], auth_protocol=data["authProtocol"],
        auth_key=data["authKey"], priv_protocol=data["privProtocol"],
        priv_key=data["privKey"])
    return SnmpAccess(creds, data["timeoutMs"] / 1000, data["retries"])


def parse_workload(data: dict[str, Any]) -> Workload:
    devices = tuple(
        PolledDevice(
            device_id=d["deviceId"], name=d["name"], address=d["address"],
            interval_seconds=max(1, d["intervalSeconds"]), snmp=_snmp(d.get("snmp")),
            icmp=IcmpProbe(d["icmp"]["count"], d["icmp"]["timeoutMs"] / 1000)
            if d.get("icmp") else None,
            checks=tuple(PolledCheck(c["checkId"], c["name"], c["kind"], c["oid"],
                                     c["valueType"], c.get("labelOid"))
                         for c in d["checks"]))
        for d in data["devices"])
    return Workload(data["pollerId"], max(1, data["concurrency"]),
                    max(1, data["heartbeatSeconds"]), devices)
