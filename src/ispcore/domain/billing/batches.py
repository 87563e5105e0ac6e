"""Payment batches: the day's cheques and cash entered together, then closed into a deposit
slip whose totals are what goes to the bank."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.billing import payments
from ispcore.domain.billing.money import amount_text
from ispcore.domain.billing.payment_models import Payment, PaymentBatch
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event

#: A batch holds what is paid in person or by post; cards and ACH are collected otherwise.
BATCH_METHODS = frozenset({payments.Method.CASH, payments.Method.CHECK,
                           payments.Method.BANK_TRANSFER, payments.Method.OTHER})
MAX_PAYMENTS_AT_ONCE = 500


class BatchStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


async def open_batch(uow: UnitOfWork, company_id: int, name: str | None) -> PaymentBatch:
    company = await company_of(uow, company_id)
    text = (name or "").strip() or f"Deposit {today_in(uow, company).isoformat()}"
    if len(text) > 200:
        raise DomainError("At most 200 characters.", field="name")
    now = uow.clock.now()
    batch = PaymentBatch(company_id=company.id, name=text, status=BatchStatus.OPEN,
                         payment_count=0, total_minor=0, created_at=now, updated_at=now)
    uow.session.add(batch)
    await uow.session.flush()
    return batch


async def _open_batch(uow: UnitOfWork, pk: int, field: str) -> PaymentBatch:
    batch = await load(uow, PaymentBatch, pk, field=field, what="payment batch")
    await uow.session.execute(select(PaymentBatch.id).where(PaymentBatch.id == batch.id)
                              .with_for_update())
    await uow.session.refresh(batch)
    if batch.status != BatchStatus.OPEN:
        raise DomainError("The batch is closed: its deposit slip is made.", field=field)
    return batch


async def add_payments(uow: UnitOfWork, batch_id: int, entries: list[dict[str, Any]]
                       ) -> list[Payment]:
    """Record many payments into an open batch, all or none."""
    if not entries:
        raise DomainError("Enter at least one payment.", field="payments",
                          code=ErrorCode.REQUIRED)
    if len(entries) > MAX_PAYMENTS_AT_ONCE:
        raise DomainError(f"At most {MAX_PAYMENTS_AT_ONCE} payments at once.",
                          field="payments")
    batch = await _open_batch(uow, batch_id, "batch_id")
    recorded = []
    for index, values in enumerate(entries):
        if payments.Method(values["method"]) not in BATCH_METHODS:
            raise DomainError("Cards and ACH are collected through their processors, not "
                              "entered in a batch.", field=f"payments[{index}].method")
        try:
            payment = await payments.create_payment(uow, {**values, "batch_id": batch.id})
        except DomainError as error:
            raise DomainError(error.message, field=f"payments[{index}].{error.field}",
                              code=error.code) from None
        if payment.company_id != batch.company_id:
            raise DomainError("The account belongs to another company than the batch.",
                              field=f"payments[{index}].account_id")
        if payment.batch_id != batch.id:
            raise DomainError("This idempotency key names a payment outside this batch.",
                              field=f"payments[{index}].idempotency_key",
                              code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
        recorded.append(payment)
    return recorded


async def close_batch(uow: UnitOfWork, batch_id: int, deposited_on: date | None,
                      slip_number: str | None) -> PaymentBatch:
    """Close the batch into its deposit slip: the count and total of what it holds."""
    batch = await _open_batch(uow, batch_id, "id")
    company = await company_of(uow, batch.company_id)
    count, total = (await uow.session.execute(
        select(func.count(Payment.id), func.coalesce(func.sum(Payment.amount_minor), 0))
        .where(Payment.batch_id == batch.id))).one()
    if not count:
        raise DomainError("An empty batch makes no deposit slip.", field="id")
    number = (slip_number or "").strip() or f"DS-{batch.id:06d}"
    if len(number) > 40:
        raise DomainError("At most 40 characters.", field="slip_number")
    batch.status = BatchStatus.CLOSED
    batch.payment_count, batch.total_minor = int(count), int(total)
    batch.deposit_slip_number = number
    batch.deposited_on = deposited_on or today_in(uow, company)
    batch.closed_at = batch.updated_at = uow.clock.now()
    batch.closed_by_user_id = uow.actor.user_id
    await uow.session.flush()
    record_event(uow, "payment_batch.closed", company_id=company.id, entity=batch, payload={
        "deposit_slip_number": number, "payments": batch.payment_count,
        "total": amount_text(batch.total_minor, company.currency),
        "currency": company.currency})
    return batch


async def totals_by_method(session: Any, batch_id: int) -> list[tuple[str, int, int]]:
    """(method, count, total) of a batch's payments, for its deposit slip."""
    rows = await session.execute(
        select(Payment.method, func.count(Payment.id), func.sum(Payment.amount_minor))
        .where(Payment.batch_id == batch_id).group_by(Payment.method).order_by(Payment.method))
    return [(method, int(count), int(total)) for method, count, total in rows]
