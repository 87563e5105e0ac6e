"""Where taxes come from. The built-in engine applies the company's own rate table by the
account's address; an external engine (Avalara, say) implements :class:`TaxEngine` and is
set as ``billing.tax_engine.ENGINE``: it receives the bills' lines and fills their taxes."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from sqlalchemy import select

from ispcore.db import among
from ispcore.domain.addresses.models import (
    AccountPostalAddress,
    AddressOccupancy,
    ServiceableAddress,
)
from ispcore.domain.billing.engine import Line, levy
from ispcore.domain.billing.models import TaxExemption, TaxRate
from ispcore.domain.billing.money import Rounding
from ispcore.domain.billing.plans import Catalogue
from ispcore.domain.billing.taxes import Place, Rate, rates_for
from ispcore.domain.common.unit_of_work import UnitOfWork


class TaxEngine(Protocol):
    async def levy(self, uow: UnitOfWork, catalogue: Catalogue,
                   invoices: list[tuple[int, list[Line]]], on: date) -> None:
        """Set the taxes of every line of ``invoices`` ((account id, lines) pairs, dated
        ``on``)."""


async def places_of(uow: UnitOfWork, catalogue: Catalogue, account_ids: list[int]
                    ) -> dict[int, Place]:
    """Where each account is taxed: its physical (serviceable) address, else its billing,
    else its mailing address, else the company's own."""
    conn = await uow.session.connection()
    places: dict[int, Place] = {}
    for account_id, country, subdivision in await conn.execute(
            select(AddressOccupancy.account_id, ServiceableAddress.country,
                   ServiceableAddress.subdivision)
            .join(ServiceableAddress,
                  ServiceableAddress.id == AddressOccupancy.serviceable_address_id)
            .where(among(uow.session, AddressOccupancy.account_id, account_ids),
                   AddressOccupancy.moved_out_on.is_(None))):
        places[account_id] = Place(country, subdivision)
    missing = [pk for pk in account_ids if pk not in places]
    if missing:
        postal = {}
        for account_id, kind, country, subdivision in await conn.execute(
                select(AccountPostalAddress.account_id, AccountPostalAddress.kind,
                       AccountPostalAddress.country, AccountPostalAddress.subdivision)
                .where(among(uow.session, AccountPostalAddress.account_id, missing))):
            if kind == "BILLING" or account_id not in postal:
                postal[account_id] = Place(country, subdivision)
        company = catalogue.company
        for pk in missing:
            places[pk] = postal.get(pk, Place(company.country, company.subdivision))
    return places


class RateTable:
    """The company's tax rates, by jurisdiction, less each account's exemptions."""

    async def levy(self, uow: UnitOfWork, catalogue: Catalogue,
                   invoices: list[tuple[int, list[Line]]], on: date) -> None:
        if not invoices:
            return
        rates = [Rate(r.id, r.name, r.rate_scaled, r.gl_code_id, r.country, r.subdivision)
                 for r in await uow.session.scalars(select(TaxRate).where(
                     TaxRate.company_id == catalogue.company.id, TaxRate.active.is_(True))
                     .order_by(TaxRate.id))]
        ids = [account_id for account_id, _lines in invoices]
        exempt: dict[int, dict[int, date | None]] = {}
        if rates:
            conn = await uow.session.connection()
            for account_id, rate_id, expires_on in await conn.execute(
                    select(TaxExemption.account_id, TaxExemption.tax_rate_id,
                           TaxExemption.expires_on)
                    .where(among(uow.session, TaxExemption.account_id, ids))):
                exempt.setdefault(account_id, {})[rate_id] = expires_on
        places = await places_of(uow, catalogue, ids) if rates else {}
        rule = Rounding(catalogue.settings.rounding)
        for account_id, lines in invoices:
            applicable = (rates_for(places[account_id], rates, exempt.get(account_id, {}), on)
                          if rates else [])
            levy(lines, applicable, rule)


ENGINE: TaxEngine = RateTable()
