"""What a company sells and how it books it: general ledger codes, services, packages,
discounts, tax rates and invoice messages. Each kind is described once (:class:`Kind`) and
created, changed and deleted by the same three functions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select

from ispcore.domain.accounts.models import AccountType
from ispcore.domain.billing.discounts import PERCENT_SCALE
from ispcore.domain.billing.models import (
    AccountDiscount,
    AccountService,
    Discount,
    GlCode,
    Invoice,
    InvoiceLine,
    InvoiceLineTax,
    InvoiceMessage,
    LedgerEntry,
    Package,
    PackageService,
    PendingCharge,
    Service,
    TaxExemption,
    TaxRate,
)
from ispcore.domain.billing.money import amount_to_minor, check_stated_currency
from ispcore.domain.billing.taxes import MAX_RATE
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import (
    check_owned,
    company_of,
    ensure_unused,
    load,
    required_text,
    snapshot,
)
from ispcore.domain.common.reference import clean_jurisdiction
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.usage.models import UsagePolicy
from ispcore.domain.usage.policies import MAX_GB


class ServiceKind(StrEnum):
    DATA = "DATA"
    VOICE = "VOICE"
    RECURRING = "RECURRING"
    ONE_TIME = "ONE_TIME"
    EXPIRING = "EXPIRING"


class PackagePricing(StrEnum):
    FIXED = "FIXED"
    SUM = "SUM"


class DiscountKind(StrEnum):
    PERCENT = "PERCENT"
    FIXED = "FIXED"


class DiscountTarget(StrEnum):
    ACCOUNT = "ACCOUNT"
    SERVICE = "SERVICE"
    PACKAGE = "PACKAGE"


Clean = Callable[[UnitOfWork, Any, dict[str, Any], Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Kind:
    model: type
    what: str
    event_prefix: str
    clean: Clean
    #: (model, column, label) of rows that keep a row of this kind from being deleted.
    used_by: tuple[tuple[type, str, str], ...] = ()
    named: bool = True


def scaled_percent(value: Decimal | None, field: str, *, allow_zero: bool) -> int | None:
    """A percentage (up to 4 decimal places, 0-100) as millionths of the whole."""
    if value is None:
        return None
    try:
        scaled = Decimal(value) * PERCENT_SCALE
    except InvalidOperation:
        raise DomainError("Not a number.", field=field) from None
    if scaled != scaled.to_integral_value():
        raise DomainError("A percentage has at most 4 decimal places.", field=field)
    if not (0 if allow_zero else 1) <= scaled <= MAX_RATE:
        raise DomainError("A percentage is between 0 and 100." if allow_zero else
                          "A percentage is more than 0 and at most 100.", field=field)
    return int(scaled)


async def _gl_code(uow: UnitOfWork, company: Any, values: dict[str, Any], v: Validator,
                   *, required: bool) -> None:
    await check_owned(uow, v, values, "gl_code_id", GlCode, what="general ledger code",
                      company_id=company.id)
    if required and "gl_code_id" in values and values["gl_code_id"] is None:
        v.add("gl_code_id", "Name a general ledger code.", ErrorCode.REQUIRED)


async def _clean_gl_code(uow: UnitOfWork, company: Any, values: dict[str, Any], current: Any
                         ) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "code", "A general ledger code needs a code.")
    required_text(v, out, "name", "A general ledger code needs a name.")
    if out.get("code"):
        out["code"] = out["code"].upper()
        taken = await uow.session.scalar(select(func.count()).select_from(GlCode).where(
            GlCode.company_id == company.id, GlCode.code == out["code"],
            GlCode.id != (current.id if current else -1)))
        if taken:
            v.add("code", f"The code {out['code']} is taken.", ErrorCode.DUPLICATE)
    if out.get("description") is not None:
        out["description"] = out["description"].strip()
    v.fit_columns(GlCode, out)
    v.raise_if_any()
    return out


async def _clean_service(uow: UnitOfWork, company: Any, values: dict[str, Any], current: Any
                         ) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    check_stated_currency(out, company.currency, v)
    required_text(v, out, "name", "A service needs a name.")
    amount_to_minor(out, "price", "price_minor", company.currency, v)
    amount_to_minor(out, "vacation_price", "vacation_price_minor", company.currency, v)
    await _gl_code(uow, company, out, v, required=True)
    merged = {c: getattr(current, c) for c in ("kind", "billing_frequency_months",
                                               "expires_after_cycles", "download_kbps",
                                               "upload_kbps", "usage_policy_id", "topup_gb")
              } if current else {}
    merged.update(out)
    kind = merged.get("kind")
    months = merged.get("billing_frequency_months")
    months = 1 if months is None else months
    if not 1 <= months <= 60:
        v.add("billing_frequency_months", "Billed every 1 to 60 months.")
    if kind == ServiceKind.ONE_TIME and months != 1:
        v.add("billing_frequency_months", "A one-time service has no billing frequency.")
    if kind == ServiceKind.EXPIRING:
        if not merged.get("expires_after_cycles") or merged["expires_after_cycles"] < 1:
            v.add("expires_after_cycles", "An expiring service needs a number of cycles.",
                  ErrorCode.REQUIRED)
    elif merged.get("expires_after_cycles") is not None:
        v.add("expires_after_cycles", "Only an expiring service has a number of cycles.")
    for key in ("download_kbps", "upload_kbps"):
        if merged.get(key) is not None and kind != ServiceKind.DATA:
            v.add(key, "Only a data service has speeds.")
        elif merged.get(key) is not None and merged[key] < 1:
            v.add(key, "A speed is at least 1 kbps.")
    await _usage_terms(uow, company, out, merged, v)
    if current is not None and "kind" in out and out["kind"] != current.kind:
        used = await uow.session.scalar(select(func.count()).select_from(AccountService)
                                        .where(AccountService.service_id == current.id))
        if used:
            v.add("kind", f"{used} account service(s) use this service; its kind stays.")
    v.fit_columns(Service, out)
    v.raise_if_any()
    return out


async def _usage_terms(uow: UnitOfWork, company: Any, out: dict[str, Any],
                       merged: dict[str, Any], v: Validator) -> None:
    """A data service's usage policy (one of the company's); a one-time service's top-up
    size (GB added to the period's allowance when bought)."""
    kind = merged.get("kind")
    if merged.get("usage_policy_id") is not None and kind != ServiceKind.DATA:
        v.add("usage_policy_id", "Only a data service has a usage policy.")
    else:
        await check_owned(uow, v, out, "usage_policy_id", UsagePolicy, what="usage policy",
                          company_id=company.id)
    top_up = merged.get("topup_gb")
    if top_up is not None and kind != ServiceKind.ONE_TIME:
        v.add("topup_gb", "Only a one-time service is a data top-up.")
    elif top_up is not None and not 1 <= top_up <= MAX_GB:
        v.add("topup_gb", f"A top-up is 1 to {MAX_GB:,} GB.")


async def _clean_package(uow: UnitOfWork, company: Any, values: dict[str, Any], current: Any
                         ) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "name", "A package needs a name.")
    amount_to_minor(out, "price", "price_minor", company.currency, v)
    await _gl_code(uow, company, out, v, required=False)
    merged = {c: getattr(current, c) for c in ("pricing", "price_minor", "gl_code_id",
                                               "billing_frequency_months")} if current else {}
    merged.update(out)
    if merged.get("pricing") == PackagePricing.FIXED:
        if merged.get("price_minor") is None:
            v.add("price", "A fixed-price package needs a price.", ErrorCode.REQUIRED)
        if merged.get("gl_code_id") is None:
            v.add("gl_code_id", "A fixed-price package posts to a general ledger code.",
                  ErrorCode.REQUIRED)
    elif merged.get("price_minor") is not None:
        v.add("price", "A package priced as the sum of its services has no price of its own.")
    months = merged.get("billing_frequency_months")
    months = 1 if months is None else months
    if not 1 <= months <= 60:
        v.add("billing_frequency_months", "Billed every 1 to 60 months.")
    members = out.get("services")
    if members is not None:
        if not members:
            v.add("services", "A package holds at least one service.", ErrorCode.REQUIRED)
        seen = set()
        for index, (service_id, quantity) in enumerate(members):
            field = f"services.{index}"
            if service_id in seen:
                v.add(field, "A service appears once in a package (use its quantity).")
            seen.add(service_id)
            if quantity < 1:
                v.add(f"{field}.quantity", "A quantity is at least 1.")
            try:
                service = await load(uow, Service, service_id, field=f"{field}.service_id",
                                     what="service", company_id=company.id)
            except DomainError as exc:
                v.errors.append(exc)
                continue
            if service.kind in (ServiceKind.ONE_TIME, ServiceKind.EXPIRING):
                v.add(f"{field}.service_id", f"{service.name} is not a recurring service.")
            elif service.billing_frequency_months != months:
                v.add(f"{field}.service_id", f"{service.name} is billed every "
                      f"{service.billing_frequency_months} month(s), the package every "
                      f"{months}.")
    v.fit_columns(Package, {k: val for k, val in out.items() if k != "services"})
    v.raise_if_any()
    return out


async def _clean_discount(uow: UnitOfWork, company: Any, values: dict[str, Any], current: Any
                          ) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "name", "A discount needs a name.")
    try:
        if "percent" in out:
            out["percent_scaled"] = scaled_percent(out.pop("percent"), "percent",
                                                   allow_zero=False)
    except DomainError as exc:
        v.errors.append(exc)
    amount_to_minor(out, "amount", "amount_minor", company.currency, v)
    await _gl_code(uow, company, out, v, required=True)
    merged = {c: getattr(current, c) for c in ("kind", "percent_scaled", "amount_minor",
                                               "applies_to", "service_id", "package_id")
              } if current else {}
    merged.update(out)
    if merged.get("kind") == DiscountKind.PERCENT:
        if merged.get("percent_scaled") is None and "percent" not in {e.field for e in v.errors}:
            v.add("percent", "A percent discount needs a percentage.", ErrorCode.REQUIRED)
        if merged.get("amount_minor") is not None:
            v.add("amount", "A percent discount has no amount.")
    elif merged.get("kind") == DiscountKind.FIXED:
        if not merged.get("amount_minor") and "amount" not in {e.field for e in v.errors}:
            v.add("amount", "A fixed discount needs an amount above zero.", ErrorCode.REQUIRED)
        if merged.get("percent_scaled") is not None:
            v.add("percent", "A fixed discount has no percentage.")
    target = merged.get("applies_to")
    for key, model, kind in (("service_id", Service, DiscountTarget.SERVICE),
                             ("package_id", Package, DiscountTarget.PACKAGE)):
        if target == kind:
            if merged.get(key) is None:
                v.add(key, f"Name the {model.__name__.lower()} the discount applies to.",
                      ErrorCode.REQUIRED)
            elif key in out:
                try:
                    await load(uow, model, out[key], field=key,
                               what=model.__name__.lower(), company_id=company.id)
                except DomainError as exc:
                    v.errors.append(exc)
        elif merged.get(key) is not None:
            v.add(key, f"A discount on {str(target).lower()} names no "
                  f"{model.__name__.lower()}.")
    v.fit_columns(Discount, out)
    v.raise_if_any()
    return out


async def _clean_tax_rate(uow: UnitOfWork, company: Any, values: dict[str, Any], current: Any
                          ) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "name", "A tax rate needs a name.")
    try:
        if "rate" in out:
            out["rate_scaled"] = scaled_percent(out.pop("rate"), "rate", allow_zero=True)
    except DomainError as exc:
        v.errors.append(exc)
    clean_jurisdiction(v, out, current)
    await _gl_code(uow, company, out, v, required=True)
    v.fit_columns(TaxRate, out)
    v.raise_if_any()
    return out


async def _clean_message(uow: UnitOfWork, company: Any, values: dict[str, Any], current: Any
                         ) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "message", "An invoice message needs text.")
    if out.get("account_type_id") is not None:
        try:
            await load(uow, AccountType, out["account_type_id"], field="account_type_id",
                       what="account type", company_id=company.id)
        except DomainError as exc:
            v.errors.append(exc)
    starts = out.get("starts_on", current.starts_on if current else None)
    ends = out.get("ends_on", current.ends_on if current else None)
    if starts and ends and ends < starts:
        v.add("ends_on", "The message ends before it starts.")
    v.fit_columns(InvoiceMessage, out)
    v.raise_if_any()
    return out


class DraftLine:
    """Lines of draft invoices (issued ones have ledger entries on their codes)."""

    gl_code_id = InvoiceLine.gl_code_id
    __table__ = InvoiceLine.__table__.join(
        Invoice.__table__, (Invoice.id == InvoiceLine.invoice_id) & (Invoice.status == "DRAFT"))


GL_CODE = Kind(GlCode, "general ledger code", "gl_code", _clean_gl_code, named=False,
               used_by=((Service, "gl_code_id", "service"), (Package, "gl_code_id", "package"),
                        (Discount, "gl_code_id", "discount"), (TaxRate, "gl_code_id", "tax rate"),
                        (LedgerEntry, "gl_code_id", "ledger entry"),
                        (DraftLine, "gl_code_id", "draft invoice line"),
                        (PendingCharge, "gl_code_id", "pending charge")))
SERVICE = Kind(Service, "service", "service", _clean_service,
               used_by=((AccountService, "service_id", "account service"),
                        (PackageService, "service_id", "package"),
                        (Discount, "service_id", "discount")))
PACKAGE = Kind(Package, "package", "package", _clean_package,
               used_by=((AccountService, "package_id", "account service"),
                        (Discount, "package_id", "discount")))
DISCOUNT = Kind(Discount, "discount", "discount", _clean_discount,
                used_by=((AccountDiscount, "discount_id", "account"),))
TAX_RATE = Kind(TaxRate, "tax rate", "tax_rate", _clean_tax_rate,
                used_by=((TaxExemption, "tax_rate_id", "tax exemption"),
                         (InvoiceLineTax, "tax_rate_id", "invoice line tax")))
INVOICE_MESSAGE = Kind(InvoiceMessage, "invoice message", "invoice_message", _clean_message,
                       named=False)


async def create(uow: UnitOfWork, kind: Kind, values: dict[str, Any]) -> Any:
    company = await company_of(uow, values.pop("company_id"), "company_id")
    data = await kind.clean(uow, company, values, None)
    if kind.named:
        await ensure_name_free(uow.session, kind.model, data["name"], what=kind.what,
                               company_id=company.id)
    members = data.pop("services", None)
    now = uow.clock.now()
    row = kind.model(company_id=company.id, **data, created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    if members is not None:
        await _set_members(uow, row, members)
    record_event(uow, f"{kind.event_prefix}.created", company_id=company.id, entity=row,
                 payload=snapshot(row, tuple(k for k in data if not k.endswith("_minor"))))
    return row


#: Called after a catalogue row changes, with the row and the names of the changed fields
#: (the network compiles credentials when a service's speeds change).
UPDATED_HOOKS: list[Callable[[UnitOfWork, Any, set[str]], Awaitable[None]]] = []


async def update(uow: UnitOfWork, kind: Kind, pk: int, changes: dict[str, Any]) -> Any:
    row = await load(uow, kind.model, pk, field="id", what=kind.what)
    company = await company_of(uow, row.company_id)
    data = await kind.clean(uow, company, changes, row)
    if kind.named and "name" in data:
        await ensure_name_free(uow.session, kind.model, data["name"], what=kind.what,
                               company_id=row.company_id, exclude_id=row.id)
    members = data.pop("services", None)
    for key, value in data.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    if members is not None:
        await _set_members(uow, row, members)
    record_event(uow, f"{kind.event_prefix}.updated", company_id=row.company_id, entity=row,
                 payload={"changed": sorted(data) + (["services"] if members else [])})
    for hook in UPDATED_HOOKS:
        await hook(uow, row, set(data))
    return row


async def remove(uow: UnitOfWork, kind: Kind, pk: int) -> Any:
    row = await load(uow, kind.model, pk, field="id", what=kind.what)
    await ensure_unused(uow, row.id, kind.used_by, what=kind.what,
                        instead=" Deactivate it instead." if hasattr(row, "active") else "")
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, f"{kind.event_prefix}.deleted", company_id=row.company_id,
                 payload={"id": pk})
    return row


async def _set_members(uow: UnitOfWork, package: Package, members: list[tuple[int, int]]
                       ) -> None:
    """Replace a package's services. Accounts that have the package keep what they got."""
    await uow.session.execute(delete(PackageService).where(
        PackageService.package_id == package.id))
    for service_id, quantity in members:
        uow.session.add(PackageService(package_id=package.id, service_id=service_id,
                                       quantity=quantity))
    await uow.session.flush()
