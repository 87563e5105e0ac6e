"""Recording payments through the GraphQL mutation, against bare INSERT transactions.

Seeds one company with ACCOUNTS accounts (default 10,000: fibre and TV, every third a static
IP, 6.25% tax) the way ``billing_run.py`` does, and bills them with one billing run through
``billing.runs.execute`` for 2027-01-01: two cycles due, so two open invoices per account
(83.75 or 89.06 each). Then, through ``createPayment`` on the in-process ASGI app with an
admin's personal access token (httpx ``ASGITransport``, as the tests call it: the request,
authentication, the guard, ``mutate``'s unit of work, the domain, the commit and the
response), from CLIENTS concurrent clients:

  payments      PAYMENTS payments (default 50,000) of 25.00, five per account, accounts in
                turn so no two clients wait on one account's lock. Each is applied to the
                account's oldest open invoice; every fourth straddles two invoices. Payments
                per second (wall and per CPU-second of this process), SQL statements per
                payment (``before_cursor_execute``; asyncpg's BEGIN and COMMIT are not cursor
                executes and are not counted), latency p50/p99.

and, in the same run and with the same number of clients:

  bare INSERT   PAYMENTS single-row INSERT transactions (BEGIN, INSERT, COMMIT) into an
                empty copy of the payments table (same columns, defaults and indexes),
                asyncpg, one connection per client: the floor of "a durable row per payment".
  createNote    FLOOR notes through the ``createNote`` mutation on the same app and token:
                the floor of an authenticated mutation that writes one audited row.

Before the timed part, 1,000 warm-up payments (on the first 1,000 accounts) run one at a
time; the statements of the last 20 are printed grouped by kind, which shows where the
statements of a payment come from.

Run:  .venv/bin/python bench/payments.py [--payments 50000] [--clients 4] [--floor 10000]
Prints figures and ratios; asserts none (the machine is shared and noisy). PostgreSQL only
(a temporary database on 127.0.0.1:5432, dropped at the end).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common
import billing_run

RUN_ON = date(2027, 1, 1)
AMOUNT = "25.00"
PER_ACCOUNT = 5
WARM_UP = 1000

CREATE_PAYMENT = """mutation($input: CreatePaymentInput!) { createPayment(input: $input) {
  payment { id status unapplied { amount } } errors { field code message } } }"""
CREATE_NOTE = """mutation($input: CreateNoteInput!) { createNote(input: $input) {
  note { id } errors { field code message } } }"""


async def bill(runtime: Any, company: int) -> int:
    """One billing run for ``RUN_ON``; returns the invoices it wrote."""
    from ispcore.domain.billing import runs
    from ispcore.domain.billing.models import BillingRun
    from ispcore.domain.identity.actor import SYSTEM

    async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
        run = BillingRun(company_id=company, run_on=RUN_ON, status="QUEUED",
                         created_at=datetime.now(UTC))
        uow.session.add(run)
        await uow.session.flush()
        run_id = run.id
    await runs.execute(lambda: runtime.unit_of_work(SYSTEM, action="bench"), run_id)
    async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
        done = await uow.session.get_one(BillingRun, run_id)
        return done.invoices_created


class Counting:
    """Counts (and, when asked, keeps) the SQL statements of the runtime's engine."""

    def __init__(self, runtime: Any) -> None:
        self.engine = runtime.db.engine.sync_engine
        self.count = 0
        self.kept: list[str] | None = None

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.count += 1
        if self.kept is not None:
            self.kept.append(statement)

    def __enter__(self) -> Counting:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc: Any) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self)


def kind_of(statement: str) -> str:
    """A statement's verb and table (and FOR UPDATE), e.g. ``SELECT invoices``."""
    text = " ".join(statement.split())
    verb = text.split(" ", 1)[0].upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", text, re.IGNORECASE)
    lock = " FOR UPDATE" if "FOR UPDATE" in text.upper() else ""
    return f"{verb} {table.group(1) if table else '?'}{lock}"


async def drive(clients: int, count: int, call: Any) -> tuple[float, float, list[float]]:
    """``call(n)`` for n in 0..count-1 from ``clients`` concurrent tasks; returns wall
    seconds, CPU seconds of this process and each call's latency."""
    latencies: list[float] = []
    next_n = iter(range(count))

    async def client() -> None:
        for n in next_n:
            t0 = time.perf_counter()
            await call(n)
            latencies.append(time.perf_counter() - t0)

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - t0, time.process_time() - cpu0, latencies


async def bare_inserts(url: str, clients: int, count: int, company: int, account: int
                       ) -> tuple[float, float, list[float]]:
    """``count`` single-row INSERT transactions into an empty copy of ``payments``."""
    import asyncpg

    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    setup = await asyncpg.connect(dsn)
    await setup.execute("DROP TABLE IF EXISTS bench_payments")
    await setup.execute("CREATE TABLE bench_payments (LIKE payments INCLUDING ALL)")
    conns = [await asyncpg.connect(dsn) for _ in range(clients)]
    free = list(conns)
    now = datetime.now(UTC)
    insert = """INSERT INTO bench_payments (company_id, account_id, method, status, currency,
      amount_minor, unallocated_minor, refunded_minor, reference, received_at, received_on,
      created_at) VALUES ($1, $2, 'CHECK', 'COMPLETED', 'USD', 2500, 0, 0, '', $3, $4, $3)"""

    async def call(_n: int) -> None:
        conn = free.pop()
        try:
            async with conn.transaction():
                await conn.execute(insert, company, account, now, now.date())
        finally:
            free.append(conn)

    try:
        return await drive(clients, count, call)
    finally:
        for conn in conns:
            await conn.close()
        await setup.execute("DROP TABLE IF EXISTS bench_payments")
        await setup.close()


def rate_row(label: str, count: int, wall: float, cpu: float, latencies: list[float],
             statements: int | None) -> list[str]:
    return [label, f"{count:,}", f"{wall:.1f}", f"{cpu:.1f}", f"{count / wall:,.0f}",
            f"{count / cpu:,.0f}" if cpu else "-",
            f"{common.percentile(latencies, 50) * 1000:.1f}",
            f"{common.percentile(latencies, 99) * 1000:.1f}",
            f"{statements / count:.1f}" if statements is not None else "-"]


async def main(args: argparse.Namespace) -> None:
    import httpx
    from sqlalchemy import func, select

    from ispcore.app import create_app
    from ispcore.domain.billing.models import Invoice
    from ispcore.domain.billing.payment_models import Payment, PaymentAllocation
    from ispcore.schema.nodes import encode_global_id

    accounts = -(-args.payments // PER_ACCOUNT)
    print(f"payments: {common.machine_line()}, postgresql, {args.clients} concurrent clients")
    async with common.temp_database("postgresql") as temp:
        runtime = await common.open_runtime(temp.url, migrate=True)
        try:
            t0 = time.perf_counter()
            company = await billing_run.seed(runtime, "Payments ISP", accounts, 1)
            invoices = await bill(runtime, company)
            async with runtime.db.engine.connect() as conn:
                await conn.exec_driver_sql("COMMIT")
                await conn.exec_driver_sql("VACUUM ANALYZE")
            print(f"  seeded {accounts:,} accounts and billed {invoices:,} open invoices in "
                  f"{time.perf_counter() - t0:.0f} s")
            _user, token = await common.admin_with_token(runtime)
            app = create_app(runtime=runtime)
            ids = [encode_global_id("Account", pk) for pk in range(1, accounts + 1)]
            headers = {"Authorization": f"Bearer {token}"}
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
                async with httpx.AsyncClient(transport=transport,
                                             base_url="http://bench") as client:

                    async def gql(query: str, input: dict[str, Any], field: str) -> None:
                        response = await client.post("/graphql", headers=headers, json={
                            "query": query, "variables": {"input": input}})
                        body = response.json()
                        if body.get("errors") or body["data"][field]["errors"]:
                            raise SystemExit(f"{field} failed: {body}")

                    async def payment(n: int) -> None:
                        await gql(CREATE_PAYMENT, {"accountId": ids[n % accounts],
                                                   "amount": AMOUNT, "method": "CHECK"},
                                  "createPayment")

                    # Warm-up, one at a time; the last 20 payments' statements by kind.
                    with Counting(runtime) as counting:
                        for n in range(min(WARM_UP, accounts) - 20):
                            await payment(n)
                        counting.kept = []
                        for n in range(min(WARM_UP, accounts) - 20, min(WARM_UP, accounts)):
                            await payment(n)
                        sample = Counter(kind_of(s) for s in counting.kept)
                    # Measured: PAYMENTS payments; the warm-up took a sixth of 150.00 owed
                    # by the first accounts, the five measured take five more.
                    with Counting(runtime) as counting:
                        paid = await drive(args.clients, args.payments, payment)
                        payment_statements = counting.count

                    async def note(n: int) -> None:
                        await gql(CREATE_NOTE, {"accountId": ids[n % accounts],
                                                "body": f"Called about invoice {n}"},
                                  "createNote")

                    for n in range(200):
                        await note(n)
                    with Counting(runtime) as counting:
                        noted = await drive(args.clients, args.floor, note)
                        note_statements = counting.count
            async with runtime.db.engine.connect() as conn:
                made = await conn.scalar(select(func.count()).select_from(Payment))
                allocations = await conn.scalar(
                    select(func.count()).select_from(PaymentAllocation))
                credit = await conn.scalar(select(func.coalesce(
                    func.sum(Payment.unallocated_minor), 0)))
                paid_total = await conn.scalar(select(func.sum(Invoice.paid_minor)))
        finally:
            await runtime.close()
        inserted = await bare_inserts(temp.url, args.clients, args.payments, company, 1)

    total = min(WARM_UP, accounts) + args.payments
    print(f"  check: {made:,} payments recorded (expected {total:,}), {allocations:,} "
          f"allocations, {paid_total / 100:,.2f} paid on invoices "
          f"(expected {total * 25:,.2f}), credit left {credit / 100:.2f}")
    print()
    print("  statements of one payment (the last 20 warm-up payments, one at a time):")
    common.print_table(["statement", "per payment"],
                       [[k, f"{v / 20:.2f}"] for k, v in sample.most_common()]
                       + [["total", f"{sum(sample.values()) / 20:.2f}"]])
    print()
    rows = [rate_row("createPayment (GraphQL, allocated)", args.payments, *paid,
                     payment_statements),
            rate_row("bare INSERT transaction (asyncpg)", args.payments, *inserted, None),
            rate_row("createNote (GraphQL, one row)", args.floor, *noted, note_statements)]
    common.print_table(["variant", "count", "wall s", "cpu s", "per s", "per cpu-s",
                        "p50 ms", "p99 ms", "stmts each"], rows)
    rate = args.payments / paid[0]
    print()
    print(f"  createPayment: {rate:,.0f} payments/s with {args.clients} clients, "
          f"{payment_statements / args.payments:.1f} SQL statements per payment")
    print(f"  createPayment / bare INSERT = {rate / (args.payments / inserted[0]):.3f}; "
          f"createPayment / createNote = {rate / (args.floor / noted[0]):.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=50_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--floor", type=int, default=10_000)
    asyncio.run(main(parser.parse_args()))
