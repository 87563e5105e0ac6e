"""Loading billing plans for many accounts at once: a few set-based queries per batch, no
ORM objects, so a run's memory and round trips do not grow with the accounts in a batch."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, or_, select

from ispcore.db import among
from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.billing.account_services import as_item, is_billed, vacations_of
from ispcore.domain.billing.calendar import Period
from ispcore.domain.billing.engine import Charge, Grant, Plan
from ispcore.domain.billing.fees import paper_fee_charges, paper_invoice_fee
from ispcore.domain.billing.models import (
    AccountBilling,
    AccountDiscount,
    AccountService,
    BillingSettings,
    Discount,
    InvoiceMessage,
    Package,
    PendingCharge,
    Service,
)
from ispcore.domain.billing.settings import company_settings, terms_from
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company


@dataclass
class Catalogue:
    """A company's services, packages and settings, loaded once per run."""

    company: Company
    settings: BillingSettings
    services: dict[int, Any]
    packages: dict[int, Any]
    messages: list[InvoiceMessage]
    #: (amount, ledger code) of the printed invoice fee, if the company charges one.
    paper_fee: tuple[int, int] | None = None

    def message_for(self, account_type_id: int, on: date) -> str:
        """Every message in force on ``on`` for the account type: its own first."""
        found = [m for m in self.messages
                 if m.account_type_id in (None, account_type_id)
                 and (m.starts_on is None or m.starts_on <= on)
                 and (m.ends_on is None or on <= m.ends_on)]
        found.sort(key=lambda m: (m.account_type_id is None, m.id))
        return "\n\n".join(m.message for m in found)


@dataclass
class Payer:
    """An account to invoice, its plan and the accounts whose charges it carries."""

    account_id: int
    account_type_id: int
    due_days: int
    plan: Plan
    member_ids: list[int] = field(default_factory=list)


async def load_catalogue(uow: UnitOfWork, company_id: int) -> Catalogue:
    session = uow.session
    company = await session.get_one(Company, company_id)
    settings = await company_settings(uow, company_id, create=False)
    conn = await session.connection()
    # Plain objects, not ORM ones: a run reads their attributes for every line.
    services = {s.id: SimpleNamespace(**s._mapping) for s in await conn.execute(
        select(Service).where(Service.company_id == company_id))}
    packages = {p.id: SimpleNamespace(**p._mapping) for p in await conn.execute(
        select(Package).where(Package.company_id == company_id))}
    messages = list(await session.scalars(select(InvoiceMessage).where(
        InvoiceMessage.company_id == company_id)))
    return Catalogue(company, settings, services, packages, messages,
                     await paper_invoice_fee(uow, company_id))


async def load_plans(uow: UnitOfWork, catalogue: Catalogue, account_ids: list[int],
                     on: date | None = None) -> list[Payer]:
    """Plans for ``account_ids`` (payers), billed on their next bill date (or ``on``)."""
    session = uow.session
    conn = await session.connection()
    rows = (await conn.execute(
        select(Account.id, Account.account_type_id, Account.next_bill_date,
               AccountBilling.billing_mode, AccountBilling.bill_day, AccountBilling.due_days,
               AccountBilling.bill_in_advance, AccountBilling.prorate, AccountBilling.grace_days,
               AccountBilling.paper_invoices)
        .join(AccountBilling, AccountBilling.account_id == Account.id)
        .where(among(session, Account.id, account_ids)).order_by(Account.id))).all()
    children: dict[int, list[int]] = defaultdict(list)
    for child_id, parent_id in await conn.execute(
            select(Account.id, Account.parent_account_id)
            .join(AccountStatus, AccountStatus.id == Account.account_status_id)
            .where(among(session, Account.parent_account_id, account_ids),
                   Account.bill_to_parent, AccountStatus.counts_as_active.is_(True))):
        children[parent_id].append(child_id)
    everyone = list(account_ids) + [c for ids in children.values() for c in ids]
    items = await _items(uow, catalogue, everyone)
    charges = await _charges(uow, everyone)
    grants = await _grants(uow, everyone)
    vacations = await vacations_of(uow, list(account_ids))
    payers = []
    for row in rows:
        members = [row.id, *children.get(row.id, [])]
        terms = terms_from(row, catalogue.settings)
        plan = Plan(row.id, on or row.next_bill_date, terms,
                    [i for m in members for i in items.get(m, [])],
                    [c for m in members for c in charges.get(m, [])],
                    [g for m in members for g in grants.get(m, [])],
                    vacations.get(row.id, []),
                    paper_fee_charges(row.id, catalogue.paper_fee) if row.paper_invoices
                    else [])
        payers.append(Payer(row.id, row.account_type_id, row.due_days, plan, members))
    return payers


async def _items(uow: UnitOfWork, catalogue: Catalogue, account_ids: list[int]
                 ) -> dict[int, list[Any]]:
    """Items still to bill: not ended, or ended after the day their billing has reached."""
    a = AccountService
    conn = await uow.session.connection()
    rows = (await conn.execute(
        select(a.id, a.account_id, a.service_id, a.package_id, a.bundle_id, a.quantity,
               a.price_override_minor, a.start_date, a.end_date, a.billed_until,
               a.cycles_billed)
        .where(among(uow.session, a.account_id, account_ids),
               or_(a.end_date.is_(None), a.billed_until.is_(None),
                   a.end_date > a.billed_until))
        .order_by(a.id))).all()
    bundles = {r.id: r.package_id for r in rows if r.package_id is not None}
    out: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        package = catalogue.packages.get(row.package_id or bundles.get(row.bundle_id or 0, 0))
        if not is_billed(row, package):
            continue
        service = catalogue.services.get(row.service_id) if row.service_id else None
        out[row.account_id].append(as_item(row, service, package))
    return out


async def _charges(uow: UnitOfWork, account_ids: list[int]) -> dict[int, list[Charge]]:
    p = PendingCharge
    out: dict[int, list[Charge]] = defaultdict(list)
    conn = await uow.session.connection()
    for r in await conn.execute(select(
            p.id, p.account_id, p.description, p.amount_minor, p.quantity, p.unit_price_minor,
            p.gl_code_id, p.taxable, p.period_start, p.period_end, p.account_service_id,
            p.service_id, p.package_id, p.usage_period_id).where(
                among(uow.session, p.account_id, account_ids),
                p.invoice_id.is_(None)).order_by(p.id)):
        period = Period(r.period_start, r.period_end) if r.period_start and r.period_end else None
        out[r.account_id].append(Charge(
            r.id, r.account_id, r.description, r.amount_minor, r.quantity, r.unit_price_minor,
            r.gl_code_id, r.taxable, period, r.account_service_id, r.service_id, r.package_id,
            r.usage_period_id))
    return out


async def _grants(uow: UnitOfWork, account_ids: list[int]) -> dict[int, list[Grant]]:
    a, d = AccountDiscount, Discount
    out: dict[int, list[Grant]] = defaultdict(list)
    conn = await uow.session.connection()
    for r in await conn.execute(
            select(a.id, a.account_id, d.name, d.gl_code_id, d.percent_scaled, d.amount_minor,
                   d.service_id, d.package_id, a.cycles, a.cycles_applied, a.until)
            .join(d, d.id == a.discount_id)
            .where(among(uow.session, a.account_id, account_ids),
                   or_(a.cycles.is_(None), a.cycles_applied < a.cycles),
                   and_(d.active.is_(True)))
            .order_by(a.id)):
        out[r.account_id].append(Grant(r.id, r.account_id, r.name, r.gl_code_id,
                                       r.percent_scaled, r.amount_minor, r.service_id,
                                       r.package_id, r.cycles, r.cycles_applied, r.until))
    return out
