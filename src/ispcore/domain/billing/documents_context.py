"""What an invoice template is filled with, read in a few set-based queries however many
invoices are printed together. See ``templates/invoice.html`` for the names a template uses."""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import select

from ispcore.db import among
from ispcore.domain.accounts.models import Account
from ispcore.domain.addresses.models import (
    AccountPostalAddress,
    AddressOccupancy,
    ServiceableAddress,
)
from ispcore.domain.billing.documents_models import InvoiceTemplate
from ispcore.domain.billing.documents_render import amount
from ispcore.domain.billing.ledger import balances
from ispcore.domain.billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceLineDiscount,
    InvoiceLineTax,
    TaxRate,
)
from ispcore.domain.billing.money import exponent
from ispcore.domain.billing.taxes import RATE_SCALE
from ispcore.domain.common.decimals import percent
from ispcore.domain.usage.invoice_usage import InvoiceUsage, usage_of_invoices
from ispcore.domain.usage.overage import GB, format_gb

#: Statuses printed with a watermark.
MARKS = {"DRAFT": "DRAFT", "VOID": "VOID"}


def _address_lines(line1: str | None, line2: str | None, city: str | None,
                   subdivision: str | None, postal_code: str | None, country: str | None,
                   home_country: str | None) -> list[str]:
    """A postal address as printed; the country only when it is not the company's."""
    region = " ".join(p for p in (subdivision, postal_code) if p)
    lines = [line1, line2, ", ".join(p for p in (city, region) if p),
             country if country != home_country else None]
    return [line for line in lines if line]


def _postal_lines(row: Any, home_country: str | None) -> list[str]:
    if row is None:
        return []
    line1 = f"{row.line1}, Unit {row.unit}" if row.unit else row.line1
    return _address_lines(line1, row.line2, row.city, row.subdivision, row.postal_code,
                          row.country, home_country)


def company_view(company: Any) -> dict[str, Any]:
    lines = _address_lines(company.address_line1, company.address_line2, company.city,
                           company.subdivision, company.postal_code, company.country,
                           company.country)
    return {"name": company.name, "address_lines": lines,
            "email": company.contact_email or "", "currency": company.currency}


def logo_uri(template: InvoiceTemplate | None) -> str | None:
    if template is None or template.logo is None:
        return None
    return (f"data:{template.logo_media_type};base64,"
            f"{base64.b64encode(template.logo).decode('ascii')}")


def _last_day(end: date | None) -> date | None:
    """Periods are stored with an exclusive end; invoices print the last day."""
    return None if end is None else end - timedelta(days=1)


async def _billing_addresses(session: Any, account_ids: list[int]) -> dict[int, Any]:
    """Each account's billing address: its BILLING postal address, else MAILING, else where
    it lives now."""
    found: dict[int, Any] = {}
    postal = (await session.scalars(select(AccountPostalAddress).where(
        among(session, AccountPostalAddress.account_id, account_ids)))).all()
    for kind in ("MAILING", "BILLING"):  # BILLING last: it wins
        found.update({row.account_id: row for row in postal if row.kind == kind})
    rest = [pk for pk in account_ids if pk not in found]
    if rest:
        rows = await session.execute(
            select(AddressOccupancy.account_id, ServiceableAddress)
            .join(ServiceableAddress,
                  ServiceableAddress.id == AddressOccupancy.serviceable_address_id)
            .where(among(session, AddressOccupancy.account_id, rest),
                   AddressOccupancy.moved_out_on.is_(None)))
        found.update({account_id: address for account_id, address in rows})
    return found


async def invoice_contexts(session: Any, company: Any, invoices: list[Invoice]
                           ) -> list[dict[str, Any]]:
    """The template context of each of ``invoices`` (all of ``company``), in order."""
    ids = [i.id for i in invoices]
    currency = company.currency
    template = await session.scalar(select(InvoiceTemplate).where(
        InvoiceTemplate.company_id == company.id))
    lines: dict[int, list[InvoiceLine]] = defaultdict(list)
    for line in await session.scalars(select(InvoiceLine).where(
            among(session, InvoiceLine.invoice_id, ids)).order_by(InvoiceLine.position)):
        lines[line.invoice_id].append(line)
    taxes: dict[int, dict[tuple[str, int], int]] = defaultdict(lambda: defaultdict(int))
    for invoice_id, name, rate, minor in await session.execute(
            select(InvoiceLineTax.invoice_id, TaxRate.name, TaxRate.rate_scaled,
                   InvoiceLineTax.amount_minor)
            .join(TaxRate, TaxRate.id == InvoiceLineTax.tax_rate_id)
            .where(among(session, InvoiceLineTax.invoice_id, ids))
            .order_by(InvoiceLineTax.id)):
        taxes[invoice_id][(name, rate)] += minor
    discounts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for invoice_id, name, minor in await session.execute(
            select(InvoiceLineDiscount.invoice_id, InvoiceLineDiscount.name,
                   InvoiceLineDiscount.amount_minor)
            .where(among(session, InvoiceLineDiscount.invoice_id, ids))
            .order_by(InvoiceLineDiscount.id)):
        discounts[invoice_id][name] += minor
    account_ids = sorted({i.account_id for i in invoices})
    usage = await usage_of_invoices(session, [(i.id, i.account_id, i.bill_date)
                                              for i in invoices])
    named = sorted(set(account_ids) | {u.account_id for found in usage.values() for u in found})
    accounts = {a.id: a for a in await session.scalars(select(Account).where(
        among(session, Account.id, named)))}
    addresses = await _billing_addresses(session, account_ids)
    balance = await balances(session, account_ids)
    shared = {"company": company_view(company), "logo": logo_uri(template),
              "remittance_slip": template.remittance_slip if template else True,
              "footer": template.footer if template else ""}

    def money(minor: int) -> Any:
        return amount(minor, currency)

    out = []
    for invoice in invoices:
        account = accounts[invoice.account_id]
        owed = 0 if invoice.status == "VOID" else max(invoice.total_minor - invoice.paid_minor,
                                                      0)
        out.append({
            **shared,
            "account": {"name": account.name,
                        "number": account.account_number or str(account.id),
                        "address_lines": _postal_lines(addresses.get(account.id),
                                                       company.country)},
            "invoice": {
                "number": invoice.number, "status": invoice.status,
                "credit_note": invoice.total_minor < 0,
                "credit": money(max(-invoice.total_minor, 0)),
                "issued_on": invoice.issued_on, "due_on": invoice.due_on,
                "bill_date": invoice.bill_date, "period_start": invoice.period_start,
                "period_end": _last_day(invoice.period_end), "message": invoice.message,
                "lines": [{"description": li.description, "period_start": li.period_start,
                           "period_end": _last_day(li.period_end), "quantity": li.quantity,
                           "unit_price": money(li.unit_price_minor),
                           "amount": money(li.amount_minor),
                           "discount": money(li.discount_minor), "tax": money(li.tax_minor),
                           "total": money(li.total_minor)} for li in lines[invoice.id]],
                "taxes": [{"name": name, "rate": percent(rate, RATE_SCALE),
                           "amount": money(minor)}
                          for (name, rate), minor in taxes[invoice.id].items()],
                "discounts": [{"name": name, "amount": money(minor)}
                              for name, minor in discounts[invoice.id].items()],
                "subtotal": money(invoice.subtotal_minor),
                "discount_total": money(invoice.discount_minor),
                "tax_total": money(invoice.tax_minor), "total": money(invoice.total_minor),
                "amount_paid": money(invoice.paid_minor), "balance_due": money(owed),
                "data_usage": [_usage_view(u, accounts[u.account_id])
                               for u in usage[invoice.id]]},
            "account_balance": money(balance.get(account.id, 0)),
            "mark": MARKS.get(invoice.status),
        })
    return out


def _usage_view(usage: InvoiceUsage, account: Any) -> dict[str, Any]:
    """An account's usage period as a template prints it (volumes as "512.35 GB")."""
    return {"account_name": account.name,
            "account_number": account.account_number or str(account.id),
            "period_start": usage.period_start, "period_end": _last_day(usage.period_end),
            "billable": format_gb(usage.billable), "billable_in": format_gb(usage.billable_in),
            "billable_out": format_gb(usage.billable_out), "free": format_gb(usage.free),
            "free_in": format_gb(usage.free_in), "free_out": format_gb(usage.free_out),
            "allowance": None if usage.allowance is None else format_gb(usage.allowance),
            "overage_blocks": usage.overage_blocks}


def sample_context(company: Any, template: InvoiceTemplate | None, today: date
                   ) -> dict[str, Any]:
    """A made-up invoice of ``company``, for checking a template before it is saved."""
    currency = company.currency

    def money(units: Decimal) -> Any:
        return amount(int(units.scaleb(exponent(currency))), currency)

    start = today.replace(day=1)
    line = {"description": "Fibre 100", "period_start": start, "period_end": start + timedelta(
        days=29), "quantity": 1, "unit_price": money(Decimal(60)), "amount": money(
        Decimal(60)), "discount": money(Decimal(10)), "tax": money(Decimal("3.75")),
        "total": money(Decimal("53.75"))}
    return {
        "company": company_view(company), "logo": logo_uri(template),
        "remittance_slip": template.remittance_slip if template else True,
        "footer": template.footer if template else "",
        "account": {"name": "Sample Customer", "number": "1001",
                    "address_lines": ["1 Sample Street", "Springfield, IL 62701"]},
        "invoice": {"number": "INV-000001", "status": "ISSUED", "issued_on": today,
                    "due_on": today + timedelta(days=14), "bill_date": today,
                    "period_start": start, "period_end": start + timedelta(days=29),
                    "message": "Thank you for your business.", "lines": [line],
                    "taxes": [{"name": "Sales tax", "rate": Decimal("6.25"),
                               "amount": money(Decimal("3.75"))}],
                    "discounts": [{"name": "Loyalty", "amount": money(Decimal(10))}],
                    "subtotal": money(Decimal(60)), "discount_total": money(Decimal(10)),
                    "tax_total": money(Decimal("3.75")), "total": money(Decimal("53.75")),
                    "amount_paid": money(Decimal(0)), "balance_due": money(Decimal("53.75")),
                    "data_usage": [_usage_view(InvoiceUsage(
                        0, start, start + timedelta(days=30), 412 * GB, 38 * GB,
                        25 * GB, 2 * GB, 500 * GB, 0), SimpleNamespace(
                        name="Sample Customer", account_number="1001", id=0))]},
        "account_balance": money(Decimal("53.75")), "mark": None,
    }
