"""Billing runs: bill every account whose next bill date has come, in batches. Each batch
commits its invoices together with the move of its accounts' bill dates, so a run killed
half-way and run again bills each account once; the invoices' unique (account, period) key
guards the same against two runs at once. An account that fails is recorded with its reason
and the rest are billed."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update

from ispcore.db import PoolTimeout
from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.billing.engine import Bill, bill
from ispcore.domain.billing.invoices import write_bills
from ispcore.domain.billing.models import BillingRun, BillingRunFailure
from ispcore.domain.billing.money import amount_text
from ispcore.domain.billing.plans import Catalogue, Payer, load_catalogue, load_plans
from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.usage import billing as usage_billing

log = logging.getLogger(__name__)

RUN_JOB = "billing.run"
BATCH_SIZE = 1000
#: Batches billed side by side (PostgreSQL; SQLite has one writer).
WORKERS = 2


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"


async def request_run(uow: UnitOfWork, company_id: int, run_on: date | None) -> BillingRun:
    """Queue a run for ``run_on`` (today in the company by default; not a later day)."""
    company = await company_of(uow, company_id, "company_id")
    today = today_in(uow, company)
    day = run_on or today
    if day > today:
        raise DomainError(f"A run bills what is due by a day that has come; {day.isoformat()} "
                          f"is after today ({today.isoformat()}).", field="date")
    run = BillingRun(company_id=company.id, run_on=day, status=RunStatus.QUEUED,
                     requested_by_user_id=uow.actor.user_id, created_at=uow.clock.now())
    uow.session.add(run)
    await uow.session.flush()
    uow.enqueue(RUN_JOB, job_id=f"{RUN_JOB}:{run.id}", run_id=run.id)
    return run


def _due(company_id: int, run_on: date, limit: int, skip: frozenset[int] = frozenset(),
         only: int | None = None, wait: bool = False) -> Any:
    """Accounts due on ``run_on``: active, not billed through a parent, in id order, but for
    ``skip`` (those that failed in this run already). Rows another worker, run or change
    holds are skipped (PostgreSQL), unless ``wait``."""
    statement = (select(Account.id)
                 .join(AccountStatus, AccountStatus.id == Account.account_status_id)
                 .where(Account.company_id == company_id, Account.next_bill_date <= run_on,
                        AccountStatus.counts_as_active.is_(True),
                        ~(Account.bill_to_parent & Account.parent_account_id.is_not(None)))
                 .order_by(Account.id).limit(limit)
                 .with_for_update(of=Account, skip_locked=not wait))
    if skip:
        statement = statement.where(Account.id.not_in(skip))
    return statement if only is None else statement.where(Account.id == only)


def compute(catalogue: Catalogue, payers: list[Payer]
            ) -> tuple[list[tuple[Payer, Bill]], list[tuple[int, str]]]:
    """Bills for ``payers``; an account whose plan cannot be billed is set aside with why."""
    bills, failures = [], []
    for payer in payers:
        try:
            bills.append((payer, bill(payer.plan)))
        except Exception as exc:  # a broken plan must not stop the others
            log.exception("billing account %s failed", payer.account_id)
            failures.append((payer.account_id, f"{type(exc).__name__}: {exc}"[:1000]))
    return bills, failures


async def _bill_batch(uow: UnitOfWork, run: BillingRun, catalogue: Catalogue,
                      account_ids: list[int]) -> tuple[int, list[int]]:
    """Bill ``account_ids`` in ``uow``; returns (accounts billed, accounts that failed).
    Their usage is settled first, so the overage it charges is on these invoices."""
    await usage_billing.settle(uow, catalogue, account_ids)
    payers = await load_plans(uow, catalogue, account_ids)
    bills, failures = compute(catalogue, payers)
    invoices = await write_bills(uow, catalogue, bills, run_id=run.id, on=run.run_on)
    for account_id, reason in failures:
        _failure(uow, run, account_id, reason)
    total = sum(b.total for _p, b in bills if b.lines)
    await _count(uow, run.id, len(bills), invoices, len(failures), total)
    return len(bills), [account_id for account_id, _reason in failures]


def _failure(uow: UnitOfWork, run: BillingRun, account_id: int, reason: str) -> None:
    uow.session.add(BillingRunFailure(billing_run_id=run.id, company_id=run.company_id,
                                      account_id=account_id, reason=reason,
                                      created_at=uow.clock.now()))


async def _count(uow: UnitOfWork, run_id: int, billed: int, invoices: int, failed: int,
                 total: int) -> None:
    await uow.session.execute(
        update(BillingRun).where(BillingRun.id == run_id)
        .values(accounts_billed=BillingRun.accounts_billed + billed,
                invoices_created=BillingRun.invoices_created + invoices,
                accounts_failed=BillingRun.accounts_failed + failed,
                total_minor=BillingRun.total_minor + total)
        .execution_options(synchronize_session=False))


async def execute(open_uow: Callable[[], UnitOfWork], run_id: int,
                  batch_size: int = BATCH_SIZE) -> None:
    """Carry out a queued run (again, after a crash: billed accounts are no longer due).

    On PostgreSQL two workers bill batches side by side (one computes while the other's
    batch is written); each locks its batch, and skips the other's. An account several
    cycles behind is simply due again after each bill, until it is billed up to the day.
    The transaction of the last pass that finds no account left to bill also marks the run
    COMPLETED: it is complete as soon as its invoices are, whatever its events are doing."""
    async with open_uow() as uow:
        run = await load(uow, BillingRun, run_id, field="run_id", what="billing run")
        if run.status == RunStatus.COMPLETED:
            return
        run.status = RunStatus.RUNNING
        run.started_at = run.started_at or uow.clock.now()
        workers = 1 if uow.session.bind.dialect.name == "sqlite" else WORKERS
    failed: set[int] = set()
    with _collect_less():
        await asyncio.gather(*(_work(open_uow, run, batch_size, failed)
                               for _ in range(workers)))
        # Accounts a service change held while the workers passed: wait for them now.
        await _work(open_uow, run, batch_size, failed, wait=True)


async def _complete(uow: UnitOfWork, run_id: int) -> None:
    run = await uow.session.get_one(BillingRun, run_id, populate_existing=True)
    run.status = RunStatus.COMPLETED
    run.finished_at = uow.clock.now()
    company = await company_of(uow, run.company_id)
    await uow.session.flush()
    record_event(uow, "billing_run.completed", company_id=run.company_id, entity=run,
                 payload={"run_on": run.run_on.isoformat(),
                          "accounts_billed": run.accounts_billed,
                          "invoices_created": run.invoices_created,
                          "accounts_failed": run.accounts_failed,
                          "total": amount_text(run.total_minor, company.currency),
                          "currency": company.currency})


_collecting_less: list[tuple[int, ...]] = []


@contextmanager
def _collect_less() -> Iterator[None]:
    """A run makes many short-lived objects; the cyclic garbage collector would otherwise
    re-scan every long-lived object of the process (the framework's, mostly) again and
    again, for about a third of the run's CPU. Those are set aside (``gc.freeze``) and young
    objects collected less often while any run is going (runs may overlap in one process:
    the first sets this up, the last one to finish undoes it)."""
    if not _collecting_less:
        threshold = gc.get_threshold()
        gc.freeze()
        gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    else:
        threshold = _collecting_less[0]
    _collecting_less.append(threshold)
    try:
        yield
    finally:
        _collecting_less.pop()
        if not _collecting_less:
            gc.set_threshold(*threshold)
            gc.unfreeze()


async def _work(open_uow: Callable[[], UnitOfWork], run: BillingRun, batch_size: int,
                failed: set[int], *, wait: bool = False) -> None:
    """Bill batches of due accounts until none is left. Accounts that fail go into
    ``failed`` (shared by the workers) and are not tried again in this run. The last pass
    (``wait``) completes the run in the transaction that finds none left. A pool with no
    free connection is not an account's fault: :class:`PoolTimeout` goes up to the job's
    runner, which runs the job again."""
    while True:
        ids: list[int] = []
        try:
            async with open_uow() as uow:
                catalogue = await load_catalogue(uow, run.company_id)
                ids = list(await uow.session.scalars(_due(
                    run.company_id, run.run_on, batch_size, frozenset(failed), wait=wait)))
                if not ids:
                    if wait:
                        await _complete(uow, run.id)
                    return
                _billed, failures = await _bill_batch(uow, run, catalogue, ids)
                failed.update(failures)
        except PoolTimeout:
            raise
        except Exception:
            # The batch rolled back (a database refusal, most likely): bill its accounts one
            # by one so a single bad account is found, recorded, and does not hold the rest.
            if not ids:
                raise
            log.exception("billing batch of %d accounts failed; retrying one by one", len(ids))
            for account_id in ids:
                if not await _bill_alone(open_uow, run, account_id):
                    failed.add(account_id)


async def _bill_alone(open_uow: Callable[[], UnitOfWork], run: BillingRun, account_id: int
                      ) -> bool:
    """Bill one account in its own transaction, if it is still due; False if it failed."""
    try:
        async with open_uow() as uow:
            catalogue = await load_catalogue(uow, run.company_id)
            due = await uow.session.scalar(_due(run.company_id, run.run_on, 1,
                                                only=account_id))
            if due is None:
                return True
            _billed, failures = await _bill_batch(uow, run, catalogue, [account_id])
            return not failures
    except PoolTimeout:
        raise
    except Exception as exc:
        async with open_uow() as uow:
            _failure(uow, run, account_id, f"{type(exc).__name__}: {exc}"[:1000])
            await _count(uow, run.id, 0, 0, 1, 0)
        return False


async def start_due_runs(open_uow: Callable[[], UnitOfWork]) -> list[int]:
    """The daily run: one per company whose day has begun and has none for today yet."""
    from ispcore.domain.companies.models import Company

    started = []
    async with open_uow() as uow:
        companies = list(await uow.session.scalars(select(Company)))
        for company in companies:
            today = today_in(uow, company)
            exists = await uow.session.scalar(select(BillingRun.id).where(
                BillingRun.company_id == company.id, BillingRun.run_on == today).limit(1))
            if exists is None:
                run = await request_run(uow, company.id, today)
                started.append(run.id)
    return started
