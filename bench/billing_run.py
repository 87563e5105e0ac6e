"""One billing run over many accounts, against writing the same rows with COPY.

Seeds two companies on one database: SMALL (default 25,000 accounts) and LARGE (default
100,000), each account with 2 or 3 services (fibre and TV, every third a static IP), an
Illinois address, a 6.25% tax and a financial contact with an email address; each company
has an ``invoice.issued`` message trigger (an email with the invoice's PDF) and a webhook
endpoint subscribed to ``invoice.issued``. Then, each in a fresh process (so its peak memory
is its own), one billing run per company through ``billing.runs.execute``, as the worker runs
it, while the run's events go to the dispatcher and the webhook fan-out of the same process
(their jobs, on an engine of their own; the emails and deliveries they queue are not sent):

  run           invoices per second, SQL statements per 1,000 invoices (the run's own: the
                events' jobs have their own engine), resident memory before and at its peak
                during the run (sampled every 20 ms);
  events        the time from the run's start until its last event is dispatched (handlers
                and fan-out done). SMALL's events are held until its run is done and then
                dispatched alone: events per second of the dispatcher and fan-out on a
                backlog. LARGE's are dispatched beside its run, as its commits enqueue them.

and in this process, the baselines on the rows the LARGE run wrote:

  COPY          the identical invoice and invoice-line rows written into empty copies of
                their tables (same columns and indexes, no foreign keys) with PostgreSQL
                COPY (asyncpg ``copy_records_to_table``), as invoices per second (and rows
                per second);
  executemany   the same rows with one prepared INSERT executed for all (asyncpg);
  COPY, real    the same rows COPYed into the real tables, keys and indexes included, in a
                transaction rolled back afterwards.

Run:  .venv/bin/python bench/billing_run.py [--db postgresql|sqlite] [--small 25000]
                                            [--large 100000]
Prints figures and ratios; asserts none (the machine is shared and noisy). On SQLite the
baseline is executemany only (there is no COPY).
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

RUN_ON = date(2026, 12, 1)
TARGET_RATE = 2000          # invoices per second on one core
TARGET_COPY_SHARE = 0.1     # of the COPY rate
TARGET_EVENTS_RATE = 2000   # events dispatched per second by one worker process


# --- seeding ----------------------------------------------------------------------------------

async def seed(runtime: Any, name: str, accounts: int, first_id: int, *,
               contacts: bool = False) -> int:
    """A company with ``accounts`` accounts (ids from ``first_id``), their services and
    addresses (and with ``contacts``, a primary contact with an email address each),
    written through Core in chunks. Returns the company id."""
    from sqlalchemy import insert

    from ispcore.domain.accounts import models as a
    from ispcore.domain.billing import models as b
    from ispcore.domain.companies.models import Company

    now = datetime(2026, 11, 1, tzinfo=UTC)
    stamps = {"created_at": now, "updated_at": now}
    async with runtime.db.engine.begin() as conn:
        company = (await conn.execute(insert(Company).returning(Company.id), [{
            "name": name, "name_key": name.lower(), "currency": "USD",
            "time_zone": "America/Chicago", "country": "US", "subdivision": "IL",
            **stamps}])).scalar_one()
        kind = (await conn.execute(insert(a.AccountType).returning(a.AccountType.id), [{
            "company_id": company, "name": "Residential", "name_key": "residential",
            "description": "", **stamps}])).scalar_one()
        status = (await conn.execute(insert(a.AccountStatus).returning(a.AccountStatus.id), [{
            "company_id": company, "name": "Active", "name_key": "active",
            "counts_as_active": True, "is_delinquent": False, "is_lead": False,
            "is_disconnect_default": False, "color": "#00aa00", **stamps}])).scalar_one()
        revenue, tax_gl = (await conn.execute(insert(b.GlCode).returning(b.GlCode.id), [
            {"company_id": company, "code": c, "name": c, "description": "", **stamps}
            for c in ("4000", "2200")])).scalars().all()
        services = (await conn.execute(insert(b.Service).returning(b.Service.id), [
            {"company_id": company, "name": n, "name_key": n.lower(), "kind": k,
             "description": "", "price_minor": p, "billing_frequency_months": 1,
             "expires_after_cycles": None, "vacation_price_minor": None, "taxable": t,
             "gl_code_id": revenue, "active": True, "download_kbps": None,
             "upload_kbps": None, **stamps}
            for n, k, p, t in (("Fibre", "DATA", 6000, True), ("TV", "RECURRING", 2000, False),
                               ("Static IP", "RECURRING", 500, True))])).scalars().all()
        await conn.execute(insert(b.TaxRate), [{
            "company_id": company, "name": "Illinois", "name_key": "illinois",
            "rate_scaled": 62_500, "country": "US", "subdivision": "IL", "gl_code_id": tax_gl,
            "active": True, **stamps}])
        await conn.execute(insert(b.BillingSettings), [{
            "company_id": company, "billing_mode": "FIXED_DAY", "bill_day": 1, "due_days": 14,
            "grace_days": 7, "bill_in_advance": True, "prorate": True, "rounding": "HALF_UP",
            "invoice_number_format": "INV-{number:07}", "next_invoice_number": 1,
            "review_drafts": False, "vacation_billing": "NOTHING", **stamps}])
    from ispcore.domain.addresses.models import AddressOccupancy, ServiceableAddress

    chunk = 5000
    for start in range(first_id, first_id + accounts, chunk):
        ids = range(start, min(start + chunk, first_id + accounts))
        rows: dict[Any, list[dict[str, Any]]] = {m: [] for m in (
            a.Account, b.AccountBilling, b.AccountService, ServiceableAddress,
            AddressOccupancy, a.Contact, a.ContactEmail)}
        for i in ids:
            rows[a.Account].append({
                "id": i, "company_id": company, "account_number": f"A{i}", "name": f"C {i}",
                "account_type_id": kind, "account_status_id": status,
                "parent_account_id": None, "bill_to_parent": False,
                "activation_date": date(2026, 11, 1), "next_bill_date": RUN_ON, **stamps})
            rows[b.AccountBilling].append({
                "company_id": company, "account_id": i, "billing_mode": "FIXED_DAY",
                "bill_day": 1, "due_days": 14, "grace_days": 7, "bill_in_advance": True,
                "prorate": True, **stamps})
            for service in services[:3 if i % 3 == 0 else 2]:
                rows[b.AccountService].append({
                    "company_id": company, "account_id": i, "service_id": service,
                    "package_id": None, "bundle_id": None, "quantity": 1,
                    "price_override_minor": None, "start_date": date(2026, 11, 1),
                    "end_date": None, "billed_until": RUN_ON, "cycles_billed": 1, **stamps})
            rows[ServiceableAddress].append({
                "id": i, "company_id": company, "line1": f"{i} Main St", "line2": None,
                "unit": None, "city": "Springfield", "subdivision": "IL",
                "postal_code": "62701", "country": "US", "latitude": None, "longitude": None,
                "fcc_location_id": None, "serviceable": True, "address_key": f"k{i}",
                **stamps})
            rows[AddressOccupancy].append({
                "company_id": company, "serviceable_address_id": i, "account_id": i,
                "moved_in_on": date(2026, 11, 1), "moved_out_on": None,
                "created_at": now})
            if contacts:
                rows[a.Contact].append({
                    "id": i, "company_id": company, "account_id": i, "name": f"C {i}",
                    "role": None, "is_primary": True, "is_financial": True,
                    "portal_username": None, "portal_password_hash": None, **stamps})
                rows[a.ContactEmail].append({"company_id": company, "contact_id": i,
                                             "email": f"c{i}@example.net", "position": 0})
        async with runtime.db.engine.begin() as conn:
            for model, batch in rows.items():
                if batch:
                    await conn.execute(insert(model), batch)
    return company


# --- what the run's events meet: a message trigger and a webhook endpoint -------------------

async def configure_events(runtime: Any, company: int) -> None:
    """An email to each account's financial contact when an invoice is issued (the invoice's
    PDF attached, rendered when sent), and a webhook endpoint subscribed to
    ``invoice.issued``: the handlers and the fan-out a billing run's events meet."""
    from cryptography.fernet import Fernet

    from ispcore.domain.billing import catalogue
    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.domain.messaging import library, triggers
    from ispcore.domain.webhooks.endpoints import create_endpoint

    settings, runtime.settings = runtime.settings, runtime.settings.model_copy(update={
        "webhooks_allow_private": True,  # the endpoint is never called
        "vault_key": Fernet.generate_key().decode()})
    async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
        template = await catalogue.create(uow, library.TEMPLATE, {
            "company_id": company, "name": "Invoice issued", "event_type": "invoice.issued",
            "subject": "Invoice {{ invoice.number }} for {{ account.name }}",
            "body_text": "Hello {{ contact.name }}, invoice {{ invoice.number }} of "
                         "{{ invoice.total }} is due on {{ invoice.due_date }}.",
            "body_html": "<p>Hello {{ contact.name }}, you owe {{ account.balance }}.</p>"})
        await catalogue.create(uow, triggers.TRIGGER, {
            "company_id": company, "event_type": "invoice.issued", "template_id": template.id,
            "recipients": "FINANCIAL", "channel": "email"})
        await create_endpoint(uow, {"company_id": company, "url": "http://127.0.0.1:9/hook",
                                    "event_types": ["invoice.issued"]})
    runtime.settings = settings


class EventJobs:
    """The job queue of the run's process: the events' jobs (dispatch, and the webhook
    fan-out it enqueues) run in this process, on a runtime (engine and pool) of their own,
    as a second job of the same worker would; the jobs they enqueue in turn (sending the
    emails, delivering the webhooks) are counted and not run. With ``hold``, the dispatch
    waits until :meth:`release`."""

    def __init__(self, runtime: Any, *, hold: bool) -> None:
        from ispcore.domain.events.service import DISPATCH_JOB
        from ispcore.domain.webhooks.fan_out import FAN_OUT_JOB
        from ispcore.workers.queues import InlineJobQueue

        self.inline = InlineJobQueue()
        self.inline.bind(runtime)
        runtime.jobs = self
        self.runs = {DISPATCH_JOB, FAN_OUT_JOB}
        self.held = hold
        self.not_run: dict[str, int] = {}

    async def enqueue(self, name: str, *, job_id: str | None = None, **kwargs: Any) -> None:
        if name not in self.runs:
            self.not_run[name] = self.not_run.get(name, 0) + 1
        elif not self.held:
            await self.inline.enqueue(name, job_id=job_id, **kwargs)

    async def release(self) -> None:
        from ispcore.domain.events.service import DISPATCH_JOB

        self.held = False
        await self.inline.enqueue(DISPATCH_JOB)


async def events_left(runtime: Any, company: int) -> dict[str, int]:
    """The company's ``invoice.issued`` events no trigger handler has taken yet, and those
    the webhook fan-out has not reached."""
    from sqlalchemy import exists, func, select

    from ispcore.domain.events.models import Event, EventHandlerRun
    from ispcore.domain.messaging.triggers import HANDLER
    from ispcore.domain.webhooks.models import WebhookFanOut

    async with runtime.db.session() as session:
        issued = (Event.company_id == company, Event.type == "invoice.issued")
        handled = exists().where(EventHandlerRun.event_id == Event.id,
                                 EventHandlerRun.handler == HANDLER)
        untriggered = await session.scalar(
            select(func.count()).select_from(Event).where(*issued, ~handled))
        reached = await session.scalar(select(WebhookFanOut.last_event_id)) or 0
        unfanned = await session.scalar(
            select(func.count()).select_from(Event).where(*issued, Event.id > reached))
    return {"untriggered": untriggered or 0, "unfanned": unfanned or 0}


# --- one run, in its own process ---------------------------------------------------------------

async def run_once(url: str, company: int, mode: str) -> dict[str, Any]:
    """The run, and its events dispatched ``live`` (beside the run, as its commits enqueue
    them) or ``after`` it (held until the run is done: the dispatcher alone on a backlog)."""
    from sqlalchemy import event, func, select

    from ispcore.domain.billing import runs
    from ispcore.domain.billing.models import BillingRun
    from ispcore.domain.events.models import Event
    from ispcore.domain.identity.actor import SYSTEM

    runtime = await common.open_runtime(url, migrate=False)
    events_runtime = await common.open_runtime(url, migrate=False)
    jobs = EventJobs(events_runtime, hold=mode == "after")
    runtime.jobs = jobs
    try:
        async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
            run = BillingRun(company_id=company, run_on=RUN_ON, status="QUEUED",
                             created_at=datetime.now(UTC))
            uow.session.add(run)
            await uow.session.flush()
            run_id = run.id
        statements = 0

        def count(*_args: Any) -> None:
            nonlocal statements
            statements += 1

        # The run's own engine: the events' jobs have theirs.
        event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)
        rss_before = current_rss_mb()
        peak = rss_before
        stop = asyncio.Event()

        async def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, current_rss_mb())
                await asyncio.sleep(0.02)

        sampler = asyncio.create_task(sample())
        cpu0, t0 = time.process_time(), time.perf_counter()
        await runs.execute(lambda: runtime.unit_of_work(SYSTEM, action="bench"), run_id)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)
        stop.set()
        await sampler
        t1, cpu1 = time.perf_counter(), time.process_time()
        if mode == "after":
            await jobs.release()
        await jobs.inline.drain()
        last_event = time.perf_counter() - t0
        dispatch_seconds, dispatch_cpu = time.perf_counter() - t1, time.process_time() - cpu1
        async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
            done = await uow.session.get_one(BillingRun, run_id)
            invoices, failed, status = done.invoices_created, done.accounts_failed, done.status
            events = await uow.session.scalar(select(func.count()).select_from(Event).where(
                Event.company_id == company)) or 0
        return {"invoices": invoices, "failed": failed, "status": status, "seconds": seconds,
                "cpu": cpu, "statements": statements, "rss_before_mb": rss_before,
                "peak_rss_mb": peak, "mode": mode, "events": events,
                "last_event_s": last_event, "dispatch_s": dispatch_seconds,
                "dispatch_cpu_s": dispatch_cpu, "left": await events_left(runtime, company),
                "not_run": jobs.not_run}
    finally:
        await events_runtime.close()
        await runtime.close()


def current_rss_mb() -> float:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_in_child(url: str, company: int, mode: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", url, str(company), mode],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- baselines -----------------------------------------------------------------------------------

async def baselines(url: str, company: int, kind: str) -> dict[str, float]:
    """Write the run's own invoice and line rows again into empty copies of their tables."""
    from ispcore.db import Database

    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            if kind == "postgresql":
                return await _pg_baselines(driver, company)
            return await _sqlite_baselines(driver, company)
    finally:
        await db.dispose()


async def _pg_baselines(pg: Any, company: int) -> dict[str, float]:
    out: dict[str, float] = {}
    tables = {}
    for table in ("invoices", "invoice_lines"):
        tables[table] = await pg.fetch(f"SELECT * FROM {table} WHERE company_id = $1", company)
    invoices = len(tables["invoices"])
    rows = sum(len(r) for r in tables.values())
    for method in ("copy", "executemany"):
        for table in tables:
            await pg.execute(f"DROP TABLE IF EXISTS bench_{table}")
            await pg.execute(f"CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
        t0 = time.perf_counter()
        async with pg.transaction():
            for table, records in tables.items():
                columns = list(records[0].keys())
                if method == "copy":
                    await pg.copy_records_to_table(f"bench_{table}", records=records,
                                                   columns=columns)
                else:
                    marks = ", ".join(f"${n}" for n in range(1, len(columns) + 1))
                    await pg.executemany(
                        f"INSERT INTO bench_{table} ({', '.join(columns)}) VALUES ({marks})",
                        [tuple(r) for r in records])
        seconds = time.perf_counter() - t0
        out[f"{method}_invoices_per_s"] = invoices / seconds
        out[f"{method}_rows_per_s"] = rows / seconds
    for table in tables:
        await pg.execute(f"DROP TABLE IF EXISTS bench_{table}")
    # The same rows into the real tables, with their keys and indexes (rolled back).
    transaction = pg.transaction()
    await transaction.start()
    try:
        # The rows go without their foreign keys' triggers (the delete alone): a cascade from
        # each invoice would look for its emails' attachments, and message_attachments has no
        # index on invoice_id (hours for 100,000 invoices). The COPY below checks its keys.
        await pg.execute("SET LOCAL session_replication_role = replica")
        for table in reversed(tables):
            await pg.execute(f"DELETE FROM {table} WHERE company_id = $1", company)
        await pg.execute("SET LOCAL session_replication_role = origin")
        t0 = time.perf_counter()
        for table, records in tables.items():
            await pg.copy_records_to_table(table, records=records,
                                           columns=list(records[0].keys()))
        seconds = time.perf_counter() - t0
    finally:
        await transaction.rollback()
    out["copy_real_invoices_per_s"] = invoices / seconds
    out["copy_real_rows_per_s"] = rows / seconds
    return out


async def _sqlite_baselines(lite: Any, company: int) -> dict[str, float]:
    tables = {}
    for table in ("invoices", "invoice_lines"):
        cursor = await lite.execute(f"SELECT * FROM {table} WHERE company_id = ?", (company,))
        columns = [c[0] for c in cursor.description]
        tables[table] = (columns, await cursor.fetchall())
    invoices = len(tables["invoices"][1])
    rows = sum(len(r) for _c, r in tables.values())
    for table in tables:
        await lite.execute(f"DROP TABLE IF EXISTS bench_{table}")
        await lite.execute(f"CREATE TABLE bench_{table} AS SELECT * FROM {table} WHERE 0")
    t0 = time.perf_counter()
    for table, (columns, records) in tables.items():
        marks = ", ".join("?" for _ in columns)
        await lite.executemany(f"INSERT INTO bench_{table} VALUES ({marks})", records)
    await lite.commit()
    seconds = time.perf_counter() - t0
    return {"executemany_invoices_per_s": invoices / seconds,
            "executemany_rows_per_s": rows / seconds}


# --- main ----------------------------------------------------------------------------------------

async def main(args: argparse.Namespace) -> None:
    print(f"billing_run: {common.machine_line()}, {args.db}")
    async with common.temp_database(args.db) as temp:
        runtime = await common.open_runtime(temp.url, migrate=True)
        try:
            t0 = time.perf_counter()
            small = await seed(runtime, "Small ISP", args.small, 1, contacts=True)
            large = await seed(runtime, "Large ISP", args.large, args.small + 1,
                               contacts=True)
            for company in (small, large):
                await configure_events(runtime, company)
            await common.analyze(temp.url)
            print(f"  seeded {args.small:,} + {args.large:,} accounts in "
                  f"{time.perf_counter() - t0:.0f} s")
        finally:
            await runtime.close()
        results = {"small": run_in_child(temp.url, small, "after"),
                   "large": run_in_child(temp.url, large, "live")}
        base = await baselines(temp.url, large, args.db)
    rows = []
    for label, r in results.items():
        rate = r["invoices"] / r["seconds"]
        rows.append([label, f"{r['invoices']:,}", r["failed"], f"{r['seconds']:.1f}",
                     f"{r['cpu']:.1f}", f"{rate:,.0f}",
                     f"{r['statements'] * 1000 / max(r['invoices'], 1):.1f}",
                     f"{r['rss_before_mb']:.0f}", f"{r['peak_rss_mb']:.0f}"])
    print()
    common.print_table(["run", "invoices", "failed", "wall s", "cpu s", "invoices/s",
                        "stmts/1k inv", "rss before MB", "peak MB"], rows)
    large_rate = results["large"]["invoices"] / results["large"]["seconds"]
    large_cpu_rate = results["large"]["invoices"] / results["large"]["cpu"]
    print()
    baseline_rows = []
    labels = {"copy": "COPY, bare copies of the tables", "executemany": "executemany, same",
              "copy_real": "COPY, the real tables"}
    for method in ("copy", "executemany", "copy_real"):
        key = f"{method}_invoices_per_s"
        if key in base:
            baseline_rows.append([labels[method], f"{base[key]:,.0f}",
                                  f"{base[f'{method}_rows_per_s']:,.0f}",
                                  f"{large_rate / base[key]:.3f}"])
    common.print_table(["baseline (same rows)", "invoices/s", "rows/s", "run / baseline"],
                       baseline_rows)
    grew = {k: r["peak_rss_mb"] - r["rss_before_mb"] for k, r in results.items()}
    print()
    print(f"  run rate {large_rate:,.0f} invoices/s wall, {large_cpu_rate:,.0f} per cpu-second "
          f"(target >= {TARGET_RATE:,}); "
          + (f"{large_rate / base['copy_invoices_per_s']:.3f} of COPY (target >= "
             f"{TARGET_COPY_SHARE})" if "copy_invoices_per_s" in base else "no COPY on SQLite"))
    print(f"  memory grew {grew['large']:.0f} MB during the run of {args.large:,} accounts "
          f"(its events dispatched beside it), {grew['small']:.0f} MB during the run of "
          f"{args.small:,}")
    print()
    rows = []
    for label, r in results.items():
        rows.append([label, r["mode"], r["status"], f"{r['events']:,}", f"{r['seconds']:.1f}",
                     f"{r['last_event_s']:.1f}", f"{r['dispatch_s']:.1f}",
                     f"{r['dispatch_cpu_s']:.1f}",
                     f"{r['left']['untriggered']}/{r['left']['unfanned']}",
                     ", ".join(f"{k} {v}" for k, v in sorted(r["not_run"].items()))])
    common.print_table(["run", "dispatch", "status", "events", "run s", "last event at s",
                        "dispatch s after run", "its cpu s", "left", "jobs not run"], rows)
    alone = results["small"]
    print(f"\n  dispatcher alone (the {args.small:,}-account run's backlog, triggers and "
          f"webhooks configured): {alone['events'] / alone['dispatch_s']:,.0f} events/s wall, "
          f"{alone['events'] / alone['dispatch_cpu_s']:,.0f} per cpu-second "
          f"(target >= {TARGET_EVENTS_RATE:,})")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(run_once(sys.argv[2], int(sys.argv[3]), sys.argv[4]))))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--small", type=int, default=25_000)
    parser.add_argument("--large", type=int, default=100_000)
    asyncio.run(main(parser.parse_args()))
