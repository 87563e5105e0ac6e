"""Spreading credit over invoices. Every credit an account has, whatever its source (a
payment's money, a manual credit, a credit note, money a void gave back), goes to the
account's open invoices, oldest due first; what is left is unapplied credit
(``unallocated_minor`` of its payment or credit), applied to the next invoice as soon as it is
issued. Refunds, reversals and voids take money back off invoices, newest first. Every move is
an append-only allocation row, and an invoice's ``paid_minor`` is kept equal to the sum of its
rows. So, for every account and at all times: the open invoices' amounts due, less the
unapplied credit, equal the balance."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy import func, select, union

from ispcore.db import among
from ispcore.domain.accounts.models import Account
from ispcore.domain.billing.models import Invoice
from ispcore.domain.billing.payment_models import (
    Credit,
    CreditKind,
    Payment,
    PaymentAllocation,
)
from ispcore.domain.common.records import lock_row
from ispcore.domain.common.unit_of_work import UnitOfWork

COMPLETED = "COMPLETED"
ISSUED = "ISSUED"

#: Where credit comes from: a completed payment's money, or a credit.
Source = Payment | Credit

#: Called with (uow, company_id, account_ids) after money moved on those accounts' invoices
#: (delinquency clears accounts that no longer owe anything overdue).
MONEY_APPLIED_HOOKS: list[Callable[[UnitOfWork, int, list[int]], Awaitable[None]]] = []


async def money_applied(uow: UnitOfWork, company_id: int, account_ids: Iterable[int]) -> None:
    ids = sorted(set(account_ids))
    if not ids:
        return
    await uow.session.flush()
    for hook in MONEY_APPLIED_HOOKS:
        await hook(uow, company_id, ids)


async def lock_account(uow: UnitOfWork, account_id: int) -> None:
    """Serialise money moves of one account: allocations read then write its invoices and
    credits, so two at once must not interleave."""
    await lock_row(uow, Account, account_id)


def _allocation(uow: UnitOfWork, source: Source, invoice_id: int, amount: int
                ) -> PaymentAllocation:
    is_payment = isinstance(source, Payment)
    return PaymentAllocation(company_id=source.company_id,
                             payment_id=source.id if is_payment else None,
                             credit_id=None if is_payment else source.id,
                             invoice_id=invoice_id, amount_minor=amount,
                             created_at=uow.clock.now())


def _since(source: Source) -> Any:
    return source.received_at if isinstance(source, Payment) else source.created_at


async def _credit_sources(uow: UnitOfWork, account_id: int) -> list[Source]:
    """The account's payments and credits with money not yet on an invoice, oldest first."""
    session = uow.session
    payments = list(await session.scalars(
        select(Payment).where(Payment.account_id == account_id, Payment.unallocated_minor > 0,
                              Payment.status == COMPLETED)))
    credits = list(await session.scalars(
        select(Credit).where(Credit.account_id == account_id, Credit.unallocated_minor > 0)))
    return sorted([*payments, *credits],
                  key=lambda s: (_since(s), isinstance(s, Credit), s.id))


async def open_invoices(uow: UnitOfWork, account_id: int) -> list[Invoice]:
    """The account's issued invoices with something left to pay, oldest due first."""
    return list(await uow.session.scalars(
        select(Invoice).where(Invoice.account_id == account_id, Invoice.status == ISSUED,
                              Invoice.paid_minor < Invoice.total_minor)
        .order_by(Invoice.due_on, Invoice.id)))


def _put(uow: UnitOfWork, source: Source, invoice: Invoice, amount: int) -> None:
    uow.session.add(_allocation(uow, source, invoice.id, amount))
    source.unallocated_minor -= amount
    invoice.paid_minor += amount


async def apply_credit(uow: UnitOfWork, account_id: int) -> list[tuple[Invoice, int]]:
    """Put the account's unapplied credit on its open invoices; returns what went where.
    The caller holds the account's lock."""
    sources = await _credit_sources(uow, account_id)
    if not sources:
        return []
    applied: list[tuple[Invoice, int]] = []
    for invoice in await open_invoices(uow, account_id):
        for source in sources:
            amount = min(invoice.total_minor - invoice.paid_minor, source.unallocated_minor)
            if amount <= 0:
                continue
            _put(uow, source, invoice, amount)
            applied.append((invoice, amount))
    await uow.session.flush()
    return applied


async def apply_credits(uow: UnitOfWork, account_ids: Iterable[int]) -> list[int]:
    """:func:`apply_credit` for those of ``account_ids`` that have credit: one indexed query
    when none has (the usual case in a billing run). Returns the accounts that had some."""
    ids = sorted(set(account_ids))
    if not ids:
        return []
    session = uow.session
    with_credit = sorted(set(await session.scalars(union(
        select(Payment.account_id).where(among(session, Payment.account_id, ids),
                                         Payment.unallocated_minor > 0),
        select(Credit.account_id).where(among(session, Credit.account_id, ids),
                                        Credit.unallocated_minor > 0)))))
    for account_id in with_credit:
        await lock_account(uow, account_id)
        await apply_credit(uow, account_id)
    return with_credit


async def apply_to(uow: UnitOfWork, credit: Credit, invoice: Invoice) -> None:
    """Put all of ``credit`` on ``invoice`` (a write-off of what it has left to pay)."""
    _put(uow, credit, invoice, credit.unallocated_minor)
    await uow.session.flush()


async def unapplied_credit(session: Any, account_ids: Iterable[int]) -> dict[int, int]:
    """Each account's credit not yet on an invoice, in minor units (none: 0)."""
    ids = list(account_ids)
    found: dict[int, int] = dict.fromkeys(ids, 0)
    for model in (Payment, Credit):
        rows = await session.execute(
            select(model.account_id, func.sum(model.unallocated_minor))
            .where(among(session, model.account_id, ids), model.unallocated_minor > 0)
            .group_by(model.account_id))
        for account_id, total in rows:
            found[account_id] += int(total)
    return found


async def amounts_due(session: Any, account_ids: Iterable[int]) -> dict[int, int]:
    """What each account's open invoices have left to pay, in minor units (none: 0)."""
    ids = list(account_ids)
    found: dict[int, int] = dict.fromkeys(ids, 0)
    rows = await session.execute(
        select(Invoice.account_id, func.sum(Invoice.total_minor - Invoice.paid_minor))
        .where(among(session, Invoice.account_id, ids), Invoice.status == ISSUED,
               Invoice.paid_minor < Invoice.total_minor)
        .group_by(Invoice.account_id))
    for account_id, total in rows:
        found[account_id] = int(total)
    return found


def _source_column(source: Source) -> Any:
    return (PaymentAllocation.payment_id if isinstance(source, Payment)
            else PaymentAllocation.credit_id)


async def _shares(uow: UnitOfWork, *conditions: Any) -> list[tuple[int | None, int | None,
                                                                    int, int]]:
    """(payment id, credit id, invoice id, net amount) of the allocations matching
    ``conditions`` that still hold money, newest invoice first."""
    rows = await uow.session.execute(
        select(PaymentAllocation.payment_id, PaymentAllocation.credit_id,
               PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount_minor))
        .where(*conditions)
        .group_by(PaymentAllocation.payment_id, PaymentAllocation.credit_id,
                  PaymentAllocation.invoice_id)
        .order_by(PaymentAllocation.invoice_id.desc()))
    return [(p, c, i, int(total)) for p, c, i, total in rows if total > 0]


async def take_back(uow: UnitOfWork, source: Source, amount: int) -> None:
    """Take ``amount`` of ``source`` out of use (a refund, a reversal, a voided credit): its
    unapplied credit first, then off its invoices, newest first. Invoices owed again take the
    account's other credit at once (the source itself has none left by then). The caller
    holds the account's lock and checked that the source holds that much."""
    from_credit = min(amount, source.unallocated_minor)
    source.unallocated_minor -= from_credit
    left = amount - from_credit
    for _payment_id, _credit_id, invoice_id, share in await _shares(
            uow, _source_column(source) == source.id):
        if left <= 0:
            break
        moved = min(share, left)
        await _unpay(uow, source, invoice_id, moved)
        left -= moved
    await uow.session.flush()
    if amount > from_credit:
        await apply_credit(uow, source.account_id)


async def _unpay(uow: UnitOfWork, source: Source, invoice_id: int, amount: int) -> None:
    uow.session.add(_allocation(uow, source, invoice_id, -amount))
    invoice = await uow.session.get(Invoice, invoice_id)
    assert invoice is not None
    invoice.paid_minor -= amount


async def release_invoice(uow: UnitOfWork, invoice: Invoice) -> list[Credit]:
    """A voided invoice gives back what was put on it: a payment's money or a credit becomes
    unapplied credit again, which then goes to the account's other open invoices. A write-off
    of the invoice is not given back (there is nothing left to write off): it is returned,
    for the caller to void. The caller holds the account's lock."""
    shares = await _shares(uow, PaymentAllocation.invoice_id == invoice.id)
    write_offs: list[Credit] = []
    for payment_id, credit_id, _invoice_id, share in shares:
        source: Source | None = (await uow.session.get(Payment, payment_id) if payment_id
                                 else await uow.session.get(Credit, credit_id))
        assert source is not None
        await _unpay(uow, source, invoice.id, share)
        if isinstance(source, Credit) and source.kind == CreditKind.WRITE_OFF:
            write_offs.append(source)
        else:
            source.unallocated_minor += share
    await uow.session.flush()
    if shares:
        await apply_credit(uow, invoice.account_id)
    return write_offs
