"""Collecting money through a processor: a charge of a method on file, autopay of due
invoices, and the reconciler for charges whose answer never came.

A charge is three steps, and no database transaction is open while a processor answers:

1. the intent, committed: a PENDING payment with its processor and ``processor_key`` (the
   processor's idempotency key; an autopay intent also names its invoice, once only);
2. the processor call, outside any transaction; a timeout is outcome UNKNOWN, never FAILED;
3. the outcome, in a new transaction: completed (ledger, allocation, ``payment.received``),
   failed (``payment.failed``), or left PENDING/UNKNOWN for the reconciler.

A crash between 1 and 3 leaves a PENDING payment: the reconciler asks the processor about
it under the same key, so it is charged at most once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from ispcore.domain.billing import allocation, payments, processors
from ispcore.domain.billing.models import Invoice
from ispcore.domain.billing.payment_methods import Kind, expired
from ispcore.domain.billing.payment_models import Payment, PaymentMethod
from ispcore.domain.billing.payments import Method, Status
from ispcore.domain.billing.processors import Charge, Outcome, ProcessorName, Result
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.integrations.stripe import check_currency

log = logging.getLogger(__name__)

OpenUow = Callable[[], UnitOfWork]

#: A charge this young may still be answered by the request that sent it.
RECONCILE_AFTER = timedelta(minutes=1)
UNSETTLED = (Status.PENDING, Status.UNKNOWN)
BATCH = 50


def payment_type(method: PaymentMethod) -> Method:
    if method.processor == ProcessorName.ACH:
        return Method.ACH
    return Method.CARD if method.kind == Kind.CARD else Method.BANK_TRANSFER


def _charge(payment: Payment, method: PaymentMethod | None) -> Charge:
    return Charge(payment_id=payment.id, amount_minor=payment.amount_minor,
                  currency=payment.currency, key=payment.processor_key or "",
                  token=method.token if method else "",
                  customer=method.processor_customer if method else None,
                  created_at=payment.created_at, reference=payment.reference or None)


async def _ask(call: Awaitable[Result]) -> Result:
    """A processor's answer; anything going wrong on the way is UNKNOWN (the charge may
    have been made). Cancellation is not caught: the payment stays for the reconciler."""
    try:
        return await call
    except Exception as exc:
        log.exception("payment processor call failed")
        return Result(Outcome.UNKNOWN, None, f"No answer from the processor "
                      f"({type(exc).__name__}).")


# --- the three steps ------------------------------------------------------------------------

async def _intent(uow: UnitOfWork, method: PaymentMethod, minor: int, *, key: str | None,
                  reference: str | None = None, autopay_invoice_id: int | None = None
                  ) -> tuple[Payment, Charge | None]:
    """Step 1: the PENDING payment (or the one already made under ``key``), and the charge
    to send (None when there is nothing to send: a replay, or in-house ACH)."""
    account, company = await payments.payable_account(uow, method.account_id)
    kind = payment_type(method)
    replay = await payments.replayed_payment(uow, company.id, key, account.id, minor, kind)
    if replay is not None:
        return replay, None
    if not method.active:
        raise DomainError("This payment method was removed.", field="payment_method_id")
    if (method.kind == Kind.CARD and method.expiry_month and method.expiry_year
            and expired(method.expiry_month, method.expiry_year, today_in(uow, company))):
        raise DomainError("This card has expired; update its expiry or use another method.",
                          field="payment_method_id")
    if method.processor != ProcessorName.ACH:  # refused now if it cannot be asked at all
        processors.get(method.processor, uow.settings, uow.clock, field="payment_method_id")
    if method.processor == ProcessorName.STRIPE:
        check_currency(company.currency, field="payment_method_id")
    payment = payments.new_payment(
        uow, account, company, minor, kind, reference=payments.clean_reference(reference),
        key=key,
        status=Status.PENDING, payment_method_id=method.id, processor=method.processor,
        autopay_invoice_id=autopay_invoice_id)
    uow.session.add(payment)
    await uow.session.flush()
    if method.processor == ProcessorName.ACH:
        return payment, None  # a NACHA file collects it
    return payment, _charge(payment, method)


async def record_outcome(uow: UnitOfWork, payment_id: int, result: Result) -> Payment:
    """Step 3: what the processor said, unless the payment was settled meanwhile (by the
    reconciler, or the request that sent it)."""
    payment = await load(uow, Payment, payment_id, field="id", what="payment")
    await allocation.lock_account(uow, payment.account_id)
    await uow.session.refresh(payment)
    if payment.status not in UNSETTLED:
        return payment
    if result.reference:
        payment.processor_reference = result.reference[:100]
    if result.outcome is Outcome.SUCCEEDED:
        payment.failure_reason = None
        await payments.complete(uow, payment, await company_of(uow, payment.company_id))
    elif result.outcome is Outcome.FAILED:
        payments.fail(uow, payment, result.message or "The processor declined the charge.")
    else:
        payment.status = (Status.PENDING if result.outcome is Outcome.PENDING
                          else Status.UNKNOWN)
        payment.failure_reason = (result.message or "")[:500] or None
    await uow.session.flush()
    return payment


async def _send(open_uow: OpenUow, payment: Payment, charge: Charge, settings: Any,
                clock: Any) -> Payment:
    """Steps 2 and 3."""
    processor = processors.get(payment.processor or "", settings, clock)
    result = await _ask(processor.charge(charge))
    async with open_uow() as uow:
        return await record_outcome(uow, payment.id, result)


async def _replay_after_conflict(open_uow: OpenUow, method_id: int, minor: int,
                                 key: str | None) -> Payment | None:
    """A concurrent request committed the same intent first: its payment."""
    if key is None:
        return None
    async with open_uow() as uow:
        method = await load(uow, PaymentMethod, method_id, field="payment_method_id",
                            what="payment method")
        payment, _ = await _intent(uow, method, minor, key=key)
        return payment


# --- charging a method on file ----------------------------------------------------------------

async def charge_method(open_uow: OpenUow, method_id: int, amount: Decimal, *,
                        key: str | None = None, reference: str | None = None) -> Payment:
    """Charge ``amount`` to a card or bank account on file. Sent again with the same ``key``
    it returns the first payment, whatever became of it, and charges nothing."""
    from ispcore.domain.billing.money import to_minor

    try:
        async with open_uow() as uow:
            method = await load(uow, PaymentMethod, method_id, field="payment_method_id",
                                what="payment method")
            company = await company_of(uow, method.company_id)
            minor = to_minor(amount, company.currency, allow_zero=False)
            payment, charge = await _intent(uow, method, minor, key=key, reference=reference)
            settings, clock = uow.settings, uow.clock
    except IntegrityError:
        replay = await _replay_after_conflict(open_uow, method_id, minor, key)
        if replay is None:
            raise
        return replay
    if charge is None:
        return payment
    return await _send(open_uow, payment, charge, settings, clock)


async def refund_through_processor(uow: UnitOfWork, payment: Payment, minor: int
                                   ) -> str | None:
    """Give ``minor`` of ``payment`` back through its processor; its refund reference.
    Refused (nothing recorded) when the processor declines or does not answer; retrying is
    safe: the key is the payment's and what was refunded before, so a refund the processor
    made but whose answer was lost is answered again, not made twice."""
    if payment.processor == ProcessorName.ACH:
        return None  # paid back outside ispcore (a credit entry, a cheque)
    if not payment.processor_reference:
        raise DomainError("The processor's reference of this payment is unknown: it cannot "
                          "be refunded through it.", field="id")
    processor = processors.get(payment.processor or "", uow.settings, uow.clock, field="id")
    # Not the amount: a retry after a lost answer, even of another amount, reaches the
    # processor under the key of the refund it may already have made (Stripe then answers
    # the first refund, or refuses other parameters), so money never goes back twice.
    key = f"{payment.processor_key}-refund-{payment.refunded_minor}"
    result = await _ask(processor.refund(payment.processor_reference, minor, key))
    if result.outcome is Outcome.SUCCEEDED:
        return result.reference
    if result.outcome is Outcome.FAILED:
        raise DomainError(f"The processor refused the refund: {result.message}",
                          field="amount")
    raise DomainError(f"The processor did not confirm the refund ({result.message}); "
                      "nothing was recorded. Try again: it will not be refunded twice.",
                      field="id", code=ErrorCode.PROCESSOR_UNAVAILABLE)


# --- the reconciler ---------------------------------------------------------------------------

async def reconcile(open_uow: OpenUow, *, company_id: int | None = None,
                    batch: int = BATCH) -> dict[str, int]:
    """Ask the processor about every PENDING or UNKNOWN charge older than a minute (by its
    reference, or by sending it again under its key) and settle it. Never a new charge."""
    counts = {"checked": 0, "completed": 0, "failed": 0, "unsettled": 0}
    after = 0
    while True:
        async with open_uow() as uow:
            settings, clock = uow.settings, uow.clock
            stmt = (select(Payment, PaymentMethod)
                    .outerjoin(PaymentMethod, PaymentMethod.id == Payment.payment_method_id)
                    .where(Payment.status.in_(UNSETTLED), Payment.processor.is_not(None),
                           Payment.processor != ProcessorName.ACH, Payment.id > after,
                           Payment.created_at <= clock.now() - RECONCILE_AFTER)
                    .order_by(Payment.id).limit(batch))
            if company_id is not None:
                stmt = stmt.where(Payment.company_id == company_id)
            found = [(p.id, p.processor, p.processor_reference, _charge(p, m))
                     for p, m in (await uow.session.execute(stmt)).all()]
        if not found:
            return counts
        for payment_id, name, reference, charge in found:
            after = payment_id
            counts["checked"] += 1
            try:
                processor = processors.get(name or "", settings, clock)
            except DomainError as exc:
                log.warning("payment %s not reconciled: %s", payment_id, exc.message)
                counts["unsettled"] += 1
                continue
            result = await _ask(processor.status(charge, reference))
            async with open_uow() as uow:
                payment = await record_outcome(uow, payment_id, result)
            counts[{Status.COMPLETED: "completed", Status.FAILED: "failed"}.get(
                payment.status, "unsettled")] += 1


# --- autopay ------------------------------------------------------------------------------------

def _autopay_due(company_id: int, today: Any, after: int, limit: int) -> Any:
    """Issued invoices of the company due by ``today``, still owed, on accounts whose
    default method has autopay, not yet charged by autopay."""
    return (select(Invoice.id)
            .join(PaymentMethod, (PaymentMethod.account_id == Invoice.account_id)
                  & PaymentMethod.is_default & PaymentMethod.active & PaymentMethod.autopay)
            .where(Invoice.company_id == company_id, Invoice.status == "ISSUED",
                   Invoice.due_on <= today, Invoice.paid_minor < Invoice.total_minor,
                   Invoice.id > after,
                   ~exists().where(Payment.autopay_invoice_id == Invoice.id))
            .order_by(Invoice.id).limit(limit))


async def charge_invoice(open_uow: OpenUow, invoice_id: int) -> Payment | None:
    """Autopay one invoice: what remains due, charged to the account's default method, in
    a transaction of its own. None when it is no longer due or was charged already."""
    try:
        async with open_uow() as uow:
            invoice = await uow.session.get(Invoice, invoice_id)
            if invoice is None:
                return None
            await allocation.lock_account(uow, invoice.account_id)
            await uow.session.refresh(invoice)
            company = await company_of(uow, invoice.company_id)
            method = await uow.session.scalar(select(PaymentMethod).where(
                PaymentMethod.account_id == invoice.account_id, PaymentMethod.is_default,
                PaymentMethod.active, PaymentMethod.autopay))
            due = invoice.total_minor - invoice.paid_minor
            if (method is None or invoice.status != "ISSUED" or due <= 0
                    or invoice.due_on is None or invoice.due_on > today_in(uow, company)
                    or await uow.session.scalar(select(Payment.id).where(
                        Payment.autopay_invoice_id == invoice.id))):
                return None
            payment, charge = await _intent(uow, method, due, key=None,
                                            autopay_invoice_id=invoice.id)
            settings, clock = uow.settings, uow.clock
    except IntegrityError:
        return None  # another run made this invoice's intent first
    if charge is None:
        return payment
    return await _send(open_uow, payment, charge, settings, clock)


async def autopay(open_uow: OpenUow, *, company_id: int | None = None,
                  batch: int = BATCH) -> dict[str, int]:
    """Charge every due invoice on autopay, each in its own short transactions, so a crash
    loses at most the one in flight (left PENDING for the reconciler)."""
    from ispcore.domain.companies.models import Company

    counts = {"charged": 0, "completed": 0, "failed": 0, "unsettled": 0, "skipped": 0}
    async with open_uow() as uow:
        stmt = select(Company.id).where(Company.active).order_by(Company.id)
        if company_id is not None:
            stmt = stmt.where(Company.id == company_id)
        company_ids = list(await uow.session.scalars(stmt))
    for cid in company_ids:
        after = 0
        while True:
            async with open_uow() as uow:
                today = today_in(uow, await company_of(uow, cid))
                ids = list(await uow.session.scalars(_autopay_due(cid, today, after, batch)))
            if not ids:
                break
            for invoice_id in ids:
                after = invoice_id
                try:
                    payment = await charge_invoice(open_uow, invoice_id)
                except DomainError as exc:
                    log.warning("autopay of invoice %s refused: %s", invoice_id, exc.message)
                    payment = None
                if payment is None:
                    counts["skipped"] += 1
                    continue
                counts["charged"] += 1
                counts[{Status.COMPLETED: "completed", Status.FAILED: "failed"}.get(
                    payment.status, "unsettled")] += 1
    return counts
