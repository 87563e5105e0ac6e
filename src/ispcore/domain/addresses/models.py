from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import account_fk, company_fk, partial_unique
from ispcore.domain.common.models import Audited, Timestamps


class PostalFields:
    line1: Mapped[str] = mapped_column(String(200))
    line2: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(50))
    city: Mapped[str] = mapped_column(String(100))
    subdivision: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))


class ServiceableAddress(IdMixin, PostalFields, Timestamps, Audited, Base):
    """A place the ISP can (or cannot yet) serve, entered before any customer lives there."""

    __tablename__ = "serviceable_addresses"
    __table_args__ = (UniqueConstraint("company_id", "address_key"),)
    audit_exclude = frozenset({"address_key"})
    company_id: Mapped[int] = company_fk()
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    #: The FCC Broadband Serviceable Location Fabric id (for BDC filings).
    fcc_location_id: Mapped[str | None] = mapped_column(String(20))
    serviceable: Mapped[bool] = mapped_column(default=True)
    #: What makes two entries the same place (case, spacing and punctuation do not count).
    address_key: Mapped[str] = mapped_column(String(700))


class AddressOccupancy(IdMixin, Audited, Base):
    """An account living at a serviceable address from one day to another (open: still)."""

    __tablename__ = "address_occupancies"
    __table_args__ = (
        partial_unique("uq_address_occupancies_current_address", "serviceable_address_id",
                       where="moved_out_on IS NULL"),
        partial_unique("uq_address_occupancies_current_account", "account_id",
                       where="moved_out_on IS NULL"),
    )
    company_id: Mapped[int] = company_fk()
    serviceable_address_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("serviceable_addresses.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[int] = account_fk()
    moved_in_on: Mapped[date] = mapped_column(Date)
    moved_out_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]


class AccountPostalAddress(IdMixin, PostalFields, Timestamps, Audited, Base):
    """Where an account's mail or invoices go, when not to its physical address."""

    __tablename__ = "account_postal_addresses"
    __table_args__ = (UniqueConstraint("account_id", "kind"),)
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk(index=False)
    kind: Mapped[str] = mapped_column(String(10))
