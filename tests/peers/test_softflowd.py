"""A real exporter: Debian's ``softflowd`` reads a pcap file written here (Ethernet, IPv4 and
IPv6, UDP and TCP, packets timed before the test clock's now) and exports its flows as
NetFlow v5, v9 and IPFIX to the collector on loopback. The bytes credited to each account
are the bytes of the pcap's packets to and from its addresses, as softflowd counts them:
the IP packet's length (IPv4 total length; IPv6 payload length plus its 40-octet header).

softflowd's ``-a`` takes the flows' times from the pcap (not the wall clock), so they fall
in intervals the collector writes at the fixed test time. It keeps running after the file
(or exits on its own); ``softflowctl shutdown`` makes it export every flow and stop.
``scripts/test`` installs softflowd."""

from __future__ import annotations

import asyncio
import ipaddress
import shutil
import struct
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.netflow.support import (
    collector,  # noqa: F401  (the fixture)
    exporter_row,
    hold,
    per_account,
    plan_setup,
    ready,
    unattributed,
)

SOFTFLOWD, SOFTFLOWCTL = shutil.which("softflowd"), shutil.which("softflowctl")
START = datetime(2026, 11, 2, 14, 40, tzinfo=UTC)  # the test clock says 15:00

ALICE, BOB = "100.64.1.10", "100.64.1.20"
ALICE6 = "2001:db8:100:100::5"                 # in Alice's delegated /56
WEB, DNS, WEB6 = "93.184.216.34", "8.8.8.8", "2606:4700::1111"
TRANSIT = ("198.51.100.1", "203.0.113.5")       # neither end in the plan


@dataclass(frozen=True)
class Packet:
    seconds: float   # after START
    src: str
    dst: str
    proto: int       # 6 TCP, 17 UDP
    sport: int
    dport: int
    payload: int     # octets after the transport header

    def ip(self) -> bytes:
        transport = self._transport()
        if ":" in self.src:
            return (struct.pack("!IHBB", 6 << 28, len(transport), self.proto, 64)
                    + ipaddress.IPv6Address(self.src).packed
                    + ipaddress.IPv6Address(self.dst).packed + transport)
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(transport), 1, 0x4000, 64,
                             self.proto, 0, ipaddress.IPv4Address(self.src).packed,
                             ipaddress.IPv4Address(self.dst).packed)
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        return header + transport

    def _transport(self) -> bytes:
        body = bytes(self.payload)
        if self.proto == 17:
            return struct.pack("!HHHH", self.sport, self.dport, 8 + len(body), 0) + body
        # TCP, ACK|PSH, no options
        return struct.pack("!HHIIBBHHH", self.sport, self.dport, 1, 1, 5 << 4, 0x18, 65535, 0,
                           0) + body


def checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def write_pcap(path: Path, packets: list[Packet]) -> None:
    """A classic pcap file (microsecond times, Ethernet link type)."""
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for packet in packets:
            ether_type = 0x86DD if ":" in packet.src else 0x0800
            frame = (b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"
                     + struct.pack("!H", ether_type) + packet.ip())
            moment = START.timestamp() + packet.seconds
            out.write(struct.pack("<IIII", int(moment), round(moment % 1 * 1e6), len(frame),
                                  len(frame)) + frame)


def traffic(ipv6: bool) -> list[Packet]:
    """Downloads and uploads for Alice and Bob, Alice calling Bob, and transit."""
    packets = []
    for i in range(40):
        t = i * 0.5
        packets += [Packet(t, WEB, ALICE, 6, 443, 40_000, 1_400 - i),
                    Packet(t + 0.1, ALICE, WEB, 6, 40_000, 443, 40 + i),
                    Packet(t + 0.2, DNS, BOB, 17, 53, 5_353, 120 + 3 * i),
                    Packet(t + 0.3, ALICE, BOB, 17, 7_000, 7_001, 200 + i),
                    Packet(t + 0.4, *TRANSIT, 17, 1_000, 2_000, 60)]
        if ipv6 and i % 2 == 0:
            packets += [Packet(t + 0.05, WEB6, ALICE6, 17, 443, 50_000, 1_000 + i),
                        Packet(t + 0.15, ALICE6, WEB6, 17, 50_000, 443, 30)]
    return sorted(packets, key=lambda p: p.seconds)


def expected(packets: list[Packet]) -> tuple[dict[str, list[int]], int, int]:
    """Bytes to and from each account's addresses, transit bytes, and the flow records
    softflowd exports (one per direction of each 5-tuple)."""
    owners = {ALICE: "alice", ALICE6: "alice", BOB: "bob"}
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    transit = 0
    for p in packets:
        size = len(p.ip())
        if p.dst in owners:
            sums[owners[p.dst]][0] += size
        if p.src in owners:
            sums[owners[p.src]][1] += size
        if p.src not in owners and p.dst not in owners:
            transit += size
    directions = {(p.src, p.dst, p.proto, p.sport, p.dport) for p in packets}
    return dict(sums), transit, len(directions)


async def softflowctl(control: Path, command: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        SOFTFLOWCTL, "-c", str(control), command, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    return out.decode()


async def replay(pcap: Path, port: int, version: int, packets: int, tmp: Path) -> None:
    """softflowd exports the pcap's flows to 127.0.0.1:``port`` and stops."""
    control = tmp / f"softflowd-{version}.ctl"
    proc = await asyncio.create_subprocess_exec(
        SOFTFLOWD, "-d", "-a", "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v", str(version),
        "-c", str(control), "-p", str(tmp / f"softflowd-{version}.pid"),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        for _ in range(300):  # read the whole file first
            if proc.returncode is not None:
                break
            if f"Packets processed: {packets}\n" in await softflowctl(control, "statistics"):
                await softflowctl(control, "shutdown")  # export every flow, then exit
                break
            await asyncio.sleep(0.05)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("version", [5, 9, 10])
async def test_softflowd_exports_and_each_account_is_credited_its_bytes(
        version: int, api: Any, runtime: Any, collector: Any, tmp_path: Path) -> None:  # noqa: F811
    assert SOFTFLOWD and SOFTFLOWCTL, "softflowd is not installed (scripts/test installs it)"
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, ALICE)
    await hold(api, plan, plan.alice, "2001:db8:100:100::/56")
    await hold(api, plan, plan.bob, BOB)
    await ready(collector)
    packets = traffic(ipv6=version != 5)  # NetFlow v5 has no IPv6
    pcap = tmp_path / "traffic.pcap"
    write_pcap(pcap, packets)
    sums, transit, flows = expected(packets)

    await replay(pcap, collector.port, version, len(packets), tmp_path)
    exporter = next(iter(collector.exporters.values()))
    for _ in range(200):  # the last datagrams may still be in the socket
        if exporter.decoder.counters["flows"] >= flows:
            break
        await asyncio.sleep(0.02)
    await collector.flush()
    assert await per_account(runtime) == {plan.alice_pk: tuple(sums["alice"]),
                                          plan.bob_pk: tuple(sums["bob"])}
    hours = await unattributed(runtime)
    assert {address for address, _hour in hours} == {""}
    assert sum(b_in for b_in, _out, _records in hours.values()) == transit
    row = await exporter_row(runtime, plan)
    assert (row.flows, row.rejected) == (flows, {})
    assert row.datagrams >= 1
