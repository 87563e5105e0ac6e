from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, IdMixin
from ispcore.domain.accounts.models import account_fk, company_fk, user_fk
from ispcore.domain.common.models import Audited, Timestamps


class ScheduledEvent(IdMixin, Timestamps, Audited, Base):
    __tablename__ = "scheduled_events"
    __table_args__ = (Index("ix_scheduled_events_due", "status", "due_at"),)
    company_id: Mapped[int] = company_fk()
    account_id: Mapped[int] = account_fk()
    action: Mapped[str] = mapped_column(String(30))
    #: The day it runs, in the company's time zone; ``due_at`` is that day's first instant.
    run_on: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime]
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(12), default="PENDING")
    outcome: Mapped[str | None] = mapped_column(String(1000))
    executed_at: Mapped[datetime | None]
    created_by_user_id: Mapped[int | None] = user_fk()
