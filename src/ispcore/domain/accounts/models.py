from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.common.models import Audited, CompanyName, Timestamps


def company_fk() -> Mapped[int]:
    return mapped_column(BigId, ForeignKey("companies.id", ondelete="RESTRICT"), index=True)


def account_fk(*, index: bool = True) -> Mapped[int]:
    """An account's own records go with it when the account is deleted."""
    return mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=index)


def user_fk() -> Mapped[int | None]:
    """A staff member who acted; the record stays if the user is deleted."""
    return mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"), nullable=True,
                         index=True)


def partial_unique(name: str, *columns: str, where: str) -> Index:
    """A unique index over the rows matching ``where`` (both databases support these)."""
    return Index(name, *columns, unique=True, postgresql_where=text(where),
                 sqlite_where=text(where))


class AccountType(IdMixin, CompanyName, Timestamps, Audited, Base):
    """Residential, business, MDU, …: what kind of customer an account is. Billing defaults
    hang off the type (see ``ACCOUNT_CREATED_HOOKS``)."""

    __tablename__ = "account_types"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    description: Mapped[str] = mapped_column(String(500), default="")


class AccountStatus(IdMixin, CompanyName, Timestamps, Audited, Base):
    __tablename__ = "account_statuses"
    __table_args__ = (
        UniqueConstraint("company_id", "name_key"),
        partial_unique("uq_account_statuses_disconnect_default", "company_id",
                       where="is_disconnect_default"),
    )
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    counts_as_active: Mapped[bool] = mapped_column(default=True)
    is_delinquent: Mapped[bool] = mapped_column(default=False)
    is_lead: Mapped[bool] = mapped_column(default=False)
    #: The status ``disconnectAccount`` uses when the caller names none (one per company).
    is_disconnect_default: Mapped[bool] = mapped_column(default=False)
    color: Mapped[str] = mapped_column(String(7), default="#808080")


class AccountGroup(IdMixin, CompanyName, Timestamps, Audited, Base):
    __tablename__ = "account_groups"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    description: Mapped[str] = mapped_column(String(500), default="")


class Account(IdMixin, Timestamps, Audited, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("company_id", "account_number"),
        # The billing run's "due by this day" search.
        Index("ix_accounts_company_next_bill_date", "company_id", "next_bill_date"),
    )
    company_id: Mapped[int] = company_fk()
    #: Chosen by the caller ("specify account ID upon creation"); unique per company.
    account_number: Mapped[str | None] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200), index=True)
    account_type_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("account_types.id", ondelete="RESTRICT"), index=True)
    account_status_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("account_statuses.id", ondelete="RESTRICT"), index=True)
    parent_account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    #: A child account's charges go on its parent's invoice.
    bill_to_parent: Mapped[bool] = mapped_column(default=False)
    activation_date: Mapped[date | None] = mapped_column(Date)
    #: Set by billing; kept here so every area reads the same column.
    next_bill_date: Mapped[date | None] = mapped_column(Date)
    lead_source: Mapped[str | None] = mapped_column(String(100))
    disconnected_on: Mapped[date | None] = mapped_column(Date)
    disconnect_reason: Mapped[str | None] = mapped_column(String(500))


class AccountGroupMembership(IdMixin, Audited, Base):
    __tablename__ = "account_group_memberships"
    __table_args__ = (UniqueConstraint("account_id", "account_group_id"),)
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk(index=False)
    account_group_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("account_groups.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class AccountStatusChange(IdMixin, Base):
    """One line of an account's status history (the history is its own audit trail)."""

    __tablename__ = "account_status_changes"
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    kind: Mapped[str] = mapped_column(String(20))
    from_status_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("account_statuses.id", ondelete="RESTRICT"), index=True)
    to_status_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("account_statuses.id", ondelete="RESTRICT"), index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    changed_at: Mapped[datetime]
    user_id: Mapped[int | None] = user_fk()


class PhoneNumberType(IdMixin, CompanyName, Timestamps, Audited, Base):
    """Mobile, home, work, fax, …: what a contact's number is for (e.g. SMS goes to mobile)."""

    __tablename__ = "phone_number_types"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    can_receive_sms: Mapped[bool] = mapped_column(default=False)


class Contact(IdMixin, Timestamps, Audited, Base):
    __tablename__ = "contacts"
    __table_args__ = (partial_unique("uq_contacts_primary", "account_id", where="is_primary"),)
    audit_secrets = {"portal_password_hash": "portal_password_changed"}
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(100))
    is_primary: Mapped[bool] = mapped_column(default=False)
    #: Financial contacts receive invoices.
    is_financial: Mapped[bool] = mapped_column(default=False)
    #: Customer portal login; lower-cased, unique across the instance.
    portal_username: Mapped[str | None] = mapped_column(String(100), unique=True)
    portal_password_hash: Mapped[str | None] = mapped_column(String(200))


class ContactEmail(IdMixin, Base):
    __tablename__ = "contact_emails"
    __table_args__ = (UniqueConstraint("contact_id", "email"),)
    company_id: Mapped[int] = company_fk()
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    position: Mapped[int]


class ContactPhoneNumber(IdMixin, Base):
    __tablename__ = "contact_phone_numbers"
    company_id: Mapped[int] = company_fk()
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    phone_number_type_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("phone_number_types.id", ondelete="RESTRICT"), index=True)
    #: E.164, e.g. +13125550100.
    number: Mapped[str] = mapped_column(String(20))
    extension: Mapped[str | None] = mapped_column(String(10))
    position: Mapped[int]
