"""Reading back what the accounts tests changed: row counts, events, audit entries, and the
shape of refusals."""

from __future__ import annotations

import base64
from typing import Any

from tests.accounts.factories import MUTATIONS

#: Every table an accounts command might write to, counted through the API.
COUNTS = """{ accounts { totalCount } contacts { totalCount } accountTypes { totalCount }
  accountStatuses { totalCount } accountGroups { totalCount } phoneNumberTypes { totalCount }
  accountStatusChanges { totalCount } scheduledEvents { totalCount }
  addressOccupancies { totalCount } events { totalCount } auditLogEntries { totalCount } }"""
EVENTS = """query($type: String!) { events(filter: {type: {eq: $type}}, first: 500) {
  edges { node { type payload entityType entityId companyId occurredAt requestId } } } }"""
AUDIT = """query($action: String!) { auditLogEntries(filter: {action: {eq: $action}},
  first: 500) { edges { node { action operation entityType entityId companyId changes
  user { email } } } } }"""


def gid(type_name: str, pk: Any) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def pk_of(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


async def counts(api: Any, token: str) -> dict[str, int]:
    data = await api.data(COUNTS, token=token)
    return {key: value["totalCount"] for key, value in data.items()}


async def events_of(api: Any, token: str, event_type: str, entity_id: str | None = None
                    ) -> list[dict[str, Any]]:
    """Events of ``event_type`` (about ``entity_id`` when given), oldest first."""
    data = await api.data(EVENTS, {"type": event_type}, token)
    found = [edge["node"] for edge in data["events"]["edges"]]
    return [e for e in found if entity_id is None or e["entityId"] == entity_id]


async def audit_of(api: Any, token: str, action: str, entity_id: str | None = None
                   ) -> list[dict[str, Any]]:
    """Audit entries written by mutation ``action`` (about ``entity_id`` when given)."""
    data = await api.data(AUDIT, {"action": action}, token)
    found = [edge["node"] for edge in data["auditLogEntries"]["edges"]]
    return [e for e in found if entity_id is None or e["entityId"] == entity_id]


def codes(errors: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    """``(field, code)`` of each error, every one also carrying a message."""
    assert all(e["message"] for e in errors), errors
    return [(e["field"], e["code"]) for e in errors]


async def forbidden(api: Any, token: str, mutation: str, input: dict[str, Any]) -> str:
    """Run ``mutation`` expecting a FORBIDDEN GraphQL error; returns its message."""
    query, _ = MUTATIONS[mutation]
    body = await api.gql(query, {"input": input}, token)
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
    return body["errors"][0]["message"]
