"""Payments: recorded by staff or middleware, or collected through a processor. A completed
payment is a ledger credit spread over the account's invoices (see ``allocation``); refunds
and reversals are ledger debits that take money back off them."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ispcore.domain.accounts import service as accounts
from ispcore.domain.billing import allocation, invoices
from ispcore.domain.billing.ledger import EntryKind, announce_balances
from ispcore.domain.billing.models import GlCode, LedgerEntry
from ispcore.domain.billing.money import amount_text, from_minor, same_currency, to_minor
from ispcore.domain.billing.payment_models import Payment, PaymentSettings, Refund
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.records import (
    company_of,
    company_row,
    load,
    local_date,
    today_in,
)
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event


class Method(StrEnum):
    CASH = "CASH"
    CHECK = "CHECK"
    BANK_TRANSFER = "BANK_TRANSFER"
    CARD = "CARD"
    ACH = "ACH"
    OTHER = "OTHER"


class Status(StrEnum):
    #: Sent to a processor, not yet answered (or an ACH entry not yet in a file).
    PENDING = "PENDING"
    #: The processor's answer was lost (a timeout): the reconciler asks again.
    UNKNOWN = "UNKNOWN"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    #: Taken back after completing: a bounced cheque, a returned ACH entry.
    REVERSED = "REVERSED"


#: How far ahead of now a payment's ``receivedAt`` may be (clock skew of the sender).
FUTURE_TOLERANCE = timedelta(minutes=5)


# --- settings ---------------------------------------------------------------------------------

DEFAULT_CODES = {"payment_gl_code_id": ("PAYMENTS", "Payments received"),
                 "fee_gl_code_id": ("FEES", "Fees charged")}


async def _default_code(uow: UnitOfWork, company_id: int, code: str, name: str) -> int:
    existing = await uow.session.scalar(select(GlCode.id).where(
        GlCode.company_id == company_id, GlCode.code == code))
    if existing is not None:
        return existing
    now = uow.clock.now()
    row = GlCode(company_id=company_id, code=code, name=name, description="",
                 created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    return row.id


async def payment_settings(uow: UnitOfWork, company_id: int) -> PaymentSettings:
    """The company's payment settings, made the first time they are needed, with ledger
    codes PAYMENTS and FEES (made too when the company has none by those codes)."""

    async def defaults() -> dict[str, Any]:
        codes = {key: await _default_code(uow, company_id, code, name)
                 for key, (code, name) in DEFAULT_CODES.items()}
        return {**codes, "returned_payment_fee_minor": 0, "ach_entry_description": "ISP BILL"}

    return await company_row(uow, PaymentSettings, company_id, defaults)


async def update_payment_settings(uow: UnitOfWork, company_id: int, values: dict[str, Any],
                                  vault_key: str | None = None) -> PaymentSettings:
    company = await company_of(uow, company_id)
    row = await payment_settings(uow, company.id)
    for key in ("payment_gl_code_id", "fee_gl_code_id"):
        if values.get(key) is not None:
            await load(uow, GlCode, values[key], field=key, what="general ledger code",
                       company_id=company.id)
    if "returned_payment_fee" in values:
        fee = values.pop("returned_payment_fee")
        values["returned_payment_fee_minor"] = to_minor(fee, company.currency,
                                                        field="returned_payment_fee")
    from ispcore.domain.billing import ach
    from ispcore.domain.common import vault

    ach.check_originator(values)
    if "ach_offset_account" in values:
        account = values.pop("ach_offset_account")
        values["ach_offset_account_sealed"] = vault.seal(
            vault_key, account, field="ach_offset_account") if account else None
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "payment_settings.updated", company_id=company.id, entity=row,
                 payload={"changed": sorted(values)})
    return row


# --- recording a payment ------------------------------------------------------------------------

async def payable_account(uow: UnitOfWork, account_id: int) -> tuple[Any, Any]:
    account = await accounts.get_account(uow, account_id)
    if account.bill_to_parent and account.parent_account_id is not None:
        raise DomainError("This account is billed to its parent account: its invoices are "
                          "the parent's, so payments are made to the parent.",
                          field="account_id")
    company = await company_of(uow, account.company_id)
    if not company.active:
        raise DomainError(f"{company.name} is inactive: it takes no payments.",
                          field="account_id", code=ErrorCode.FORBIDDEN)
    return account, company


def _received_at(uow: UnitOfWork, value: datetime | None) -> datetime:
    now = uow.clock.now()
    if value is None:
        return now
    if value.tzinfo is None:
        raise DomainError("Give the time with its UTC offset.", field="received_at")
    if value > now + FUTURE_TOLERANCE:
        raise DomainError("A payment cannot be received in the future.", field="received_at")
    return value


def clean_reference(value: str | None) -> str:
    text = (value or "").strip()
    if len(text) > 200:
        raise DomainError("At most 200 characters.", field="reference")
    return text


async def replayed_payment(uow: UnitOfWork, company_id: int, key: str | None,
                           account_id: int, amount: int, method: str) -> Payment | None:
    """The payment already recorded under ``key``, when the same payment is sent again;
    an error when the key was used for another one."""
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > 200:
        raise DomainError("An idempotency key has 1 to 200 characters.",
                          field="idempotency_key")
    found = await uow.session.scalar(select(Payment).where(
        Payment.company_id == company_id, Payment.idempotency_key == key))
    if found is None:
        return None
    if (found.account_id, found.amount_minor, found.method) != (account_id, amount, method):
        raise DomainError("This idempotency key was already used for another payment.",
                          field="idempotency_key", code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
    return found


async def create_payment(uow: UnitOfWork, values: dict[str, Any]) -> Payment:
    """Record money received: posted to the ledger and applied to open invoices, oldest
    first; what is left stays on the account as credit."""
    account, company = await payable_account(uow, values["account_id"])
    same_currency(values.get("currency"), company.currency)
    amount = to_minor(values["amount"], company.currency, allow_zero=False)
    method = Method(values["method"])
    key = values.get("idempotency_key")
    replay = await replayed_payment(uow, company.id, key, account.id, amount, method)
    if replay is not None:
        return replay
    received_at = _received_at(uow, values.get("received_at"))
    payment = new_payment(uow, account, company, amount, method, received_at=received_at,
                          reference=clean_reference(values.get("reference")), key=key,
                          status=Status.COMPLETED)
    payment.batch_id = values.get("batch_id")
    uow.session.add(payment)
    await uow.session.flush()
    await complete(uow, payment, company)
    return payment


def new_payment(uow: UnitOfWork, account: Any, company: Any, amount: int, method: Method, *,
                received_at: datetime | None = None, reference: str = "",
                key: str | None = None, status: Status = Status.PENDING,
                payment_method_id: int | None = None, processor: str | None = None,
                autopay_invoice_id: int | None = None) -> Payment:
    at = received_at or uow.clock.now()
    return Payment(
        company_id=company.id, account_id=account.id, method=method, status=status,
        currency=company.currency, amount_minor=amount,
        # A completed payment is all credit until ``complete`` spreads it (one UPDATE
        # less than inserting 0 and raising it).
        unallocated_minor=amount if status == Status.COMPLETED else 0, refunded_minor=0,
        reference=reference, received_at=at,
        received_on=local_date(at, company.time_zone),
        idempotency_key=key.strip() if key else None, payment_method_id=payment_method_id,
        processor=processor, processor_key=uuid.uuid4().hex if processor else None,
        autopay_invoice_id=autopay_invoice_id, user_id=uow.actor.user_id,
        created_at=uow.clock.now())


async def complete(uow: UnitOfWork, payment: Payment, company: Any) -> None:
    """The money is in: post the credit, apply it, announce it."""
    settings = await payment_settings(uow, company.id)
    payment.status = Status.COMPLETED
    payment.unallocated_minor = payment.amount_minor
    _post(uow, payment, EntryKind.PAYMENT, -payment.amount_minor, settings.payment_gl_code_id,
          f"Payment ({payment.method.lower().replace('_', ' ')})"
          + (f" {payment.reference}" if payment.reference else ""), company)
    await allocation.lock_account(uow, payment.account_id)
    await uow.session.flush()
    applied = await allocation.apply_credit(uow, payment.account_id)
    record_event(uow, "payment.received", company_id=company.id, entity=payment, payload={
        "account_id": payment.account_id, "amount": amount_text(payment.amount_minor,
                                                                   company.currency),
        "currency": company.currency, "method": payment.method,
        "invoices": [{"invoice_id": invoice.id, "amount": amount_text(amount,
                                                                         company.currency)}
                     for invoice, amount in applied],
        "credit": amount_text(payment.unallocated_minor, company.currency)})
    await _after_money_moved(uow, company, payment.account_id)


def fail(uow: UnitOfWork, payment: Payment, reason: str) -> None:
    payment.status = Status.FAILED
    payment.failure_reason = reason[:500]
    record_event(uow, "payment.failed", company_id=payment.company_id, entity=payment,
                 payload={"account_id": payment.account_id, "reason": payment.failure_reason,
                          "amount": amount_text(payment.amount_minor, payment.currency),
                          "currency": payment.currency})


def _post(uow: UnitOfWork, payment: Payment, kind: EntryKind, amount: int, gl_code_id: int,
          description: str, company: Any) -> None:
    uow.session.add(LedgerEntry(
        company_id=payment.company_id, account_id=payment.account_id, kind=kind,
        amount_minor=amount, gl_code_id=gl_code_id, description=description[:300],
        payment_id=payment.id, posted_on=today_in(uow, company), created_at=uow.clock.now(),
        user_id=uow.actor.user_id))


async def _after_money_moved(uow: UnitOfWork, company: Any, account_id: int) -> None:
    await uow.session.flush()
    await announce_balances(uow, company.id, company.currency, [account_id])
    await allocation.money_applied(uow, company.id, [account_id])


# --- refunds and reversals ----------------------------------------------------------------------

async def _completed(uow: UnitOfWork, pk: int) -> tuple[Payment, Any]:
    payment = await load(uow, Payment, pk, field="id", what="payment")
    await allocation.lock_account(uow, payment.account_id)
    await uow.session.refresh(payment)
    if payment.status != Status.COMPLETED:
        raise DomainError(f"Only a completed payment can be refunded or reversed; this one is "
                          f"{payment.status.lower()}.", field="id")
    return payment, await company_of(uow, payment.company_id)


def _reason(value: str | None, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise DomainError("Give a reason.", field="reason", code=ErrorCode.REQUIRED)
    if len(text) > 500:
        raise DomainError("At most 500 characters.", field="reason")
    return text


async def refund_payment(uow: UnitOfWork, pk: int, amount: Decimal | None,
                         reason: str | None) -> Refund:
    """Give back all of a payment, or part: its credit first, then off its invoices (newest
    first), which are owed again (less any other credit of the account, applied at once).
    Nothing is left to give back of a payment refunded in full. A processor's payment is
    refunded through it."""
    payment, company = await _completed(uow, pk)
    refundable = payment.amount_minor - payment.refunded_minor
    minor = refundable if amount is None else to_minor(amount, company.currency,
                                                        allow_zero=False)
    if minor > refundable:
        raise DomainError(f"At most {from_minor(refundable, company.currency)} "
                          f"{company.currency} of this payment can be refunded.",
                          field="amount")
    if minor <= 0:  # a whole refund of a payment already refunded in full
        raise DomainError("This payment was refunded in full: nothing is left to refund.",
                          field="id")
    text = _reason(reason, required=False)
    processor_reference = None
    if payment.processor:
        from ispcore.domain.billing import collect

        processor_reference = await collect.refund_through_processor(uow, payment, minor)
    await allocation.take_back(uow, payment, minor)
    payment.refunded_minor += minor
    refund = Refund(company_id=company.id, payment_id=payment.id, amount_minor=minor,
                    reason=text, processor_reference=processor_reference,
                    user_id=uow.actor.user_id, created_at=uow.clock.now())
    uow.session.add(refund)
    settings = await payment_settings(uow, company.id)
    _post(uow, payment, EntryKind.REFUND, minor, settings.payment_gl_code_id,
          "Refund" + (f": {text}" if text else ""), company)
    await uow.session.flush()
    record_event(uow, "payment.refunded", company_id=company.id, entity=payment, payload={
        "account_id": payment.account_id, "refund_id": refund.id,
        "amount": amount_text(minor, company.currency), "currency": company.currency,
        "refunded": amount_text(payment.refunded_minor, company.currency)})
    await _after_money_moved(uow, company, payment.account_id)
    return refund


async def reverse_payment(uow: UnitOfWork, pk: int, reason: str | None,
                          fee: Decimal | None = None, charge_fee: bool = False) -> Payment:
    """A payment that did not clear (a bounced cheque, a returned ACH entry): what is left of
    it comes off the invoices and the account owes it again, with a returned-payment fee
    when asked (``fee``, or the company's usual fee with ``charge_fee``)."""
    payment, company = await _completed(uow, pk)
    text = _reason(reason, required=True)
    settings = await payment_settings(uow, company.id)
    fee_minor = (to_minor(fee, company.currency, field="fee") if fee is not None
                 else settings.returned_payment_fee_minor if charge_fee else 0)
    remaining = payment.amount_minor - payment.refunded_minor
    await allocation.take_back(uow, payment, remaining)
    payment.status = Status.REVERSED
    payment.reversed_at = uow.clock.now()
    payment.reversal_reason = text
    if remaining:
        _post(uow, payment, EntryKind.PAYMENT_REVERSAL, remaining, settings.payment_gl_code_id,
              f"Payment returned: {text}", company)
    if fee_minor:
        await invoices.invoice_now(uow, company, invoices.ImmediateCharge(
            payment.account_id, payment.account_id, "Returned payment fee", fee_minor,
            settings.fee_gl_code_id, EntryKind.FEE), payment_id=payment.id)
    await uow.session.flush()
    record_event(uow, "payment.failed", company_id=company.id, entity=payment, payload={
        "account_id": payment.account_id, "reason": text, "reversed": True,
        "amount": amount_text(remaining, company.currency), "currency": company.currency,
        "fee": amount_text(fee_minor, company.currency)})
    await _after_money_moved(uow, company, payment.account_id)
    return payment
