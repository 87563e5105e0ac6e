"""Column mixins every domain model shares."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, func, select
from sqlalchemy.orm import Mapped, mapped_column, validates

from ispcore.db import UTCDateTime
from ispcore.domain.common.errors import Duplicate


class Timestamps:
    """``created_at``/``updated_at``, set by the services from the injected clock."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


def name_key(name: str) -> str:
    """What makes two names the same name: case and runs of spaces do not count."""
    return " ".join(name.casefold().split())


class UniqueName:
    """A display name unique within its table regardless of case ("Acme" = "ACME"), enforced
    by the database through ``name_key`` (kept in step on every assignment), so concurrent
    requests cannot both take a name."""

    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)

    @validates("name")
    def _keep_name_key(self, _attribute: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


class CompanyName:
    """A display name unique within its company regardless of case; each model declares
    ``UniqueConstraint("company_id", "name_key")`` so the database enforces it."""

    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))

    @validates("name")
    def _keep_name_key(self, _attribute: str, value: str) -> str:
        self.name_key = name_key(value)
        return value


async def ensure_name_free(session: Any, model: Any, name: str, *, what: str,
                           exclude_id: int | None = None, **scope: Any) -> None:
    """Raise ``DUPLICATE`` on field ``name`` if another ``model`` row has this name (among the
    rows matching ``scope``, e.g. ``company_id=3``, when given)."""
    stmt = select(func.count()).where(model.name_key == name_key(name))
    for column, value in scope.items():
        stmt = stmt.where(getattr(model, column) == value)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if await session.scalar(stmt):
        raise Duplicate(f"A {what} named {name!r} already exists.", field="name")


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
