"""Collections tables: delinquency settings, delinquent accounts, exclusions and late fees.
Amounts are integer minor units; percentages millionths of the whole (as in billing)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import account_fk, company_fk
from ispcore.domain.billing.models import Minor, ref
from ispcore.domain.common.models import Audited, Timestamps


class DelinquencySettings(IdMixin, Timestamps, Audited, Base):
    """One row per company, saved with the defaults the first time it is needed."""

    __tablename__ = "delinquency_settings"
    company_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="CASCADE"), unique=True)
    #: Move accounts with overdue invoices to ``delinquent_status_id``.
    enabled: Mapped[bool]
    #: An invoice overdue by more than this many days (or the account's grace days, if
    #: more) makes its account delinquent.
    days_overdue: Mapped[int]
    delinquent_status_id: Mapped[int | None] = ref("account_statuses")
    #: Accounts owing less than this on overdue invoices are left alone (null: any amount).
    minimum_overdue_minor: Mapped[int | None] = mapped_column(Minor)
    #: NONE, FIXED (``late_fee_amount_minor``) or PERCENT (of the invoice's remaining due).
    late_fee_kind: Mapped[str] = mapped_column(String(10))
    late_fee_amount_minor: Mapped[int | None] = mapped_column(Minor)
    late_fee_percent_scaled: Mapped[int | None]
    #: Days after the due date (or the account's grace days, if more) before the fee.
    late_fee_days: Mapped[int]
    #: Charged on each invoice of an account that wants paper invoices (0: none).
    paper_invoice_fee_minor: Mapped[int] = mapped_column(Minor)
    #: Where late and paper invoice fees are booked.
    fee_gl_code_id: Mapped[int | None] = ref("gl_codes")


class AccountDelinquency(IdMixin, Base):
    """An account made delinquent by the sweep, until its overdue invoices are paid."""

    __tablename__ = "account_delinquencies"
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    since: Mapped[date] = mapped_column(Date)
    #: The status it had before (restored when it clears) and the one it was moved to.
    previous_status_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("account_statuses.id", ondelete="RESTRICT"), index=True)
    delinquent_status_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("account_statuses.id", ondelete="RESTRICT"), index=True)
    #: The oldest overdue invoice when it became delinquent.
    invoice_id: Mapped[int | None] = ref("invoices", ondelete="SET NULL")
    overdue_minor: Mapped[int] = mapped_column(Minor)
    created_at: Mapped[datetime]


class DelinquencyExclusion(IdMixin, Timestamps, Audited, Base):
    """An account, or every account of a group, that is never made delinquent (nor charged
    late fees) until ``until`` (inclusive; null: indefinitely)."""

    __tablename__ = "delinquency_exclusions"
    __table_args__ = (CheckConstraint(
        "(account_id IS NULL) <> (account_group_id IS NULL)", name="account_or_group"),)
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int | None] = ref("accounts", ondelete="CASCADE")
    account_group_id: Mapped[int | None] = ref("account_groups", ondelete="CASCADE")
    until: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(500), default="")


class LateFee(IdMixin, Base):
    """The late fee of an invoice: at most one each."""

    __tablename__ = "late_fees"
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    invoice_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("invoices.id", ondelete="RESTRICT"), unique=True)
    #: The charge waiting for (or put on) the account's next invoice.
    pending_charge_id: Mapped[int | None] = ref("pending_charges", ondelete="SET NULL")
    amount_minor: Mapped[int] = mapped_column(Minor)
    charged_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
