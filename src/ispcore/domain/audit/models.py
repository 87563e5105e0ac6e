from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin


class AuditLogEntry(IdMixin, Base):
    """Who changed what, when, through which request. Written by the flush listener."""

    __tablename__ = "audit_log_entries"
    __table_args__ = (Index("ix_audit_log_entries_entity", "entity_type", "entity_id"),)

    occurred_at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None] = mapped_column(BigId, index=True)
    token_id: Mapped[int | None] = mapped_column(BigId)
    company_id: Mapped[int | None] = mapped_column(BigId, index=True)
    action: Mapped[str | None] = mapped_column(String(100))
    operation: Mapped[str] = mapped_column(String(10))
    entity_type: Mapped[str] = mapped_column(String(100))
    entity_id: Mapped[int] = mapped_column(BigId)
    changes: Mapped[dict[str, Any]]
    request_id: Mapped[str | None] = mapped_column(String(64))
