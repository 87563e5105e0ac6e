"""What else shapes an account's bill: discounts given to it, tax exemptions and vacations."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.accounts import service as accounts
from ispcore.domain.billing.account_services import resettle_from
from ispcore.domain.billing.models import (
    AccountDiscount,
    AccountVacation,
    Discount,
    TaxExemption,
    TaxRate,
)
from ispcore.domain.common.errors import DomainError, Duplicate
from ispcore.domain.common.records import load
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event


async def give_discount(uow: UnitOfWork, values: dict[str, Any]) -> AccountDiscount:
    account = await accounts.get_account(uow, values["account_id"])
    discount = await load(uow, Discount, values["discount_id"], field="discount_id",
                          what="discount", company_id=account.company_id)
    if not discount.active:
        raise DomainError(f"{discount.name} is not active.", field="discount_id")
    cycles = values.get("cycles")
    if cycles is not None and cycles < 1:
        raise DomainError("A discount applies to at least 1 invoice.", field="cycles")
    now = uow.clock.now()
    row = AccountDiscount(company_id=account.company_id, account_id=account.id,
                          discount_id=discount.id, cycles=cycles, until=values.get("until"),
                          created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    record_event(uow, "account_discount.added", company_id=account.company_id, entity=row,
                 payload={"account_id": account.id, "discount_id": discount.id})
    return row


async def take_discount_back(uow: UnitOfWork, pk: int) -> AccountDiscount:
    row = await load(uow, AccountDiscount, pk, field="id", what="account discount")
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, "account_discount.removed", company_id=row.company_id,
                 payload={"id": pk, "account_id": row.account_id})
    return row


async def exempt(uow: UnitOfWork, values: dict[str, Any]) -> TaxExemption:
    """Exempt an account from a tax rate (until ``expires_on``, inclusive, if given)."""
    account = await accounts.get_account(uow, values["account_id"])
    rate = await load(uow, TaxRate, values["tax_rate_id"], field="tax_rate_id",
                      what="tax rate", company_id=account.company_id)
    taken = await uow.session.scalar(select(func.count()).select_from(TaxExemption).where(
        TaxExemption.account_id == account.id, TaxExemption.tax_rate_id == rate.id))
    if taken:
        raise Duplicate(f"The account is already exempt from {rate.name}; change that "
                        "exemption.", field="tax_rate_id")
    now = uow.clock.now()
    row = TaxExemption(company_id=account.company_id, account_id=account.id,
                       tax_rate_id=rate.id, expires_on=values.get("expires_on"),
                       reason=(values.get("reason") or "").strip()[:500], created_at=now,
                       updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    record_event(uow, "tax_exemption.created", company_id=account.company_id, entity=row,
                 payload={"account_id": account.id, "tax_rate_id": rate.id})
    return row


async def change_exemption(uow: UnitOfWork, pk: int, values: dict[str, Any]) -> TaxExemption:
    row = await load(uow, TaxExemption, pk, field="id", what="tax exemption")
    if "expires_on" in values:
        row.expires_on = values["expires_on"]
    if values.get("reason") is not None:
        row.reason = values["reason"].strip()[:500]
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "tax_exemption.updated", company_id=row.company_id, entity=row,
                 payload={"changed": sorted(values)})
    return row


async def remove_exemption(uow: UnitOfWork, pk: int) -> TaxExemption:
    row = await load(uow, TaxExemption, pk, field="id", what="tax exemption")
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, "tax_exemption.deleted", company_id=row.company_id,
                 payload={"id": pk, "account_id": row.account_id})
    return row


async def add_vacation(uow: UnitOfWork, values: dict[str, Any]) -> AccountVacation:
    """Days away, both ends included; vacations of one account do not overlap."""
    account = await accounts.get_account(uow, values["account_id"])
    if account.bill_to_parent and account.parent_account_id is not None:
        raise DomainError("This account is billed to its parent; vacations are set on the "
                          "account that is billed.", field="account_id")
    starts: date = values["starts_on"]
    ends: date = values["ends_on"]
    if ends < starts:
        raise DomainError("A vacation ends on or after the day it starts.", field="ends_on")
    overlapping = await uow.session.scalar(select(func.count()).select_from(AccountVacation)
                                           .where(AccountVacation.account_id == account.id,
                                                  AccountVacation.starts_on <= ends,
                                                  AccountVacation.ends_on >= starts))
    if overlapping:
        raise DomainError("The account already has a vacation on some of those days.",
                          field="starts_on")
    now = uow.clock.now()
    row = AccountVacation(company_id=account.company_id, account_id=account.id,
                          starts_on=starts, ends_on=ends, created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    await resettle_from(uow, account, starts)
    record_event(uow, "account_vacation.created", company_id=account.company_id, entity=row,
                 payload={"account_id": account.id, "starts_on": starts.isoformat(),
                          "ends_on": ends.isoformat()})
    return row


async def remove_vacation(uow: UnitOfWork, pk: int) -> AccountVacation:
    row = await load(uow, AccountVacation, pk, field="id", what="vacation")
    await uow.session.delete(row)
    await uow.session.flush()
    await resettle_from(uow, await accounts.get_account(uow, row.account_id), row.starts_on)
    record_event(uow, "account_vacation.deleted", company_id=row.company_id,
                 payload={"id": pk, "account_id": row.account_id})
    return row
