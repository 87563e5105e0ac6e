"""Imports every model so the metadata (migrations, drift test) sees the whole schema."""

from ispcore.domain.accounts.models import (
    Account,
    AccountGroup,
    AccountGroupMembership,
    AccountStatus,
    AccountStatusChange,
    AccountType,
    Contact,
    ContactEmail,
    ContactPhoneNumber,
    PhoneNumberType,
)
from ispcore.domain.addresses.models import (
    AccountPostalAddress,
    AddressOccupancy,
    ServiceableAddress,
)
from ispcore.domain.audit.models import AuditLogEntry
from ispcore.domain.companies.models import Company
from ispcore.domain.custom_fields.models import CustomField, CustomFieldValue
from ispcore.domain.events.models import Event, EventHandlerRun
from ispcore.domain.idempotency.models import IdempotencyKey
from ispcore.domain.identity.models import PersonalAccessToken, Role, User, UserSession
from ispcore.domain.notes.models import CallLog, Note, Task
from ispcore.domain.scheduling.models import ScheduledEvent
from ispcore.domain.search.models import SearchDocument

__all__ = [
    "Account",
    "AccountGroup",
    "AccountGroupMembership",
    "AccountPostalAddress",
    "AccountStatus",
    "AccountStatusChange",
    "AccountType",
    "AddressOccupancy",
    "AuditLogEntry",
    "CallLog",
    "Company",
    "Contact",
    "ContactEmail",
    "ContactPhoneNumber",
    "CustomField",
    "CustomFieldValue",
    "Event",
    "EventHandlerRun",
    "IdempotencyKey",
    "Note",
    "PersonalAccessToken",
    "PhoneNumberType",
    "Role",
    "ScheduledEvent",
    "SearchDocument",
    "ServiceableAddress",
    "Task",
    "User",
    "UserSession",
]
