from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import company_fk
from ispcore.domain.common.models import Audited, CompanyName, Timestamps


class CustomField(IdMixin, CompanyName, Timestamps, Audited, Base):
    __tablename__ = "custom_fields"
    __table_args__ = (UniqueConstraint("company_id", "entity_type", "name_key"),)
    audit_exclude = frozenset({"name_key"})
    company_id: Mapped[int] = company_fk()
    entity_type: Mapped[str] = mapped_column(String(30))
    data_type: Mapped[str] = mapped_column(String(10))
    #: The choices of a SELECT field.
    options: Mapped[list[str]] = mapped_column(default=list)
    required: Mapped[bool] = mapped_column(default=False)
    unique: Mapped[bool] = mapped_column(default=False)


class CustomFieldValue(IdMixin, Audited, Base):
    """One field's value on one entity, in the column of its type (so filters compare
    numbers as numbers and dates as dates)."""

    __tablename__ = "custom_field_values"
    __table_args__ = (UniqueConstraint("custom_field_id", "entity_id"),
                      UniqueConstraint("custom_field_id", "unique_key"))
    company_id: Mapped[int] = company_fk()
    custom_field_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("custom_fields.id", ondelete="CASCADE"))
    #: Which entity: ``entity_type`` repeats the field's, so reads by entity need no join.
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[int] = mapped_column(BigId, index=True)
    text_value: Mapped[str | None] = mapped_column(String(1000))
    number_value: Mapped[float | None]
    date_value: Mapped[date | None] = mapped_column(Date)
    boolean_value: Mapped[bool | None]
    #: The value's canonical text when the field is unique, else null: the database refuses a
    #: second entity with the same value.
    unique_key: Mapped[str | None] = mapped_column(String(1000))
