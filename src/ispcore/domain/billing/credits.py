"""Credits that are not payments: manual credits, credit notes and write-offs. Each is a
ledger credit and a ``Credit`` row that is spread over the account's open invoices like a
payment's money (see ``allocation``); voiding one takes back what it had put on invoices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ispcore.domain.billing import allocation
from ispcore.domain.billing.models import Invoice
from ispcore.domain.billing.payment_models import Credit, CreditKind
from ispcore.domain.common.unit_of_work import UnitOfWork


def new_credit(uow: UnitOfWork, company: Any, account_id: int, kind: CreditKind, amount: int,
               description: str, *, ledger_entry_id: int | None = None,
               invoice_id: int | None = None) -> Credit:
    credit = Credit(company_id=company.id, account_id=account_id, kind=kind,
                    currency=company.currency, amount_minor=amount, unallocated_minor=amount,
                    description=description[:300], ledger_entry_id=ledger_entry_id,
                    invoice_id=invoice_id, user_id=uow.actor.user_id,
                    created_at=uow.clock.now())
    uow.session.add(credit)
    return credit


async def give(uow: UnitOfWork, credit: Credit) -> None:
    """Apply a new credit to the account's open invoices, oldest first."""
    await allocation.lock_account(uow, credit.account_id)
    await uow.session.flush()
    await allocation.apply_credit(uow, credit.account_id)


async def note_credits(uow: UnitOfWork, company: Any, invoices: list[tuple[int, int, int, str]]
                       ) -> None:
    """The credit of each credit note among newly issued ``invoices`` ((id, account id,
    total, number)): what its lines come to below nothing. The caller applies them (with
    the run's other credit, in one pass per account)."""
    for invoice_id, account_id, total, number in invoices:
        if total < 0:
            new_credit(uow, company, account_id, CreditKind.CREDIT_NOTE, -total,
                       f"Credit note {number}", invoice_id=invoice_id)
    await uow.session.flush()


async def withdraw(uow: UnitOfWork, credit: Credit) -> None:
    """Void ``credit``: what it had put on invoices comes off them (they are owed again,
    less the account's other credit) and nothing of it is left to use. The caller holds the
    account's lock and reverses its ledger entry."""
    on_invoices = credit.amount_minor - credit.unallocated_minor
    credit.voided_at = uow.clock.now()
    await allocation.take_back(uow, credit, credit.unallocated_minor + on_invoices)


async def note_of(uow: UnitOfWork, invoice: Invoice) -> Credit | None:
    """The credit a credit note gave, if ``invoice`` is one that was issued."""
    return await uow.session.scalar(select(Credit).where(
        Credit.invoice_id == invoice.id, Credit.kind == CreditKind.CREDIT_NOTE))


async def of_entry(uow: UnitOfWork, ledger_entry_id: int) -> Credit | None:
    """The credit a manual credit's or write-off's ledger entry made."""
    return await uow.session.scalar(select(Credit).where(
        Credit.ledger_entry_id == ledger_entry_id))
