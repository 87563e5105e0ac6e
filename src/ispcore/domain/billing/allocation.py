"""Spreading payments over invoices. A completed payment's money goes to the account's open
invoices, oldest due first; what is left is credit (``unallocated_minor``), applied to the
next invoice as soon as it is issued. Refunds, reversals and voids take money back off
invoices, newest first. Every move is an append-only allocation row, and an invoice's
``paid_minor`` is kept equal to the sum of its rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select

from ispcore.db import among
from ispcore.domain.accounts.models import Account
from ispcore.domain.billing.models import Invoice
from ispcore.domain.billing.payment_models import Payment, PaymentAllocation
from ispcore.domain.common.records import lock_row
from ispcore.domain.common.unit_of_work import UnitOfWork

COMPLETED = "COMPLETED"
ISSUED = "ISSUED"


async def lock_account(uow: UnitOfWork, account_id: int) -> None:
    """Serialise money moves of one account: allocations read then write its invoices and
    credits, so two at once must not interleave."""
    await lock_row(uow, Account, account_id)


def _allocation(uow: UnitOfWork, payment: Payment, invoice_id: int, amount: int
                ) -> PaymentAllocation:
    return PaymentAllocation(company_id=payment.company_id, payment_id=payment.id,
                             invoice_id=invoice_id, amount_minor=amount,
                             created_at=uow.clock.now())


async def apply_credit(uow: UnitOfWork, account_id: int) -> list[tuple[Invoice, int]]:
    """Put the account's unallocated credit on its open invoices; returns what went where.
    The caller holds the account's lock."""
    session = uow.session
    credits = list(await session.scalars(
        select(Payment).where(Payment.account_id == account_id, Payment.unallocated_minor > 0,
                              Payment.status == COMPLETED)
        .order_by(Payment.received_at, Payment.id)))
    if not credits:
        return []
    invoices = list(await session.scalars(
        select(Invoice).where(Invoice.account_id == account_id, Invoice.status == ISSUED,
                              Invoice.paid_minor < Invoice.total_minor)
        .order_by(Invoice.due_on, Invoice.id)))
    applied: list[tuple[Invoice, int]] = []
    for invoice in invoices:
        for payment in credits:
            owed = invoice.total_minor - invoice.paid_minor
            amount = min(owed, payment.unallocated_minor)
            if amount <= 0:
                continue
            session.add(_allocation(uow, payment, invoice.id, amount))
            payment.unallocated_minor -= amount
            invoice.paid_minor += amount
            applied.append((invoice, amount))
    await session.flush()
    return applied


async def apply_credits(uow: UnitOfWork, account_ids: Iterable[int]) -> None:
    """:func:`apply_credit` for those of ``account_ids`` that have credit: one indexed query
    when none has (the usual case in a billing run)."""
    ids = sorted(set(account_ids))
    if not ids:
        return
    with_credit = sorted(set(await uow.session.scalars(
        select(Payment.account_id).where(among(uow.session, Payment.account_id, ids),
                                         Payment.unallocated_minor > 0))))
    for account_id in with_credit:
        await lock_account(uow, account_id)
        await apply_credit(uow, account_id)


async def _shares(uow: UnitOfWork, *conditions: Any) -> list[tuple[int, int, int]]:
    """(payment id, invoice id, net amount) of the allocations matching ``conditions``,
    newest invoice first."""
    rows = await uow.session.execute(
        select(PaymentAllocation.payment_id, PaymentAllocation.invoice_id,
               func.sum(PaymentAllocation.amount_minor))
        .where(*conditions)
        .group_by(PaymentAllocation.payment_id, PaymentAllocation.invoice_id)
        .order_by(PaymentAllocation.invoice_id.desc()))
    return [(p, i, int(total)) for p, i, total in rows if total > 0]


async def take_back(uow: UnitOfWork, payment: Payment, amount: int) -> None:
    """Take ``amount`` of ``payment`` out of use: its unallocated credit first, then off its
    invoices, newest first. Invoices owed again take the account's other credit at once
    (the payment itself has none left by then). The caller holds the account's lock and
    checked that the payment holds that much."""
    from_credit = min(amount, payment.unallocated_minor)
    payment.unallocated_minor -= from_credit
    left = amount - from_credit
    for _payment_id, invoice_id, share in await _shares(
            uow, PaymentAllocation.payment_id == payment.id):
        if left <= 0:
            break
        moved = min(share, left)
        await _unpay(uow, payment, invoice_id, moved)
        left -= moved
    await uow.session.flush()
    if amount > from_credit:
        await apply_credit(uow, payment.account_id)


async def _unpay(uow: UnitOfWork, payment: Payment, invoice_id: int, amount: int) -> None:
    uow.session.add(_allocation(uow, payment, invoice_id, -amount))
    invoice = await uow.session.get(Invoice, invoice_id)
    assert invoice is not None
    invoice.paid_minor -= amount


async def release_invoice(uow: UnitOfWork, invoice: Invoice) -> None:
    """A voided invoice gives its payments back as credit, which then goes to the account's
    other open invoices."""
    await lock_account(uow, invoice.account_id)
    shares = await _shares(uow, PaymentAllocation.invoice_id == invoice.id)
    for payment_id, _invoice_id, share in shares:
        payment = await uow.session.get(Payment, payment_id)
        assert payment is not None
        await _unpay(uow, payment, invoice.id, share)
        payment.unallocated_minor += share
    await uow.session.flush()
    if shares:
        await apply_credit(uow, invoice.account_id)
