from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin


class Event(IdMixin, Base):
    """An outbox row, written in the same transaction as the change it describes."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_type_id", "type", "id"),)

    type: Mapped[str] = mapped_column(String(100))
    company_id: Mapped[int | None] = mapped_column(BigId, index=True)
    entity_type: Mapped[str | None] = mapped_column(String(100))
    entity_id: Mapped[int | None] = mapped_column(BigId)
    payload: Mapped[dict[str, Any]]
    occurred_at: Mapped[datetime]
    request_id: Mapped[str | None] = mapped_column(String(64))


class EventHandlerRun(Base):
    """Proof that one handler processed one event; its primary key makes that happen once."""

    __tablename__ = "event_handler_runs"

    event_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    handler: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime]
