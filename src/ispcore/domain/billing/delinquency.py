"""Delinquency: an account with an invoice overdue past the company's days moves to the
company's delinquent status (through the accounts domain: history, hooks,
``account.status_changed``), and back to the status it had once nothing is overdue any more.

The sweep walks a company's accounts in batches (keyset by account id, one transaction
each) with a few set-based statements per batch, whatever the batch holds: one reads the
batch's open overdue invoices, one its delinquent accounts; exclusions are read only for
accounts that would be acted on. It makes accounts delinquent, clears those that paid and
charges late fees; run again the same day, it finds nothing left to do.

Which accounts are made delinquent: customers in a status that counts as active, not a lead,
not disconnected and not already in a delinquent status (staff's choice stands). An account
staff moved out of the delinquent status stays recorded as delinquent (and is not moved
again) until it pays; then only the record is cleared. A child billed to its parent is not
invoiced itself: its parent is the one made delinquent.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import IntegrityError

from ispcore.db import among, bulk_insert
from ispcore.domain.accounts import service as accounts
from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.billing import allocation
from ispcore.domain.billing.collections_models import (
    AccountDelinquency,
    DelinquencySettings,
    LateFee,
)
from ispcore.domain.billing.delinquency_settings import LateFeeKind, delinquency_settings
from ispcore.domain.billing.exclusions import excluded
from ispcore.domain.billing.fees import OverdueInvoice, charge_late_fees
from ispcore.domain.billing.models import AccountBilling, Invoice
from ispcore.domain.billing.money import Rounding, amount_text
from ispcore.domain.billing.settings import company_settings
from ispcore.domain.common.records import company_of, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_events

log = logging.getLogger(__name__)

SWEEP_JOB = "billing.delinquency"
BATCH_SIZE = 1000


@dataclass
class SweepCounts:
    made_delinquent: int = 0
    cleared: int = 0
    late_fees: int = 0

    def __iadd__(self, other: SweepCounts) -> SweepCounts:
        self.made_delinquent += other.made_delinquent
        self.cleared += other.cleared
        self.late_fees += other.late_fees
        return self


@dataclass
class Context:
    company: Any
    settings: DelinquencySettings
    rule: Rounding
    today: date


@dataclass
class Found:
    """A batch's open invoices overdue enough to matter, and what is known of their
    accounts: ``billable`` (active customers, not disconnected), ``movable`` (and not in a
    delinquent status already)."""

    invoices: list[OverdueInvoice] = field(default_factory=list)
    billable: set[int] = field(default_factory=set)
    movable: set[int] = field(default_factory=set)


async def _context(uow: UnitOfWork, company_id: int) -> Context:
    company = await company_of(uow, company_id)
    settings = await delinquency_settings(uow, company.id, create=False)
    billing = await company_settings(uow, company.id, create=False)
    return Context(company, settings, Rounding(billing.rounding), today_in(uow, company))


def _fees_on(settings: DelinquencySettings) -> bool:
    return settings.late_fee_kind != LateFeeKind.NONE and settings.fee_gl_code_id is not None


async def _overdue(uow: UnitOfWork, ctx: Context, *where: Any) -> Found:
    """Open invoices (issued, not paid in full) due long enough ago for a rule to apply."""
    s = ctx.settings
    lookback = min(s.days_overdue, s.late_fee_days) if _fees_on(s) else s.days_overdue
    i, a, st, b = Invoice, Account, AccountStatus, AccountBilling
    rows = await uow.session.execute(
        select(i.id, i.account_id, i.number, i.due_on,
               (i.total_minor - i.paid_minor).label("remaining"),
               func.coalesce(b.grace_days, 0).label("grace_days"),
               LateFee.id.label("fee_id"), st.counts_as_active, st.is_lead, st.is_delinquent,
               a.disconnected_on)
        .join(a, a.id == i.account_id).join(st, st.id == a.account_status_id)
        .outerjoin(b, b.account_id == i.account_id)
        .outerjoin(LateFee, LateFee.invoice_id == i.id)
        .where(i.company_id == ctx.company.id, i.status == "ISSUED",
               i.paid_minor < i.total_minor, i.due_on < ctx.today - timedelta(days=lookback),
               *where)
        .order_by(i.account_id, i.due_on, i.id))
    found = Found()
    for r in rows:
        found.invoices.append(OverdueInvoice(r.id, r.account_id, r.number, r.due_on,
                                             r.remaining, r.grace_days, r.fee_id is not None))
        if r.counts_as_active and not r.is_lead and r.disconnected_on is None:
            found.billable.add(r.account_id)
            if not r.is_delinquent:
                found.movable.add(r.account_id)
    return found


async def _evaluate(uow: UnitOfWork, ctx: Context, found: Found,
                    delinquent: list[AccountDelinquency], *, act: bool) -> SweepCounts:
    """Clear the ``delinquent`` accounts with nothing overdue; with ``act``, also make
    accounts delinquent and charge late fees."""
    s, today = ctx.settings, ctx.today
    overdue: dict[int, list[OverdueInvoice]] = defaultdict(list)
    for invoice in found.invoices:
        if invoice.past(today, s.days_overdue):
            overdue[invoice.account_id].append(invoice)
    counts = SweepCounts()
    counts.cleared = await _clear(uow, ctx, [d for d in delinquent
                                             if d.account_id not in overdue])
    if not act:
        return counts
    already = {d.account_id for d in delinquent}
    new = []
    if s.enabled and s.delinquent_status_id is not None:
        for account_id, invoices in overdue.items():
            owed = sum(i.remaining for i in invoices)
            if (account_id in found.movable and account_id not in already
                    and owed >= (s.minimum_overdue_minor or 0)):
                new.append((account_id, invoices))
    fees = [i for i in found.invoices if _fees_on(s) and not i.fee_charged
            and i.account_id in found.billable and i.past(today, s.late_fee_days)]
    if new or fees:
        skip = await excluded(uow, ctx.company.id,
                              sorted({a for a, _i in new} | {i.account_id for i in fees}), today)
        new = [(a, i) for a, i in new if a not in skip]
        fees = [i for i in fees if i.account_id not in skip]
    counts.made_delinquent = await _make_delinquent(uow, ctx, new)
    counts.late_fees = await charge_late_fees(uow, ctx.company, s, ctx.rule, fees, today)
    return counts


async def _make_delinquent(uow: UnitOfWork, ctx: Context,
                           new: list[tuple[int, list[OverdueInvoice]]]) -> int:
    if not new:
        return 0
    session, s = uow.session, ctx.settings
    status = await session.get_one(AccountStatus, s.delinquent_status_id)
    targets = list(await session.scalars(select(Account).where(
        among(session, Account.id, [a for a, _i in new])).order_by(Account.id)))
    reason = f"Invoices overdue by more than {s.days_overdue} days"
    previous = await accounts.move_statuses(uow, targets, status,
                                            accounts.StatusChangeKind.DELINQUENT, reason)
    now, currency = uow.clock.now(), ctx.company.currency
    await bulk_insert(session, AccountDelinquency, [
        {"company_id": ctx.company.id, "account_id": account_id, "since": ctx.today,
         "previous_status_id": previous[account_id].id, "delinquent_status_id": status.id,
         "invoice_id": invoices[0].id, "overdue_minor": sum(i.remaining for i in invoices),
         "created_at": now} for account_id, invoices in new])
    await record_events(uow, [
        {"type": "account.delinquent", "company_id": ctx.company.id, "entity_type": "Account",
         "entity_id": account_id, "payload": {
             "overdue": amount_text(sum(i.remaining for i in invoices), currency),
             "currency": currency, "invoice_ids": [i.id for i in invoices],
             "invoice_numbers": [i.number for i in invoices],
             "previous_status_id": previous[account_id].id,
             "previous_status": previous[account_id].name, "status_id": status.id,
             "since": ctx.today.isoformat()}}
        for account_id, invoices in new])
    return len(new)


async def _clear(uow: UnitOfWork, ctx: Context, rows: list[AccountDelinquency]) -> int:
    """End these delinquencies: back to the previous status where the account is still in
    the one it was moved to (staff may have moved it since: then it stays where it is)."""
    if not rows:
        return 0
    session = uow.session
    found = {a.id: a for a in await session.scalars(select(Account).where(
        among(session, Account.id, [r.account_id for r in rows])))}
    back: dict[int, list[Account]] = defaultdict(list)
    for row in rows:
        account = found[row.account_id]
        if (account.account_status_id == row.delinquent_status_id
                and account.disconnected_on is None):
            back[row.previous_status_id].append(account)
    for status_id, group in back.items():
        status = await session.get_one(AccountStatus, status_id)
        await accounts.move_statuses(uow, group, status,
                                     accounts.StatusChangeKind.DELINQUENCY_CLEARED,
                                     "Overdue invoices paid")
    restored = {a.id for group in back.values() for a in group}
    await session.execute(delete(AccountDelinquency).where(
        among(session, AccountDelinquency.id, [r.id for r in rows]))
        .execution_options(synchronize_session=False))
    await record_events(uow, [
        {"type": "account.delinquency_cleared", "company_id": ctx.company.id,
         "entity_type": "Account", "entity_id": row.account_id, "payload": {
             "since": row.since.isoformat(), "previous_status_id": row.previous_status_id,
             "status_restored": row.account_id in restored}} for row in rows])
    for row in rows:
        session.expunge(row)
    return len(rows)


def _delinquent_rows(uow: UnitOfWork, company_id: int, *where: Any) -> Any:
    """Locked (PostgreSQL): of two clearings of one account, the second finds it gone."""
    return uow.session.scalars(
        select(AccountDelinquency)
        .where(AccountDelinquency.company_id == company_id, *where)
        .order_by(AccountDelinquency.account_id).with_for_update())


async def review_accounts(uow: UnitOfWork, company_id: int, account_ids: list[int]) -> None:
    """Clear the delinquency of those of ``account_ids`` with nothing overdue any more (after
    a payment, say). One indexed query when none of them is delinquent."""
    if not account_ids:
        return
    rows = list(await _delinquent_rows(
        uow, company_id, among(uow.session, AccountDelinquency.account_id, account_ids)))
    if not rows:
        return
    ctx = await _context(uow, company_id)
    found = await _overdue(uow, ctx, among(uow.session, Invoice.account_id,
                                           [r.account_id for r in rows]))
    await _evaluate(uow, ctx, found, rows, act=False)


async def _lock_batch(uow: UnitOfWork, ctx: Context, after: int, last: int) -> None:
    """Hold the batch's accounts as payments do (before reading their invoices): a payment
    committing meanwhile is seen, not charged a late fee or made delinquent from a stale
    read. PostgreSQL: their rows, in id order (payments lock one account, then its
    delinquency: no deadlock). SQLite: the database's write lock, taken by a no-op write."""
    if uow.session.bind.dialect.name == "sqlite":
        await uow.session.execute(text("UPDATE companies SET id = id WHERE id = :id"),
                                  {"id": ctx.company.id})
        return
    await uow.session.execute(
        select(Account.id).where(Account.company_id == ctx.company.id, Account.id > after,
                                 Account.id <= last).order_by(Account.id).with_for_update())


async def _sweep_batch(uow: UnitOfWork, ctx: Context, after: int, last: int) -> SweepCounts:
    await _lock_batch(uow, ctx, after, last)
    found = await _overdue(uow, ctx, Invoice.account_id > after, Invoice.account_id <= last)
    rows = list(await _delinquent_rows(uow, ctx.company.id,
                                       AccountDelinquency.account_id > after,
                                       AccountDelinquency.account_id <= last))
    return await _evaluate(uow, ctx, found, rows, act=True)


async def _has_work(uow: UnitOfWork, ctx: Context) -> bool:
    """Whether the sweep can do anything in this company: rules on, or delinquencies left."""
    if ctx.settings.enabled or _fees_on(ctx.settings):
        return True
    return await uow.session.scalar(select(AccountDelinquency.id).where(
        AccountDelinquency.company_id == ctx.company.id).limit(1)) is not None


async def sweep_company(open_uow: Callable[[], UnitOfWork], company_id: int,
                        batch_size: int = BATCH_SIZE) -> SweepCounts:
    """Sweep one company's accounts, a batch per transaction. A batch that meets a
    concurrent sweep's rows (a unique key) is done again, and then finds them."""
    async with open_uow() as uow:
        ctx = await _context(uow, company_id)
        if not await _has_work(uow, ctx):
            return SweepCounts()
    total, after = SweepCounts(), 0
    while True:
        for attempt in (1, 2):
            try:
                async with open_uow() as uow:
                    ids = list(await uow.session.scalars(
                        select(Account.id).where(Account.company_id == company_id,
                                                 Account.id > after)
                        .order_by(Account.id).limit(batch_size)))
                    if not ids:
                        return total
                    counts = await _sweep_batch(uow, ctx, after, ids[-1])
                break
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("delinquency batch after account %s met a concurrent sweep", after)
        total += counts
        after = ids[-1]


async def sweep_all(open_uow: Callable[[], UnitOfWork]) -> dict[int, SweepCounts]:
    """The hourly sweep of every company (each on its own day: a day's second pass finds
    nothing new)."""
    from ispcore.domain.companies.models import Company

    async with open_uow() as uow:
        company_ids = list(await uow.session.scalars(select(Company.id).order_by(Company.id)))
    return {pk: await sweep_company(open_uow, pk) for pk in company_ids}


def _register() -> None:
    """Money put on an account's invoices (a payment, a credit, a void) clears its
    delinquency at once when nothing overdue is left."""
    if review_accounts not in allocation.MONEY_APPLIED_HOOKS:
        allocation.MONEY_APPLIED_HOOKS.append(review_accounts)


_register()
