"""Turning outbox events into deliveries, in batches: read the events committed since the last
run (late committers included, as :class:`EventFeed` does), match them to active endpoints
(company and event types), render each matched event's message once, and insert the messages
and deliveries in bulk. One run at a time holds the progress row, and the progress moves in
the same transaction as the inserts: a run killed half-way leaves nothing behind, and the next
one does the batch again."""

from __future__ import annotations

import asyncio
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from ispcore.db import bulk_insert
from ispcore.domain.common.records import lock_row
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.catalogue import TARGETED_TYPES, matches
from ispcore.domain.events.feed import EventFeed
from ispcore.domain.events.models import Event
from ispcore.domain.webhooks import messages
from ispcore.domain.webhooks.endpoints import deliver_soon
from ispcore.domain.webhooks.models import (
    Webhook,
    WebhookDelivery,
    WebhookFanOut,
    WebhookMessage,
)

#: Entities as the API shows them, by event id (null: gone, or no entity), for many events.
Render = Callable[[list[Event]], Awaitable[dict[int, dict[str, Any] | None]]]

FAN_OUT_JOB = "webhooks.fan_out"
BATCH = 1000


class _Subscribers:
    """Active endpoints by company (None: instance-wide), to match events quickly."""

    def __init__(self, endpoints: list[Webhook]) -> None:
        self.by_company: dict[int | None, list[Webhook]] = defaultdict(list)
        for endpoint in endpoints:
            self.by_company[endpoint.company_id].append(endpoint)

    def of(self, event: Event) -> list[Webhook]:
        if event.type in TARGETED_TYPES:
            return []
        candidates = self.by_company.get(event.company_id, []) + self.by_company.get(None, [])
        return [e for e in candidates
                if e.created_at <= event.occurred_at and matches(e.event_types, event.type)]


def _feed(state: WebhookFanOut) -> EventFeed:
    feed = EventFeed(state.last_event_id)
    feed.gaps = {int(k): datetime.fromisoformat(v) for k, v in state.gaps.items()}
    return feed


async def _one_batch(uow: UnitOfWork, render: Render, batch: int) -> tuple[int, int]:
    if await uow.session.get(WebhookFanOut, 1) is None:  # no endpoint was ever created
        return 0, 0
    state = await lock_row(uow, WebhookFanOut, 1)
    assert state is not None
    now = uow.clock.now()
    feed = _feed(state)
    events = await feed.next_batch(uow.session, now, batch)
    subscribers = _Subscribers(list(await uow.session.scalars(
        select(Webhook).where(Webhook.active))))
    matched = [(event, subscribers.of(event)) for event in events]
    matched = [(event, endpoints) for event, endpoints in matched if endpoints]
    if matched:
        entities = await render([event for event, _ in matched])
        await bulk_insert(uow.session, WebhookMessage, [
            {"event_id": e.id, "body": messages.body(e, entities.get(e.id)), "created_at": now}
            for e, _ in matched])
        await bulk_insert(uow.session, WebhookDelivery, [
            {"endpoint_id": endpoint.id, "event_id": event.id, "event_type": event.type,
             "status": "PENDING", "attempt_count": 0, "next_attempt_at": now,
             "claimed_until": None, "last_status_code": None, "created_at": now,
             "completed_at": None}
            for event, endpoints in matched for endpoint in endpoints])
        deliver_soon(uow)
    state.last_event_id = feed.last_id
    state.gaps = {str(k): seen.isoformat() for k, seen in feed.gaps.items()}
    state.updated_at = now
    return len(events), sum(len(endpoints) for _, endpoints in matched)


#: One fan-out at a time per process (and event loop), waiting without a database connection:
#: a run holding the progress row needs connections of its own to render, which waiters
#: queued on the row lock would otherwise take. Across processes the row lock serialises.
_running: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary())


async def fan_out(open_uow: Callable[[], UnitOfWork], render: Render, *, batch: int = BATCH
                  ) -> int:
    """Fan out every event committed so far; returns how many deliveries were created."""
    lock = _running.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    created = 0
    async with lock:
        while True:
            async with open_uow() as uow:
                read, made = await _one_batch(uow, render, batch)
            created += made
            if read < batch:
                return created
