"""The audit log and the event outbox, as read models."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types import Info

from ispcore.domain.audit.models import AuditLogEntry as AuditModel
from ispcore.domain.events.models import Event as EventModel
from ispcore.schema.filtering import DateTimeFilter, IdOf, StringFilter, listing_inputs
from ispcore.schema.identity import User
from ispcore.schema.nodes import ModelNode, Node, model_node, node_type_named, related
from ispcore.schema.relations import One, relation


def _entity_id(entity_type: str | None, entity_id: int | None) -> relay.GlobalID | None:
    if entity_type is None or entity_id is None:
        return None
    return relay.GlobalID(entity_type, str(entity_id))


def _company_id(company_id: int | None) -> relay.GlobalID | None:
    return None if company_id is None else relay.GlobalID("Company", str(company_id))


@strawberry.type(description="One change to one entity: who, what, when, through which request.")
@model_node(AuditModel, read_permission="audit:read")
class AuditLogEntry(ModelNode):
    occurred_at: datetime
    action: str | None = strawberry.field(description="The mutation or job that made it.")
    operation: str = strawberry.field(description="create, update or delete.")
    entity_type: str
    changes: JSON = strawberry.field(
        description="create/delete: the fields; update: {field: {from, to}}.")
    request_id: str | None
    token_id: strawberry.Private[int | None]
    user_id: strawberry.Private[int | None]
    entity_id: strawberry.Private[int]
    company_id: strawberry.Private[int | None]

    @strawberry.field(name="entityId", description="Global id of the changed entity.")
    def entity_global_id(self) -> relay.GlobalID | None:
        return _entity_id(self.entity_type, self.entity_id)

    @strawberry.field(name="companyId")
    def company_global_id(self) -> relay.GlobalID | None:
        return _company_id(self.company_id)

    @strawberry.field(name="tokenId", description="The personal access token used, if any.")
    def token_global_id(self) -> relay.GlobalID | None:
        return None if self.token_id is None else relay.GlobalID("PersonalAccessToken",
                                                                   str(self.token_id))

    user: User | None = relation(One("User", "user_id"), description="Who made the change; "
                                 "null for the system, or without users:read.")


AUDIT_LISTING = listing_inputs(
    "AuditLogEntry",
    {"occurred_at": DateTimeFilter, "action": StringFilter, "operation": StringFilter,
     "entity_type": StringFilter, "request_id": StringFilter, "user_id": IdOf("User"),
     "company_id": IdOf("Company")},
    order_by=["occurred_at"],
)


@strawberry.type(description="Something that happened, as partners and handlers see it.")
@model_node(EventModel, read_permission="events:read")
class Event(ModelNode):
    type: str = strawberry.field(description="e.g. company.created.")
    occurred_at: datetime
    payload: JSON
    request_id: str | None
    entity_type: str | None
    entity_id: strawberry.Private[int | None]
    company_id: strawberry.Private[int | None]

    @strawberry.field(name="entityId")
    def entity_global_id(self) -> relay.GlobalID | None:
        return _entity_id(self.entity_type, self.entity_id)

    @strawberry.field(name="companyId")
    def company_global_id(self) -> relay.GlobalID | None:
        return _company_id(self.company_id)

    @strawberry.field(description="The entity as it is now (not as it was when the event "
                      "happened); null once deleted, or without its read permission.")
    async def entity(self, info: Info) -> Node | None:
        node_type = node_type_named(self.entity_type) if self.entity_type else None
        if node_type is None:
            return None
        return await related(info, node_type, self.entity_id)


EVENT_LISTING = listing_inputs(
    "Event",
    {"type": StringFilter, "occurred_at": DateTimeFilter, "company_id": IdOf("Company")},
    order_by=["occurred_at"],
)
