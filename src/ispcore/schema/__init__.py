"""Builds the one GraphQL schema from every area's types and root fields."""

from __future__ import annotations

from functools import partial
from typing import Any

import strawberry
from strawberry import relay
from strawberry.schema.config import StrawberryConfig
from strawberry.types import Info

from ispcore.config import Settings, get_settings
from ispcore.resolvers.accounts import AccountMutation, AccountQuery
from ispcore.resolvers.addresses import AddressMutation, AddressQuery
from ispcore.resolvers.alerts import AlertMutation, AlertQuery
from ispcore.resolvers.audit import AuditQuery, EventSubscription
from ispcore.resolvers.billing import BillingMutation, BillingQuery
from ispcore.resolvers.collections import CollectionsMutation, CollectionsQuery
from ispcore.resolvers.companies import CompanyMutation, CompanyQuery
from ispcore.resolvers.connections import fetch_node
from ispcore.resolvers.documents import DocumentMutation, DocumentQuery
from ispcore.resolvers.identity import IdentityMutation, IdentityQuery
from ispcore.resolvers.ipam import IpamMutation, IpamQuery
from ispcore.resolvers.messaging_content import MessagingContentMutation, MessagingContentQuery
from ispcore.resolvers.messaging_transport import (
    MessagingTransportMutation,
    MessagingTransportQuery,
)
from ispcore.resolvers.monitoring import (
    MonitoringConfigQuery,
    MonitoringMutation,
    MonitoringQuery,
)
from ispcore.resolvers.monitoring_results import MonitoringResultsMutation
from ispcore.resolvers.monitoring_walk import MonitoringWalkQuery
from ispcore.resolvers.netflow import NetflowMutation, NetflowQuery
from ispcore.resolvers.payments import PaymentMutation, PaymentQuery
from ispcore.resolvers.preseem import PreseemMutation, PreseemQuery
from ispcore.resolvers.radius import RadiusMutation, RadiusQuery
from ispcore.resolvers.records import RecordMutation, RecordQuery
from ispcore.resolvers.search import SearchQuery
from ispcore.resolvers.usage import UsageMutation, UsageQuery
from ispcore.resolvers.usage_billing import UsageBillingMutation
from ispcore.resolvers.usage_ingest import UsageIngestMutation
from ispcore.resolvers.webhooks import WebhookMutation, WebhookQuery
from ispcore.schema.document_limits import DocumentLimits
from ispcore.schema.guard import ApiGuard
from ispcore.schema.nodes import Node, node_type_named
from ispcore.schema.scalars import SCALAR_MAP


@strawberry.type
class Query(CompanyQuery, IdentityQuery, AuditQuery, AccountQuery, AddressQuery, RecordQuery,
            SearchQuery, BillingQuery, PaymentQuery, DocumentQuery, CollectionsQuery, IpamQuery,
            RadiusQuery, PreseemQuery, UsageQuery, NetflowQuery, MessagingTransportQuery,
            MessagingContentQuery, WebhookQuery, MonitoringQuery, MonitoringConfigQuery,
            AlertQuery, MonitoringWalkQuery):
    @strawberry.field(description="Any entity by its global id (its type's read permission "
                      "applies); null if there is none.")
    async def node(self, info: Info, id: relay.GlobalID) -> Node | None:
        node_type = node_type_named(id.type_name)
        return None if node_type is None else await fetch_node(info, node_type, id)


@strawberry.type
class Mutation(CompanyMutation, IdentityMutation, AccountMutation, AddressMutation,
               RecordMutation, BillingMutation, PaymentMutation, DocumentMutation,
               CollectionsMutation, IpamMutation, RadiusMutation, UsageBillingMutation,
               UsageIngestMutation, PreseemMutation, UsageMutation, NetflowMutation,
               MessagingTransportMutation, MessagingContentMutation, WebhookMutation,
               AlertMutation, MonitoringMutation, MonitoringResultsMutation):
    pass


@strawberry.type
class Subscription(EventSubscription):
    pass


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Expected errors (bad input, permissions) are the client's business; unexpected
        ones are logged by :class:`ApiGuard` with their request id."""


def build_schema(settings: Settings | None = None) -> Schema:
    settings = settings or get_settings()
    limits = DocumentLimits(
        max_depth=settings.max_query_depth, max_aliases=settings.max_aliases,
        max_cost=settings.max_query_cost, default_page_size=settings.default_page_size)
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALAR_MAP),
        # A factory: each request gets a fresh extension (its caches are module-level).
        extensions=[partial(ApiGuard, limits=limits, max_tokens=settings.max_query_tokens)],
    )
