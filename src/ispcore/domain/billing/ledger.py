"""The ledger: immutable entries, positive for debits (the customer owes more) and negative
for credits. Balances are sums of entries; a mistake is undone by a reversing entry."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from ispcore.db import among
from ispcore.domain.accounts import service as accounts
from ispcore.domain.billing.models import GlCode, LedgerEntry
from ispcore.domain.billing.money import from_minor, same_currency, to_minor
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_events


class EntryKind(StrEnum):
    INVOICE = "INVOICE"
    DISCOUNT = "DISCOUNT"
    TAX = "TAX"
    MANUAL_DEBIT = "MANUAL_DEBIT"
    MANUAL_CREDIT = "MANUAL_CREDIT"
    REVERSAL = "REVERSAL"
    PAYMENT = "PAYMENT"
    REFUND = "REFUND"
    PAYMENT_REVERSAL = "PAYMENT_REVERSAL"
    FEE = "FEE"


class Direction(StrEnum):
    DEBIT = "DEBIT"
    CREDIT = "CREDIT"


async def balances(session: Any, account_ids: Iterable[int]) -> dict[int, int]:
    """Each account's balance in minor units (accounts without entries: 0)."""
    ids = list(account_ids)
    rows = await session.execute(
        select(LedgerEntry.account_id, func.coalesce(func.sum(LedgerEntry.amount_minor), 0))
        .where(among(session, LedgerEntry.account_id, ids)).group_by(LedgerEntry.account_id))
    found = {account_id: int(total) for account_id, total in rows}
    return {pk: found.get(pk, 0) for pk in ids}


async def announce_balances(uow: UnitOfWork, company_id: int, currency: str,
                            account_ids: Iterable[int]) -> None:
    """``account.balance_changed`` for each account, with its balance now."""
    now_balances = await balances(uow.session, account_ids)
    await record_events(uow, [
        {"type": "account.balance_changed", "company_id": company_id,
         "entity_type": "Account", "entity_id": pk,
         "payload": {"balance": str(from_minor(total, currency)), "currency": currency}}
        for pk, total in now_balances.items()])


async def post_manual(uow: UnitOfWork, values: dict[str, Any]) -> LedgerEntry:
    """A manual debit or credit, e.g. a fee or a goodwill credit."""
    account = await accounts.get_account(uow, values["account_id"])
    company = await company_of(uow, account.company_id)
    direction = Direction(values["type"])
    same_currency(values.get("currency"), company.currency)
    minor = to_minor(values["amount"], company.currency, allow_zero=False)
    gl = await load(uow, GlCode, values["gl_code_id"], field="gl_code_id",
                    what="general ledger code", company_id=account.company_id)
    description = (values.get("description") or "").strip()
    if not description:
        raise DomainError("Say what the transaction is for.", field="description",
                          code=ErrorCode.REQUIRED)
    if len(description) > 300:
        raise DomainError("At most 300 characters.", field="description")
    entry = LedgerEntry(
        company_id=account.company_id, account_id=account.id,
        kind=EntryKind.MANUAL_DEBIT if direction is Direction.DEBIT else EntryKind.MANUAL_CREDIT,
        amount_minor=minor if direction is Direction.DEBIT else -minor, gl_code_id=gl.id,
        description=description, posted_on=today_in(uow, company),
        created_at=uow.clock.now(), user_id=uow.actor.user_id)
    uow.session.add(entry)
    await uow.session.flush()
    await announce_balances(uow, account.company_id, company.currency, [account.id])
    return entry


async def void_entry(uow: UnitOfWork, pk: int, reason: str | None) -> LedgerEntry:
    """Reverse a manual transaction with an equal and opposite entry. Invoice entries are
    reversed by voiding the invoice."""
    entry = await load(uow, LedgerEntry, pk, field="id", what="transaction")
    if entry.kind not in (EntryKind.MANUAL_DEBIT, EntryKind.MANUAL_CREDIT):
        raise DomainError("Only manual transactions are voided this way; void the invoice "
                          "instead." if entry.invoice_id else
                          "A reversal cannot itself be voided.", field="id")
    already = await uow.session.scalar(select(LedgerEntry.id).where(
        LedgerEntry.reverses_id == entry.id))
    if already is not None:
        raise DomainError("The transaction was already voided.", field="id")
    company = await company_of(uow, entry.company_id)
    reversal = reverse(uow, entry, reason or "", today_in(uow, company))
    uow.session.add(reversal)
    await uow.session.flush()
    await announce_balances(uow, entry.company_id, company.currency, [entry.account_id])
    return reversal


def reverse(uow: UnitOfWork, entry: LedgerEntry, reason: str, on: Any) -> LedgerEntry:
    text = f"Void: {entry.description}" + (f" ({reason.strip()})" if reason.strip() else "")
    return LedgerEntry(company_id=entry.company_id, account_id=entry.account_id,
                       kind=EntryKind.REVERSAL, amount_minor=-entry.amount_minor,
                       gl_code_id=entry.gl_code_id, description=text[:300],
                       invoice_id=entry.invoice_id, reverses_id=entry.id, posted_on=on,
                       created_at=uow.clock.now(), user_id=uow.actor.user_id)
