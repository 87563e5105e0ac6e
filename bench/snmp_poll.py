"""SNMP polling cost: varbinds per CPU-second walking the same subtree with our GETBULK, our
GETNEXT, pysnmp's high-level bulk walk (lookupMib=False) and net-snmp's ``snmpbulkwalk`` (its
CPU time from RUSAGE_CHILDREN), all in one run against local snmpd instances this script
starts; then how many devices per minute one poller process sustains with 100 OIDs each,
through the real scheduler (results submitted to an in-process stand-in of the API).

    PYTHONPATH=src .venv/bin/python bench/snmp_poll.py [--agents 2] [--reps 25] [--rounds 8]
        [--asyncio]   # the default event loop instead of uvloop, which ``ispcore poller`` uses
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parents[1]
for path in (_ROOT / "src", _ROOT):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import httpx  # noqa: E402

from ispcore.network.poller.api import PollerApi  # noqa: E402
from ispcore.network.poller.main import event_loop_policy  # noqa: E402
from ispcore.network.poller.scheduler import Scheduler  # noqa: E402
from ispcore.network.snmp import SnmpClient  # noqa: E402
from tests.peers.snmpd_support import (  # noqa: E402
    COMMUNITY,
    Snmpd,
    free_udp_port,
    start_snmpd,
    stop,
    wait_ready,
)

SUBTREE = "1.3.6.1.2.1"  # all of MIB-2 on this host: interfaces, IP, TCP/UDP, host resources


def cpu() -> float:
    return time.process_time()


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def ours(agent: Snmpd, reps: int, rounds: int, getnext: bool = False) -> tuple[int, float]:
    total, spent = 0, 0.0
    async with SnmpClient("127.0.0.1", agent.v2c(), timeout=2, retries=1) as client:
        for _ in range(rounds):
            started = cpu()
            rows = await (client.walk_getnext(SUBTREE) if getnext
                          else client.walk(SUBTREE, reps))
            spent += cpu() - started
            total += len(rows)
    return total, spent


async def pysnmp_walk(agent: Snmpd, reps: int, rounds: int) -> tuple[int, float]:
    from pysnmp.hlapi.v3arch import asyncio as hl

    total, spent = 0, 0.0
    engine = hl.SnmpEngine()
    for _ in range(rounds):
        started = cpu()
        target = await hl.UdpTransportTarget.create(("127.0.0.1", agent.port), timeout=2,
                                                    retries=1)
        async for indication, status, _, varbinds in hl.bulk_walk_cmd(
                engine, hl.CommunityData(COMMUNITY), target, hl.ContextData(), 0, reps,
                hl.ObjectType(hl.ObjectIdentity(SUBTREE)), lookupMib=False,
                lexicographicMode=False):
            if indication or status:
                raise RuntimeError(f"pysnmp: {indication or status}")
            total += len(varbinds)
        spent += cpu() - started
    engine.close_dispatcher()
    return total, spent


def snmpbulkwalk(agent: Snmpd, reps: int, rounds: int, workdir: Path) -> tuple[int, float]:
    env = dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=str(workdir / "client"))
    total, spent = 0, 0.0
    for _ in range(rounds):
        before = child_cpu()
        out = subprocess.run(["snmpbulkwalk", "-v2c", "-c", COMMUNITY, f"-Cr{reps}", "-On",
                              f"127.0.0.1:{agent.port}", SUBTREE],
                             capture_output=True, env=env, check=True).stdout
        spent += child_cpu() - before
        total += out.count(b"\n")
    return total, spent


# -- devices per minute through the scheduler ---------------------------------------------

class StandInApi:
    """Answers the poller's three operations with as little work as possible, counting the
    devices submitted (the real API runs elsewhere; its cost is not the poller's)."""

    def __init__(self, devices: list[dict[str, Any]]) -> None:
        self.workload = json.dumps({"data": {"pollerWorkload": {
            "pollerId": "UG9sbGVyOjE=", "concurrency": 64, "heartbeatSeconds": 30,
            "devices": devices}}}).encode()
        self.submitted = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if b"pollerWorkload" in body[:200]:
            reply = self.workload
        elif b"pollerHeartbeat" in body[:200]:
            reply = b'{"data": {"pollerHeartbeat": {"errors": []}}}'
        else:
            count = body.count(b'"deviceId"')
            self.submitted += count
            reply = json.dumps({"data": {"submitPollResults": {
                "accepted": count, "duplicate": False, "errors": []}}}).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": reply})


async def hundred_oids(agent: Snmpd) -> list[str]:
    """98 numeric OIDs that exist (plus sysName and sysUpTime the poller always reads)."""
    async with SnmpClient("127.0.0.1", agent.v2c()) as client:
        rows = await client.walk(SUBTREE, 50, limit=3000)
    numeric = [oid for oid, value in rows if isinstance(value, int)]
    return numeric[:98]


async def devices_per_minute(agents: list[Snmpd], n_devices: int, seconds: float,
                             interval: int) -> dict[str, float]:
    oids = await hundred_oids(agents[0])
    checks = [{"checkId": f"c{i}", "name": f"c{i}", "kind": "SNMP_GET", "oid": oid,
               "valueType": "GAUGE", "labelOid": None} for i, oid in enumerate(oids)]
    devices = [{"deviceId": f"d{i}", "name": f"d{i}", "address": "127.0.0.1",
                "intervalSeconds": interval,
                "snmp": {"version": "V2C", "port": agents[i % len(agents)].port,
                         "community": COMMUNITY, "username": "", "authProtocol": "NONE",
                         "authKey": "", "privProtocol": "NONE", "privKey": "",
                         "timeoutMs": 5000, "retries": 1},
                "icmp": None, "checks": checks} for i in range(n_devices)]
    stand_in = StandInApi(devices)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=stand_in),
                                 base_url="http://api") as http:
        scheduler = Scheduler(PollerApi(http, "http://api/graphql", "isp_pol_bench"),
                              version="bench", batch_seconds=2, batch_size=200)
        task = asyncio.create_task(scheduler.run())
        await asyncio.sleep(interval)  # the first (jittered) round starts everything
        polls0, cpu0, wall0 = scheduler.polls, cpu(), time.monotonic()
        lags = []
        while time.monotonic() - wall0 < seconds:
            await asyncio.sleep(1)
            lags.append(scheduler.max_lag)
        polls, spent, wall = scheduler.polls - polls0, cpu() - cpu0, time.monotonic() - wall0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return {"polls": polls, "cpu": spent, "wall": wall,
            "per_cpu_minute": polls / spent * 60 if spent else 0.0,
            "per_wall_minute": polls / wall * 60, "submitted": stand_in.submitted,
            "max_lag": max(lags) if lags else 0.0}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=2, help="snmpd instances")
    parser.add_argument("--reps", type=int, default=25, help="GETBULK max-repetitions")
    parser.add_argument("--rounds", type=int, default=8, help="walks per variant")
    parser.add_argument("--devices", type=int, default=400)
    parser.add_argument("--interval", type=int, default=5, help="seconds between polls")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    print(f"event loop: {asyncio.get_event_loop_policy().__class__.__module__}")

    with tempfile.TemporaryDirectory(prefix="ispcore-snmp-bench-") as tmp:
        workdir = Path(tmp)
        procs, agents = [], []
        try:
            for i in range(args.agents):
                directory = workdir / f"agent{i}"
                directory.mkdir()
                port = free_udp_port()
                proc = start_snmpd(directory, port)
                procs.append(proc)
                wait_ready(proc, port, directory)
                agents.append(Snmpd(port))
            await run(args, agents, workdir)
        finally:
            for proc in procs:
                stop(proc)


async def run(args: argparse.Namespace, agents: list[Snmpd], workdir: Path) -> None:
    agent = agents[0]
    reps = args.reps
    await ours(agent, reps, 2)  # warm up (first walks fill caches on both sides)
    # Interleaved, several times: the machine is shared; the median of each is reported.
    runs: dict[str, list[tuple[int, float]]] = {k: [] for k in (
        "ours GETBULK", "ours GETNEXT", "pysnmp bulk_walk_cmd", "snmpbulkwalk")}
    for _ in range(3):
        runs["ours GETBULK"].append(await ours(agent, reps, args.rounds))
        runs["snmpbulkwalk"].append(snmpbulkwalk(agent, reps, args.rounds, workdir))
        runs["ours GETNEXT"].append(await ours(agent, reps, 1, getnext=True))
        runs["pysnmp bulk_walk_cmd"].append(await pysnmp_walk(agent, reps, 1))
    rates: dict[str, float] = {}
    print(f"subtree {SUBTREE}, max-repetitions {reps}, {args.rounds} walks per GETBULK run, "
          "3 interleaved runs (median)")
    print(f"{'variant':24} {'varbinds':>9} {'CPU s':>7} {'varbinds/CPU-s':>15}")
    for name, measured in runs.items():
        n, s = sorted(measured, key=lambda m: m[0] / m[1])[len(measured) // 2]  # the median
        rates[name] = n / s
        print(f"{name:24} {n:9d} {s:7.3f} {rates[name]:15,.0f}")
    print(f"ours GETBULK / snmpbulkwalk: {rates['ours GETBULK'] / rates['snmpbulkwalk']:.2f}")
    print(f"ours GETBULK / ours GETNEXT: {rates['ours GETBULK'] / rates['ours GETNEXT']:.1f}")
    print(f"ours GETBULK / pysnmp: {rates['ours GETBULK'] / rates['pysnmp bulk_walk_cmd']:.1f}")

    print(f"\npoller: {args.devices} devices x 100 OIDs (GET in chunks of 40), every "
          f"{args.interval} s, {len(agents)} snmpd, concurrency 64, {args.seconds:.0f} s")
    figures = await devices_per_minute(agents, args.devices, args.seconds, args.interval)
    print(f"polls {figures['polls']}, poller CPU {figures['cpu']:.1f} s over "
          f"{figures['wall']:.1f} s wall, submitted {figures['submitted']}")
    print(f"devices per poller CPU-minute: {figures['per_cpu_minute']:,.0f}")
    print(f"devices per wall minute (this box, snmpd on the same 2 cores): "
          f"{figures['per_wall_minute']:,.0f}; max lag {figures['max_lag']:.1f} s")


if __name__ == "__main__":
    if "--asyncio" in sys.argv:  # the default loop instead of uvloop (what the poller uses)
        sys.argv.remove("--asyncio")
    else:
        event_loop_policy()
    asyncio.run(main())
