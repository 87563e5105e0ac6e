"""Usage records pushed through ``ingestUsage``, against COPY of the same rows.

Seeds one company with ACCOUNTS accounts (default 1,000; ``billing_run.seed``: fibre data
service, Chicago time zone), a usage policy on the fibre service (500 GB cap, thresholds at
80 and 100 %, free every night 01:00-06:00) and one IPv4 address per account, held in the IP
assignment history. Then, through the ``ingestUsage`` mutation on the in-process ASGI app
with an admin's personal access token (httpx ``ASGITransport``, as the tests call it: the
HTTP request, authentication, JSON, GraphQL parsing and variable coercion, the guard,
``mutate``'s idempotency hash and unit of work, resolution, ``credit()``, the rollups, the
caps check, the commit and the response), one call at a time:

  by accountId   BATCHES calls (default 5) of 10,000 records: 10 five-minute records per
                 account per call, consecutive in time (a call covers 50 minutes), each
                 naming its account by global id;
  by ipAddress   the same number of calls, naming each account by its address (resolved
                 through the IP assignment history);

and, in the same run, the baseline:

  COPY           the same rows COPYed into ``usage_records`` itself (asyncpg
                 ``copy_records_to_table``, one transaction per 10,000, source ``COPY``):
                 storing the records with no checks, no resolution and no rollups.

Reports records per second (wall, and per CPU-second of this process) per variant, SQL
statements per call (``before_cursor_execute``) and the ratio to COPY; checks that the
rollups add up to the bytes sent. ``--profile`` prints cProfile's top functions for one
extra call by accountId.

Run:  .venv/bin/python bench/usage_ingest.py [--accounts 1000] [--batches 5] [--profile]
PostgreSQL only (a temporary database on 127.0.0.1:5432, dropped at the end). Prints
figures and ratios; asserts none (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common
import billing_run
from payments import Counting

BATCH = 10_000
PER_ACCOUNT_MINUTES = 5
TARGET_RATE = 10_000
TARGET_COPY_SHARE = 0.1

INGEST = """mutation($input: IngestUsageInput!) { ingestUsage(input: $input) {
  accepted duplicates errors { field code message } } }"""


async def add_policy_and_addresses(runtime: Any, company: int, accounts: list[int]) -> None:
    """A capped policy with a nightly free period on the fibre service, and 10.<n>.<n>.<n>
    held by each account since the seed's day."""
    from sqlalchemy import insert, update

    from ispcore.domain.billing.models import Service
    from ispcore.domain.network import addressing as a
    from ispcore.domain.network.models import IpAssignment, Subnet, Supernet
    from ispcore.domain.usage.models import UsageFreePeriod, UsagePolicy

    since = datetime(2026, 11, 1, tzinfo=UTC)
    stamps = {"created_at": since, "updated_at": since}
    block = a.parse_network("10.0.0.0/8", field="cidr")
    span = a.span_of(block)
    ranges = {"family": 4, "first_key": span.first_key, "last_key": span.last_key}
    async with runtime.db.engine.begin() as conn:
        policy = (await conn.execute(insert(UsagePolicy).returning(UsagePolicy.id), [{
            "company_id": company, "name": "500 GB", "name_key": "500 gb", "description": "",
            "cap_gb": 500, "notify_percents": [80, 100], "rollover_months": 0,
            "overage_taxable": True, "active": True, **stamps}])).scalar_one()
        await conn.execute(insert(UsageFreePeriod), [{
            "company_id": company, "policy_id": policy, "weekday": day, "start_minute": 60,
            "end_minute": 360, **stamps} for day in range(1, 8)])
        await conn.execute(update(Service).where(Service.company_id == company,
                                                 Service.kind == "DATA")
                           .values(usage_policy_id=policy))
        supernet = (await conn.execute(insert(Supernet).returning(Supernet.id), [{
            "company_id": company, "cidr": "10.0.0.0/8", "name": "", "description": "",
            **ranges, **stamps}])).scalar_one()
        subnet = (await conn.execute(insert(Subnet).returning(Subnet.id), [{
            "company_id": company, "supernet_id": supernet, "cidr": "10.0.0.0/8", "name": "",
            "description": "", "gateway": None, "delegated_prefix_length": None,
            "next_key": None, **ranges, **stamps}])).scalar_one()
        await conn.execute(insert(IpAssignment), [{
            "company_id": company, "subnet_id": subnet, "pool_id": None, "account_id": i,
            "account_service_id": None, "address": address_of(i), "prefix_length": 32,
            "family": 4, "first_key": a.to_key(int(block.network_address) + i),
            "last_key": a.to_key(int(block.network_address) + i), "description": "",
            "assigned_at": since, "released_at": None, "release_after": None,
            "release_reason": ""} for i in accounts])


def address_of(account: int) -> str:
    return f"10.{account >> 16 & 255}.{account >> 8 & 255}.{account & 255}"


def batch_records(accounts: list[int], start: datetime, named: str, call: str
                  ) -> list[dict[str, Any]]:
    """10,000 records: ``BATCH // len(accounts)`` consecutive 5-minute records per account
    from ``start``, naming it by ``named``; ids unique per ``call``."""
    from ispcore.schema.nodes import encode_global_id

    per = BATCH // len(accounts)
    out = []
    for account in accounts:
        name = ({"accountId": encode_global_id("Account", account)} if named == "accountId"
                else {"ipAddress": address_of(account)})
        for k in range(per):
            t = start + timedelta(minutes=PER_ACCOUNT_MINUTES * k)
            out.append({"sourceRecordId": f"{call}-{account}-{k}", **name,
                        "start": t.isoformat(),
                        "end": (t + timedelta(minutes=PER_ACCOUNT_MINUTES)).isoformat(),
                        "bytesIn": 1_000_000 + account * 7 + k, "bytesOut": 100_000 + k})
    return out


async def vacuum(url: str) -> None:
    """VACUUM ANALYZE on a connection of its own (not one of the runtime's pool: ending its
    transaction behind SQLAlchemy's back would leave a pooled connection in autocommit)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


async def copy_rows(url: str, company: int, batches: list[list[dict[str, Any]]]
                    ) -> tuple[float, float]:
    """COPY the batches' rows into ``usage_records`` (one transaction per batch)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    now = datetime.now(UTC)
    columns = ["company_id", "account_id", "source", "source_key", "started_at", "ended_at",
               "bytes_in", "bytes_out", "received_at"]
    wall = cpu = 0.0
    try:
        for records in batches:
            cpu0, t0 = time.process_time(), time.perf_counter()
            rows = [(company, int(r["sourceRecordId"].split("-")[1]), "COPY",
                     r["sourceRecordId"], datetime.fromisoformat(r["start"]),
                     datetime.fromisoformat(r["end"]), r["bytesIn"], r["bytesOut"], now)
                    for r in records]
            async with conn.transaction():
                await conn.copy_records_to_table("usage_records", records=rows,
                                                 columns=columns)
            wall += time.perf_counter() - t0
            cpu += time.process_time() - cpu0
    finally:
        await conn.close()
    return wall, cpu


async def main(args: argparse.Namespace) -> None:
    import httpx
    from sqlalchemy import func, select

    from ispcore.app import create_app
    from ispcore.domain.usage.models import UsageDaily, UsageHourly, UsagePeriod, UsageRecord

    print(f"usage_ingest: {common.machine_line()}, postgresql, {args.accounts:,} accounts, "
          f"{args.batches} calls of {BATCH:,} records per variant")
    async with common.temp_database("postgresql") as temp:
        runtime = await common.open_runtime(temp.url, migrate=True)
        try:
            company = await billing_run.seed(runtime, "Usage ISP", args.accounts, 1)
            accounts = list(range(1, args.accounts + 1))
            await add_policy_and_addresses(runtime, company, accounts)
            await vacuum(temp.url)
            _, token = await common.admin_with_token(runtime)
            headers = {"Authorization": f"Bearer {token}"}
            # Records of the last hours, well inside the 90 days records may be late.
            base = (datetime.now(UTC) - timedelta(days=2)).replace(minute=0, second=0,
                                                                   microsecond=0)
            span = timedelta(minutes=PER_ACCOUNT_MINUTES * (BATCH // args.accounts))
            plans: dict[str, list[list[dict[str, Any]]]] = {}
            moment = base
            for plan in ("warmup", "accountId", "ipAddress", "profile"):
                plans[plan] = []
                for n in range(1 if plan in ("warmup", "profile") else args.batches):
                    named = "ipAddress" if plan in ("warmup", "ipAddress") else "accountId"
                    plans[plan].append(batch_records(accounts, moment, named, f"{plan}{n}"))
                    moment += span
            app = create_app(runtime=runtime)
            results: dict[str, tuple[float, float, int]] = {}
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
                async with httpx.AsyncClient(transport=transport, base_url="http://bench",
                                             timeout=300) as client:

                    async def call(records: list[dict[str, Any]]) -> None:
                        response = await client.post("/graphql", headers=headers, json={
                            "query": INGEST, "variables": {"input": {
                                "idempotencyKey": uuid.uuid4().hex, "records": records}}})
                        body = response.json()
                        result = (body.get("data") or {}).get("ingestUsage")
                        if not result or result["errors"] or result["accepted"] != BATCH:
                            raise SystemExit(f"ingestUsage failed: {str(body)[:2000]}")

                    for records in plans["warmup"]:
                        await call(records)
                    for named in ("accountId", "ipAddress"):
                        with Counting(runtime) as counting:
                            cpu0, t0 = time.process_time(), time.perf_counter()
                            for records in plans[named]:
                                await call(records)
                            results[named] = (time.perf_counter() - t0,
                                              time.process_time() - cpu0, counting.count)
                    if args.profile:
                        profiler = cProfile.Profile()
                        profiler.enable()
                        await call(plans["profile"][0])
                        profiler.disable()
            copy_wall, copy_cpu = await copy_rows(temp.url, company,
                                                  plans["accountId"] + plans["ipAddress"])
            async with runtime.db.engine.connect() as conn:
                stored = await conn.scalar(select(func.count()).select_from(UsageRecord)
                                           .where(UsageRecord.source == "API"))
                sent = await conn.scalar(select(func.sum(UsageRecord.bytes_in
                                                         + UsageRecord.bytes_out))
                                         .where(UsageRecord.source == "API"))
                sums = {}
                for model in (UsageHourly, UsageDaily, UsagePeriod):
                    sums[model.__tablename__] = await conn.scalar(select(func.sum(
                        model.billable_in + model.billable_out + model.free_in
                        + model.free_out)))
        finally:
            await runtime.close()

    calls = 1 + 2 * args.batches + (1 if args.profile else 0)
    print(f"  check: {stored:,} API records stored (expected {calls * BATCH:,}); bytes sent "
          f"{sent:,}, in the rollups: " + ", ".join(f"{k} {v:,}" for k, v in sums.items()))
    print()
    count = args.batches * BATCH
    rows = []
    for named, (wall, cpu, statements) in results.items():
        rows.append([f"ingestUsage by {named}", f"{count:,}", f"{wall:.2f}", f"{cpu:.2f}",
                     f"{count / wall:,.0f}", f"{count / cpu:,.0f}",
                     f"{statements / args.batches:.0f}",
                     f"{(count / wall) / (2 * count / copy_wall):.3f}"])
    rows.append(["COPY into usage_records", f"{2 * count:,}", f"{copy_wall:.2f}",
                 f"{copy_cpu:.2f}", f"{2 * count / copy_wall:,.0f}",
                 f"{2 * count / copy_cpu:,.0f}", "-", "1"])
    common.print_table(["variant", "records", "wall s", "cpu s", "records/s",
                        "per cpu-s", "stmts/call", "of COPY"], rows)
    rate = count / results["accountId"][0]
    share = rate / (2 * count / copy_wall)
    print()
    print(f"  by accountId: {rate:,.0f} records/s (target >= {TARGET_RATE:,}: "
          f"{'met' if rate >= TARGET_RATE else 'NOT met'}), {share:.3f} of COPY (target >= "
          f"{TARGET_COPY_SHARE}: {'met' if share >= TARGET_COPY_SHARE else 'NOT met'})")
    if args.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(45)
        print()
        print(out.getvalue())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="cProfile order (tottime…)")
    asyncio.run(main(parser.parse_args()))
