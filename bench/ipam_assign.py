"""Next-free IP assignment through the domain function, against bare INSERT transactions.

Seeds one company with 100 accounts (``billing_run.seed``), a supernet 100.64.0.0/10 and one
subnet 100.64.0.0/18 (16,382 usable addresses). Then, on PostgreSQL:

  assign        COUNT assignments (default 10,000) through ``assignments.assign_ip`` with no
                address given (the next free one), one unit of work each, as the
                ``assignIpAddress`` mutation runs it: the subnet's ``FOR UPDATE`` lock, the
                account and subnet reads, the search from the cursor, the INSERT, the event,
                the commit. Assignments per second for each tenth of the run (the subnet
                fills up: the figures must stay flat), SQL statements per assignment.
  worst case    WORST assignments (default 200), each after moving the subnet's cursor back
                to the start of the subnet, so the search walks all the held addresses
                (COUNT of them, BATCH per query) before finding a free one: what the first
                assignment after a wrap-around costs.

and, in the same run:

  bare INSERT   COUNT single-row INSERT transactions (BEGIN, INSERT, COMMIT) into an empty
                copy of ip_assignments (same columns and indexes), asyncpg: the floor of "a
                durable row per assignment".

The statements of SAMPLE assignments made after the timed run are printed by kind.

Run:  .venv/bin/python bench/ipam_assign.py [--count 10000] [--clients 1] [--worst 200]
Prints figures and ratios; asserts none (the machine is shared and noisy). PostgreSQL only
(a temporary database on 127.0.0.1:5432, dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common
import billing_run
from payments import Counting, drive, kind_of, rate_row

ACCOUNTS = 100
SAMPLE = 20


async def plan(runtime: Any, company: int) -> int:
    """The supernet and the /18; returns the subnet's id."""
    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.domain.network import ipam

    async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
        supernet = await ipam.create_supernet(uow, {"company_id": company,
                                                    "cidr": "100.64.0.0/10"})
        subnet = await ipam.create_subnet(uow, {"supernet_id": supernet.id,
                                                "cidr": "100.64.0.0/18"})
        return subnet.id


async def bare_inserts(url: str, clients: int, count: int, company: int, subnet: int
                       ) -> tuple[float, float, list[float]]:
    """``count`` single-row INSERT transactions into an empty copy of ``ip_assignments``."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    setup = await asyncpg.connect(dsn)
    await setup.execute("DROP TABLE IF EXISTS bench_ip_assignments")
    await setup.execute("CREATE TABLE bench_ip_assignments (LIKE ip_assignments "
                        "INCLUDING ALL)")
    conns = [await asyncpg.connect(dsn) for _ in range(clients)]
    free = list(conns)
    now = datetime.now(UTC)
    insert = """INSERT INTO bench_ip_assignments (company_id, subnet_id, account_id, address,
      prefix_length, description, assigned_at, release_reason, family, first_key, last_key)
      VALUES ($1, $2, 1, $3, 32, '', $4, '', 4, $5, $5)"""

    async def call(n: int) -> None:
        conn = free.pop()
        key = f"{0x64400001 + n:032x}"
        try:
            async with conn.transaction():
                await conn.execute(insert, company, subnet, f"100.64.x.{n}", now, key)
        finally:
            free.append(conn)

    try:
        return await drive(clients, count, call)
    finally:
        for conn in conns:
            await conn.close()
        await setup.execute("DROP TABLE IF EXISTS bench_ip_assignments")
        await setup.close()


async def main(args: argparse.Namespace) -> None:
    from sqlalchemy import func, select, text

    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.domain.network import assignments
    from ispcore.domain.network.models import IpAssignment

    print(f"ipam_assign: {common.machine_line()}, postgresql, {args.clients} client(s)")
    async with common.temp_database("postgresql") as temp:
        runtime = await common.open_runtime(temp.url, migrate=True)
        try:
            company = await billing_run.seed(runtime, "IPAM ISP", ACCOUNTS, 1)
            subnet = await plan(runtime, company)

            async def assign(n: int) -> None:
                async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
                    await assignments.assign_ip(uow, {"subnet_id": subnet,
                                                      "account_id": 1 + n % ACCOUNTS})

            tenths = []
            with Counting(runtime) as counting:
                step = args.count // 10
                for _ in range(10):
                    tenths.append(await drive(args.clients, step, assign))
                statements = counting.count
            done = step * 10
            with Counting(runtime) as counting:
                counting.kept = []
                await drive(1, SAMPLE, assign)
                sample = Counter(kind_of(s) for s in counting.kept)

            async def worst(n: int) -> None:
                async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
                    await uow.session.execute(text(
                        "UPDATE ip_subnets SET next_key = NULL WHERE id = :id"), {"id": subnet})
                    await assignments.assign_ip(uow, {"subnet_id": subnet,
                                                      "account_id": 1 + n % ACCOUNTS})

            worst_case = await drive(1, args.worst, worst)
            async with runtime.db.engine.connect() as conn:
                held = await conn.scalar(select(func.count()).select_from(IpAssignment))
                distinct = await conn.scalar(select(func.count(func.distinct(
                    IpAssignment.first_key))))
        finally:
            await runtime.close()
        inserted = await bare_inserts(temp.url, args.clients, done, company, subnet)

    print(f"  check: {held:,} assignments ({distinct:,} distinct addresses), expected "
          f"{done + SAMPLE + args.worst:,}")
    print()
    print(f"  statements of one assignment (the {SAMPLE} after the run):")
    common.print_table(["statement", "per assignment"],
                       [[k, f"{v / SAMPLE:.2f}"] for k, v in sample.most_common()])
    print()
    print("  assign_ip per tenth of the run (the subnet filling up):")
    common.print_table(["tenth", "held before", "per s", "p50 ms", "p99 ms"], [
        [str(i + 1), f"{i * step:,}", f"{step / wall:,.0f}",
         f"{common.percentile(lat, 50) * 1000:.2f}", f"{common.percentile(lat, 99) * 1000:.2f}"]
        for i, (wall, _cpu, lat) in enumerate(tenths)])
    wall = sum(t[0] for t in tenths)
    cpu = sum(t[1] for t in tenths)
    latencies = [x for t in tenths for x in t[2]]
    print()
    common.print_table(["variant", "count", "wall s", "cpu s", "per s", "per cpu-s",
                        "p50 ms", "p99 ms", "stmts each"], [
        rate_row("assign_ip, next free (domain, one UoW)", done, wall, cpu, latencies,
                 statements),
        rate_row(f"worst case: cursor reset, {done:,} held", args.worst, *worst_case, None),
        rate_row("bare INSERT transaction (asyncpg)", done, *inserted, None)])
    rate = done / wall
    print()
    print(f"  assign_ip: {rate:,.0f} assignments/s, {statements / done:.1f} SQL statements "
          "each (BEGIN/COMMIT not counted)")
    print(f"  assign_ip / bare INSERT = {rate / (done / inserted[0]):.3f}; time of the last "
          f"tenth / the first = {tenths[-1][0] / tenths[0][0]:.2f} (1.0 = flat)")
    print(f"  worst case: {args.worst / worst_case[0]:,.0f} assignments/s "
          f"(p50 {common.percentile(worst_case[2], 50) * 1000:.1f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--worst", type=int, default=200)
    asyncio.run(main(parser.parse_args()))
