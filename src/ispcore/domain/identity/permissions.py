"""The catalogue of permissions. Roles hold sets of these; token scopes narrow them."""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "companies:read": "See companies",
    "companies:write": "Create, change and delete companies",
    "users:read": "See users",
    "users:write": "Create and change users",
    "roles:read": "See roles",
    "roles:write": "Create, change and delete roles",
    "tokens:read": "See one's own personal access tokens",
    "tokens:write": "Create and revoke one's own personal access tokens",
    "audit:read": "Read the audit log",
    "events:read": "Read and subscribe to events",
}

ALL_PERMISSIONS: frozenset[str] = frozenset(PERMISSIONS)

ADMIN_ROLE = "admin"


def unknown_permissions(names: list[str]) -> list[str]:
    return [name for name in names if name not in PERMISSIONS]
