"""The body every endpoint receives for an event (Standard Webhooks' recommended shape):
``{"type", "timestamp", "data": {"object", "changes"}}``. ``object`` is the entity as the
API shows it (its GraphQL type's scalar fields, rendered when the event is fanned out), or
null when the entity is gone or the event has none; ``changes`` is the event's own payload."""

from __future__ import annotations

import json
from typing import Any

from ispcore.domain.events.models import Event


def body(event: Event, entity: dict[str, Any] | None) -> str:
    return json.dumps({
        "type": event.type,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": {"object": entity, "changes": event.payload},
    }, separators=(",", ":"), default=str)
