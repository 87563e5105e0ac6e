"""Poll results through ``submitPollResults``' domain function, against a bare executemany
INSERT of the same samples.

Seeds one company with a template of 20 metrics (ICMP latency and loss, 8 SNMP gauges, and an
interface counter walked on 10 instances), a poller and DEVICES devices it owns (default
1,000). Then, ROUNDS times (default 5, after one untimed warm-up poll that gives the counters
their first reading), one batch of every device's poll 60 s after the previous one goes
through ``ingest.submit`` in a unit of work acting as the poller: the checks (ownership,
template, values), the rates, samples with ON CONFLICT DO NOTHING, the hourly and daily
rollups, the metric states, the devices, the events and the commit.

Baseline, in the same run: the same number of sample rows INSERTed into ``metric_samples``
by asyncpg's ``executemany`` (one transaction per round): storing the samples with nothing
else.

Reports metrics (results) per second, wall and per CPU-second of this process, SQL statements
per batch, and the ratio to the baseline.

Run:  .venv/bin/python bench/monitoring_ingest.py [--devices 1000] [--rounds 5]
PostgreSQL only (a temporary database on 127.0.0.1:5432, dropped at the end). Prints figures
and ratios; asserts none (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common
from payments import Counting

GAUGES = 8
INSTANCES = 10
METRICS = 2 + GAUGES + INSTANCES


async def seed(runtime: Any, devices: int) -> tuple[int, int, dict[str, int], list[int]]:
    """Company, template and checks, poller, devices: (company, poller, checks, devices)."""
    from sqlalchemy import insert

    from ispcore.domain.common.models import name_key
    from ispcore.domain.companies.models import Company
    from ispcore.domain.monitoring.models import (
        Device,
        MonitoringCheck,
        MonitoringTemplate,
        Poller,
    )
    from ispcore.domain.network.addressing import to_key

    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now}

    def named(name: str) -> dict[str, Any]:
        return {"name": name, "name_key": name_key(name)}

    async with runtime.db.engine.begin() as conn:
        company = (await conn.execute(insert(Company).returning(Company.id), [{
            **named("Bench ISP"), "currency": "USD", "time_zone": "UTC", **stamps}])
        ).scalar_one()
        template = (await conn.execute(insert(MonitoringTemplate).returning(
            MonitoringTemplate.id), [{**named("Routers"), "company_id": company,
                                      **stamps}])).scalar_one()
        specs = [("icmpLatency", "ICMP_LATENCY", "GAUGE", None, 50.0),
                 ("icmpLoss", "ICMP_LOSS", "GAUGE", None, 20.0),
                 *[(f"gauge{n}", "SNMP_GET", "GAUGE", f"1.3.6.1.4.1.9.{n}.0", 90.0)
                   for n in range(GAUGES)],
                 ("ifHCInOctets", "SNMP_WALK", "COUNTER", "1.3.6.1.2.1.31.1.1.1.6", None)]
        rows = (await conn.execute(insert(MonitoringCheck).returning(
            MonitoringCheck.id, MonitoringCheck.name), [{
                "company_id": company, "template_id": template, "name": name, "kind": kind,
                "value_type": value_type, "oid": oid, "label_oid": None, "unit": "",
                "scale": 1.0, "direction": "ABOVE", "warning_threshold": warning,
                "critical_threshold": None, **stamps}
                for name, kind, value_type, oid, warning in specs])).all()
        poller = (await conn.execute(insert(Poller).returning(Poller.id), [{
            **named("Main"), "company_id": company, "description": "",
            "token_hash": "bench", "concurrency": 64, "active": True, "status": "UP",
            "reported_version": "", "reported_address": "", **stamps}])).scalar_one()
        ids = (await conn.execute(insert(Device).returning(
            Device.id, sort_by_parameter_order=True), [{
                **named(f"router-{n}"), "company_id": company, "description": "",
                "management_address": f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}",
                "family": 4, "address_key": to_key((10 << 24) + n), "serial_number": "",
                "mac_address": "", "template_id": template, "monitored": True,
                "snmp_version": "V2C", "snmp_port": 161, "snmp_username": "",
                "snmp_auth_protocol": "NONE", "snmp_priv_protocol": "NONE",
                "poller_id": poller, "status": "UNKNOWN", "sys_name": "",
                "status_changes": [], **stamps} for n in range(1, devices + 1)])).scalars()
        return company, poller, {r.name: r.id for r in rows}, list(ids)


def batch(devices: list[int], checks: dict[str, int], at: datetime, n: int) -> list[Any]:
    """Every device's poll at ``at`` (poll number ``n``: counters grow by 1 MB/s)."""
    from ispcore.domain.monitoring.ingest import CheckResult, DeviceResult

    out = []
    for d in devices:
        results = [CheckResult(checks[f"gauge{g}"], value=str((d + g + n) % 100))
                   for g in range(GAUGES)]
        results += [CheckResult(checks["ifHCInOctets"], instance=str(i), label=f"ether{i}",
                                value=str(10**12 + d * 1000 + i + n * 60_000_000),
                                counter_bits=64) for i in range(1, INSTANCES + 1)]
        out.append(DeviceResult(d, at, True, sys_name=f"router-{d}",
                                sys_uptime_ticks=1000 + n * 6000,
                                icmp_latency_ms=float((d + n) % 80), icmp_loss_percent=0.0,
                                results=results))
    return out


async def baseline(url: str, rows: list[tuple[Any, ...]]) -> tuple[float, float]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        cpu0, t0 = time.process_time(), time.perf_counter()
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO metric_samples (device_id, check_id, instance, at, value) "
                "VALUES ($1, $2, $3, $4, $5)", rows)
        return time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        await conn.close()


async def main(args: argparse.Namespace) -> None:
    from ispcore.domain.identity.actor import Actor
    from ispcore.domain.monitoring import ingest

    print(f"monitoring_ingest: {common.machine_line()}, postgresql, {args.devices:,} devices "
          f"x {METRICS} metrics, {args.rounds} batches")
    async with common.temp_database("postgresql") as temp:
        runtime = await common.open_runtime(temp.url, migrate=True)
        try:
            company, poller, checks, devices = await seed(runtime, args.devices)
            actor = Actor(poller_id=poller, company_id=company,
                          permissions=frozenset({"monitoring:poll"}))
            start = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
            plans = [batch(devices, checks, start + timedelta(minutes=n), n)
                     for n in range(args.rounds + 1)]
            ours = []
            for n, plan in enumerate(plans):
                with Counting(runtime) as counting:
                    cpu0, t0 = time.process_time(), time.perf_counter()
                    async with runtime.unit_of_work(actor, action="bench") as uow:
                        done = await ingest.submit(uow, f"batch-{n}", plan)
                    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
                assert done.accepted == len(devices) and not done.duplicate
                if n:  # the first gives the counters their first reading
                    ours.append((wall, cpu, counting.count))
            # The same number of sample rows, a day later so none conflict.
            later = start + timedelta(days=1)
            base = []
            for n in range(args.rounds):
                at = later + timedelta(minutes=n)
                rows = [(d, c, i, at, 1.0) for d in devices for c, i in
                        [(checks["icmpLatency"], ""), (checks["icmpLoss"], ""),
                         *[(checks[f"gauge{g}"], "") for g in range(GAUGES)],
                         *[(checks["ifHCInOctets"], str(i))
                           for i in range(1, INSTANCES + 1)]]]
                base.append(await baseline(temp.url, rows))
        finally:
            await runtime.close()
    per_batch = len(devices) * METRICS
    ours_wall = common.median([w for w, _, _ in ours])
    ours_cpu = common.median([c for _, c, _ in ours])
    base_wall = common.median([w for w, _ in base])
    base_cpu = common.median([c for _, c in base])
    common.print_table(
        ["variant", "batch ms (median)", "metrics/s", "metrics/CPU-s", "statements/batch"],
        [["submit (domain)", f"{ours_wall * 1000:.0f}", f"{per_batch / ours_wall:,.0f}",
          f"{per_batch / ours_cpu:,.0f}", str(ours[0][2])],
         ["executemany INSERT", f"{base_wall * 1000:.0f}", f"{per_batch / base_wall:,.0f}",
          f"{per_batch / base_cpu:,.0f}", "1"]])
    print(f"submit / baseline time: {ours_wall / base_wall:.2f}x "
          f"({len(devices) / ours_wall:,.0f} device results/s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
