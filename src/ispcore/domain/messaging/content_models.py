"""What decides which messages are written and to whom: message categories, templates and the
triggers that render them on events, saved messages, mass messages and each contact's opt-outs.
The messages themselves are outbox rows (:mod:`ispcore.domain.messaging.models`)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import company_fk, user_fk
from ispcore.domain.common.models import Audited, CompanyName, Timestamps


class Recipients(StrEnum):
    """Which of an account's contacts a trigger or mass message writes to."""

    #: The contacts marked financial (the primary contact when none is).
    FINANCIAL = "FINANCIAL"
    PRIMARY = "PRIMARY"
    ALL = "ALL"


class MassMessageStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


def category_ref() -> Mapped[int | None]:
    return mapped_column(BigId, ForeignKey("message_categories.id", ondelete="SET NULL"),
                         index=True)


class MessageCategory(IdMixin, CompanyName, Timestamps, Audited, Base):
    """What a message is about (billing, outages, marketing): customers opt out per category,
    except from those marked ``customers_can_opt_out = False`` (transactional messages)."""

    __tablename__ = "message_categories"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})

    company_id: Mapped[int] = company_fk()
    description: Mapped[str] = mapped_column(String(500), default="")
    customers_can_opt_out: Mapped[bool] = mapped_column(default=True)


class MessageContent:
    """A subject and bodies in the template language (Jinja, sandboxed, checked on save)."""

    subject: Mapped[str] = mapped_column(String(500), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    #: Email only; SMS sends ``body_text``.
    body_html: Mapped[str | None] = mapped_column(Text)


class MessageTemplate(IdMixin, CompanyName, MessageContent, Timestamps, Audited, Base):
    """A message a trigger renders. ``event_type`` says which variables it may use (null: the
    account's only, so any trigger may use it)."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})

    company_id: Mapped[int] = company_fk()
    event_type: Mapped[str | None] = mapped_column(String(60))


class MessageTrigger(IdMixin, Timestamps, Audited, Base):
    """On an event of ``event_type`` for an account, render ``template`` for the chosen
    contacts and queue it. ``invoice.due_soon`` is not a recorded event: a daily job fires it
    ``days_before`` an invoice's due date."""

    __tablename__ = "message_triggers"

    company_id: Mapped[int] = company_fk()
    event_type: Mapped[str] = mapped_column(String(60), index=True)
    template_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("message_templates.id", ondelete="RESTRICT"), index=True)
    recipients: Mapped[str] = mapped_column(String(10))
    channel: Mapped[str] = mapped_column(String(10))
    category_id: Mapped[int | None] = category_ref()
    days_before: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)


class SavedMessage(IdMixin, CompanyName, MessageContent, Timestamps, Audited, Base):
    """A message kept for reuse in mass messages."""

    __tablename__ = "saved_messages"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)
    audit_exclude = frozenset({"name_key"})

    company_id: Mapped[int] = company_fk()
    channel: Mapped[str] = mapped_column(String(10))
    category_id: Mapped[int | None] = category_ref()


class ContactMessageOptOut(IdMixin, Base):
    """A contact wants no messages on ``channel`` (category null), or none of ``category``
    (channel null)."""

    __tablename__ = "contact_message_opt_outs"

    company_id: Mapped[int] = company_fk()
    contact_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str | None] = mapped_column(String(10))
    category_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("message_categories.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]


class MassMessage(IdMixin, MessageContent, Timestamps, Base):
    """One message to the accounts a filter matched when it was created (``mass_message_
    accounts``), queued in batches by a job that records its progress here."""

    __tablename__ = "mass_messages"

    company_id: Mapped[int] = company_fk()
    channel: Mapped[str] = mapped_column(String(10))
    recipients: Mapped[str] = mapped_column(String(10))
    category_id: Mapped[int | None] = category_ref()
    saved_message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("saved_messages.id", ondelete="SET NULL"))
    #: The accounts filter as given, for the record.
    filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default=MassMessageStatus.PENDING)
    #: Accounts matched, accounts worked through, messages queued, contacts skipped (opted
    #: out, or no address for the channel).
    total: Mapped[int] = mapped_column(default=0)
    processed: Mapped[int] = mapped_column(default=0)
    queued: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    #: The job's cursor: accounts up to this id are done.
    last_account_id: Mapped[int] = mapped_column(BigId, default=0)
    created_by_id: Mapped[int | None] = user_fk()
    finished_at: Mapped[datetime | None]


class MassMessageAccount(Base):
    __tablename__ = "mass_message_accounts"

    mass_message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("mass_messages.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
