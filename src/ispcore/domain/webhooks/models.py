"""Webhook tables: endpoints, the rendered message of each event (once, whatever the number of
endpoints), one delivery per (endpoint, event) with its attempts, and the fan-out's place in
the outbox."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.accounts.models import user_fk
from ispcore.domain.common.models import Audited, Timestamps


class DeliveryStatus(StrEnum):
    PENDING = "PENDING"
    SENDING = "SENDING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class Webhook(IdMixin, Timestamps, Audited, Base):
    """A URL that receives the events it subscribes to (exact types or ``prefix.*``), for one
    company, or instance-wide when ``company_id`` is null. Secrets are sealed with the vault
    key: signing needs them in clear."""

    __tablename__ = "webhook_endpoints"
    audit_exclude = frozenset({"failing_since"})
    audit_secrets = {"secret_sealed": "secret_rotated",
                     "previous_secret_sealed": "secret_rotated"}
    company_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("companies.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    secret_sealed: Mapped[str] = mapped_column(String(500))
    #: The secret before the last rotation; it signs too until ``previous_secret_expires_at``.
    previous_secret_sealed: Mapped[str | None] = mapped_column(String(500))
    previous_secret_expires_at: Mapped[datetime | None]
    #: The first failed attempt since the last success; days of failure disable the endpoint.
    failing_since: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = user_fk()


class WebhookMessage(Base):
    """An event as endpoints receive it: the JSON body, rendered once per event."""

    __tablename__ = "webhook_messages"
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class WebhookDelivery(IdMixin, Base):
    """One event for one endpoint: PENDING (``next_attempt_at`` says when), SENDING (claimed
    by a sender until ``claimed_until``), SUCCEEDED or FAILED (gave up). Every attempt
    carries the same ``webhook-id``: ``msg_<event id>``."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("endpoint_id", "event_id"),
                      Index("ix_webhook_deliveries_due", "status", "next_attempt_at"))
    endpoint_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_messages.event_id", ondelete="CASCADE"), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    attempt_count: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    last_status_code: Mapped[int | None]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class WebhookAttempt(IdMixin, Base):
    """One HTTP request of a delivery and what came of it."""

    __tablename__ = "webhook_attempts"
    delivery_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime]
    status_code: Mapped[int | None]
    #: Transport failures and refusals (timeout, redirect, private address).
    error: Mapped[str | None] = mapped_column(String(500))
    response_excerpt: Mapped[str] = mapped_column(String(1000), default="")
    duration_ms: Mapped[int]


class WebhookFanOut(Base):
    """Where the fan-out is in the outbox: the last event id it read and the ids it jumped
    over that may still commit (see :class:`ispcore.domain.events.feed.EventFeed`). One row."""

    __tablename__ = "webhook_fan_out"
    id: Mapped[int] = mapped_column(primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigId)
    gaps: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]
