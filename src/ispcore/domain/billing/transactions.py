"""Money staff move by hand: manual debits (invoiced at once), manual credits (applied to open
invoices oldest first), write-offs of an invoice's unpaid rest, and voiding each of them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ispcore.domain.accounts import service as accounts
from ispcore.domain.billing import allocation, credits, invoices
from ispcore.domain.billing.account_services import payer_of
from ispcore.domain.billing.ledger import Direction, EntryKind, announce_balances, reverse
from ispcore.domain.billing.models import GlCode, Invoice, LedgerEntry
from ispcore.domain.billing.money import amount_text, same_currency, to_minor
from ispcore.domain.billing.payment_models import Credit, CreditKind
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event


def _description(value: str | None, field: str = "description") -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError("Say what the transaction is for.", field=field,
                          code=ErrorCode.REQUIRED)
    if len(text) > 300:
        raise DomainError("At most 300 characters.", field=field)
    return text


async def post_manual(uow: UnitOfWork, values: dict[str, Any]) -> LedgerEntry:
    """A manual debit or credit, e.g. a fee or a goodwill credit, on the account's payer (a
    child billed to its parent: the parent). A debit is invoiced at once, so that all the
    account owes is on invoices; a credit goes to its open invoices, oldest first, and what
    is left stays as credit for the next invoice."""
    account = await accounts.get_account(uow, values["account_id"])
    company = await company_of(uow, account.company_id)
    direction = Direction(values["type"])
    same_currency(values.get("currency"), company.currency)
    minor = to_minor(values["amount"], company.currency, allow_zero=False)
    gl = await load(uow, GlCode, values["gl_code_id"], field="gl_code_id",
                    what="general ledger code", company_id=account.company_id)
    description = _description(values.get("description"))
    payer = await payer_of(uow, account)
    if direction is Direction.DEBIT:
        _invoice, entry = await invoices.invoice_now(uow, company, invoices.ImmediateCharge(
            payer.id, account.id, description, minor, gl.id, EntryKind.MANUAL_DEBIT))
        return entry
    entry = LedgerEntry(
        company_id=account.company_id, account_id=payer.id, kind=EntryKind.MANUAL_CREDIT,
        amount_minor=-minor, gl_code_id=gl.id, description=description,
        posted_on=today_in(uow, company), created_at=uow.clock.now(),
        user_id=uow.actor.user_id)
    uow.session.add(entry)
    await uow.session.flush()
    await credits.give(uow, credits.new_credit(uow, company, payer.id, CreditKind.MANUAL, minor,
                                               description, ledger_entry_id=entry.id))
    await _money_moved(uow, company, payer.id)
    return entry


async def _money_moved(uow: UnitOfWork, company: Any, account_id: int) -> None:
    await uow.session.flush()
    await announce_balances(uow, company.id, company.currency, [account_id])
    await allocation.money_applied(uow, company.id, [account_id])


async def void_entry(uow: UnitOfWork, pk: int, reason: str | None) -> LedgerEntry:
    """Reverse a manual transaction or a write-off with an equal and opposite entry; what a
    credit had put on invoices comes off them. A manual debit is voided with its invoice.
    Invoice entries are reversed by voiding the invoice."""
    entry = await load(uow, LedgerEntry, pk, field="id", what="transaction")
    await allocation.lock_account(uow, entry.account_id)
    if entry.kind == EntryKind.MANUAL_DEBIT and entry.invoice_id is not None:
        await invoices.void(uow, entry.invoice_id, reason or "Transaction voided")
        return await uow.session.get_one(LedgerEntry, await uow.session.scalar(
            select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry.id)))
    voidable = (EntryKind.MANUAL_DEBIT, EntryKind.MANUAL_CREDIT, EntryKind.WRITE_OFF)
    if entry.kind not in voidable:
        raise DomainError("Only manual transactions and write-offs are voided this way; void "
                          "the invoice instead." if entry.invoice_id else
                          "A reversal cannot itself be voided." if entry.reverses_id else
                          "Payments are refunded or reversed, not voided.", field="id")
    already = await uow.session.scalar(select(LedgerEntry.id).where(
        LedgerEntry.reverses_id == entry.id))
    if already is not None:
        raise DomainError("The transaction was already voided.", field="id")
    company = await company_of(uow, entry.company_id)
    reversal = reverse(uow, entry, reason or "", today_in(uow, company))
    uow.session.add(reversal)
    await uow.session.flush()
    credit = await credits.of_entry(uow, entry.id)
    if credit is not None:
        await credits.withdraw(uow, credit)
    await _money_moved(uow, company, entry.account_id)
    return reversal


async def write_off(uow: UnitOfWork, values: dict[str, Any]) -> Credit:
    """Give up what an issued invoice has left to pay: a ledger credit on the code given (bad
    debt, say) that pays the rest of that invoice and nothing else. Voiding the write-off
    (or the invoice) takes it back."""
    invoice = await load(uow, Invoice, values["invoice_id"], field="invoice_id",
                         what="invoice")
    reason = _description(values.get("reason"), "reason")
    await allocation.lock_account(uow, invoice.account_id)
    await uow.session.refresh(invoice)
    owed = invoice.total_minor - invoice.paid_minor
    if invoice.status != invoices.InvoiceStatus.ISSUED or owed <= 0:
        raise DomainError("Only an issued invoice with something left to pay can be written "
                          "off.", field="invoice_id")
    gl = await load(uow, GlCode, values["gl_code_id"], field="gl_code_id",
                    what="general ledger code", company_id=invoice.company_id)
    company = await company_of(uow, invoice.company_id)
    description = f"Write-off of invoice {invoice.number}: {reason}"
    entry = LedgerEntry(
        company_id=company.id, account_id=invoice.account_id, kind=EntryKind.WRITE_OFF,
        amount_minor=-owed, gl_code_id=gl.id, description=description[:300],
        invoice_id=invoice.id, posted_on=today_in(uow, company), created_at=uow.clock.now(),
        user_id=uow.actor.user_id)
    uow.session.add(entry)
    await uow.session.flush()
    credit = credits.new_credit(uow, company, invoice.account_id, CreditKind.WRITE_OFF, owed,
                                description, ledger_entry_id=entry.id, invoice_id=invoice.id)
    await uow.session.flush()
    await allocation.apply_to(uow, credit, invoice)
    record_event(uow, "invoice.written_off", company_id=company.id, entity=invoice, payload={
        "account_id": invoice.account_id, "number": invoice.number, "reason": reason,
        "amount": amount_text(owed, company.currency), "currency": company.currency})
    await _money_moved(uow, company, invoice.account_id)
    return credit
