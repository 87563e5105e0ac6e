from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ispcore.db import Base, BigId, IdMixin
from ispcore.domain.common.models import Audited, Timestamps, UniqueName


class Role(IdMixin, UniqueName, Timestamps, Audited, Base):
    __tablename__ = "roles"
    audit_exclude = frozenset({"name_key"})
    description: Mapped[str] = mapped_column(String(500), default="")
    permissions: Mapped[list[str]] = mapped_column(default=list)
    built_in: Mapped[bool] = mapped_column(default=False)


class User(IdMixin, Timestamps, Audited, Base):
    __tablename__ = "users"
    audit_exclude = frozenset({"last_login_at"})
    audit_secrets = {"password_hash": "password_changed"}

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    role_id: Mapped[int] = mapped_column(BigId, ForeignKey("roles.id", ondelete="RESTRICT"),
                                         index=True)
    ip_allowlist: Mapped[list[str]] = mapped_column(default=list)
    last_login_at: Mapped[datetime | None]


class UserSession(IdMixin, Audited, Base):
    """A login session; the token's SHA-256 is stored, never the token."""

    __tablename__ = "user_sessions"
    audit_secrets = {"token_hash": "token_changed"}

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(45))


class PersonalAccessToken(IdMixin, Audited, Base):
    __tablename__ = "personal_access_tokens"
    audit_exclude = frozenset({"last_used_at", "last_used_ip"})
    audit_secrets = {"token_hash": "token_changed"}

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the secret, shown in listings so a user can tell tokens apart.
    display_prefix: Mapped[str] = mapped_column(String(20))
    scopes: Mapped[list[str] | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    last_used_ip: Mapped[str | None] = mapped_column(String(45))
    revoked_at: Mapped[datetime | None]


class SignInFailure(IdMixin, Base):
    """Failed sign-ins with one login from one client address, and when the next try from
    there may come (``throttle.py``). A counter, not a business record: not audited."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (UniqueConstraint("login_key", "address"),)

    #: SHA-256 of the kind of login and the login as typed (canonical): a login that does
    #: not exist is counted as one that does.
    login_key: Mapped[str] = mapped_column(String(64))
    #: The client address (an IPv6 one by its /64).
    address: Mapped[str] = mapped_column(String(45))
    failures: Mapped[int]
    last_failed_at: Mapped[datetime] = mapped_column(index=True)
    retry_at: Mapped[datetime | None]
