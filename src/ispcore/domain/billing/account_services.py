"""Services and packages on accounts, and the changes to them. A change on a day inside a
period already billed (or not billed yet) is settled first (:func:`engine.settle`): the
credits and debits wait as pending charges for the next invoice. Changes on a later day are
scheduled events that run on that day."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, or_, select

from ispcore.db import among
from ispcore.domain.accounts import service as accounts
from ispcore.domain.accounts.models import Account
from ispcore.domain.billing import settings
from ispcore.domain.billing.calendar import Period
from ispcore.domain.billing.catalogue import PackagePricing, ServiceKind
from ispcore.domain.billing.engine import Charge, Charged, Item, Terms, refund, settle
from ispcore.domain.billing.models import (
    AccountService,
    AccountVacation,
    Invoice,
    InvoiceLine,
    InvoiceLineDiscount,
    LedgerEntry,
    Package,
    PackageService,
    PendingCharge,
    Service,
)
from ispcore.domain.billing.money import same_currency, to_minor
from ispcore.domain.common.errors import DomainError, ErrorCode, InUse
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.scheduling import service as scheduling
from ispcore.domain.scheduling.models import ScheduledEvent


def is_billed(row: AccountService, package: Package | None) -> bool:
    """Whether this row is charged itself: a fixed-price package is, its members are not; a
    sum-priced package is not, its members are."""
    if row.package_id is not None:
        return package is not None and package.pricing == PackagePricing.FIXED
    return not (package is not None and package.pricing == PackagePricing.FIXED)


def as_item(row: AccountService, service: Service | None, package: Package | None) -> Item:
    """An account service as the billing engine sees it."""
    if row.package_id is not None:
        assert package is not None
        return Item(row.id, row.account_id, package.name,
                    row.price_override_minor if row.price_override_minor is not None
                    else package.price_minor or 0, row.quantity,
                    package.billing_frequency_months, False, row.start_date, row.end_date,
                    row.billed_until, package.taxable, package.gl_code_id or 0,
                    row.cycles_billed, package_id=package.id)
    assert service is not None
    return Item(row.id, row.account_id, service.name,
                row.price_override_minor if row.price_override_minor is not None
                else service.price_minor, row.quantity, service.billing_frequency_months,
                service.kind == ServiceKind.ONE_TIME, row.start_date, row.end_date,
                row.billed_until, service.taxable, service.gl_code_id, row.cycles_billed,
                service.expires_after_cycles if service.kind == ServiceKind.EXPIRING else None,
                service.vacation_price_minor, service_id=service.id,
                # A sum-priced package's member: its discounts apply.
                package_id=package.id if package is not None else None)


async def payer_of(uow: UnitOfWork, account: Account) -> Account:
    """The account whose invoice carries ``account``'s charges."""
    if account.bill_to_parent and account.parent_account_id is not None:
        return await uow.session.get_one(Account, account.parent_account_id)
    return account


async def billing_context(uow: UnitOfWork, account: Account) -> tuple[Terms, list[Period]]:
    """The terms and vacations ``account``'s items are billed under (its payer's)."""
    payer = await payer_of(uow, account)
    row = await settings.account_terms(uow, payer.id)
    terms = await settings.terms_of(uow, row, payer.company_id)
    vacations = await vacations_of(uow, [payer.id])
    return terms, vacations.get(payer.id, [])


async def vacations_of(uow: UnitOfWork, account_ids: list[int]) -> dict[int, list[Period]]:
    rows = await uow.session.execute(select(
        AccountVacation.account_id, AccountVacation.starts_on, AccountVacation.ends_on).where(
        among(uow.session, AccountVacation.account_id, account_ids)))
    out: dict[int, list[Period]] = {}
    for account_id, starts, ends in rows:
        out.setdefault(account_id, []).append(Period(starts, ends + timedelta(days=1)))
    return out


async def _item(uow: UnitOfWork, row: AccountService) -> Item:
    service = await uow.session.get(Service, row.service_id) if row.service_id else None
    package = None
    if row.package_id is not None:
        package = await uow.session.get(Package, row.package_id)
    elif row.bundle_id is not None:
        bundle = await uow.session.get_one(AccountService, row.bundle_id)
        package = await uow.session.get(Package, bundle.package_id)
    return as_item(row, service, package)


async def _billed_package(uow: UnitOfWork, row: AccountService) -> Package | None:
    bundle = row if row.package_id is not None else (
        await uow.session.get_one(AccountService, row.bundle_id) if row.bundle_id else None)
    return None if bundle is None else await uow.session.get(Package, bundle.package_id)


async def settlement(uow: UnitOfWork, item: Item, payer_id: int, on: date, terms: Terms,
                     vacations: list[Period]) -> list[Charge]:
    """The charges that bring ``item``'s billing to ``on`` (and move its ``billed_until``
    there): days billed ahead are credited from what was actually charged for them; days
    not billed yet are charged at the item's present terms."""
    if (terms.prorate and not item.one_time and item.billed_until is not None
            and on < item.billed_until):
        return refund(item, on, await _charged(uow, item.id, payer_id,
                                               Period(on, item.billed_until)), terms)
    return settle(item, on, terms, vacations)


async def _charged(uow: UnitOfWork, account_service_id: int, payer_id: int, days: Period
                   ) -> list[Charged]:
    """What the account was charged for this service over ``days``: lines of its invoices
    that are not void (drafts included), and charges still pending."""
    line, invoice = InvoiceLine, Invoice
    rows = (await uow.session.execute(
        select(line.id, line.amount_minor, line.period_start, line.period_end,
               line.gl_code_id, line.taxable)
        .join(invoice, invoice.id == line.invoice_id)
        .where(invoice.account_id == payer_id, invoice.status != "VOID",
               line.account_service_id == account_service_id,
               line.period_start < days.end, line.period_end > days.start)
        .order_by(line.id))).all()
    discounts: dict[int, list[tuple[str, int, int]]] = {}
    if rows:
        for line_id, name, gl_code_id, amount in await uow.session.execute(
                select(InvoiceLineDiscount.invoice_line_id, InvoiceLineDiscount.name,
                       InvoiceLineDiscount.gl_code_id, InvoiceLineDiscount.amount_minor)
                .where(InvoiceLineDiscount.invoice_line_id.in_([r.id for r in rows]))):
            discounts.setdefault(line_id, []).append((name, gl_code_id, amount))
    charged = [Charged(r.amount_minor, Period(r.period_start, r.period_end), r.gl_code_id,
                       r.taxable, tuple(discounts.get(r.id, ()))) for r in rows]
    pending = PendingCharge
    for amount, start, end, gl_code_id, taxable in await uow.session.execute(
            select(pending.amount_minor, pending.period_start, pending.period_end,
                   pending.gl_code_id, pending.taxable)
            .where(pending.account_service_id == account_service_id,
                   pending.invoice_id.is_(None), pending.period_start < days.end,
                   pending.period_end > days.start)):
        charged.append(Charged(amount, Period(start, end), gl_code_id, taxable))
    return charged


async def _settle(uow: UnitOfWork, row: AccountService, on: date) -> list[Charge]:
    """Settle ``row`` at ``on`` if it is billed itself; the charges are saved as pending."""
    if not is_billed(row, await _billed_package(uow, row)):
        return []
    account = await uow.session.get_one(Account, row.account_id)
    payer = await payer_of(uow, account)
    terms, vacations = await billing_context(uow, account)
    item = await _item(uow, row)
    charges = await settlement(uow, item, payer.id, on, terms, vacations)
    row.billed_until, row.cycles_billed = item.billed_until, item.cycles_billed
    now = uow.clock.now()
    for c in charges:
        uow.session.add(PendingCharge(
            company_id=row.company_id, account_id=c.account_id, account_service_id=row.id,
            service_id=c.service_id, package_id=c.package_id, description=c.description[:300],
            quantity=c.quantity, unit_price_minor=c.unit_price, amount_minor=c.amount,
            gl_code_id=c.gl_code_id, taxable=c.taxable,
            period_start=c.period.start if c.period else None,
            period_end=c.period.end if c.period else None, created_at=now))
    await uow.session.flush()
    return charges


async def resettle_from(uow: UnitOfWork, account: Account, day: date) -> None:
    """Bring every service the account pays for (its own and its billed-to-it children's)
    back to ``day`` where it was billed beyond it: a vacation added or removed over days
    already billed is then billed again, by the run, under the new terms."""
    await uow.session.execute(select(Account.id).where(Account.id == account.id)
                              .with_for_update())
    payer_of_children = select(Account.id).where(Account.parent_account_id == account.id,
                                                 Account.bill_to_parent)
    rows = await uow.session.scalars(select(AccountService).where(
        or_(AccountService.account_id == account.id,
            AccountService.account_id.in_(payer_of_children)),
        AccountService.billed_until > day))
    for row in list(rows):
        await _settle(uow, row, max(day, row.start_date))


async def _account_and_today(uow: UnitOfWork, account_id: int) -> tuple[Account, date]:
    account = await accounts.get_account(uow, account_id)
    company = await company_of(uow, account.company_id)
    return account, today_in(uow, company)


def _check_start(account: Account, start: date) -> None:
    if account.activation_date is not None and start < account.activation_date:
        raise DomainError(f"The account was activated on {account.activation_date.isoformat()}"
                          "; a service cannot start before that.", field="start_date")


def check_quantity(quantity: int | None) -> int:
    if quantity is None:
        return 1
    if not 1 <= quantity <= 1_000_000:
        raise DomainError("A quantity is between 1 and 1,000,000.", field="quantity")
    return quantity


async def add_service(uow: UnitOfWork, values: dict[str, Any]) -> AccountService:
    account, today = await _account_and_today(uow, values["account_id"])
    company = await company_of(uow, account.company_id)
    service = await load(uow, Service, values["service_id"], field="service_id",
                         what="service", company_id=account.company_id)
    if not service.active:
        raise DomainError(f"{service.name} is not active; it cannot be added.",
                          field="service_id")
    quantity = check_quantity(values.get("quantity"))
    override = values.get("price_override")
    same_currency(values.get("currency"), company.currency)
    start = values.get("start_date") or today
    _check_start(account, start)
    now = uow.clock.now()
    row = AccountService(
        company_id=account.company_id, account_id=account.id, service_id=service.id,
        quantity=quantity, start_date=start, created_at=now, updated_at=now,
        price_override_minor=None if override is None else to_minor(
            override, company.currency, field="price_override"))
    uow.session.add(row)
    await uow.session.flush()
    record_event(uow, "account_service.added", company_id=account.company_id, entity=row,
                 payload={"account_id": account.id, "service_id": service.id,
                          "quantity": quantity, "start_date": start.isoformat()})
    return row


async def add_package(uow: UnitOfWork, values: dict[str, Any]) -> AccountService:
    account, today = await _account_and_today(uow, values["account_id"])
    package = await load(uow, Package, values["package_id"], field="package_id",
                         what="package", company_id=account.company_id)
    if not package.active:
        raise DomainError(f"{package.name} is not active; it cannot be added.",
                          field="package_id")
    quantity = check_quantity(values.get("quantity"))
    start = values.get("start_date") or today
    _check_start(account, start)
    now = uow.clock.now()
    row = AccountService(company_id=account.company_id, account_id=account.id,
                         package_id=package.id, quantity=quantity, start_date=start,
                         created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    members = await uow.session.execute(select(PackageService.service_id,
                                               PackageService.quantity)
                                        .where(PackageService.package_id == package.id))
    for service_id, each in members:
        uow.session.add(AccountService(
            company_id=account.company_id, account_id=account.id, service_id=service_id,
            bundle_id=row.id, quantity=each * quantity, start_date=start, created_at=now,
            updated_at=now))
    await uow.session.flush()
    record_event(uow, "account_service.added", company_id=account.company_id, entity=row,
                 payload={"account_id": account.id, "package_id": package.id,
                          "quantity": quantity, "start_date": start.isoformat()})
    return row


async def _row(uow: UnitOfWork, pk: int) -> AccountService:
    """The account service to change, read after locking its payer's account row: a billing
    run holds that lock while it bills the account, so a change waits for the run's batch
    and then sees where billing stands (and the run never overwrites a change)."""
    row = await load(uow, AccountService, pk, field="account_service_id",
                     what="account service")
    account = await uow.session.get_one(Account, row.account_id)
    payer_id = (account.parent_account_id if account.bill_to_parent
                and account.parent_account_id is not None else account.id)
    await uow.session.execute(select(Account.id).where(Account.id == payer_id)
                              .with_for_update())
    await uow.session.refresh(row)
    if row.bundle_id is not None:
        raise DomainError("This service came with a package; change the package instead.",
                          field="account_service_id")
    return row


async def _members(uow: UnitOfWork, row: AccountService) -> list[AccountService]:
    return list(await uow.session.scalars(select(AccountService).where(
        AccountService.bundle_id == row.id)))


def _when(day: date | None, today: date) -> date:
    return day or today


async def _schedule_or_none(uow: UnitOfWork, row: AccountService, action: str, day: date,
                            today: date, params: dict[str, Any]) -> ScheduledEvent | None:
    if day > today:
        return await scheduling.schedule(uow, row.account_id, action, day,
                                         {"account_service_id": row.id, **params})
    return None


async def remove(uow: UnitOfWork, pk: int, day: date | None
                 ) -> tuple[AccountService, ScheduledEvent | None]:
    """Remove on ``day`` (today if omitted; a later day is scheduled)."""
    row = await _row(uow, pk)
    _account, today = await _account_and_today(uow, row.account_id)
    on = _when(day, today)
    _check_removable(row, on)
    event = await _schedule_or_none(uow, row, "REMOVE_SERVICE", on, today, {})
    if event is None:
        await remove_now(uow, row, on)
    return row, event


def _check_removable(row: AccountService, on: date) -> None:
    if row.end_date is not None:
        raise DomainError(f"The service was already removed on {row.end_date.isoformat()}.",
                          field="account_service_id")
    if on < row.start_date:
        raise DomainError("A service cannot be removed before it starts "
                          f"({row.start_date.isoformat()}).", field="date")


#: Called after a service (or package) leaves an account, with its row.
ENDED_HOOKS: list[Callable[[UnitOfWork, AccountService], Awaitable[None]]] = []


async def remove_now(uow: UnitOfWork, row: AccountService, on: date) -> None:
    _check_removable(row, on)
    for member in [row, *await _members(uow, row)]:
        await _settle(uow, member, on)
        member.end_date = on
        member.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "account_service.removed", company_id=row.company_id, entity=row,
                 payload={"account_id": row.account_id, "date": on.isoformat()})
    for hook in ENDED_HOOKS:
        await hook(uow, row)


def _check_open(row: AccountService, on: date) -> None:
    if row.end_date is not None and on >= row.end_date:
        raise DomainError("The service is removed by then.", field="account_service_id")
    if on < row.start_date:
        raise DomainError("A change cannot take effect before the service starts "
                          f"({row.start_date.isoformat()}).", field="date")


async def change_quantity(uow: UnitOfWork, pk: int, quantity: int, day: date | None
                          ) -> tuple[AccountService, ScheduledEvent | None]:
    row = await _row(uow, pk)
    quantity = check_quantity(quantity)
    _account, today = await _account_and_today(uow, row.account_id)
    on = _when(day, today)
    _check_open(row, on)
    event = await _schedule_or_none(uow, row, "CHANGE_SERVICE_QUANTITY", on, today,
                                    {"quantity": quantity})
    if event is None:
        await change_quantity_now(uow, row, quantity, on)
    return row, event


async def change_quantity_now(uow: UnitOfWork, row: AccountService, quantity: int, on: date
                              ) -> None:
    _check_open(row, on)
    if quantity == row.quantity:
        raise DomainError(f"The quantity is already {quantity}.", field="quantity")
    members = await _members(uow, row)
    factor_old = row.quantity
    for target in [row, *members]:
        await _settle(uow, target, on)
        target.quantity = target.quantity // factor_old * quantity
        target.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "account_service.changed", company_id=row.company_id, entity=row,
                 payload={"account_id": row.account_id, "quantity": quantity,
                          "date": on.isoformat()})


async def change_price(uow: UnitOfWork, pk: int, price: Any, day: date | None,
                       currency: str | None = None
                       ) -> tuple[AccountService, ScheduledEvent | None]:
    """Set (or, with ``price`` None, clear) the price override from ``day``."""
    row = await _row(uow, pk)
    account, today = await _account_and_today(uow, row.account_id)
    company = await company_of(uow, account.company_id)
    same_currency(currency, company.currency)
    minor = None if price is None else to_minor(price, company.currency, field="price_override")
    on = _when(day, today)
    _check_open(row, on)
    event = await _schedule_or_none(uow, row, "CHANGE_SERVICE_PRICE", on, today,
                                    {"price_override_minor": minor})
    if event is None:
        await change_price_now(uow, row, minor, on)
    return row, event


async def change_price_now(uow: UnitOfWork, row: AccountService, minor: int | None, on: date
                           ) -> None:
    _check_open(row, on)
    if row.package_id is not None:
        package = await uow.session.get_one(Package, row.package_id)
        if package.pricing != PackagePricing.FIXED:
            raise DomainError("A package priced as the sum of its services has no price to "
                              "override.", field="price_override")
    await _settle(uow, row, on)
    row.price_override_minor = minor
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "account_service.changed", company_id=row.company_id, entity=row,
                 payload={"account_id": row.account_id, "price_override_minor": minor,
                          "date": on.isoformat()})


# --- scheduled actions --------------------------------------------------------------------

async def _scheduled_row(uow: UnitOfWork, account: Account, params: dict[str, Any]
                         ) -> AccountService:
    row = await _row(uow, params.get("account_service_id"))  # type: ignore[arg-type]
    if row.account_id != account.id:
        raise DomainError("That service is on another account.", field="account_service_id",
                          code=ErrorCode.INVALID)
    return row


async def _check_removal(uow: UnitOfWork, account: Account, params: dict[str, Any]
                         ) -> dict[str, Any]:
    row = await _scheduled_row(uow, account, params)
    if row.end_date is not None:
        raise DomainError("The service is already removed.", field="account_service_id")
    return {"account_service_id": row.id}


async def _run_removal(uow: UnitOfWork, event: ScheduledEvent) -> str:
    row = await _row(uow, event.parameters["account_service_id"])
    await remove_now(uow, row, event.run_on)
    return "Service removed."


async def _check_quantity(uow: UnitOfWork, account: Account, params: dict[str, Any]
                          ) -> dict[str, Any]:
    row = await _scheduled_row(uow, account, params)
    return {"account_service_id": row.id,
            "quantity": check_quantity(params.get("quantity"))}


async def _run_quantity(uow: UnitOfWork, event: ScheduledEvent) -> str:
    row = await _row(uow, event.parameters["account_service_id"])
    await change_quantity_now(uow, row, event.parameters["quantity"], event.run_on)
    return f"Quantity changed to {event.parameters['quantity']}."


async def _check_price(uow: UnitOfWork, account: Account, params: dict[str, Any]
                       ) -> dict[str, Any]:
    row = await _scheduled_row(uow, account, params)
    minor = params.get("price_override_minor")
    if minor is not None and (not isinstance(minor, int) or minor < 0):
        raise DomainError("A price cannot be negative.", field="price_override")
    return {"account_service_id": row.id, "price_override_minor": minor}


async def _run_price(uow: UnitOfWork, event: ScheduledEvent) -> str:
    row = await _row(uow, event.parameters["account_service_id"])
    await change_price_now(uow, row, event.parameters["price_override_minor"], event.run_on)
    return "Price changed."


scheduling.ACTIONS["REMOVE_SERVICE"] = scheduling.Action(_check_removal, _run_removal)
scheduling.ACTIONS["CHANGE_SERVICE_QUANTITY"] = scheduling.Action(_check_quantity,
                                                                  _run_quantity)
scheduling.ACTIONS["CHANGE_SERVICE_PRICE"] = scheduling.Action(_check_price, _run_price)
accounts.ACCOUNT_CREATED_HOOKS.append(settings.on_account_created)
accounts.ACCOUNT_STATUS_HOOKS.append(settings.on_status_changed)


async def _keep_billed_accounts(uow: UnitOfWork, account: Account) -> None:
    for model, what in ((Invoice, "invoice"), (LedgerEntry, "ledger entry")):
        count = await uow.session.scalar(select(func.count()).select_from(model).where(
            model.account_id == account.id))
        if count:
            raise InUse(f"The account has {count} {what}(s); its money history stays. "
                        "Disconnect it instead.", field="id")


accounts.ACCOUNT_DELETE_CHECKS.append(_keep_billed_accounts)
