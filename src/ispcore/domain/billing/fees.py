"""Fees collections charges: the late fee of an overdue invoice (once per invoice, waiting as
a pending charge for the account's next invoice) and the printed invoice fee (a line on each
invoice of an account that wants paper). Neither is taxed nor discounted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from ispcore.db import bulk_insert
from ispcore.domain.billing.collections_models import DelinquencySettings, LateFee
from ispcore.domain.billing.delinquency_settings import LateFeeKind
from ispcore.domain.billing.discounts import percent_off
from ispcore.domain.billing.engine import Charge
from ispcore.domain.billing.models import PendingCharge
from ispcore.domain.billing.money import Rounding, amount_text, round_minor
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_events

PAPER_FEE = "Printed invoice fee"


@dataclass(frozen=True)
class OverdueInvoice:
    """An issued invoice with something left to pay, as the sweep reads it."""

    id: int
    account_id: int
    number: str | None
    due_on: date
    remaining: int
    grace_days: int
    fee_charged: bool

    def late_by(self, today: date) -> int:
        return (today - self.due_on).days

    def past(self, today: date, days: int) -> bool:
        """Overdue by more than ``days`` and by more than the account's grace days."""
        return self.late_by(today) > max(days, self.grace_days)


async def paper_invoice_fee(uow: UnitOfWork, company_id: int) -> tuple[int, int] | None:
    """(amount, ledger code) of the company's printed invoice fee; None if it has none."""
    row = (await uow.session.execute(
        select(DelinquencySettings.paper_invoice_fee_minor, DelinquencySettings.fee_gl_code_id)
        .where(DelinquencySettings.company_id == company_id))).first()
    if row is None or not row[0] or row[1] is None:
        return None
    return int(row[0]), int(row[1])


def paper_fee_charges(account_id: int, fee: tuple[int, int] | None) -> list[Charge]:
    if fee is None:
        return []
    amount, gl_code_id = fee
    return [Charge(None, account_id, PAPER_FEE, amount, 1, amount, gl_code_id, False)]


def late_fee(settings: DelinquencySettings, remaining: int, rule: Rounding) -> int:
    """The late fee on an invoice with ``remaining`` left to pay (0: none)."""
    if settings.late_fee_kind == LateFeeKind.FIXED:
        return round_minor(settings.late_fee_amount_minor or 0, rule)
    if settings.late_fee_kind == LateFeeKind.PERCENT:
        return percent_off(remaining, settings.late_fee_percent_scaled or 0, rule)
    return 0


async def charge_late_fees(uow: UnitOfWork, company: Any, settings: DelinquencySettings,
                           rule: Rounding, invoices: list[OverdueInvoice], today: date) -> int:
    """Charge the late fee of each of ``invoices`` (none charged yet): a pending charge and
    its ``late_fees`` row each, in a few statements. Returns the number charged."""
    fees = [(i, late_fee(settings, i.remaining, rule)) for i in invoices]
    fees = [(i, amount) for i, amount in fees if amount > 0]
    if not fees:
        return 0
    now = uow.clock.now()
    charge_ids = await bulk_insert(uow.session, PendingCharge, [
        {"company_id": company.id, "account_id": i.account_id, "account_service_id": None,
         "service_id": None, "package_id": None,
         "description": f"Late fee for invoice {i.number or i.id}"[:300], "quantity": 1,
         "unit_price_minor": amount, "amount_minor": amount,
         "gl_code_id": settings.fee_gl_code_id, "taxable": False, "period_start": None,
         "period_end": None, "invoice_id": None, "created_at": now} for i, amount in fees],
        ids=True)
    await bulk_insert(uow.session, LateFee, [
        {"company_id": company.id, "account_id": i.account_id, "invoice_id": i.id,
         "pending_charge_id": charge_id, "amount_minor": amount, "charged_on": today,
         "created_at": now} for (i, amount), charge_id in zip(fees, charge_ids, strict=True)])
    await record_events(uow, [
        {"type": "account.late_fee_charged", "company_id": company.id,
         "entity_type": "Account", "entity_id": i.account_id,
         "payload": {"invoice_id": i.id, "number": i.number, "pending_charge_id": charge_id,
                     "amount": amount_text(amount, company.currency),
                     "currency": company.currency}}
        for (i, amount), charge_id in zip(fees, charge_ids, strict=True)])
    return len(fees)


async def waive_late_fee(uow: UnitOfWork, invoice_id: int) -> None:
    """A voided invoice's late fee is not billed: dropped while it still waits for the next
    invoice (once billed, it is corrected like any line, by a credit)."""
    fee = await uow.session.scalar(select(LateFee).where(LateFee.invoice_id == invoice_id))
    if fee is None or fee.pending_charge_id is None:
        return
    charge = await uow.session.get(PendingCharge, fee.pending_charge_id)
    if charge is None or charge.invoice_id is not None:
        return
    await uow.session.delete(fee)
    await uow.session.delete(charge)
    await uow.session.flush()
