"""Recording events in the outbox and handing them to handlers exactly once per handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from ispcore.db import bulk_insert
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.models import Event, EventHandlerRun

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "events"
DISPATCH_JOB = "events.dispatch"

Handle = Callable[[UnitOfWork, Event], Awaitable[None]]


@dataclass(frozen=True)
class EventHandler:
    name: str
    event_types: frozenset[str]
    handle: Handle


_handlers: dict[str, EventHandler] = {}


def register_handler(name: str, event_types: set[str], handle: Handle) -> EventHandler:
    """Register ``handle`` for ``event_types``. Names are stable: they key the run records."""
    handler = EventHandler(name, frozenset(event_types), handle)
    _handlers[name] = handler
    return handler


def unregister_handler(name: str) -> None:
    _handlers.pop(name, None)


def handlers() -> list[EventHandler]:
    return list(_handlers.values())


def record_event(
    uow: UnitOfWork,
    event_type: str,
    *,
    company_id: int | None,
    entity: Any | None = None,
    payload: dict[str, Any] | None = None,
) -> Event:
    """Add an event to the outbox in the caller's transaction.

    After commit, listeners are notified and the dispatcher is enqueued; both are dropped if
    the transaction rolls back.
    """
    event = Event(
        type=event_type,
        company_id=company_id,
        entity_type=type(entity).__name__ if entity is not None else None,
        entity_id=getattr(entity, "id", None),
        payload=payload or {},
        occurred_at=uow.clock.now(),
        request_id=uow.request_id,
    )
    uow.session.add(event)
    _announce(uow)
    return event


async def record_events(uow: UnitOfWork, events: list[dict[str, Any]]) -> None:
    """Add many events at once (a billing run's), written in one statement rather than one
    ORM object each. Each dict has ``type``, ``company_id``, ``entity_type``, ``entity_id``
    and ``payload``."""
    if not events:
        return
    now = uow.clock.now()
    await bulk_insert(uow.session, Event, [
        {**e, "occurred_at": now, "request_id": uow.request_id} for e in events])
    _announce(uow)


def _announce(uow: UnitOfWork) -> None:
    async def notify() -> None:
        await uow.notifier.publish(EVENTS_CHANNEL, "new")

    uow.after_commit(notify, once_key="notify:events")
    # One dispatch job per second at most: commits in the same second share it, and a commit
    # while a dispatch runs still gets one of its own (the running one may have looked already).
    uow.enqueue(DISPATCH_JOB, job_id=f"{DISPATCH_JOB}:{int(uow.clock.now().timestamp())}")


async def dispatch_pending(open_uow: Callable[[], UnitOfWork], *, batch_size: int = 100) -> int:
    """Hand every unprocessed event to each handler that wants it; return how many ran.

    Each (event, handler) pair runs in its own transaction that also inserts its
    ``EventHandlerRun``. The run row is inserted first, so a second dispatcher working the
    same pair waits on its key and then fails, rolling back: the handler's effects commit
    exactly once. A dispatcher killed half-way leaves the unfinished pairs unrecorded, and the
    next run picks them up. A handler that fails leaves its pair for the next run and does not
    hold up other events or handlers.
    """
    ran = 0
    for handler in handlers():
        after_id = 0
        while True:
            async with open_uow() as uow:
                ids = await _pending_ids(uow, handler, after_id, batch_size)
            if not ids:
                break
            for event_id in ids:
                ran += await _run_one(open_uow, handler, event_id)
            after_id = ids[-1]
    return ran


async def _pending_ids(
    uow: UnitOfWork, handler: EventHandler, after_id: int, limit: int
) -> list[int]:
    done = exists().where(
        EventHandlerRun.event_id == Event.id, EventHandlerRun.handler == handler.name
    )
    rows = await uow.session.scalars(
        select(Event.id)
        .where(Event.type.in_(handler.event_types), Event.id > after_id, ~done)
        .order_by(Event.id)
        .limit(limit)
    )
    return list(rows)


class _HandledElsewhere(Exception):
    pass


async def _run_one(open_uow: Callable[[], UnitOfWork], handler: EventHandler, event_id: int) -> int:
    try:
        async with open_uow() as uow:
            uow.session.add(
                EventHandlerRun(event_id=event_id, handler=handler.name,
                                processed_at=uow.clock.now())
            )
            try:
                await uow.session.flush()
            except IntegrityError:
                raise _HandledElsewhere from None
            event = await uow.session.get_one(Event, event_id)
            await handler.handle(uow, event)
    except _HandledElsewhere:
        log.info("event %s already handled by %s elsewhere", event_id, handler.name)
        return 0
    except Exception:
        log.exception("handler %s failed on event %s; it will be retried", handler.name,
                      event_id)
        return 0
    return 1
