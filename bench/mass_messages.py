"""A mass message to many accounts, against a hand-written bulk insert of the same messages.

Seeds one company (default 5,000 accounts, as ``billing_run.py`` seeds them), each with a
primary contact and an email address. Then:

  mass          ``mass.send_all`` as the job runs it: batches of 500 accounts, each choosing
                recipients by preferences, reading the account variables (name, number,
                balance), rendering a template with a condition in the sandbox and queueing
                each message through ``queue_message`` (one transaction per batch);
  again         the same mass message's job run once more: nothing left to do;

and, as the baseline, in a transaction rolled back afterwards: the same messages, their text
made with str.format from one query of names and emails, written with one INSERT per batch:
the floor of writing the rows without templates, preferences or the outbox's idempotency.

Figures: messages per second, SQL statements per batch, the ratio mass/baseline.

Run:  .venv/bin/python bench/mass_messages.py [--db postgresql|sqlite] [--accounts 5000]
Prints figures and ratios; asserts none.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common

NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
SUBJECT = "Planned work for {{ account.name }}"
BODY = ("Dear {{ contact.name }}, fibre works on Friday."
        "{% if account.balance.value > 0 %} You owe {{ account.balance }}.{% endif %}")


async def seed(runtime: Any, accounts: int) -> int:
    from billing_run import seed as seed_accounts
    from sqlalchemy import insert, select

    from ispcore.domain.accounts import models as a

    company = await seed_accounts(runtime, "Large ISP", accounts, 1)
    stamps = {"created_at": NOW, "updated_at": NOW}
    async with runtime.db.engine.begin() as conn:
        ids = list((await conn.scalars(select(a.Account.id).where(
            a.Account.company_id == company))).all())
        contacts = (await conn.execute(insert(a.Contact).returning(a.Contact.id), [
            {"company_id": company, "account_id": pk, "name": f"Customer {pk}",
             "is_primary": True, "is_financial": False, **stamps} for pk in ids])).scalars().all()
        await conn.execute(insert(a.ContactEmail), [
            {"company_id": company, "contact_id": c, "email": f"c{c}@example.net",
             "position": 0} for c in contacts])
    return company


async def create(runtime: Any, company: int) -> int:
    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.domain.messaging import mass

    async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
        row = await mass.create_mass_message(uow, {
            "company_id": company, "channel": "email", "subject": SUBJECT, "body_text": BODY,
            "recipients": "ALL", "confirm_all_accounts": True}, None)
        await uow.session.flush()
        return row.id


async def baseline(runtime: Any, company: int) -> float:
    from sqlalchemy import insert, select

    from ispcore.domain.accounts import models as a
    from ispcore.domain.messaging.models import OutboundMessage

    started = time.perf_counter()
    async with runtime.db.engine.connect() as conn:
        transaction = await conn.begin()
        after = 0
        while True:
            rows = (await conn.execute(
                select(a.Account.id, a.Account.name, a.Contact.id, a.Contact.name,
                       a.ContactEmail.email)
                .join(a.Contact, a.Contact.account_id == a.Account.id)
                .join(a.ContactEmail, a.ContactEmail.contact_id == a.Contact.id)
                .where(a.Account.company_id == company, a.Account.id > after)
                .order_by(a.Account.id).limit(500))).all()
            if not rows:
                break
            await conn.execute(insert(OutboundMessage), [{
                "company_id": company, "channel": "email", "status": "queued",
                "recipient": email, "subject": f"Planned work for {name}",
                "body_text": f"Dear {contact}, fibre works on Friday.", "origin": "bench",
                "origin_key": f"bench:{cid}", "account_id": pk, "contact_id": cid,
                "attempts": 0, "next_attempt_at": NOW, "created_at": NOW}
                for pk, name, cid, contact, email in rows])
            after = rows[-1][0]
        await transaction.rollback()
    return time.perf_counter() - started


async def _send_nothing(runtime: Any, **kwargs: Any) -> None:
    return None


async def main(db: str, accounts: int) -> None:
    from sqlalchemy import event, func, select

    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.domain.messaging import mass
    from ispcore.domain.messaging.models import OutboundMessage
    from ispcore.domain.messaging.outbox import SEND_JOB
    from ispcore.workers import registry

    async with common.temp_database(db) as temp:
        runtime = await common.open_runtime(temp.url, migrate=True)
        # Queueing is measured, not sending: the send job the outbox enqueues does nothing.
        registry.JOBS[SEND_JOB] = _send_nothing
        try:
            company = await seed(runtime, accounts)
            pk = await create(runtime, company)
            statements = [0]

            def count(*_args: Any) -> None:
                statements[0] += 1

            event.listen(runtime.db.engine.sync_engine, "before_cursor_execute", count)

            def open_uow() -> Any:
                return runtime.unit_of_work(SYSTEM, action="bench")

            started = time.perf_counter()
            await mass.send_all(open_uow, pk)
            sent = time.perf_counter() - started
            batches = -(-accounts // mass.BATCH_SIZE)
            per_batch = statements[0] / batches
            started = time.perf_counter()
            await mass.send_all(open_uow, pk)
            again = time.perf_counter() - started
            event.remove(runtime.db.engine.sync_engine, "before_cursor_execute", count)
            async with runtime.db.session() as session:
                queued = await session.scalar(select(func.count()).select_from(
                    OutboundMessage))
            floor = await baseline(runtime, company)
        finally:
            await runtime.close()
    print(common.machine_line())
    common.print_table(["variant", "seconds", "messages/s", "statements/batch"], [
        ["mass", f"{sent:.2f}", f"{queued / sent:,.0f}", f"{per_batch:,.0f}"],
        ["again (nothing to do)", f"{again:.3f}", "-", "-"],
        ["baseline (bulk INSERT)", f"{floor:.2f}", f"{queued / floor:,.0f}", "-"],
    ])
    print(f"{queued:,} messages to {accounts:,} accounts ({db}); mass/baseline "
          f"{sent / floor:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="postgresql", choices=("postgresql", "sqlite"))
    parser.add_argument("--accounts", type=int, default=5000)
    args = parser.parse_args()
    asyncio.run(main(args.db, args.accounts))
