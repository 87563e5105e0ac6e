"""Column mixins every domain model shares."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import UTCDateTime


class Timestamps:
    """``created_at``/``updated_at``, set by the services from the injected clock."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Audited:
    """Marks a model whose inserts, updates and deletes are written to the audit log.

    ``audit_exclude`` names columns left out of the log (bookkeeping such as counters);
    ``audit_secrets`` maps columns whose value never appears to the flag an update of them
    sets instead, e.g. ``{"password_hash": "password_changed"}`` (a password reset is a
    security event, its value is nobody's business).
    """

    audit_exclude: frozenset[str] = frozenset()
    audit_secrets: dict[str, str] = {}

    def audit_company_id(self) -> int | None:
        return getattr(self, "company_id", None)
