"""Builds the one GraphQL schema from every area's types and root fields."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import strawberry
from strawberry import relay
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from ispcore.config import Settings, get_settings
from ispcore.resolvers.audit import AuditQuery, EventSubscription
from ispcore.resolvers.companies import CompanyMutation, CompanyQuery
from ispcore.resolvers.identity import IdentityMutation, IdentityQuery
from ispcore.schema.errors_masking import MaskUnexpectedErrors


@strawberry.type
class Query(CompanyQuery, IdentityQuery, AuditQuery):
    node: relay.Node | None = relay.node(
        description="Any entity by its global id (permission of its type applies)."
    )


@strawberry.type
class Mutation(CompanyMutation, IdentityMutation):
    pass


@strawberry.type
class Subscription(EventSubscription):
    pass


class Schema(strawberry.Schema):
    def process_errors(self, errors: list[Any], execution_context: Any = None) -> None:
        """Expected errors (bad input, permissions) are the client's business; unexpected
        ones are logged by :class:`MaskUnexpectedErrors` with their request id."""


def build_schema(settings: Settings | None = None) -> Schema:
    settings = settings or get_settings()
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True),
        extensions=[
            ParserCache(maxsize=1000),
            ValidationCache(maxsize=1000),
            QueryDepthLimiter(max_depth=settings.max_query_depth),
            MaxTokensLimiter(max_token_count=settings.max_query_tokens),
            MaxAliasesLimiter(max_alias_count=settings.max_aliases),
            MaskUnexpectedErrors(),
        ],
    )


@lru_cache
def default_schema() -> Schema:
    return build_schema()
