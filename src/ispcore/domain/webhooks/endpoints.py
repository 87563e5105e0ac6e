"""Webhook endpoints: created with a signing secret shown once, changed, deleted, their secret
rotated with an overlap during which both secrets sign; a test message to one endpoint, and a
delivery sent again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.common import outbound, vault
from ispcore.domain.common.errors import DomainError, ErrorCode, Forbidden, Validator
from ispcore.domain.common.records import company_of, load
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.catalogue import unknown_patterns
from ispcore.domain.events.models import Event
from ispcore.domain.events.service import record_event
from ispcore.domain.webhooks import messages, signing
from ispcore.domain.webhooks.models import (
    Webhook,
    WebhookDelivery,
    WebhookFanOut,
    WebhookMessage,
)

SECRET = "webhook signing secrets"
#: An instance-wide endpoint (no company) receives every company's events.
INSTANCE_WIDE_PERMISSION = "companies:write"
MAX_EVENT_TYPES = 100
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
DELIVER_JOB = "webhooks.deliver"


def _seal(uow: UnitOfWork, secret: str) -> str:
    return vault.seal(uow.settings.vault_key, secret, field="secret", what=SECRET)


def secrets_in_force(key: str | None, endpoint: Webhook, now: datetime) -> list[str]:
    """The secrets that sign a message sent ``now``: the current one, and the previous one
    while the rotation's overlap lasts."""
    found = [vault.unseal(key, endpoint.secret_sealed, field="secret", what=SECRET)]
    if endpoint.previous_secret_sealed and endpoint.previous_secret_expires_at and \
            now < endpoint.previous_secret_expires_at:
        found.append(vault.unseal(key, endpoint.previous_secret_sealed, field="secret",
                                  what=SECRET))
    return found


async def _clean(uow: UnitOfWork, values: dict[str, Any]) -> dict[str, Any]:
    v = Validator()
    if "url" in values:
        values["url"] = (values["url"] or "").strip()
        await outbound.vet(v, outbound.check_url(
            values["url"], allow_private=uow.settings.webhooks_allow_private))
    if "event_types" in values:
        types = list(dict.fromkeys(t.strip() for t in values["event_types"] or []))
        unknown = unknown_patterns(types)
        if not types:
            v.add("event_types", "Subscribe to at least one event type.", ErrorCode.REQUIRED)
        elif len(types) > MAX_EVENT_TYPES:
            v.add("event_types", f"At most {MAX_EVENT_TYPES} event types.")
        elif unknown:
            v.add("event_types", f"Unknown event types: {', '.join(unknown)} (see the "
                  "eventTypes query; a wildcard is a known prefix and .*).")
        values["event_types"] = types
    if "description" in values:
        values["description"] = (values["description"] or "").strip()
    v.fit_columns(Webhook, values)
    v.raise_if_any()
    return values


async def _start_fan_out(uow: UnitOfWork) -> None:
    """The fan-out reads the outbox from the first endpoint's creation on."""
    if await uow.session.get(WebhookFanOut, 1) is None:
        last = await uow.session.scalar(select(func.max(Event.id))) or 0
        uow.session.add(WebhookFanOut(id=1, last_event_id=last, gaps={},
                                      updated_at=uow.clock.now()))


async def create_endpoint(uow: UnitOfWork, values: dict[str, Any]
                          ) -> tuple[Webhook, str]:
    """The new endpoint and its secret (shown to the caller this once)."""
    company_id = values.pop("company_id", None)
    if company_id is None:
        if not uow.actor.can(INSTANCE_WIDE_PERMISSION):
            raise Forbidden("An endpoint without a company receives every company's events: "
                            f"it needs {INSTANCE_WIDE_PERMISSION}.", field="company_id")
    else:
        await company_of(uow, company_id)
    values.setdefault("active", True)
    data = await _clean(uow, values)
    secret = signing.new_secret()
    now = uow.clock.now()
    row = Webhook(company_id=company_id, **data, secret_sealed=_seal(uow, secret),
                          created_by_id=uow.actor.user_id, created_at=now, updated_at=now)
    uow.session.add(row)
    await _start_fan_out(uow)
    await uow.session.flush()
    record_event(uow, "webhook.created", company_id=company_id, entity=row,
                 payload={"url": row.url, "event_types": row.event_types})
    return row, secret


async def update_endpoint(uow: UnitOfWork, pk: int, values: dict[str, Any]) -> Webhook:
    """Change an endpoint; ``active: true`` on a disabled one clears its failure state."""
    row = await load(uow, Webhook, pk, field="id", what="webhook")
    data = await _clean(uow, values)
    if data.get("active") and not row.active:
        row.failing_since = row.disabled_at = row.disabled_reason = None
    for key, value in data.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "webhook.updated", company_id=row.company_id, entity=row,
                 payload={"changed": sorted(data)})
    return row


async def delete_endpoint(uow: UnitOfWork, pk: int) -> Webhook:
    """Delete an endpoint with its delivery log."""
    row = await load(uow, Webhook, pk, field="id", what="webhook")
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, "webhook.deleted", company_id=row.company_id,
                 payload={"id": row.id, "url": row.url})
    return row


async def rotate_secret(uow: UnitOfWork, pk: int, overlap: timedelta | None
                        ) -> tuple[Webhook, str]:
    """A new secret (returned once); the old one keeps signing for ``overlap``."""
    overlap = DEFAULT_OVERLAP if overlap is None else overlap
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise DomainError(f"An overlap is 0 to {MAX_OVERLAP.days * 24} hours.",
                          field="overlap_hours")
    row = await load(uow, Webhook, pk, field="id", what="webhook")
    secret = signing.new_secret()
    now = uow.clock.now()
    row.previous_secret_sealed, row.previous_secret_expires_at = row.secret_sealed, now + overlap
    row.secret_sealed = _seal(uow, secret)
    row.updated_at = now
    await uow.session.flush()
    record_event(uow, "webhook.secret_rotated", company_id=row.company_id, entity=row,
                 payload={"previous_secret_expires_at": (now + overlap).isoformat()})
    return row, secret


def deliver_soon(uow: UnitOfWork) -> None:
    uow.enqueue(DELIVER_JOB, job_id=f"{DELIVER_JOB}:{int(uow.clock.now().timestamp())}")


async def send_test(uow: UnitOfWork, pk: int) -> WebhookDelivery:
    """A ``webhook.test`` event, delivered to this endpoint only (the fan-out skips it)."""
    row = await load(uow, Webhook, pk, field="webhook_id", what="webhook")
    if not row.active:
        raise DomainError("The webhook is disabled; enable it first.", field="webhook_id")
    event = record_event(uow, "webhook.test", company_id=row.company_id, entity=row,
                         payload={"webhook_id": row.id, "url": row.url})
    return await deliver_to(uow, row, event)


async def deliver_to(uow: UnitOfWork, endpoint: Webhook, event: Event) -> WebhookDelivery:
    """Deliver ``event``, just recorded and of a targeted type (the fan-out skips those), to
    ``endpoint`` only."""
    await uow.session.flush()
    now = uow.clock.now()
    uow.session.add(WebhookMessage(event_id=event.id, body=messages.body(event, None),
                                   created_at=now))
    await uow.session.flush()  # the message first: the delivery points at it
    delivery = WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id,
                               event_type=event.type, status="PENDING", attempt_count=0,
                               next_attempt_at=now, created_at=now)
    uow.session.add(delivery)
    await uow.session.flush()
    deliver_soon(uow)
    return delivery


async def redeliver(uow: UnitOfWork, pk: int) -> WebhookDelivery:
    """Send a delivery again now, whatever became of it, with a fresh retry schedule (the
    same ``webhook-id``: receivers that have it drop it)."""
    delivery = await load(uow, WebhookDelivery, pk, field="delivery_id", what="delivery")
    endpoint = await uow.session.get_one(Webhook, delivery.endpoint_id)
    if not endpoint.active:
        raise DomainError("The webhook is disabled; enable it first.", field="delivery_id")
    if delivery.status == "SENDING":
        raise DomainError("The delivery is being sent right now.", field="delivery_id",
                          code=ErrorCode.IN_USE)
    delivery.status, delivery.attempt_count = "PENDING", 0
    delivery.next_attempt_at, delivery.completed_at = uow.clock.now(), None
    await uow.session.flush()
    deliver_soon(uow)
    return delivery
