"""Imports every model so the metadata (migrations, drift test) sees the whole schema."""

from ispcore.domain.audit.models import AuditLogEntry
from ispcore.domain.companies.models import Company
from ispcore.domain.events.models import Event, EventHandlerRun
from ispcore.domain.idempotency.models import IdempotencyKey
from ispcore.domain.identity.models import PersonalAccessToken, Role, User, UserSession

__all__ = [
    "AuditLogEntry",
    "Company",
    "Event",
    "EventHandlerRun",
    "IdempotencyKey",
    "PersonalAccessToken",
    "Role",
    "User",
    "UserSession",
]
