from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.audit.models import AuditLogEntry as AuditModel
from ispcore.domain.companies.models import Company as CompanyModel
from ispcore.domain.events.catalogue import matches, unknown_patterns
from ispcore.domain.events.feed import EventFeed
from ispcore.domain.events.models import Event as EventModel
from ispcore.domain.events.service import EVENTS_CHANNEL
from ispcore.domain.identity.auth import AuthenticationError, current_permissions
from ispcore.resolvers.connections import list_nodes
from ispcore.schema.audit import AUDIT_LISTING, EVENT_LISTING, AuditLogEntry, Event
from ispcore.schema.nodes import Connection, decode_pk
from ispcore.schema.permissions import denied, requires

AuditFilter, AuditOrder = AUDIT_LISTING.filter, AUDIT_LISTING.order
EventFilter, EventOrder = EVENT_LISTING.filter, EVENT_LISTING.order

#: A subscriber re-reads the outbox (and re-checks its credential) at least this often.
POLL_SECONDS = 5.0
BATCH = 500


@strawberry.type
class AuditQuery:
    @strawberry.field(extensions=requires("audit:read"))
    async def audit_log_entries(
        self, info: Info, first: int | None = None, after: str | None = None,
        filter: AuditFilter | None = None, order_by: list[AuditOrder] | None = None,
    ) -> Connection[AuditLogEntry]:
        return await list_nodes(info, AuditLogEntry, AUDIT_LISTING, first=first, after=after,
                                filter=filter, order_by=order_by,
                                search=(AuditModel.entity_type, AuditModel.action))

    @strawberry.field(extensions=requires("events:read"))
    async def events(
        self, info: Info, first: int | None = None, after: str | None = None,
        filter: EventFilter | None = None, order_by: list[EventOrder] | None = None,
    ) -> Connection[Event]:
        return await list_nodes(info, Event, EVENT_LISTING, first=first, after=after,
                                filter=filter, order_by=order_by, search=(EventModel.type,))


async def _company_pk(info: Info, company_id: relay.GlobalID) -> int:
    """The company's primary key; an error if it does not exist (or cannot be seen)."""
    pk = decode_pk("Company", company_id.node_id) if company_id.type_name == "Company" else None
    if pk is not None:
        async with info.context.read() as session:
            if await session.get(CompanyModel, pk) is not None:
                return pk
    raise GraphQLError("No such company.", extensions={"code": "NOT_FOUND", "field": "companyId"})


@strawberry.type
class EventSubscription:
    @strawberry.subscription(extensions=requires("events:read"),
                             description="New events as they are committed: `types` takes "
                             "names from `eventTypes` or wildcards (`invoice.*`, `*`).")
    async def events(self, info: Info, types: list[str] | None = None,
                     company_id: relay.GlobalID | None = None
                     ) -> AsyncGenerator[Event, None]:
        context, clock = info.context, info.context.runtime.clock
        unknown = unknown_patterns(types or [])
        if unknown:
            raise GraphQLError(f"Unknown event types: {', '.join(unknown)}. The eventTypes "
                               "query lists them.", extensions={"code": "BAD_USER_INPUT",
                                                                 "field": "types"})
        patterns = list(types) if types else None
        company = None if company_id is None else await _company_pk(info, company_id)
        wake = asyncio.Event()

        async def listen() -> None:
            async for _ in context.runtime.notifier.subscribe(EVENTS_CHANNEL):
                wake.set()

        listener = asyncio.create_task(listen())
        try:
            async with context.read() as session:
                feed = await EventFeed.from_now(session)
            while True:
                async with context.read() as session:
                    rows = await feed.next_batch(session, clock.now(), BATCH)
                for row in rows:
                    if (patterns is None or matches(patterns, row.type)) and (
                            company is None or row.company_id == company):
                        yield Event.from_model(row)
                if len(rows) == BATCH:
                    continue
                wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), POLL_SECONDS)
                async with context.read() as session:
                    # A revoked token, a deactivated user or a lost permission stops it too.
                    permissions = await current_permissions(session, context.actor,
                                                            clock.now())
                if "events:read" not in permissions:
                    raise denied(context.actor, "events:read")
        except AuthenticationError as exc:
            raise GraphQLError(exc.message, extensions={"code": exc.code}) from None
        finally:
            listener.cancel()
