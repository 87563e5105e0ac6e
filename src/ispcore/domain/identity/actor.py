"""Who is acting: a user through a session or a token, the system, or nobody."""

from __future__ import annotations

from dataclasses import dataclass

from ispcore.domain.identity.permissions import ALL_PERMISSIONS


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None = None
    session_id: int | None = None
    token_id: int | None = None
    #: A poller process (its token is a poller token, not a user's).
    poller_id: int | None = None
    company_id: int | None = None
    permissions: frozenset[str] = frozenset()
    ip: str | None = None
    is_system: bool = False

    @property
    def authenticated(self) -> bool:
        return self.user_id is not None or self.poller_id is not None or self.is_system

    def can(self, permission: str) -> bool:
        return self.is_system or permission in self.permissions

    @property
    def rate_limit_key(self) -> str:
        if self.token_id is not None:
            return f"token:{self.token_id}"
        if self.poller_id is not None:
            return f"poller:{self.poller_id}"
        if self.user_id is not None:  # all of a user's login sessions share one budget
            return f"user:{self.user_id}"
        return f"ip:{self.ip or 'unknown'}"


ANONYMOUS = Actor()
SYSTEM = Actor(is_system=True, permissions=ALL_PERMISSIONS)
