from __future__ import annotations

from sqlalchemy import String, true
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, IdMixin
from ispcore.domain.common.models import Audited, Timestamps, UniqueName


class Company(IdMixin, UniqueName, Timestamps, Audited, Base):
    """An ISP brand. Every business row belongs to one."""

    __tablename__ = "companies"
    audit_exclude = frozenset({"name_key"})
    currency: Mapped[str] = mapped_column(String(3))
    time_zone: Mapped[str] = mapped_column(String(64))
    contact_email: Mapped[str | None] = mapped_column(String(320))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    subdivision: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(2))
    #: An inactive company keeps its records but takes no payments.
    active: Mapped[bool] = mapped_column(default=True, server_default=true())

    def audit_company_id(self) -> int | None:
        return self.id
