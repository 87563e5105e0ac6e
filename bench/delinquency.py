"""The delinquency sweep over many accounts, against hand-written SQL doing its writes.

Seeds one company (default 100,000 accounts, as ``billing_run.py`` seeds them) with one
issued invoice each (63.75, due 2026-11-15), a fifth of them unpaid, a delinquent status,
delinquency after 30 days and a fixed late fee. Then, in a fresh process, on 2026-12-20:

  sweep         ``delinquency.sweep_company`` as the hourly job runs it: every account
                read in batches of 1,000, a fifth made delinquent (status moved with its
                history line, audit entry and events) and charged a late fee;
  again         the same sweep once more the same day: nothing left to do (the idle cost);

and, as the baseline, in a transaction rolled back afterwards: per batch of 1,000 accounts,
the overdue accounts selected, their status set with one UPDATE, and their history and
delinquency rows COPYed (asyncpg): the floor of the same writes without the domain's
bookkeeping (audit entries, events, late fees).

Figures: accounts per second, SQL statements per batch (SQLAlchemy's, plus each bulk COPY
and array UPDATE the domain sends through the driver), ratios sweep/baseline.

Run:  .venv/bin/python bench/delinquency.py [--db postgresql|sqlite] [--accounts 100000]
Prints figures and ratios; asserts none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common

TODAY = datetime(2026, 12, 20, 15, 0, tzinfo=UTC)
BATCH = 1000
OVERDUE_EVERY = 5  # one account in five has not paid


async def seed(runtime: Any, accounts: int) -> int:
    """The accounts of ``billing_run.seed``, an invoice each, the delinquency settings."""
    from billing_run import seed as seed_accounts
    from sqlalchemy import insert, select

    from ispcore.domain.accounts import models as a
    from ispcore.domain.billing import models as b
    from ispcore.domain.billing.collections_models import DelinquencySettings

    company = await seed_accounts(runtime, "Large ISP", accounts, 1)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    stamps = {"created_at": now, "updated_at": now}
    async with runtime.db.engine.begin() as conn:
        delinquent = (await conn.execute(insert(a.AccountStatus).returning(a.AccountStatus.id), [{
            "company_id": company, "name": "Delinquent", "name_key": "delinquent",
            "counts_as_active": True, "is_delinquent": True, "is_lead": False,
            "is_disconnect_default": False, "color": "#aa0000", **stamps}])).scalar_one()
        fees = (await conn.execute(select(b.GlCode.id).where(
            b.GlCode.company_id == company, b.GlCode.code == "4000"))).scalar_one()
        await conn.execute(insert(DelinquencySettings), [{
            "company_id": company, "enabled": True, "days_overdue": 30,
            "delinquent_status_id": delinquent, "minimum_overdue_minor": None,
            "late_fee_kind": "FIXED", "late_fee_amount_minor": 500,
            "late_fee_percent_scaled": None, "late_fee_days": 10,
            "paper_invoice_fee_minor": 0, "fee_gl_code_id": fees, **stamps}])
    for start in range(1, accounts + 1, 5000):
        rows = [{
            "company_id": company, "account_id": i, "billing_run_id": None,
            "number": f"INV-{i:07}", "status": "ISSUED", "currency": "USD",
            "bill_date": date(2026, 11, 1), "period_start": date(2026, 11, 1),
            "period_end": date(2026, 12, 1), "issued_on": date(2026, 11, 1),
            "due_on": date(2026, 11, 15), "subtotal_minor": 6000, "discount_minor": 0,
            "tax_minor": 375, "total_minor": 6375,
            "paid_minor": 0 if i % OVERDUE_EVERY == 0 else 6375, "message": "",
            "created_at": now, "voided_at": None, "void_reason": None}
            for i in range(start, min(start + 5000, accounts + 1))]
        async with runtime.db.engine.begin() as conn:
            await conn.execute(insert(b.Invoice), rows)
    return company


# --- the sweep, in its own process ------------------------------------------------------------

def count_bulk_writes() -> dict[str, int]:
    """Count the domain's driver-level bulk writes (COPY, array UPDATE), which bypass
    SQLAlchemy's cursor events; patched before the domain modules import them."""
    import ispcore.db as db

    counter = {"bulk": 0}
    insert, update = db.bulk_insert, db.bulk_update

    async def counted_insert(session: Any, model: Any, rows: list[Any], *,
                             ids: bool = False) -> list[int]:
        if rows and session.bind.dialect.name != "sqlite":
            counter["bulk"] += 2 if ids else 1
        return await insert(session, model, rows, ids=ids)

    async def counted_update(session: Any, model: Any, rows: list[Any]) -> None:
        if rows and session.bind.dialect.name != "sqlite":
            counter["bulk"] += 1
        await update(session, model, rows)

    db.bulk_insert, db.bulk_update = counted_insert, counted_update
    return counter


async def sweep_once(url: str, company: int) -> dict[str, Any]:
    bulk = count_bulk_writes()
    from sqlalchemy import event

    from ispcore.domain.billing import delinquency
    from ispcore.domain.common.clock import FixedClock
    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.runtime import build_runtime

    runtime = await build_runtime(common.bench_settings(url), clock=FixedClock(TODAY))
    statements = 0

    def count(*_args: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
    out = {}
    try:
        for label in ("sweep", "again"):
            statements, bulk["bulk"] = 0, 0
            t0, cpu0 = time.perf_counter(), time.process_time()
            counts = await delinquency.sweep_company(
                lambda: runtime.unit_of_work(SYSTEM, action="bench"), company)
            out[label] = {"seconds": time.perf_counter() - t0,
                          "cpu": time.process_time() - cpu0,
                          "statements": statements + bulk["bulk"],
                          "made": counts.made_delinquent, "fees": counts.late_fees}
    finally:
        await runtime.close()
    return out


def in_child(url: str, company: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--child", url, str(company)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the baseline ---------------------------------------------------------------------------------

async def baseline(url: str, company: int, accounts: int) -> float:
    """Seconds for the bare writes, batch by batch, rolled back (PostgreSQL)."""
    import asyncpg

    pg = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        status = await pg.fetchval("SELECT id FROM account_statuses WHERE company_id = $1 "
                                   "AND is_delinquent", company)
        now = datetime.now(UTC)
        transaction = pg.transaction()
        await transaction.start()
        t0 = time.perf_counter()
        after = 0
        while True:
            last = await pg.fetchval(
                "SELECT max(id) FROM (SELECT id FROM accounts WHERE company_id = $1 AND id > $2"
                " ORDER BY id LIMIT $3) AS batch", company, after, BATCH)
            if last is None:
                break
            due = await pg.fetch(
                "SELECT i.account_id, min(i.id) AS invoice_id, a.account_status_id, "
                "sum(i.total_minor - i.paid_minor) AS owed FROM invoices i "
                "JOIN accounts a ON a.id = i.account_id WHERE i.company_id = $1 "
                "AND i.account_id > $2 AND i.account_id <= $3 AND i.status = 'ISSUED' "
                "AND i.paid_minor < i.total_minor AND i.due_on < $4 "
                "GROUP BY i.account_id, a.account_status_id", company, after, last,
                date(2026, 11, 20))
            ids = [r["account_id"] for r in due]
            await pg.execute("UPDATE accounts SET account_status_id = $1 WHERE id = ANY($2)",
                             status, ids)
            await pg.copy_records_to_table(
                "account_status_changes", columns=[
                    "company_id", "account_id", "kind", "from_status_id", "to_status_id",
                    "reason", "changed_at"],
                records=[(company, r["account_id"], "DELINQUENT", r["account_status_id"],
                          status, "", now) for r in due])
            await pg.copy_records_to_table(
                "account_delinquencies", columns=[
                    "company_id", "account_id", "since", "previous_status_id",
                    "delinquent_status_id", "invoice_id", "overdue_minor", "created_at"],
                records=[(company, r["account_id"], TODAY.date(), r["account_status_id"],
                          status, r["invoice_id"], r["owed"], now) for r in due])
            after = last
        seconds = time.perf_counter() - t0
        await transaction.rollback()
        return seconds
    finally:
        await pg.close()


# --- main ----------------------------------------------------------------------------------------

async def main(args: argparse.Namespace) -> None:
    print(f"delinquency: {common.machine_line()}, {args.db}")
    async with common.temp_database(args.db) as temp:
        runtime = await common.open_runtime(temp.url, migrate=True)
        try:
            t0 = time.perf_counter()
            company = await seed(runtime, args.accounts)
            if args.db == "postgresql":
                async with runtime.db.engine.connect() as conn:
                    await conn.exec_driver_sql("COMMIT")
                    await conn.exec_driver_sql("VACUUM ANALYZE")
            print(f"  seeded {args.accounts:,} accounts ({args.accounts // OVERDUE_EVERY:,} "
                  f"overdue) in {time.perf_counter() - t0:.0f} s")
        finally:
            await runtime.close()
        base = (await baseline(temp.url, company, args.accounts)
                if args.db == "postgresql" else None)
        result = in_child(temp.url, company)
    batches = -(-args.accounts // BATCH)
    rows = []
    for label, r in result.items():
        rate = args.accounts / r["seconds"]
        rows.append([label, f"{r['made']:,}", f"{r['fees']:,}", f"{r['seconds']:.1f}",
                     f"{r['cpu']:.1f}", f"{rate:,.0f}", f"{r['statements'] / batches:.1f}",
                     f"{r['seconds'] / base:.2f}" if base else "-"])
    if base:
        rows.append(["baseline (bare SQL)", f"{args.accounts // OVERDUE_EVERY:,}", "-",
                     f"{base:.1f}", "-", f"{args.accounts / base:,.0f}", "4.0", "1.00"])
    print()
    common.print_table(["pass", "made delinquent", "late fees", "wall s", "cpu s",
                        "accounts/s", "stmts/batch", "vs baseline"], rows)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(sweep_once(sys.argv[2], int(sys.argv[3])))))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--accounts", type=int, default=100_000)
    asyncio.run(main(parser.parse_args()))
