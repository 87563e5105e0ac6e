"""Cards and bank accounts on file. A card is kept as its processor's token with what tells a
person which card it is (brand, last four, expiry), never its number. A bank account for
in-house ACH keeps its routing number and its account number sealed with the vault key; the
number is never shown again, only its last four digits.

One active method per account may be the default; autopay charges the default method, so
only the default can have autopay on."""

from __future__ import annotations

import re
import uuid
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ispcore.domain.accounts import service as accounts
from ispcore.domain.billing import allocation, payments, processors
from ispcore.domain.billing.payment_models import Payment, PaymentMethod
from ispcore.domain.billing.processors import ProcessorName
from ispcore.domain.common import vault
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.integrations.stripe import check_currency


class Kind(StrEnum):
    CARD = "CARD"
    BANK_ACCOUNT = "BANK_ACCOUNT"


class BankAccountType(StrEnum):
    CHECKING = "CHECKING"
    SAVINGS = "SAVINGS"


def routing_number_valid(number: str) -> bool:
    """Nine digits whose ABA checksum (weights 3, 7, 1) is a multiple of ten."""
    if not re.fullmatch(r"\d{9}", number):
        return False
    digits = [int(c) for c in number]
    return sum(d * w for d, w in zip(digits, (3, 7, 1) * 3, strict=True)) % 10 == 0


def expired(month: int, year: int, today: date) -> bool:
    """A card is good through the last day of its expiry month."""
    return (year, month) < (today.year, today.month)


def _check_expiry(v: Validator, month: int | None, year: int | None, today: date) -> None:
    if month is None or year is None:
        v.add("expiry_month" if month is None else "expiry_year",
              "A card needs its expiry month and year.", ErrorCode.REQUIRED)
        return
    if not 1 <= month <= 12:
        v.add("expiry_month", "A month from 1 to 12.")
    elif not 2000 <= year <= 2100:
        v.add("expiry_year", "A four-digit year.")
    elif expired(month, year, today):
        v.add("expiry_year", f"This card expired at the end of {month:02d}/{year}.")


def _text(values: dict[str, Any], key: str) -> str | None:
    value = values.get(key)
    return value.strip() or None if isinstance(value, str) else value


async def _clear_default(uow: UnitOfWork, account_id: int, keep: int | None = None) -> None:
    """The account's default (if another than ``keep``) stops being it, and with it its
    autopay: flushed before the new default is set, in the same transaction (one default
    per account is a unique index)."""
    olds = await uow.session.scalars(select(PaymentMethod).where(
        PaymentMethod.account_id == account_id, PaymentMethod.is_default,
        PaymentMethod.active, PaymentMethod.id != (keep or 0)))
    for old in olds:
        old.is_default = False
        old.autopay = False
        old.updated_at = uow.clock.now()
    await uow.session.flush()


async def _has_default(uow: UnitOfWork, account_id: int) -> bool:
    return await uow.session.scalar(select(PaymentMethod.id).where(
        PaymentMethod.account_id == account_id, PaymentMethod.is_default,
        PaymentMethod.active).limit(1)) is not None


def _event(uow: UnitOfWork, name: str, method: PaymentMethod, **extra: Any) -> None:
    record_event(uow, name, company_id=method.company_id, entity=method, payload={
        "account_id": method.account_id, "kind": method.kind, "processor": method.processor,
        "brand": method.brand, "last_four": method.last_four,
        "is_default": method.is_default, "autopay": method.autopay, **extra})


async def add_payment_method(uow: UnitOfWork, values: dict[str, Any]) -> PaymentMethod:
    """Keep a card or bank account for ``values["account_id"]``. The first active method of
    an account becomes its default."""
    kind, processor = Kind(values["kind"]), ProcessorName(values["processor"])
    v = Validator()
    token = _text(values, "token")
    customer = _text(values, "processor_customer")
    holder = _text(values, "holder_name") or ""
    brand, last_four = _text(values, "brand"), _text(values, "last_four")
    month, year = values.get("expiry_month"), values.get("expiry_year")
    routing, number = _text(values, "routing_number"), _text(values, "account_number")
    account_type = values.get("bank_account_type")
    sealed = None

    if processor is ProcessorName.STRIPE:
        if kind is not Kind.CARD:
            v.add("kind", "Only cards are kept through Stripe.")
        if not token or not token.startswith("pm_"):
            v.add("token", "A Stripe PaymentMethod id (pm_…) made by Stripe.js.",
                  ErrorCode.REQUIRED if not token else ErrorCode.INVALID)
        if customer is not None and not customer.startswith("cus_"):
            v.add("processor_customer", "A Stripe Customer id (cus_…).")
        v.raise_if_any()
        account = await accounts.get_account(uow, values["account_id"])
        check_currency((await company_of(uow, account.company_id)).currency)
        # Asked before the database is touched: no transaction waits on Stripe.
        card = await processors.stripe(uow.settings, uow.clock, field="processor").card(
            token or "")
        if customer and card.customer and customer != card.customer:
            raise DomainError("That payment method belongs to another Stripe customer.",
                              field="processor_customer")
        customer = customer or card.customer
        if not customer:
            raise DomainError("Attach the payment method to a Stripe customer first; it can "
                              "only be charged off-session through one.",
                              field="processor_customer", code=ErrorCode.REQUIRED)
        brand, last_four = card.brand, card.last_four
        month, year = card.expiry_month, card.expiry_year
    elif processor is ProcessorName.ACH:
        if kind is not Kind.BANK_ACCOUNT:
            v.add("kind", "In-house ACH collects from bank accounts only.")
        if not routing:
            v.add("routing_number", "A bank account needs its routing number.",
                  ErrorCode.REQUIRED)
        elif not routing_number_valid(routing):
            v.add("routing_number", "Not a valid ABA routing number (9 digits with a "
                  "correct check digit).")
        if not number:
            v.add("account_number", "A bank account needs its account number.",
                  ErrorCode.REQUIRED)
        elif not re.fullmatch(r"\d{4,17}", number):
            v.add("account_number", "An account number has 4 to 17 digits.")
        v.raise_if_any()
        assert number is not None
        sealed = vault.seal(uow.settings.vault_key, number, field="account_number")
        last_four = number[-4:]
        token = f"ach_{uuid.uuid4().hex}"
        account_type = account_type or BankAccountType.CHECKING
    else:  # MANUAL: staff charge it on an outside terminal
        token = token or f"manual_{uuid.uuid4().hex}"
        if routing is not None and not routing_number_valid(routing):
            v.add("routing_number", "Not a valid ABA routing number (9 digits with a "
                  "correct check digit).")
        if number is not None:
            v.add("account_number", "Account numbers are kept only for in-house ACH; give "
                  "the last four digits.")
    if last_four is None or not re.fullmatch(r"\d{4}", last_four):
        v.add("last_four", "The last four digits of the card or account.",
              ErrorCode.REQUIRED if last_four is None else ErrorCode.INVALID)
    if kind is Kind.BANK_ACCOUNT and (month is not None or year is not None):
        v.add("expiry_month", "Bank accounts have no expiry.")
    v.raise_if_any()

    account = await accounts.get_account(uow, values["account_id"])
    company = await company_of(uow, account.company_id)
    if kind is Kind.CARD:
        _check_expiry(v, month, year, today_in(uow, company))
    await allocation.lock_account(uow, account.id)  # one default at a time
    has_default = await _has_default(uow, account.id)
    make_default = bool(values.get("make_default")) or not has_default
    autopay = bool(values.get("autopay"))
    _check_autopay(v, autopay, make_default, processor)
    fields = {"token": token, "processor_customer": customer, "holder_name": holder,
              "brand": brand}
    v.fit_columns(PaymentMethod, fields)
    v.raise_if_any()
    if make_default and has_default:
        await _clear_default(uow, account.id)
    now = uow.clock.now()
    method = PaymentMethod(
        company_id=company.id, account_id=account.id, kind=kind, processor=processor,
        token=token, processor_customer=customer, holder_name=holder, brand=brand,
        last_four=last_four, expiry_month=month if kind is Kind.CARD else None,
        expiry_year=year if kind is Kind.CARD else None,
        bank_account_type=account_type if kind is Kind.BANK_ACCOUNT else None,
        routing_number=routing if kind is Kind.BANK_ACCOUNT else None,
        sealed_account_number=sealed, is_default=make_default, autopay=autopay, active=True,
        created_at=now, updated_at=now)
    uow.session.add(method)
    await uow.session.flush()
    _event(uow, "payment_method.added", method)
    return method


def _check_autopay(v: Validator, autopay: bool, default: bool, processor: str) -> None:
    if not autopay:
        return
    if not default:
        v.add("autopay", "Autopay charges the account's default method: make this one the "
              "default.")
    elif processor == ProcessorName.MANUAL:
        v.add("autopay", "Manual methods are charged by staff on a terminal, not by "
              "autopay.")


async def _active(uow: UnitOfWork, pk: int) -> PaymentMethod:
    method = await load(uow, PaymentMethod, pk, field="id", what="payment method")
    if not method.active:
        raise DomainError("This payment method was removed.", field="id")
    return method


async def update_payment_method(uow: UnitOfWork, pk: int, values: dict[str, Any]
                                ) -> PaymentMethod:
    """Change a method's expiry (a card reissued with the same number), holder, default or
    autopay."""
    method = await _active(uow, pk)
    company = await company_of(uow, method.company_id)
    v = Validator()
    if "holder_name" in values:
        values["holder_name"] = (values["holder_name"] or "").strip()
        v.fit_columns(PaymentMethod, {"holder_name": values["holder_name"]})
    if "expiry_month" in values or "expiry_year" in values:
        if method.kind != Kind.CARD:
            v.add("expiry_month", "Bank accounts have no expiry.")
        else:
            _check_expiry(v, values.get("expiry_month", method.expiry_month),
                          values.get("expiry_year", method.expiry_year),
                          today_in(uow, company))
    if values.get("is_default") is False and method.is_default:
        v.add("is_default", "Make another method the default instead (or remove this one).")
    default = bool(values.get("is_default", method.is_default))
    _check_autopay(v, bool(values.get("autopay", method.autopay)), default, method.processor)
    v.raise_if_any()
    if values.get("is_default") and not method.is_default:
        await allocation.lock_account(uow, method.account_id)
        await _clear_default(uow, method.account_id, keep=method.id)
    for key in ("holder_name", "expiry_month", "expiry_year", "is_default", "autopay"):
        if key in values:
            setattr(method, key, values[key])
    method.updated_at = uow.clock.now()
    await uow.session.flush()
    _event(uow, "payment_method.updated", method, changed=sorted(values))
    return method


async def remove_payment_method(uow: UnitOfWork, pk: int) -> PaymentMethod:
    """Stop using a method (kept, inactive, for the payments made with it). A default
    removed leaves the account with none. ACH debits of it not yet in a file are not
    collected: the customer withdrew the authorisation."""
    method = await _active(uow, pk)
    waiting = await uow.session.scalars(select(Payment).where(
        Payment.payment_method_id == method.id, Payment.method == payments.Method.ACH,
        Payment.status == payments.Status.PENDING, Payment.ach_file_id.is_(None)))
    for payment in waiting:
        payments.fail(uow, payment, "The bank account was removed before collection.")
    method.active = False
    method.is_default = False
    method.autopay = False
    method.updated_at = uow.clock.now()
    await uow.session.flush()
    _event(uow, "payment_method.removed", method)
    return method
