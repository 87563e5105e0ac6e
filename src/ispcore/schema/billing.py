"""Billing types: settings and terms, the catalogue, account services, discounts, taxes,
the ledger, invoices and billing runs. Amounts are ``Money``; percentages are decimals."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import UNSET, relay
from strawberry.types import Info

from ispcore.domain.billing import catalogue as c
from ispcore.domain.billing import models as m
from ispcore.domain.billing.discounts import PERCENT_SCALE
from ispcore.domain.billing.engine import BillingMode as DomainBillingMode
from ispcore.domain.billing.engine import LineKind as DomainLineKind
from ispcore.domain.billing.engine import VacationBilling as DomainVacationBilling
from ispcore.domain.billing.invoices import InvoiceKind as DomainInvoiceKind
from ispcore.domain.billing.invoices import InvoiceStatus as DomainInvoiceStatus
from ispcore.domain.billing.ledger import Direction as DomainDirection
from ispcore.domain.billing.ledger import EntryKind as DomainEntryKind
from ispcore.domain.billing.money import Rounding as DomainRounding
from ispcore.domain.billing.quote import ChangeKind as DomainChangeKind
from ispcore.domain.billing.runs import RunStatus as DomainRunStatus
from ispcore.domain.billing.taxes import RATE_SCALE
from ispcore.domain.common.decimals import percent
from ispcore.schema.accounts import Account, AccountType
from ispcore.schema.companies import Company
from ispcore.schema.filtering import (
    BooleanFilter,
    DateFilter,
    DateTimeFilter,
    IdOf,
    IntFilter,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.identity import User
from ispcore.schema.money import Money, as_money, money, optional_money
from ispcore.schema.nodes import ModelNode, model_node, related
from ispcore.schema.relations import Many, One, Rows, relation

if TYPE_CHECKING:
    from ispcore.schema.payments import Payment, PaymentAllocation
    from ispcore.schema.usage import UsagePolicy
    from ispcore.schema.usage_billing import InvoiceDataUsage

READ = "billing:read"
PAYMENTS = "ispcore.schema.payments"
USAGE = "ispcore.schema.usage"
USAGE_BILLING = "ispcore.schema.usage_billing"

BillingMode = strawberry.enum(DomainBillingMode, description="ANNIVERSARY: billed on the day "
                              "of activation each cycle; FIXED_DAY: on the bill day.")
VacationBilling = strawberry.enum(DomainVacationBilling, description="What vacation days "
                                  "cost: NOTHING, or each service's VACATION_PRICE.")
Rounding = strawberry.enum(DomainRounding, description="How fractions of a cent are settled, "
                           "everywhere in billing.")
ServiceKind = strawberry.enum(c.ServiceKind, description="DATA, VOICE and RECURRING bill every "
                              "cycle; ONE_TIME once; EXPIRING for a number of cycles.")
PackagePricing = strawberry.enum(c.PackagePricing, description="FIXED: the package's price; "
                                 "SUM: its services' prices.")
DiscountKind = strawberry.enum(c.DiscountKind)
DiscountTarget = strawberry.enum(c.DiscountTarget, description="What a discount takes off: the "
                                 "whole bill, one service or one package.")
InvoiceStatus = strawberry.enum(DomainInvoiceStatus)
InvoiceKind = strawberry.enum(DomainInvoiceKind, description="INVOICE, or CREDIT_NOTE: an "
                              "invoice whose lines come to less than nothing.")
LineKind = strawberry.enum(DomainLineKind, name="InvoiceLineKind", description=(
    "SERVICE: a whole cycle; PRORATED: part of one; VACATION: vacation days; ONE_TIME; "
    "ADJUSTMENT: proration of a change; MANUAL: added by staff (a draft's line, a manual "
    "debit) or a fee; USAGE: data overage, or a "
    "correction of it for usage that arrived late."))
EntryKind = strawberry.enum(DomainEntryKind, name="LedgerEntryKind")
Direction = strawberry.enum(DomainDirection, name="TransactionDirection")
RunStatus = strawberry.enum(DomainRunStatus, name="BillingRunStatus")
ChangeKind = strawberry.enum(DomainChangeKind, name="QuoteChangeKind")


def _percent(scaled: int | None) -> Decimal | None:
    return None if scaled is None else percent(scaled, PERCENT_SCALE)


# --- terms and settings ---------------------------------------------------------------------

@strawberry.type
class BillingTermsFields:
    """The terms company settings, type defaults and accounts share (not a type of its own
    in the schema: each of those has these fields)."""

    billing_mode: BillingMode
    bill_day: int | None = strawberry.field(description="The day of the month cycles start "
                                            "(the activation day for ANNIVERSARY).")
    due_days: int = strawberry.field(description="Invoices are due this many days after issue.")
    grace_days: int = strawberry.field(description="Days after the due date before an account "
                                       "counts as late.")
    bill_in_advance: bool = strawberry.field(description="Bill the coming cycle (else the one "
                                             "just ended).")
    prorate: bool = strawberry.field(description="Part cycles cost their share of the days.")
    updated_at: datetime


@strawberry.type(description="A company's billing settings; the terms are also the defaults "
                 "of account types without their own.")
class BillingSettings(BillingTermsFields):
    rounding: Rounding
    invoice_number_format: str
    next_invoice_number: int
    review_drafts: bool = strawberry.field(description="Runs create drafts for staff to issue.")
    vacation_billing: VacationBilling

    @classmethod
    def from_row(cls, row: Any) -> BillingSettings:
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})


@strawberry.type(description="Billing terms new accounts of a type get.")
@model_node(m.BillingDefaults, read_permission=READ)
class BillingDefaults(BillingTermsFields, ModelNode):
    account_type_id: strawberry.Private[int]

    account_type: AccountType | None = relation(One("AccountType", "account_type_id"))


@strawberry.type(description="How an account is billed (copied from its type's defaults when "
                 "it was created; changed per account).")
@model_node(m.AccountBilling, read_permission=READ)
class AccountBilling(BillingTermsFields, ModelNode):
    paper_invoices: bool = strawberry.field(description="Invoices are printed and mailed (the "
                                            "company's printed invoice fee applies).")
    account_id: strawberry.Private[int]

    account: Account | None = relation(One("Account", "account_id"))


# --- catalogue ----------------------------------------------------------------------------------

@strawberry.type(description="A general ledger code: where money is booked.")
@model_node(m.GlCode, read_permission=READ)
class GlCode(ModelNode):
    code: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    company: Company | None = relation(One("Company", "company_id"))


@strawberry.type(description="Something an ISP sells: data, voice, a recurring fee, a one-time "
                 "charge, or a fee for a number of cycles.")
@model_node(m.Service, read_permission=READ)
class Service(ModelNode):
    name: str
    kind: ServiceKind
    description: str
    billing_frequency_months: int = strawberry.field(description="Billed every N months.")
    expires_after_cycles: int | None
    taxable: bool
    active: bool
    download_kbps: int | None
    upload_kbps: int | None
    topup_gb: int | None = strawberry.field(description="ONE_TIME services: a data top-up "
                                            "of this many GB, added to the period's "
                                            "allowance when bought.")
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    price_minor: strawberry.Private[int]
    vacation_price_minor: strawberry.Private[int | None]
    gl_code_id: strawberry.Private[int]
    usage_policy_id: strawberry.Private[int | None]

    price: Money = money("price_minor", description="Per billing frequency.")
    vacation_price: Money | None = optional_money("vacation_price_minor")
    gl_code: GlCode | None = relation(One("GlCode", "gl_code_id"))
    company: Company | None = relation(One("Company", "company_id"))
    usage_policy: Annotated[UsagePolicy, strawberry.lazy(USAGE)] | None = relation(
        One("UsagePolicy", "usage_policy_id"),
        description="DATA services: the usage-based billing policy (null without usage:read).")


@strawberry.type(description="A service in a package, with how many of it.")
class PackageMember:
    quantity: int
    service_id: strawberry.Private[int]

    @strawberry.field
    async def service(self, info: Info) -> Service | None:
        return await related(info, Service, self.service_id)


@strawberry.type(description="Services sold together.")
@model_node(m.Package, read_permission=READ)
class Package(ModelNode):
    name: str
    description: str
    pricing: PackagePricing
    billing_frequency_months: int
    taxable: bool
    active: bool
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    price_minor: strawberry.Private[int | None]
    gl_code_id: strawberry.Private[int | None]

    price: Money | None = optional_money("price_minor", description="FIXED pricing only.")
    gl_code: GlCode | None = relation(One("GlCode", "gl_code_id"))
    services: list[PackageMember] = relation(Rows(
        m.PackageService, "package_id",
        build=lambda rows: [PackageMember(quantity=r.quantity, service_id=r.service_id)
                            for r in rows]))


@strawberry.type(description="A discount staff can give accounts.")
@model_node(m.Discount, read_permission=READ)
class Discount(ModelNode):
    name: str
    kind: DiscountKind
    applies_to: DiscountTarget
    active: bool
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    percent_scaled: strawberry.Private[int | None]
    amount_minor: strawberry.Private[int | None]
    service_id: strawberry.Private[int | None]
    package_id: strawberry.Private[int | None]
    gl_code_id: strawberry.Private[int]

    @strawberry.field(description="PERCENT discounts: e.g. 12.5.")
    def percent(self) -> Decimal | None:
        return _percent(self.percent_scaled)

    amount: Money | None = optional_money("amount_minor", description="FIXED discounts, per "
                                          "invoice.")
    service: Service | None = relation(One("Service", "service_id"))
    package: Package | None = relation(One("Package", "package_id"))
    gl_code: GlCode | None = relation(One("GlCode", "gl_code_id"))


@strawberry.type(description="A tax rate of a jurisdiction (a country, or a subdivision of "
                 "it).")
@model_node(m.TaxRate, read_permission=READ)
class TaxRate(ModelNode):
    name: str
    country: str
    subdivision: str | None = strawberry.field(description="Null: the whole country.")
    active: bool
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    rate_scaled: strawberry.Private[int]
    gl_code_id: strawberry.Private[int]

    @strawberry.field(description="Percent, e.g. 8.875.")
    def rate(self) -> Decimal:
        return percent(self.rate_scaled, RATE_SCALE)

    gl_code: GlCode | None = relation(One("GlCode", "gl_code_id"))


@strawberry.type(description="Text printed on invoices, for every account or one account "
                 "type, between dates.")
@model_node(m.InvoiceMessage, read_permission=READ)
class InvoiceMessage(ModelNode):
    message: str
    starts_on: date | None
    ends_on: date | None
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    account_type_id: strawberry.Private[int | None]

    account_type: AccountType | None = relation(One("AccountType", "account_type_id"))


# --- account billing --------------------------------------------------------------------------

@strawberry.type(description="A service or package on an account.")
@model_node(m.AccountService, read_permission=READ)
class AccountService(ModelNode):
    quantity: int
    start_date: date
    end_date: date | None = strawberry.field(description="The first day it is gone.")
    billed_until: date | None = strawberry.field(description="Billing has reached this day.")
    cycles_billed: int
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    service_id: strawberry.Private[int | None]
    package_id: strawberry.Private[int | None]
    bundle_id: strawberry.Private[int | None]
    price_override_minor: strawberry.Private[int | None]

    price_override: Money | None = optional_money("price_override_minor")
    account: Account | None = relation(One("Account", "account_id"))
    service: Service | None = relation(One("Service", "service_id"))
    package: Package | None = relation(One("Package", "package_id"))
    bundle: AccountService | None = relation(
        One("AccountService", "bundle_id"), description="The package it came with.")
    members: list[AccountService] | None = relation(
        Many("AccountService", "bundle_id"), description="A package's services.")


@strawberry.type(description="A discount given to an account.")
@model_node(m.AccountDiscount, read_permission=READ)
class AccountDiscount(ModelNode):
    cycles: int | None = strawberry.field(description="Invoices it applies to; null: all.")
    until: date | None = strawberry.field(description="Last period start it applies to.")
    cycles_applied: int
    created_at: datetime
    account_id: strawberry.Private[int]
    discount_id: strawberry.Private[int]

    account: Account | None = relation(One("Account", "account_id"))
    discount: Discount | None = relation(One("Discount", "discount_id"))


@strawberry.type(description="An account exempt from a tax rate.")
@model_node(m.TaxExemption, read_permission=READ)
class TaxExemption(ModelNode):
    expires_on: date | None = strawberry.field(description="Last day exempt; null: no end.")
    reason: str
    created_at: datetime
    account_id: strawberry.Private[int]
    tax_rate_id: strawberry.Private[int]

    account: Account | None = relation(One("Account", "account_id"))
    tax_rate: TaxRate | None = relation(One("TaxRate", "tax_rate_id"))


@strawberry.type(description="Days an account is away (both ends included).")
@model_node(m.AccountVacation, read_permission=READ)
class AccountVacation(ModelNode):
    starts_on: date
    ends_on: date
    created_at: datetime
    account_id: strawberry.Private[int]

    account: Account | None = relation(One("Account", "account_id"))


@strawberry.type(description="A charge or credit waiting for the account's next invoice.")
@model_node(m.PendingCharge, read_permission=READ)
class PendingCharge(ModelNode):
    description: str
    quantity: int
    taxable: bool
    period_start: date | None
    period_end: date | None
    created_at: datetime
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    account_service_id: strawberry.Private[int | None]
    invoice_id: strawberry.Private[int | None]
    unit_price_minor: strawberry.Private[int]
    amount_minor: strawberry.Private[int]

    unit_price: Money = money("unit_price_minor")
    amount: Money = money("amount_minor", description="Negative: a credit.")
    account: Account | None = relation(One("Account", "account_id"))
    account_service: AccountService | None = relation(One("AccountService",
                                                          "account_service_id"))
    invoice: Invoice | None = relation(One("Invoice", "invoice_id"),
                                       description="Null until billed.")


# --- ledger and invoices -----------------------------------------------------------------------

@strawberry.type(description="An immutable ledger entry: positive debits, negative credits.")
@model_node(m.LedgerEntry, read_permission=READ)
class LedgerEntry(ModelNode):
    kind: EntryKind
    description: str
    posted_on: date
    created_at: datetime
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    amount_minor: strawberry.Private[int]
    gl_code_id: strawberry.Private[int]
    invoice_id: strawberry.Private[int | None]
    payment_id: strawberry.Private[int | None]
    reverses_id: strawberry.Private[int | None]
    user_id: strawberry.Private[int | None]

    amount: Money = money("amount_minor")
    payment: Annotated[Payment, strawberry.lazy(PAYMENTS)] | None = relation(
        One("Payment", "payment_id"), description="The payment, refund or reversal it posts.")
    account: Account | None = relation(One("Account", "account_id"))
    gl_code: GlCode | None = relation(One("GlCode", "gl_code_id"))
    invoice: Invoice | None = relation(One("Invoice", "invoice_id"))
    reverses: LedgerEntry | None = relation(One("LedgerEntry", "reverses_id"),
                                            description="The entry this one voids.")
    user: User | None = relation(One("User", "user_id"))


@strawberry.type(description="A tax on an invoice line.")
class LineTax:
    company_id: strawberry.Private[int]
    tax_rate_id: strawberry.Private[int]
    amount_minor: strawberry.Private[int]
    amount: Money = money("amount_minor")

    @strawberry.field
    async def tax_rate(self, info: Info) -> TaxRate | None:
        return await related(info, TaxRate, self.tax_rate_id)


@strawberry.type(description="A discount on an invoice line.")
class LineDiscount:
    name: str
    company_id: strawberry.Private[int]
    amount_minor: strawberry.Private[int]
    amount: Money = money("amount_minor")


@strawberry.type(description="One line of an invoice.")
@model_node(m.InvoiceLine, read_permission=READ)
class InvoiceLine(ModelNode):
    position: int
    kind: LineKind
    description: str
    period_start: date | None
    period_end: date | None = strawberry.field(description="Exclusive: the day after the "
                                               "period.")
    quantity: int
    taxable: bool
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    invoice_id: strawberry.Private[int]
    gl_code_id: strawberry.Private[int]
    service_id: strawberry.Private[int | None]
    unit_price_minor: strawberry.Private[int]
    amount_minor: strawberry.Private[int]
    discount_minor: strawberry.Private[int]
    tax_minor: strawberry.Private[int]
    total_minor: strawberry.Private[int]

    unit_price: Money = money("unit_price_minor")
    amount: Money = money("amount_minor", description="Before discounts and taxes.")
    discount: Money = money("discount_minor")
    tax: Money = money("tax_minor")
    total: Money = money("total_minor")
    account: Account | None = relation(One("Account", "account_id"),
                                       description="A child account's lines name it.")
    service: Service | None = relation(One("Service", "service_id"))
    gl_code: GlCode | None = relation(One("GlCode", "gl_code_id"))
    taxes: list[LineTax] = relation(Rows(
        m.InvoiceLineTax, "invoice_line_id",
        build=lambda rows: [LineTax(company_id=r.company_id, tax_rate_id=r.tax_rate_id,
                                    amount_minor=r.amount_minor) for r in rows]))
    discounts: list[LineDiscount] = relation(Rows(
        m.InvoiceLineDiscount, "invoice_line_id",
        build=lambda rows: [LineDiscount(name=r.name, company_id=r.company_id,
                                         amount_minor=r.amount_minor) for r in rows]))


@strawberry.type(description="An invoice: a draft staff may edit, issued (immutable), or "
                 "void.")
@model_node(m.Invoice, read_permission=READ)
class Invoice(ModelNode):
    number: str | None = strawberry.field(description="Given when issued.")
    status: InvoiceStatus
    currency: str
    bill_date: date | None = strawberry.field(
        description="The bill date it was made on; null for an invoice made at once (a manual "
        "debit, a returned-payment fee).")
    period_start: date | None = strawberry.field(
        description="The service it bills: the first day of its earliest service line; null "
        "when no line bills a service period (a credit note, a fee).")
    period_end: date | None = strawberry.field(
        description="The end (exclusive) of its latest service line.")
    issued_on: date | None
    due_on: date | None
    message: str
    created_at: datetime
    voided_at: datetime | None
    void_reason: str | None
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    billing_run_id: strawberry.Private[int | None]
    subtotal_minor: strawberry.Private[int]
    discount_minor: strawberry.Private[int]
    tax_minor: strawberry.Private[int]
    total_minor: strawberry.Private[int]
    paid_minor: strawberry.Private[int]

    subtotal: Money = money("subtotal_minor")
    discount_total: Money = money("discount_minor")
    tax_total: Money = money("tax_minor")
    total: Money = money("total_minor")
    amount_paid: Money = money("paid_minor", description="Put on it by payments and credits.")

    @strawberry.field(description="CREDIT_NOTE when its lines come to less than nothing: it "
                      "owes nothing and credits the account (see Credit).")
    def kind(self) -> InvoiceKind:
        return InvoiceKind.CREDIT_NOTE if self.total_minor < 0 else InvoiceKind.INVOICE

    @strawberry.field(description="What is still owed on it (zero when void).")
    async def remaining_due(self, info: Info) -> Money:
        owed = 0 if self.status == InvoiceStatus.VOID else max(
            self.total_minor - self.paid_minor, 0)
        return await as_money(info, owed, self.company_id)

    account: Account | None = relation(One("Account", "account_id"))
    billing_run: BillingRun | None = relation(One("BillingRun", "billing_run_id"))
    lines: list[InvoiceLine] | None = relation(Many("InvoiceLine", "invoice_id",
                                                    order_by=("position",)))
    payments: list[Annotated[PaymentAllocation, strawberry.lazy(PAYMENTS)]] | None = relation(
        Many("PaymentAllocation", "invoice_id"), description="What paid it (payments and "
        "credits), in order (negative rows: money taken back by a refund, reversal or void).")

    @strawberry.field(description="Data usage of its account and of the accounts with lines "
                      "on it, in the periods that ended on its bill date: billable and free.")
    async def data_usage(self, info: Info
                         ) -> list[Annotated[InvoiceDataUsage, strawberry.lazy(USAGE_BILLING)]]:
        from ispcore.resolvers.usage_billing import invoice_data_usage

        return await invoice_data_usage(info, self)


@strawberry.type(description="An account a billing run could not bill, and why.")
@model_node(m.BillingRunFailure, read_permission=READ)
class BillingRunFailure(ModelNode):
    reason: str
    created_at: datetime
    account_id: strawberry.Private[int]

    account: Account | None = relation(One("Account", "account_id"))


@strawberry.type(description="One billing run of a company for a day.")
@model_node(m.BillingRun, read_permission=READ)
class BillingRun(ModelNode):
    run_on: date
    status: RunStatus
    accounts_billed: int = strawberry.field(description="Account bills made (an account "
                                            "several cycles behind counts once per cycle).")
    invoices_created: int
    accounts_failed: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    company_id: strawberry.Private[int]
    requested_by_user_id: strawberry.Private[int | None]
    total_minor: strawberry.Private[int]

    total: Money = money("total_minor", description="Sum of the invoices written.")
    company: Company | None = relation(One("Company", "company_id"))
    requested_by: User | None = relation(One("User", "requested_by_user_id"))
    failures: list[BillingRunFailure] | None = relation(Many("BillingRunFailure",
                                                             "billing_run_id"))


# --- the billing calculator ------------------------------------------------------------------

@strawberry.type(description="A line the next invoice would have.")
class QuoteLine:
    kind: LineKind
    description: str
    period_start: date | None
    period_end: date | None
    quantity: int
    unit_price: Money
    amount: Money
    discount: Money
    tax: Money
    total: Money


@strawberry.type(description="What the next invoice would hold; nothing is written.")
class BillingQuote:
    period_start: date | None = strawberry.field(description="As the invoice's: null when no "
                                                 "line would bill a service period.")
    period_end: date | None
    next_bill_date: date = strawberry.field(description="The bill date after that invoice.")
    lines: list[QuoteLine]
    subtotal: Money
    discount_total: Money
    tax_total: Money
    total: Money


# --- listings --------------------------------------------------------------------------------

def _company_listing(entity: str, fields: dict[str, Any], order_by: list[str]) -> Any:
    return listing_inputs(entity, {"id": IdOf(entity), "company_id": IdOf("Company"), **fields},
                          order_by=order_by)


GL_CODE_LISTING = _company_listing("GlCode", {"code": StringFilter, "name": StringFilter},
                                   ["code", "name"])
SERVICE_LISTING = _company_listing(
    "Service", {"name": StringFilter, "kind": StringFilter, "active": BooleanFilter,
                "taxable": BooleanFilter, "gl_code_id": IdOf("GlCode")}, ["name"])
PACKAGE_LISTING = _company_listing("Package", {"name": StringFilter, "active": BooleanFilter},
                                   ["name"])
DISCOUNT_LISTING = _company_listing(
    "Discount", {"name": StringFilter, "kind": StringFilter, "applies_to": StringFilter,
                 "active": BooleanFilter}, ["name"])
TAX_RATE_LISTING = _company_listing(
    "TaxRate", {"name": StringFilter, "country": StringFilter, "subdivision": StringFilter,
                "active": BooleanFilter}, ["name"])
INVOICE_MESSAGE_LISTING = _company_listing(
    "InvoiceMessage", {"account_type_id": IdOf("AccountType"), "starts_on": DateFilter},
    ["created_at"])
_OF_ACCOUNT = {"account_id": IdOf("Account")}
ACCOUNT_SERVICE_LISTING = _company_listing(
    "AccountService", {**_OF_ACCOUNT, "service_id": IdOf("Service"),
                       "package_id": IdOf("Package"), "start_date": DateFilter,
                       "end_date": DateFilter}, ["start_date", "created_at"])
LEDGER_ENTRY_LISTING = _company_listing(
    "LedgerEntry", {**_OF_ACCOUNT, "kind": StringFilter, "gl_code_id": IdOf("GlCode"),
                    "invoice_id": IdOf("Invoice"), "posted_on": DateFilter,
                    "amount_minor": IntFilter}, ["posted_on", "created_at"])
INVOICE_LISTING = _company_listing(
    "Invoice", {**_OF_ACCOUNT, "number": StringFilter, "status": StringFilter,
                "billing_run_id": IdOf("BillingRun"), "issued_on": DateFilter,
                "due_on": DateFilter, "period_start": DateFilter, "bill_date": DateFilter,
                "created_at": DateTimeFilter},
    ["created_at", "period_start", "bill_date"])
BILLING_RUN_LISTING = _company_listing(
    "BillingRun", {"run_on": DateFilter, "status": StringFilter, "created_at": DateTimeFilter},
    ["created_at", "run_on"])
PENDING_CHARGE_LISTING = _company_listing(
    "PendingCharge", {**_OF_ACCOUNT, "invoice_id": IdOf("Invoice"),
                      "created_at": DateTimeFilter}, ["created_at"])


# --- inputs ------------------------------------------------------------------------------------

@strawberry.input
class BillingTermsInput:
    """The terms' fields of the three inputs below (not an input of its own)."""

    billing_mode: BillingMode | None = UNSET
    bill_day: int | None = UNSET
    due_days: int | None = UNSET
    grace_days: int | None = UNSET
    bill_in_advance: bool | None = UNSET
    prorate: bool | None = UNSET


@strawberry.input(description="Omitted fields stay.")
class UpdateBillingSettingsInput(BillingTermsInput):
    company_id: relay.GlobalID
    rounding: Rounding | None = UNSET
    invoice_number_format: str | None = strawberry.field(
        default=UNSET, description="e.g. INV-{number:06}; {year} and {month} may appear.")
    next_invoice_number: int | None = UNSET
    review_drafts: bool | None = UNSET
    vacation_billing: VacationBilling | None = UNSET


@strawberry.input(description="Unset terms come from the company's settings.")
class SetBillingDefaultsInput(BillingTermsInput):
    account_type_id: relay.GlobalID


@strawberry.input(description="This account's own terms; omitted fields stay.")
class UpdateAccountBillingInput(BillingTermsInput):
    account_id: relay.GlobalID
    paper_invoices: bool | None = UNSET


@strawberry.input
class CreateGlCodeInput:
    company_id: relay.GlobalID
    code: str
    name: str
    description: str | None = UNSET


@strawberry.input
class UpdateGlCodeInput:
    id: relay.GlobalID
    code: str | None = UNSET
    name: str | None = UNSET
    description: str | None = UNSET


@strawberry.input
class CreateServiceInput:
    company_id: relay.GlobalID
    name: str
    kind: ServiceKind
    price: Decimal
    gl_code_id: relay.GlobalID
    taxable: bool = True
    description: str | None = UNSET
    billing_frequency_months: int | None = UNSET
    expires_after_cycles: int | None = UNSET
    vacation_price: Decimal | None = UNSET
    download_kbps: int | None = UNSET
    upload_kbps: int | None = UNSET
    usage_policy_id: relay.GlobalID | None = strawberry.field(
        default=UNSET, description="DATA services: a usage policy of the company.")
    topup_gb: int | None = strawberry.field(
        default=UNSET, description="ONE_TIME services: GB a purchase adds to the period's "
        "allowance.")
    active: bool | None = UNSET
    currency: str | None = strawberry.field(
        default=None, description="The currency of the amounts, if stated: must be the "
        "company's (amounts are never converted).")


@strawberry.input
class UpdateServiceInput:
    id: relay.GlobalID
    name: str | None = UNSET
    kind: ServiceKind | None = UNSET
    price: Decimal | None = UNSET
    gl_code_id: relay.GlobalID | None = UNSET
    taxable: bool | None = UNSET
    description: str | None = UNSET
    billing_frequency_months: int | None = UNSET
    expires_after_cycles: int | None = UNSET
    vacation_price: Decimal | None = UNSET
    download_kbps: int | None = UNSET
    upload_kbps: int | None = UNSET
    usage_policy_id: relay.GlobalID | None = UNSET
    topup_gb: int | None = UNSET
    active: bool | None = UNSET
    currency: str | None = strawberry.field(
        default=UNSET, description="The currency of the amounts, if stated: must be the "
        "company's (amounts are never converted).")


@strawberry.input
class PackageMemberInput:
    service_id: relay.GlobalID
    quantity: int = 1


@strawberry.input
class CreatePackageInput:
    company_id: relay.GlobalID
    name: str
    pricing: PackagePricing
    services: list[PackageMemberInput]
    price: Decimal | None = UNSET
    gl_code_id: relay.GlobalID | None = UNSET
    billing_frequency_months: int | None = UNSET
    taxable: bool = True
    description: str | None = UNSET
    active: bool | None = UNSET


@strawberry.input(description="services, when given, replaces the list.")
class UpdatePackageInput:
    id: relay.GlobalID
    name: str | None = UNSET
    pricing: PackagePricing | None = UNSET
    services: list[PackageMemberInput] | None = UNSET
    price: Decimal | None = UNSET
    gl_code_id: relay.GlobalID | None = UNSET
    billing_frequency_months: int | None = UNSET
    taxable: bool | None = UNSET
    description: str | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class CreateDiscountInput:
    company_id: relay.GlobalID
    name: str
    kind: DiscountKind
    applies_to: DiscountTarget
    gl_code_id: relay.GlobalID
    percent: Decimal | None = UNSET
    amount: Decimal | None = UNSET
    service_id: relay.GlobalID | None = UNSET
    package_id: relay.GlobalID | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class UpdateDiscountInput:
    id: relay.GlobalID
    name: str | None = UNSET
    percent: Decimal | None = UNSET
    amount: Decimal | None = UNSET
    gl_code_id: relay.GlobalID | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class CreateTaxRateInput:
    company_id: relay.GlobalID
    name: str
    rate: Decimal = strawberry.field(description="Percent, 0 to 100, up to 4 decimal places.")
    country: str
    gl_code_id: relay.GlobalID
    subdivision: str | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class UpdateTaxRateInput:
    id: relay.GlobalID
    name: str | None = UNSET
    rate: Decimal | None = UNSET
    country: str | None = UNSET
    subdivision: str | None = UNSET
    gl_code_id: relay.GlobalID | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class CreateInvoiceMessageInput:
    company_id: relay.GlobalID
    message: str
    account_type_id: relay.GlobalID | None = UNSET
    starts_on: date | None = UNSET
    ends_on: date | None = UNSET


@strawberry.input
class UpdateInvoiceMessageInput:
    id: relay.GlobalID
    message: str | None = UNSET
    account_type_id: relay.GlobalID | None = UNSET
    starts_on: date | None = UNSET
    ends_on: date | None = UNSET


@strawberry.input
class AddServiceToAccountInput:
    account_id: relay.GlobalID
    service_id: relay.GlobalID
    quantity: int | None = 1
    price_override: Decimal | None = None
    start_date: date | None = strawberry.field(default=None, description="Today if omitted; "
                                               "not before the account's activation.")
    currency: str | None = strawberry.field(
        default=None, description="The currency of the amounts, if stated: must be the "
        "company's (amounts are never converted).")


@strawberry.input
class AddPackageToAccountInput:
    account_id: relay.GlobalID
    package_id: relay.GlobalID
    quantity: int | None = 1
    start_date: date | None = None


@strawberry.input
class RemoveServiceFromAccountInput:
    account_service_id: relay.GlobalID
    date: date | None = strawberry.field(default=None, description="Today if omitted; a later "
                                         "day schedules the removal.")


@strawberry.input
class ChangeAccountServiceQuantityInput:
    account_service_id: relay.GlobalID
    quantity: int
    date: date | None = strawberry.field(default=None, description="Today if omitted; a later "
                                         "day schedules the change.")


@strawberry.input
class ChangeAccountServicePriceInput:
    account_service_id: relay.GlobalID
    price_override: Decimal | None = strawberry.field(description="Null: the catalogue price.")
    date: date | None = strawberry.field(default=None, description="Today if omitted; a later "
                                         "day schedules the change.")
    currency: str | None = strawberry.field(
        default=None, description="The currency of the amounts, if stated: must be the "
        "company's (amounts are never converted).")


@strawberry.input
class GiveAccountDiscountInput:
    account_id: relay.GlobalID
    discount_id: relay.GlobalID
    cycles: int | None = strawberry.field(default=None, description="For this many invoices; "
                                          "null: no limit.")
    until: date | None = strawberry.field(default=None, description="For invoices whose period "
                                          "starts by this day; null: no end.")


@strawberry.input
class CreateTaxExemptionInput:
    account_id: relay.GlobalID
    tax_rate_id: relay.GlobalID
    expires_on: date | None = None
    reason: str | None = None


@strawberry.input
class UpdateTaxExemptionInput:
    id: relay.GlobalID
    expires_on: date | None = UNSET
    reason: str | None = UNSET


@strawberry.input
class AddAccountVacationInput:
    account_id: relay.GlobalID
    starts_on: date
    ends_on: date = strawberry.field(description="Included.")


@strawberry.input
class CreateManualTransactionInput:
    account_id: relay.GlobalID
    type: Direction
    amount: Decimal = strawberry.field(description="Positive; the type says which way.")
    gl_code_id: relay.GlobalID
    description: str
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key returns the first result.")
    currency: str | None = strawberry.field(
        default=None, description="The currency of the amounts, if stated: must be the "
        "company's (amounts are never converted).")


@strawberry.input
class VoidInput:
    id: relay.GlobalID
    reason: str


@strawberry.input
class IssueInvoicesInput:
    ids: list[relay.GlobalID]


@strawberry.input
class UpdateDraftInvoiceLineInput:
    id: relay.GlobalID
    description: str | None = UNSET
    quantity: int | None = UNSET
    unit_price: Decimal | None = UNSET


@strawberry.input
class AddDraftInvoiceLineInput:
    invoice_id: relay.GlobalID
    description: str
    unit_price: Decimal
    gl_code_id: relay.GlobalID
    quantity: int = 1
    taxable: bool = True


@strawberry.input
class RunBillingInput:
    company_id: relay.GlobalID
    date: date | None = strawberry.field(default=None, description="Bill what is due by this "
                                         "day (today in the company if omitted).")


@strawberry.input(description="A proposed change for the billing calculator.")
class QuoteChangeInput:
    kind: ChangeKind
    service_id: relay.GlobalID | None = None
    account_service_id: relay.GlobalID | None = None
    quantity: int | None = None
    price: Decimal | None = None
    date: date | None = strawberry.field(default=None, description="When the change takes "
                                         "effect; today if omitted.")


@strawberry.input
class BillingQuoteInput:
    account_id: relay.GlobalID
    changes: list[QuoteChangeInput] | None = None
    date: date | None = strawberry.field(default=None, description="The bill date; the "
                                         "account's next one if omitted.")
