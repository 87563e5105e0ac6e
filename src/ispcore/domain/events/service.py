"""Recording events in the outbox and handing them to handlers exactly once per handler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from ispcore.db import PoolTimeout, among, bulk_insert
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.models import Event, EventHandlerRun

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "events"
DISPATCH_JOB = "events.dispatch"

#: Events one handler takes in one transaction.
BATCH_SIZE = 500
#: Handlers working at once in one dispatcher (each holds one unit of work).
CONCURRENCY = 2

#: A handler takes a batch of its events, in id order, in one unit of work: it reads what it
#: needs with one query per batch and event type (not per event), and its effects commit
#: with the batch's claim.
Handle = Callable[[UnitOfWork, list[Event]], Awaitable[None]]


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


async def dispatch_pending(open_uow: Callable[[], UnitOfWork], *, batch_size: int = BATCH_SIZE,
                           concurrency: int = CONCURRENCY) -> int:
    """Hand every unprocessed event to each handler that wants it; return how many ran.

    Each handler takes its events in id order, ``batch_size`` at a time, each batch in one
    transaction that begins by claiming it: one statement inserts the batch's
    ``EventHandlerRun`` rows (``ON CONFLICT DO NOTHING``), and the handler gets only the
    events whose rows it inserted. A second dispatcher claiming the same events waits on
    their keys and then gets none of them, so a handler's effects commit exactly once; a
    dispatcher killed half-way leaves its unfinished batch unclaimed for the next run. A
    batch that fails is run again in halves, and those again, until the failing events stand
    alone: they are left for the next run and hold up none of the others. At most
    ``concurrency`` handlers work at once, each with one unit of work (one on SQLite, which
    has one writer).
    """
    if open_uow().db.is_sqlite:
        concurrency = 1
    slots = asyncio.Semaphore(concurrency)

    async def drain(handler: EventHandler) -> int:
        async with slots:
            return await _drain(open_uow, handler, batch_size)

    return sum(await asyncio.gather(*(drain(handler) for handler in handlers())))


async def _drain(open_uow: Callable[[], UnitOfWork], handler: EventHandler,
                 batch_size: int) -> int:
    ran, after_id = 0, 0
    while True:
        claimed: list[int] = []
        try:
            async with open_uow() as uow:
                batch = await _claim(uow, handler, _pending(handler, after_id), batch_size)
                claimed = [event.id for event in batch]
                if batch:
                    await handler.handle(uow, batch)
        except PoolTimeout:
            raise  # not the events' fault: the job is run again
        except Exception:
            if not claimed:
                raise  # the claim itself failed: the database's trouble, not the handler's
            ran += await _isolate(open_uow, handler, claimed)
        else:
            ran += len(claimed)
        if not claimed:  # none left, or another dispatcher is working through them
            return ran
        after_id = claimed[-1]


async def _isolate(open_uow: Callable[[], UnitOfWork], handler: EventHandler,
                   ids: list[int]) -> int:
    """Run a failed batch again in halves, recursively, until each failing event stands
    alone; those are logged and left unclaimed for the next run. Returns how many ran."""
    if len(ids) == 1:
        log.error("handler %s failed on event %s; it will be retried", handler.name, ids[0],
                  exc_info=True)
        return 0
    ran, middle = 0, len(ids) // 2
    for half in (ids[:middle], ids[middle:]):
        try:
            async with open_uow() as uow:
                batch = await _claim(uow, handler, [among(uow.session, Event.id, half)])
                if batch:
                    await handler.handle(uow, batch)
        except PoolTimeout:
            raise
        except Exception:
            ran += await _isolate(open_uow, handler, half)
        else:
            ran += len(batch)
    return ran


def _pending(handler: EventHandler, after_id: int) -> list[Any]:
    done = exists().where(
        EventHandlerRun.event_id == Event.id, EventHandlerRun.handler == handler.name)
    return [Event.type.in_(handler.event_types), Event.id > after_id, ~done]


async def _claim(uow: UnitOfWork, handler: EventHandler, where: list[Any],
                 limit: int | None = None) -> list[Event]:
    """Claim the events ``where`` selects (the first ``limit`` by id) for ``handler`` in
    ``uow``'s transaction and load them, by id: those another dispatcher claimed are left
    out (after waiting for its transaction, if it is still open)."""
    session = uow.session
    chosen = select(Event.id, literal(handler.name),
                    literal(uow.clock.now(), EventHandlerRun.processed_at.type)
                    ).where(*where).order_by(Event.id).limit(limit)
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    claim = (dialect.insert(EventHandlerRun)
             .from_select(["event_id", "handler", "processed_at"], chosen)
             .on_conflict_do_nothing(index_elements=["event_id", "handler"])
             .returning(EventHandlerRun.event_id))
    ids = list(await session.scalars(claim))
    if not ids:
        return []
    return list(await session.scalars(
        select(Event).where(among(session, Event.id, ids)).order_by(Event.id)))
