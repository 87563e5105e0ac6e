"""The billing calculator: the lines of an account's next invoice, as things stand or with
proposed changes, computed with the billing run's own rules and nothing written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ispcore.domain.accounts import service as accounts
from ispcore.domain.billing import tax_engine
from ispcore.domain.billing.account_services import check_quantity, payer_of, settlement
from ispcore.domain.billing.catalogue import PackagePricing, ServiceKind
from ispcore.domain.billing.engine import Bill, Item, Plan, bill
from ispcore.domain.billing.models import AccountService, Package, Service
from ispcore.domain.billing.money import to_minor
from ispcore.domain.billing.plans import load_catalogue, load_plans
from ispcore.domain.common.errors import DomainError, nested
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork


class ChangeKind(StrEnum):
    ADD_SERVICE = "ADD_SERVICE"
    REMOVE_SERVICE = "REMOVE_SERVICE"
    CHANGE_QUANTITY = "CHANGE_QUANTITY"
    CHANGE_PRICE = "CHANGE_PRICE"


@dataclass
class Change:
    kind: ChangeKind
    service_id: int | None = None
    account_service_id: int | None = None
    quantity: int | None = None
    price: Decimal | None = None
    date: date | None = None


async def quote(uow: UnitOfWork, account_id: int, changes: list[Change],
                on: date | None) -> Bill:
    account = await accounts.get_account(uow, account_id)
    payer = await payer_of(uow, account)
    company = await company_of(uow, account.company_id)
    today = today_in(uow, company)
    bill_on = on or payer.next_bill_date
    if bill_on is None:
        raise DomainError("The account has no next bill date (it is not active); give a "
                          "date to quote for.", field="date")
    catalogue = await load_catalogue(uow, company.id)
    payers = await load_plans(uow, catalogue, [payer.id], on=bill_on)
    if not payers:
        raise DomainError("The account has no billing terms yet.", field="account_id")
    plan = payers[0].plan
    for index, change in enumerate(changes):
        try:
            await _apply(uow, plan, account.id, company, change, change.date or today,
                         -1 - index)
        except DomainError as exc:
            raise nested(exc, f"changes.{index}") from None
    result = bill(plan)
    await tax_engine.ENGINE.levy(uow, catalogue, [(payer.id, result.lines)], bill_on)
    return result


async def _apply(uow: UnitOfWork, plan: Plan, account_id: int, company: Any, change: Change,
                 day: date, new_id: int) -> None:
    """Apply ``change`` to ``plan`` in memory, by the same rules as the real commands."""
    currency = company.currency
    if change.kind is ChangeKind.ADD_SERVICE:
        service = await load(uow, Service, change.service_id, field="service_id",
                             what="service", company_id=company.id)
        if not service.active:
            raise DomainError(f"{service.name} is not active.", field="service_id")
        price = (service.price_minor if change.price is None
                 else to_minor(change.price, currency, field="price"))
        plan.items.append(Item(
            new_id, account_id, service.name, price, check_quantity(change.quantity),
            service.billing_frequency_months, service.kind == ServiceKind.ONE_TIME, day, None,
            None, service.taxable, service.gl_code_id,
            max_cycles=service.expires_after_cycles if service.kind == ServiceKind.EXPIRING
            else None, vacation_price=service.vacation_price_minor, service_id=service.id))
        return
    row = await load(uow, AccountService, change.account_service_id,
                     field="account_service_id", what="account service")
    if change.kind is ChangeKind.CHANGE_QUANTITY:
        quantity = check_quantity(change.quantity)
    if change.kind is ChangeKind.CHANGE_PRICE:
        price = await _new_price(uow, row, change.price, currency)
    per_package = await _quantities_per_package(uow, row)
    for item in _targets(plan, row, set(per_package)):
        plan.charges += await settlement(uow, item, plan.account_id, day, plan.terms,
                                         plan.vacations)
        if change.kind is ChangeKind.REMOVE_SERVICE:
            item.end = day
        elif change.kind is ChangeKind.CHANGE_QUANTITY:
            item.quantity = per_package.get(item.id, 1) * quantity
        else:
            item.unit_price = price


async def _new_price(uow: UnitOfWork, row: AccountService, price: Decimal | None,
                     currency: str) -> int:
    """The unit price after a price change: the override, or the catalogue's without one."""
    if row.package_id is not None:
        package = await uow.session.get_one(Package, row.package_id)
        if package.pricing != PackagePricing.FIXED:
            raise DomainError("A package priced as the sum of its services has no price to "
                              "override.", field="price")
        catalogue_price = package.price_minor or 0
    else:
        catalogue_price = (await uow.session.get_one(Service, row.service_id)).price_minor
    return catalogue_price if price is None else to_minor(price, currency, field="price")


async def _quantities_per_package(uow: UnitOfWork, row: AccountService) -> dict[int, int]:
    """A package's member rows and how many of each one package holds (none for a service):
    a quantity change multiplies these, however often it is quoted."""
    members = await uow.session.execute(
        select(AccountService.id, AccountService.quantity)
        .where(AccountService.bundle_id == row.id))
    return {pk: quantity // row.quantity for pk, quantity in members}


def _targets(plan: Plan, row: AccountService, members: set[int]) -> list[Item]:
    """The plan's items a change to ``row`` touches (a sum-priced package's are its
    members)."""
    found = [item for item in plan.items if item.id in {row.id} | members]
    if not found:
        raise DomainError("That service is not billed on this account (removed, or on "
                          "another account).", field="account_service_id")
    return found
