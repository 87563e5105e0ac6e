"""How a company's messages leave: its outbound email (SMTP) settings and its SMS provider.
Secrets (the SMTP password, the SMS provider's auth token) are sealed with the vault key."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.common.models import Audited, Timestamps


class SmtpSecurity(StrEnum):
    #: Plain SMTP (a relay on a trusted network, or port 25 between servers).
    NONE = "none"
    #: Plain connection upgraded with STARTTLS before anything else is said (port 587).
    STARTTLS = "starttls"
    #: TLS from the first byte (SMTPS, port 465).
    TLS = "tls"


class SmsProviderKind(StrEnum):
    #: Writes the message to the log and calls it sent (development, demos).
    LOG_ONLY = "log_only"
    #: Twilio's Programmable Messaging REST API.
    TWILIO = "twilio"


class EmailSettings(IdMixin, Timestamps, Audited, Base):
    """A company's outbound email: the SMTP server it sends through and who mail is from."""

    __tablename__ = "email_settings"
    audit_secrets = {"password_sealed": "password_changed"}

    company_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="CASCADE"), unique=True)
    smtp_host: Mapped[str] = mapped_column(String(255))
    smtp_port: Mapped[int]
    security: Mapped[str] = mapped_column(String(10))
    username: Mapped[str | None] = mapped_column(String(255))
    password_sealed: Mapped[str | None] = mapped_column(String(1000))
    from_address: Mapped[str] = mapped_column(String(320))
    from_name: Mapped[str] = mapped_column(String(200), default="")
    reply_to: Mapped[str | None] = mapped_column(String(320))
    #: The domain of the Message-IDs (usually the from address's).
    domain: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)


class SmsSettings(IdMixin, Timestamps, Audited, Base):
    """A company's SMS provider and the number its texts come from."""

    __tablename__ = "sms_settings"
    audit_secrets = {"auth_token_sealed": "auth_token_changed"}

    company_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="CASCADE"), unique=True)
    provider: Mapped[str] = mapped_column(String(20))
    account_sid: Mapped[str | None] = mapped_column(String(100))
    auth_token_sealed: Mapped[str | None] = mapped_column(String(1000))
    #: E.164 (``+13125550100``) or a short code / sender id the provider accepts.
    from_number: Mapped[str] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(default=True)
