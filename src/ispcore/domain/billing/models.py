"""Billing tables. Amounts are integer minor units (``*_minor``) in the company's currency;
rates and percentages are integer millionths of the whole (``*_scaled``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import account_fk, company_fk, user_fk
from ispcore.domain.common.models import Audited, CompanyName, Timestamps

Minor = BigInteger


def gl_code_fk(*, nullable: bool = False) -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("gl_codes.id", ondelete="RESTRICT"), index=True,
                         nullable=nullable)


def partial_index(name: str, *columns: str, where: str) -> Index:
    """A (non-unique) index over the rows matching ``where``: small when they are few."""
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


def kept_account_fk(*, index: bool = True) -> Mapped[int]:
    """An account with money records (invoices, ledger entries) is never deleted."""
    return mapped_column(BigId, ForeignKey("accounts.id", ondelete="RESTRICT"), index=index)


def ref(table: str, *, nullable: bool = True, ondelete: str = "RESTRICT") -> Mapped[int | None]:
    return mapped_column(BigId, ForeignKey(f"{table}.id", ondelete=ondelete), index=True,
                         nullable=nullable)


class BillingTerms:
    """How an account is billed; the company's settings, each account type's defaults and
    each account's own copy carry the same columns."""

    billing_mode: Mapped[str] = mapped_column(String(20))
    #: The day of the month a fixed-day account is billed (an anniversary account's is its
    #: activation day, set when it is activated).
    bill_day: Mapped[int | None]
    due_days: Mapped[int]
    grace_days: Mapped[int]
    bill_in_advance: Mapped[bool]
    prorate: Mapped[bool]


class BillingSettings(IdMixin, BillingTerms, Timestamps, Audited, Base):
    __tablename__ = "billing_settings"
    audit_exclude = frozenset({"next_invoice_number"})
    company_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="CASCADE"), unique=True)
    rounding: Mapped[str] = mapped_column(String(10))
    #: e.g. ``INV-{number:06}``; ``{year}`` and ``{month}`` of the issue date may appear.
    invoice_number_format: Mapped[str] = mapped_column(String(50))
    next_invoice_number: Mapped[int] = mapped_column(BigInteger)
    #: Runs create drafts for staff to check and issue, instead of issuing.
    review_drafts: Mapped[bool]
    vacation_billing: Mapped[str] = mapped_column(String(20))


class BillingDefaults(IdMixin, BillingTerms, Timestamps, Audited, Base):
    """Copied onto each new account of the type."""

    __tablename__ = "billing_defaults"
    company_id: Mapped[int] = company_fk()
    account_type_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("account_types.id", ondelete="CASCADE"), unique=True)


class AccountBilling(IdMixin, BillingTerms, Timestamps, Audited, Base):
    __tablename__ = "account_billing"
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    #: Invoices are printed and mailed (the company's printed invoice fee applies).
    paper_invoices: Mapped[bool] = mapped_column(default=False, server_default=false())


class GlCode(IdMixin, Timestamps, Audited, Base):
    __tablename__ = "gl_codes"
    __table_args__ = (UniqueConstraint("company_id", "code"),)
    company_id: Mapped[int] = company_fk()
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")


class Service(IdMixin, CompanyName, Timestamps, Audited, Base):
    __tablename__ = "services"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(500), default="")
    price_minor: Mapped[int] = mapped_column(Minor)
    billing_frequency_months: Mapped[int] = mapped_column(default=1)
    #: EXPIRING services are billed this many cycles, then removed.
    expires_after_cycles: Mapped[int | None]
    vacation_price_minor: Mapped[int | None] = mapped_column(Minor)
    taxable: Mapped[bool]
    gl_code_id: Mapped[int] = gl_code_fk()
    active: Mapped[bool] = mapped_column(default=True)
    download_kbps: Mapped[int | None] = mapped_column(BigInteger)
    upload_kbps: Mapped[int | None] = mapped_column(BigInteger)
    #: A data service's usage-based billing policy.
    usage_policy_id: Mapped[int | None] = ref("usage_policies", ondelete="RESTRICT")
    #: A one-time service bought as a data top-up: GB added to the period's cap.
    topup_gb: Mapped[int | None] = mapped_column(BigInteger)


class Package(IdMixin, CompanyName, Timestamps, Audited, Base):
    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    description: Mapped[str] = mapped_column(String(500), default="")
    #: FIXED: the package price; SUM: each member service at its own price.
    pricing: Mapped[str] = mapped_column(String(10))
    price_minor: Mapped[int | None] = mapped_column(Minor)
    billing_frequency_months: Mapped[int] = mapped_column(default=1)
    taxable: Mapped[bool]
    gl_code_id: Mapped[int | None] = gl_code_fk(nullable=True)
    active: Mapped[bool] = mapped_column(default=True)


class PackageService(IdMixin, Base):
    __tablename__ = "package_services"
    __table_args__ = (UniqueConstraint("package_id", "service_id"),)
    package_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("packages.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("services.id", ondelete="RESTRICT"), index=True)
    quantity: Mapped[int]


class AccountService(IdMixin, Timestamps, Audited, Base):
    """A service or a package on an account. A package's member services are rows too
    (``bundle_id`` names the package row); the package row is billed when its price is fixed,
    the members when it is the sum of theirs."""

    __tablename__ = "account_services"
    audit_exclude = frozenset({"billed_until", "cycles_billed"})
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    service_id: Mapped[int | None] = ref("services")
    package_id: Mapped[int | None] = ref("packages")
    bundle_id: Mapped[int | None] = ref("account_services", ondelete="CASCADE")
    quantity: Mapped[int]
    price_override_minor: Mapped[int | None] = mapped_column(Minor)
    start_date: Mapped[date] = mapped_column(Date)
    #: The first day it is no longer on the account.
    end_date: Mapped[date | None] = mapped_column(Date)
    billed_until: Mapped[date | None] = mapped_column(Date)
    cycles_billed: Mapped[int] = mapped_column(default=0)


class Discount(IdMixin, CompanyName, Timestamps, Audited, Base):
    __tablename__ = "discounts"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    kind: Mapped[str] = mapped_column(String(10))
    percent_scaled: Mapped[int | None]
    amount_minor: Mapped[int | None] = mapped_column(Minor)
    #: ACCOUNT (the whole bill), SERVICE or PACKAGE (the one named).
    applies_to: Mapped[str] = mapped_column(String(10))
    service_id: Mapped[int | None] = ref("services")
    package_id: Mapped[int | None] = ref("packages")
    gl_code_id: Mapped[int] = gl_code_fk()
    active: Mapped[bool] = mapped_column(default=True)


class AccountDiscount(IdMixin, Timestamps, Audited, Base):
    __tablename__ = "account_discounts"
    audit_exclude = frozenset({"cycles_applied"})
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    discount_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("discounts.id", ondelete="RESTRICT"), index=True)
    #: Applied to this many invoices (null: no limit) ...
    cycles: Mapped[int | None]
    #: ... whose period starts on or before this day (null: no end).
    until: Mapped[date | None] = mapped_column(Date)
    cycles_applied: Mapped[int] = mapped_column(default=0)


class TaxRate(IdMixin, CompanyName, Timestamps, Audited, Base):
    __tablename__ = "tax_rates"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    rate_scaled: Mapped[int]
    #: The jurisdiction: a country, and a subdivision (all of the country when null).
    country: Mapped[str] = mapped_column(String(2))
    subdivision: Mapped[str | None] = mapped_column(String(100))
    gl_code_id: Mapped[int] = gl_code_fk()
    active: Mapped[bool] = mapped_column(default=True)


class TaxExemption(IdMixin, Timestamps, Audited, Base):
    __tablename__ = "tax_exemptions"
    __table_args__ = (UniqueConstraint("account_id", "tax_rate_id"),)
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk(index=False)
    tax_rate_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("tax_rates.id", ondelete="RESTRICT"), index=True)
    #: The last day it holds (null: no end).
    expires_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500), default="")


class AccountVacation(IdMixin, Timestamps, Audited, Base):
    """Days (both ends included) an account is away: billed a vacation price or nothing."""

    __tablename__ = "account_vacations"
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)


class InvoiceMessage(IdMixin, Timestamps, Audited, Base):
    """Text printed on invoices: for every account, or one account type, within dates."""

    __tablename__ = "invoice_messages"
    company_id: Mapped[int] = company_fk()
    account_type_id: Mapped[int | None] = ref("account_types", ondelete="CASCADE")
    message: Mapped[str] = mapped_column(String(2000))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)


class PendingCharge(IdMixin, Base):
    """A charge or credit waiting for the account's next invoice (proration of a change)."""

    __tablename__ = "pending_charges"
    __table_args__ = (Index("ix_pending_charges_unbilled", "account_id", "invoice_id"),)
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk(index=False)
    account_service_id: Mapped[int | None] = ref("account_services", ondelete="SET NULL")
    service_id: Mapped[int | None] = ref("services")
    package_id: Mapped[int | None] = ref("packages")
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[int]
    unit_price_minor: Mapped[int] = mapped_column(Minor)
    amount_minor: Mapped[int] = mapped_column(Minor)
    gl_code_id: Mapped[int] = gl_code_fk()
    taxable: Mapped[bool]
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    invoice_id: Mapped[int | None] = ref("invoices", ondelete="SET NULL")
    #: The usage period a usage charge (overage, or a late-usage correction) bills.
    usage_period_id: Mapped[int | None] = ref("usage_periods", ondelete="SET NULL")
    created_at: Mapped[datetime]


class BillingRun(IdMixin, Base):
    __tablename__ = "billing_runs"
    company_id: Mapped[int] = company_fk()
    run_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12))
    accounts_billed: Mapped[int] = mapped_column(default=0)
    invoices_created: Mapped[int] = mapped_column(default=0)
    accounts_failed: Mapped[int] = mapped_column(default=0)
    total_minor: Mapped[int] = mapped_column(Minor, default=0)
    requested_by_user_id: Mapped[int | None] = user_fk()
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(String(1000))


class BillingRunFailure(IdMixin, Base):
    __tablename__ = "billing_run_failures"
    billing_run_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("billing_runs.id", ondelete="CASCADE"), index=True)
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    reason: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime]


class Invoice(IdMixin, Base):
    """Issued invoices never change (a void reverses them); drafts are edited by staff.
    The account is a foreign key (an account with invoices stays); the company and run are
    references, set from the account and the run that wrote the invoice."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("company_id", "number"),
        # One invoice per account and bill date, however often a run is repeated (bill
        # dates only move forward; periods may overlap after a change of terms).
        UniqueConstraint("account_id", "bill_date"),
        partial_index("ix_invoices_drafts", "company_id", where="status = 'DRAFT'"),
        # Issued invoices not paid in full: what collections (delinquency, late fees) read.
        partial_index("ix_invoices_open", "account_id", "due_on",
                      where="status = 'ISSUED' AND paid_minor < total_minor"),
    )
    company_id: Mapped[int] = mapped_column(BigId, index=True)
    account_id: Mapped[int] = kept_account_fk(index=False)
    billing_run_id: Mapped[int | None] = mapped_column(BigId, index=True)
    number: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    #: The account's next bill date the invoice was made on; none for an invoice made at
    #: once (a manual debit, a returned-payment fee).
    bill_date: Mapped[date | None] = mapped_column(Date)
    #: The service its lines bill (from the first day of the earliest to the end of the
    #: latest); none when no line bills a service period (a credit note, a fee).
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    issued_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    subtotal_minor: Mapped[int] = mapped_column(Minor)
    discount_minor: Mapped[int] = mapped_column(Minor)
    tax_minor: Mapped[int] = mapped_column(Minor)
    total_minor: Mapped[int] = mapped_column(Minor)
    paid_minor: Mapped[int] = mapped_column(Minor, default=0)
    message: Mapped[str] = mapped_column(String(4000), default="")
    created_at: Mapped[datetime]
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(String(500))


class InvoiceLine(IdMixin, Base):
    """A line as billed: a snapshot. Only its invoice is a foreign key (and indexed); the
    other ids are references kept for reporting, so writing lines in bulk costs no per-row
    lookups. What they name outlives them anyway: a billed service or package keeps its
    account service rows, and an issued line's ledger code its ledger entries (the
    catalogue refuses to delete either); drafts are checked by hand."""

    __tablename__ = "invoice_lines"
    company_id: Mapped[int] = mapped_column(BigId)
    invoice_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("invoices.id", ondelete="CASCADE"), index=True)
    #: The account the line is for (a child account's on its parent's invoice).
    account_id: Mapped[int] = mapped_column(BigId)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(12))
    description: Mapped[str] = mapped_column(String(300))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    quantity: Mapped[int]
    unit_price_minor: Mapped[int] = mapped_column(Minor)
    amount_minor: Mapped[int] = mapped_column(Minor)
    discount_minor: Mapped[int] = mapped_column(Minor)
    tax_minor: Mapped[int] = mapped_column(Minor)
    total_minor: Mapped[int] = mapped_column(Minor)
    gl_code_id: Mapped[int] = mapped_column(BigId)
    taxable: Mapped[bool]
    account_service_id: Mapped[int | None] = mapped_column(BigId)
    service_id: Mapped[int | None] = mapped_column(BigId)
    package_id: Mapped[int | None] = mapped_column(BigId)


class InvoiceLineTax(IdMixin, Base):
    """A snapshot like its line: only the line is a foreign key."""

    __tablename__ = "invoice_line_taxes"
    company_id: Mapped[int] = mapped_column(BigId)
    invoice_id: Mapped[int] = mapped_column(BigId, index=True)
    invoice_line_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("invoice_lines.id", ondelete="CASCADE"), index=True)
    tax_rate_id: Mapped[int] = mapped_column(BigId, index=True)
    gl_code_id: Mapped[int] = mapped_column(BigId)
    amount_minor: Mapped[int] = mapped_column(Minor)


class InvoiceLineDiscount(IdMixin, Base):
    """A snapshot like its line: only the line is a foreign key."""

    __tablename__ = "invoice_line_discounts"
    company_id: Mapped[int] = mapped_column(BigId)
    invoice_id: Mapped[int] = mapped_column(BigId, index=True)
    invoice_line_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("invoice_lines.id", ondelete="CASCADE"), index=True)
    account_discount_id: Mapped[int | None] = mapped_column(BigId)
    name: Mapped[str] = mapped_column(String(200))
    gl_code_id: Mapped[int] = mapped_column(BigId)
    amount_minor: Mapped[int] = mapped_column(Minor)


class LedgerEntry(IdMixin, Base):
    """One immutable movement of an account's balance: positive debits (what the customer
    owes more), negative credits. A mistake is corrected by a reversing entry. The account
    (never deleted while it has entries) and the reversed entry are foreign keys; the code,
    invoice and user are references, checked when the entry is made."""

    __tablename__ = "ledger_entries"
    __table_args__ = (Index("ix_ledger_entries_account", "account_id", "id"),)
    company_id: Mapped[int] = mapped_column(BigId, index=True)
    account_id: Mapped[int] = kept_account_fk(index=False)
    kind: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(Minor)
    gl_code_id: Mapped[int] = mapped_column(BigId, index=True)
    description: Mapped[str] = mapped_column(String(300))
    invoice_id: Mapped[int | None] = mapped_column(BigId, index=True)
    payment_id: Mapped[int | None] = mapped_column(BigId, index=True)
    reverses_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("ledger_entries.id", ondelete="RESTRICT"), unique=True)
    posted_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    user_id: Mapped[int | None] = mapped_column(BigId)
