"""What the collector tests share: a company with two customers, an IPv4 and an IPv6 (prefix
delegating) subnet and an exporter at 127.0.0.1, all made through the API; the collector on
loopback; datagrams built with flows ending at given times; the rows it wrote."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

import tests.network.ipam_support  # noqa: F401  (registers the IPAM mutations)
from ispcore.domain.usage.models import (
    NetflowExporter,
    UnattributedUsage,
    UsageHourly,
    UsageRecord,
)
from ispcore.network.netflow.collector import NetflowCollector
from tests.accounts.factories import MUTATIONS, _mutation, company_setup, new_account, ok
from tests.netflow import build as b
from tests.usage.support import pk_of

EXPORTER_FIELDS = """id name address samplingRate description active lastSeenAt datagrams
  flows rejected { reason count } createdAt updatedAt"""
MUTATIONS.update({
    "createNetflowExporter": _mutation("createNetflowExporter", "CreateNetflowExporterInput",
                                       "netflowExporter", EXPORTER_FIELDS),
    "updateNetflowExporter": _mutation("updateNetflowExporter", "UpdateNetflowExporterInput",
                                       "netflowExporter", EXPORTER_FIELDS),
    "deleteNetflowExporter": _mutation("deleteNetflowExporter", "IdInput", "deletedId", ""),
})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Plan:
    token: str
    company: str
    alice: str
    bob: str
    v4: str        # subnet 100.64.1.0/24
    v6: str        # subnet 2001:db8:100::/40 delegating /56 prefixes
    exporter: str  # 127.0.0.1

    @property
    def company_pk(self) -> int:
        return pk_of(self.company)

    @property
    def alice_pk(self) -> int:
        return pk_of(self.alice)

    @property
    def bob_pk(self) -> int:
        return pk_of(self.bob)


async def plan_setup(api: Any, *, exporter: dict[str, Any] | None = None) -> Plan:
    setup = await company_setup(api)
    token = setup.token
    alice = (await new_account(api, setup, name="Alice"))["id"]
    bob = (await new_account(api, setup, name="Bob"))["id"]
    v4_block = (await ok(api, token, "createSupernet",
                         {"companyId": setup.company, "cidr": "100.64.0.0/16"}))["id"]
    v6_block = (await ok(api, token, "createSupernet",
                         {"companyId": setup.company, "cidr": "2001:db8::/32"}))["id"]
    v4 = (await ok(api, token, "createSubnet",
                   {"supernetId": v4_block, "cidr": "100.64.1.0/24"}))["id"]
    v6 = (await ok(api, token, "createSubnet",
                   {"supernetId": v6_block, "cidr": "2001:db8:100::/40",
                    "delegatedPrefixLength": 56}))["id"]
    made = await ok(api, token, "createNetflowExporter",
                    {"companyId": setup.company, "name": "edge-1", "address": "127.0.0.1",
                     **(exporter or {})})
    return Plan(token, setup.company, alice, bob, v4, v6, made["id"])


#: When ``hold`` assigns by default: the start of the tests' day.
MORNING = datetime(2026, 11, 2, tzinfo=UTC)


async def hold(api: Any, plan: Plan, account: str, address: str, *,
               at: datetime | None = MORNING) -> str:
    """Assign ``address`` (or a prefix) to ``account`` at ``at`` (None: the clock's now);
    returns the assignment's id."""
    clock = api.runtime.clock
    was = clock.now()
    if at is not None:
        clock.set(at)
    try:
        subnet = plan.v6 if ":" in address else plan.v4
        return (await ok(api, plan.token, "assignIpAddress",
                         {"subnetId": subnet, "accountId": account, "ipAddress": address})
                )["id"]
    finally:
        clock.set(was)


async def release(api: Any, plan: Plan, assignment: str) -> None:
    await ok(api, plan.token, "releaseIpAddress", {"id": assignment})


# --- datagrams ----------------------------------------------------------------------------

def ip(text: str) -> int:
    return int(ipaddress.ip_address(text))


def v5_at(end: datetime, flows: Sequence[tuple[str, str, int]], *, seq: int = 0,
          sampling: int = 0) -> bytes:
    """A v5 datagram of (src, dst, octets) flows that all end at ``end``, exported 5 s
    later."""
    uptime = 3_600_000
    secs = int(end.timestamp()) + 5
    last = int(end.timestamp() * 1000) - (secs * 1000 - uptime)
    return b.v5([b.v5_record(ip(s), ip(d), 1, octets, last - 1000, last)
                 for s, d, octets in flows], uptime=uptime, secs=secs, seq=seq,
                sampling=sampling)


def ipfix_at(end: datetime, flows: Sequence[tuple[str, str, int]], *, seq: int = 0,
             template: bool = True) -> bytes:
    """An IPFIX message of IPv4 or IPv6 (src, dst, octets) flows with absolute times in ms
    (64-bit counters), its templates first unless ``template`` is false."""
    end_ms = int(end.timestamp() * 1000)
    v4 = [f for f in flows if ":" not in f[0]]
    v6 = [f for f in flows if ":" in f[0]]
    sets = []
    if template:
        sets.append(b.flow_set(2, b.template_record(256, b.IPFIX_FIELDS)
                               + b.template_record(257, V6_IPFIX_FIELDS)))
    if v4:
        sets.append(b.flow_set(256, b"".join(
            b.IPFIX_RECORD.pack(ip(s), ip(d), octets, 1, end_ms - 1000, end_ms, 1, 2, 6)
            for s, d, octets in v4)))
    if v6:
        sets.append(b.flow_set(257, b"".join(
            V6_IPFIX_RECORD.pack(ipaddress.IPv6Address(s).packed,
                                 ipaddress.IPv6Address(d).packed, octets, 1, end_ms - 1000,
                                 end_ms) for s, d, octets in v6)))
    return b.ipfix(sets, export=int(end.timestamp()) + 5, seq=seq)


V6_IPFIX_FIELDS = [(27, 16), (28, 16), (1, 8), (2, 8), (152, 8), (153, 8)]
V6_IPFIX_RECORD = struct.Struct("!16s16sQQQQ")


# --- the collector --------------------------------------------------------------------------

@pytest.fixture
async def collector(runtime: Any) -> AsyncIterator[NetflowCollector]:
    """The collector on 127.0.0.1 (a free port), flushed by the tests themselves."""
    found = NetflowCollector(runtime, host="127.0.0.1", port=0, flush_seconds=3600,
                             metrics_port=0)
    await found.start()
    yield found
    await found.stop()


def received(collector: NetflowCollector) -> int:
    return collector.totals.unknown + sum(e.received for e in collector.exporters.values())


async def send(collector: NetflowCollector, *datagrams: bytes, source: str = "127.0.0.1"
               ) -> None:
    """Send the datagrams from ``source`` (any 127.x address) and wait until the collector
    has taken them all."""
    before = received(collector)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        for datagram in datagrams:
            sock.sendto(datagram, ("127.0.0.1", collector.port))
    for _ in range(500):
        if received(collector) >= before + len(datagrams):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the collector took {received(collector) - before} of "
                         f"{len(datagrams)} datagrams")


async def ready(collector: NetflowCollector) -> None:
    """Load what the test just made (exporters, subnets, assignments)."""
    await collector.refresh(plans=True)


# --- what was written -----------------------------------------------------------------------

async def hourly(runtime: Any) -> dict[tuple[int, datetime], tuple[int, int]]:
    """(account, hour) -> (billable in, billable out)."""
    async with runtime.db.session() as s:
        rows = await s.scalars(select(UsageHourly))
        return {(r.account_id, r.hour): (r.billable_in, r.billable_out) for r in rows}


async def per_account(runtime: Any) -> dict[int, tuple[int, int]]:
    """account -> (bytes in, bytes out) over every hour."""
    out: dict[int, tuple[int, int]] = {}
    for (account, _hour), (bytes_in, bytes_out) in (await hourly(runtime)).items():
        was = out.get(account, (0, 0))
        out[account] = (was[0] + bytes_in, was[1] + bytes_out)
    return out


async def unattributed(runtime: Any) -> dict[tuple[str, datetime], tuple[int, int, int]]:
    """(address, hour) -> (bytes in, bytes out, records)."""
    async with runtime.db.session() as s:
        rows = await s.scalars(select(UnattributedUsage))
        return {(r.address, r.hour): (r.bytes_in, r.bytes_out, r.records) for r in rows}


async def records(runtime: Any) -> int:
    async with runtime.db.session() as s:
        return await s.scalar(select(func.count()).select_from(UsageRecord)) or 0


async def exporter_row(runtime: Any, plan: Plan) -> NetflowExporter:
    async with runtime.db.session() as s:
        return await s.get_one(NetflowExporter, pk_of(plan.exporter))
