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
    "accounts:read": "See accounts, their contacts, addresses, groups and status history",
    "accounts:write": "Create and change accounts and contacts; change statuses, disconnect, "
                      "reactivate and convert leads",
    "accounts:configure": "Manage account types, statuses, groups, phone number types and "
                          "custom fields",
    "addresses:read": "See serviceable addresses and who lived there",
    "addresses:write": "Create, change and delete serviceable addresses",
    "notes:read": "See notes, tasks and call logs",
    "notes:write": "Write notes, tasks and call logs",
    "scheduled_events:read": "See scheduled events",
    "scheduled_events:write": "Schedule and cancel events on accounts",
    "events:read": "Read and subscribe to events",
    "billing:read": "See billing settings, the catalogue, account services, the ledger, "
                    "invoices and billing runs",
    "billing:write": "Change account services, discounts, exemptions and vacations; post and "
                     "void transactions; edit, issue and void invoices",
    "billing:configure": "Manage billing settings and defaults, general ledger codes, "
                         "services, packages, discounts, tax rates and invoice messages",
    "billing:run": "Start billing runs",
    "network:read": "See network sites, IP blocks, pools and assignments, NAS clients, RADIUS "
                    "groups, credentials, sessions and CoA actions, and address lists",
    "network:write": "Assign and release IP addresses; create, change and remove RADIUS "
                     "credentials",
    "network:configure": "Manage network sites, supernets, subnets, IP pools, NAS clients, "
                         "RADIUS groups and network settings",
    "usage:read": "See data usage, usage periods, usage policies and their free periods, "
                  "unattributed traffic, NetFlow exporters and the Preseem connection",
    "usage:write": "Push usage records through the API",
    "usage:configure": "Manage usage policies and free periods, NetFlow exporters and the "
                       "Preseem connection",
    "messaging:read": "See message templates, triggers, categories, saved and mass messages, "
                      "the sent log of emails and texts, and the email and SMS settings",
    "messaging:write": "Send mass and test messages, manage saved messages and retry failed "
                       "messages",
    "messaging:configure": "Manage message templates, triggers and categories, and the email "
                           "(SMTP) and SMS settings",
    "webhooks:read": "See webhook endpoints and their delivery log",
    "webhooks:write": "Create, change, delete and test webhook endpoints, rotate their secrets "
                      "and redeliver",
    "monitoring:read": "See devices, monitoring templates, pollers, device status and metric "
                       "history, alerts, alerting rotations and the network dashboard",
    "monitoring:write": "Manage devices, monitoring templates, pollers (and their tokens) and "
                        "alerting rotations; acknowledge alerts; walk a device's OIDs",
    "monitoring:poll": "Fetch a poller's workload and submit its results (poller tokens)",
}

ALL_PERMISSIONS: frozenset[str] = frozenset(PERMISSIONS)

ADMIN_ROLE = "admin"


def unknown_permissions(names: list[str]) -> list[str]:
    return [name for name in names if name not in PERMISSIONS]
