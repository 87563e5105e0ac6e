"""The ledger: immutable entries, positive for debits (the customer owes more) and negative
for credits. Balances are sums of entries; a mistake is undone by a reversing entry."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from ispcore.db import among
from ispcore.domain.billing.models import LedgerEntry
from ispcore.domain.billing.money import amount_text
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
    WRITE_OFF = "WRITE_OFF"


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
         "payload": {"balance": amount_text(total, currency), "currency": currency}}
        for pk, total in now_balances.items()])


def reverse(uow: UnitOfWork, entry: LedgerEntry, reason: str, on: Any) -> LedgerEntry:
    text = f"Void: {entry.description}" + (f" ({reason.strip()})" if reason.strip() else "")
    return LedgerEntry(company_id=entry.company_id, account_id=entry.account_id,
                       kind=EntryKind.REVERSAL, amount_minor=-entry.amount_minor,
                       gl_code_id=entry.gl_code_id, description=text[:300],
                       invoice_id=entry.invoice_id, reverses_id=entry.id, posted_on=on,
                       created_at=uow.clock.now(), user_id=uow.actor.user_id)
