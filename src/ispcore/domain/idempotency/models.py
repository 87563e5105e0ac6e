from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin


class IdempotencyKey(IdMixin, Base):
    """A mutation's first answer, kept so a retry with the same key gets it again."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "operation", "key"),)

    user_id: Mapped[int] = mapped_column(BigId)
    operation: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
