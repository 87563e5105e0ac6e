"""The message outbox: every email or SMS ispcore sends is first a row here, written in the
transaction that decided to send it, then sent (and retried) by a job. The rows are also the
sent log the API shows."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import company_fk


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class MessageStatus(StrEnum):
    #: Waiting for its first or next attempt (``next_attempt_at``).
    QUEUED = "queued"
    SENT = "sent"
    #: Given up after the last retry, or refused for good (no settings, bad address).
    FAILED = "failed"


class OutboundMessage(IdMixin, Base):
    """One email or SMS to one recipient.

    ``origin`` says what wrote it (``trigger``, ``mass_message``, ``manual``, ``system``) and
    ``origin_key`` makes writing it idempotent: a trigger run twice for the same event and
    contact, or a mass message batch re-run, finds the row already there."""

    __tablename__ = "outbound_messages"
    __table_args__ = (
        UniqueConstraint("company_id", "origin_key"),
        Index("ix_outbound_messages_due", "status", "next_attempt_at"),
        Index("ix_outbound_messages_account", "account_id", "id"),
    )

    company_id: Mapped[int] = company_fk()
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default=MessageStatus.QUEUED)
    account_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("accounts.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("contacts.id", ondelete="SET NULL"))
    #: An email address or an E.164 phone number.
    recipient: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500), default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(20))
    origin_key: Mapped[str] = mapped_column(String(200))
    #: A message category (mass messages and triggers may set one; customers opt out per category).
    category_id: Mapped[int | None] = mapped_column(BigId)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    #: The provider's id for the sent message (SMTP Message-ID, SMS provider's id).
    provider_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class MessageAttachment(IdMixin, Base):
    """A file sent with an email. An invoice's PDF is referenced (``invoice_id``) and rendered
    when the email is sent, so the outbox does not hold a copy of every PDF; any other file is
    stored in ``content``."""

    __tablename__ = "message_attachments"

    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("outbound_messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    invoice_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("invoices.id", ondelete="CASCADE"))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
