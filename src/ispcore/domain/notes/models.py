from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import company_fk, user_fk
from ispcore.domain.common.models import Audited, Timestamps

ONE_SUBJECT = "(account_id IS NULL) <> (serviceable_address_id IS NULL)"


class Subject:
    """A note or task is about exactly one account or one serviceable address."""

    account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    serviceable_address_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("serviceable_addresses.id", ondelete="CASCADE"), index=True)


class Note(IdMixin, Subject, Timestamps, Audited, Base):
    __tablename__ = "notes"
    __table_args__ = (CheckConstraint(ONE_SUBJECT, name="one_subject"),)
    company_id: Mapped[int] = company_fk()
    #: Sanitised HTML (the rich text editor's output, scripts and handlers removed).
    body: Mapped[str] = mapped_column(Text)
    pinned: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[str] = mapped_column(String(10), default="NORMAL")
    author_user_id: Mapped[int | None] = user_fk()


class Task(IdMixin, Subject, Timestamps, Audited, Base):
    __tablename__ = "tasks"
    __table_args__ = (CheckConstraint(ONE_SUBJECT, name="one_subject"),)
    company_id: Mapped[int] = company_fk()
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    assignee_user_id: Mapped[int | None] = user_fk()
    due_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by_user_id: Mapped[int | None] = user_fk()
    created_by_user_id: Mapped[int | None] = user_fk()


class CallLog(IdMixin, Timestamps, Audited, Base):
    __tablename__ = "call_logs"
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    direction: Mapped[str] = mapped_column(String(10))
    occurred_at: Mapped[datetime]
    duration_seconds: Mapped[int]
    notes: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = user_fk()
