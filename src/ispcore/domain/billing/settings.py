"""Billing settings per company, billing defaults per account type, and each account's own
terms (copied from its type's defaults, or the company's, when it is created)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from ispcore.domain.accounts.models import Account, AccountStatus, AccountType
from ispcore.domain.billing.engine import BillingMode, Terms, VacationBilling, first_bill_date
from ispcore.domain.billing.models import (
    AccountBilling,
    AccountService,
    BillingDefaults,
    BillingSettings,
    Service,
)
from ispcore.domain.billing.money import Rounding
from ispcore.domain.common.errors import ErrorCode, Validator
from ispcore.domain.common.records import company_of, company_row, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event

TERMS = ("billing_mode", "bill_day", "due_days", "grace_days", "bill_in_advance", "prorate")
COMPANY_ONLY = ("rounding", "invoice_number_format", "next_invoice_number", "review_drafts",
                "vacation_billing")
#: What a company bills by until someone changes it.
DEFAULTS: dict[str, Any] = {
    "billing_mode": BillingMode.ANNIVERSARY.value, "bill_day": None, "due_days": 14,
    "grace_days": 7, "bill_in_advance": True, "prorate": True,
    "rounding": Rounding.HALF_UP.value, "invoice_number_format": "INV-{number:06}",
    "next_invoice_number": 1, "review_drafts": False,
    "vacation_billing": VacationBilling.NOTHING.value,
}


def format_number(pattern: str, number: int, issued_on: date) -> str:
    return pattern.format(number=number, year=issued_on.year, month=f"{issued_on.month:02}")


def _check_terms(v: Validator, merged: dict[str, Any]) -> None:
    if merged.get("billing_mode") == BillingMode.FIXED_DAY and merged.get("bill_day") is None:
        v.add("bill_day", "A fixed-day billing mode needs a bill day.", ErrorCode.REQUIRED)
    day = merged.get("bill_day")
    if day is not None and not 1 <= day <= 31:
        v.add("bill_day", "A bill day is a day of the month, 1 to 31 (short months bill on "
              "their last day).")
    for key in ("due_days", "grace_days"):
        if merged.get(key) is not None and not 0 <= merged[key] <= 365:
            v.add(key, "Between 0 and 365 days.")


def _check_company_only(v: Validator, values: dict[str, Any], current: Any) -> None:
    pattern = values.get("invoice_number_format")
    if pattern is not None:
        try:
            sample = format_number(pattern, 1, date(2026, 1, 1))
            if format_number(pattern, 2, date(2026, 1, 1)) == sample:
                raise ValueError
        except (KeyError, ValueError, IndexError):
            v.add("invoice_number_format", "Use {number} (e.g. INV-{number:06}); {year} and "
                  "{month} may appear too.")
        else:
            if len(sample) > 50:
                v.add("invoice_number_format", "Invoice numbers would be too long.")
    number = values.get("next_invoice_number")
    if number is not None and (number < 1 or (current is not None
                                              and number < current.next_invoice_number)):
        v.add("next_invoice_number", "Invoice numbers only move forward (numbers already "
              "issued are not reused).")


async def company_settings(uow: UnitOfWork, company_id: int, *, create: bool = True
                           ) -> BillingSettings:
    """The company's settings, saved with the defaults the first time they are needed (with
    ``create`` false, the defaults are returned unsaved: for reading without writing)."""
    return await company_row(uow, BillingSettings, company_id, DEFAULTS, create=create)


async def update_company_settings(uow: UnitOfWork, company_id: int, values: dict[str, Any]
                                  ) -> BillingSettings:
    await company_of(uow, company_id, "company_id")
    row = await company_settings(uow, company_id)
    v = Validator()
    merged = {k: getattr(row, k) for k in TERMS} | values
    _check_terms(v, merged)
    _check_company_only(v, values, row)
    v.raise_if_any()
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "billing_settings.updated", company_id=company_id, entity=row,
                 payload={"changed": sorted(values)})
    return row


async def set_type_defaults(uow: UnitOfWork, account_type_id: int, values: dict[str, Any]
                            ) -> BillingDefaults:
    """Create or change the defaults of an account type; unset terms come from the company."""
    account_type = await load(uow, AccountType, account_type_id, field="account_type_id",
                              what="account type")
    row = await uow.session.scalar(select(BillingDefaults).where(
        BillingDefaults.account_type_id == account_type.id))
    base = row if row is not None else await company_settings(uow, account_type.company_id)
    merged = {k: getattr(base, k) for k in TERMS} | values
    v = Validator()
    _check_terms(v, merged)
    v.raise_if_any()
    now = uow.clock.now()
    if row is None:
        row = BillingDefaults(company_id=account_type.company_id,
                              account_type_id=account_type.id, created_at=now, updated_at=now,
                              **merged)
        uow.session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
        row.updated_at = now
    await uow.session.flush()
    record_event(uow, "billing_defaults.updated", company_id=row.company_id, entity=row,
                 payload={"account_type_id": account_type.id, "changed": sorted(values)})
    return row


async def account_terms(uow: UnitOfWork, account_id: int) -> AccountBilling:
    row = await uow.session.scalar(select(AccountBilling).where(
        AccountBilling.account_id == account_id))
    if row is None:  # accounts created before billing existed
        account = await load(uow, Account, account_id, field="account_id", what="account")
        row = await _create_account_terms(uow, account)
    return row


async def _create_account_terms(uow: UnitOfWork, account: Account) -> AccountBilling:
    defaults = await uow.session.scalar(select(BillingDefaults).where(
        BillingDefaults.account_type_id == account.account_type_id))
    source = defaults or await company_settings(uow, account.company_id)
    now = uow.clock.now()
    row = AccountBilling(company_id=account.company_id, account_id=account.id,
                         created_at=now, updated_at=now,
                         **{k: getattr(source, k) for k in TERMS})
    if row.billing_mode == BillingMode.ANNIVERSARY:
        row.bill_day = account.activation_date.day if account.activation_date else None
    uow.session.add(row)
    await uow.session.flush()
    return row


async def update_account_terms(uow: UnitOfWork, account_id: int, values: dict[str, Any]
                               ) -> AccountBilling:
    """Per-account overrides. A new anchor takes effect from where billing stands: the next
    invoice covers up to the new bill day."""
    row = await account_terms(uow, account_id)
    account = await uow.session.get_one(Account, account_id)
    merged = {k: getattr(row, k) for k in TERMS} | values
    if merged["billing_mode"] == BillingMode.ANNIVERSARY and "billing_mode" in values:
        merged["bill_day"] = values["bill_day"] = (
            account.activation_date.day if account.activation_date else None)
    v = Validator()
    _check_terms(v, merged)
    v.raise_if_any()
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "account.billing_updated", company_id=row.company_id, entity=account,
                 payload={"changed": sorted(values)})
    return row


async def terms_of(uow: UnitOfWork, row: AccountBilling, company_id: int) -> Terms:
    settings = await company_settings(uow, company_id)
    return terms_from(row, settings)


def terms_from(row: Any, settings: BillingSettings) -> Terms:
    return Terms(anchor_day=row.bill_day or 1, in_advance=row.bill_in_advance,
                 prorate=row.prorate, rounding=Rounding(settings.rounding),
                 vacation_billing=VacationBilling(settings.vacation_billing))


async def on_account_created(uow: UnitOfWork, account: Account) -> None:
    """Give a new account its type's terms and, if it is active, its first bill date."""
    row = await _create_account_terms(uow, account)
    status = await uow.session.get_one(AccountStatus, account.account_status_id)
    if status.counts_as_active and account.activation_date is not None:
        terms = await terms_of(uow, row, account.company_id)
        await set_next_bill_date(uow, account, first_bill_date(account.activation_date, terms))


async def on_status_changed(uow: UnitOfWork, account: Account, previous: AccountStatus,
                            status: AccountStatus) -> None:
    """An account becoming active starts (or resumes) billing: a first bill date if it never
    had one; after an inactive spell, billing resumes today and the days away are not
    billed."""
    if not status.counts_as_active or previous.counts_as_active:
        return
    row = await account_terms(uow, account.id)
    company = await company_of(uow, account.company_id)
    today = today_in(uow, company)
    if row.bill_day is None:
        row.bill_day = (account.activation_date or today).day
    terms = await terms_of(uow, row, account.company_id)
    if account.next_bill_date is None:
        await set_next_bill_date(uow, account,
                                 first_bill_date(account.activation_date or today, terms))
    elif account.next_bill_date < today:
        await set_next_bill_date(uow, account, first_bill_date(today, terms))
        # Its services and those of child accounts billed to it; one-time charges not yet
        # billed stay due.
        billed_here = select(Account.id).where(Account.parent_account_id == account.id,
                                               Account.bill_to_parent)
        one_time = select(Service.id).where(Service.kind == "ONE_TIME")
        await uow.session.execute(
            update(AccountService)
            .where(or_(AccountService.account_id == account.id,
                       AccountService.account_id.in_(billed_here)),
                   or_(AccountService.service_id.is_(None),
                       AccountService.service_id.not_in(one_time)),
                   or_(AccountService.billed_until < today,
                       and_(AccountService.billed_until.is_(None),
                            AccountService.start_date < today)))
            .values(billed_until=today).execution_options(synchronize_session=False))
    await uow.session.flush()


async def set_next_bill_date(uow: UnitOfWork, account: Account, day: date) -> None:
    """Billing's own bookkeeping on the account row: written directly (like the run's moves
    of the date), not as a change of the account in its audit trail."""
    await uow.session.execute(update(Account).where(Account.id == account.id)
                              .values(next_bill_date=day)
                              .execution_options(synchronize_session=False))
    set_committed_value(account, "next_bill_date", day)
