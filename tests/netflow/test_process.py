"""``ispcore netflow`` as a process (its settings, SIGTERM writing what it holds) and its
Prometheus counters."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from ispcore.network.netflow.collector import NetflowCollector
from tests.conftest import free_port
from tests.netflow.support import (
    hold,
    per_account,
    plan_setup,
    ready,
    send,
    utc,
    v5_at,
)

ALICE, WEB = "100.64.1.10", "93.184.216.34"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_the_command_collects_and_writes_what_it_holds_on_sigterm(
        api: Any, runtime: Any, database_url: str) -> None:
    """The process runs on the system clock: the flow ends a few seconds before now, in an
    interval still open, which only the shutdown writes."""
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, ALICE)
    port = free_udp_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPCORE_")}
    env.update(ISPCORE_DATABASE_URL=database_url, ISPCORE_LOG_LEVEL="INFO",
               ISPCORE_NETFLOW_INTERVAL_SECONDS="3600", ISPCORE_NETFLOW_METRICS_PORT="0")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ispcore.cli", "netflow", "--host", "127.0.0.1", "--port",
        str(port), env=env, stderr=asyncio.subprocess.PIPE)
    assert proc.stderr is not None
    try:
        lines = [await logged(proc.stderr, "NetFlow listening")]
        end = datetime.fromtimestamp(int(time.time()) - 2, UTC)  # the process's clock
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(v5_at(end, [(WEB, ALICE, 4_321)]), ("127.0.0.1", port))
        await asyncio.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        lines += [json.loads(line) for line in (await proc.stderr.read()).splitlines()
                  if line.startswith(b"{")]
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert await per_account(runtime) == {plan.alice_pk: (4_321, 0)}
    flushed = [line for line in lines if line["message"].startswith("NetFlow flush")]
    assert "credited 1 samples (4321 bytes)" in flushed[-1]["message"]


async def logged(stream: asyncio.StreamReader, text: str) -> dict[str, Any]:
    while True:
        line = await asyncio.wait_for(stream.readline(), 30)
        assert line, f"the process ended before logging {text!r}"
        if text.encode() in line:
            return json.loads(line)


async def test_a_bad_interval_stops_the_command(database_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPCORE_")}
    env.update(ISPCORE_DATABASE_URL=database_url, ISPCORE_NETFLOW_INTERVAL_SECONDS="7")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ispcore.cli", "netflow", "--port", str(free_udp_port()),
        env=env, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 120)  # a busy machine starts slowly
    assert proc.returncode == 1
    assert b"must divide an hour" in err


async def test_prometheus_counters(api: Any, runtime: Any) -> None:
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, ALICE)
    port = free_port()
    collector = NetflowCollector(runtime, host="127.0.0.1", port=0, flush_seconds=3600,
                                 metrics_port=port)
    await collector.start()
    try:
        await ready(collector)
        good = v5_at(utc(2026, 11, 2, 14, 1), [(WEB, ALICE, 700), ("8.8.8.8", WEB, 30)])
        await send(collector, good, good, b"junk")
        await send(collector, good, source="127.0.0.3")
        await collector.flush()
        async with httpx.AsyncClient() as client:
            text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    finally:
        await collector.stop()
    assert 'ispcore_netflow_datagrams_total{exporter="127.0.0.1"} 3.0' in text
    assert 'ispcore_netflow_flows_total{exporter="127.0.0.1"} 2.0' in text
    assert 'ispcore_netflow_rejected_total{exporter="127.0.0.1",reason="replayed"} 1.0' in text
    assert ('ispcore_netflow_rejected_total{exporter="127.0.0.1",reason="unknown_version"} '
            '1.0') in text
    assert 'ispcore_netflow_rejected_total{exporter="",reason="unknown_exporter"} 1.0' in text
    assert "ispcore_netflow_credited_bytes_total 700.0" in text
    assert "ispcore_netflow_unattributed_bytes_total 30.0" in text
    assert "ispcore_netflow_batches_waiting 0.0" in text
    assert await per_account(runtime) == {plan.alice_pk: (700, 0)}
