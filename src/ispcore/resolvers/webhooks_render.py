"""Events' entities as the API shows them, for webhook messages: each through ``node(id:)``
with its type's scalar fields, run on the schema itself as the system actor, many events per
query. An entity that is gone (or a type the API does not show) renders as null."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from graphql import GraphQLEnumType, GraphQLObjectType, GraphQLScalarType, get_named_type
from strawberry import relay

from ispcore.domain.events.models import Event
from ispcore.domain.identity.actor import SYSTEM
from ispcore.schema.context import Context
from ispcore.schema.nodes import NODE_TYPES

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

log = logging.getLogger(__name__)

#: Events per query (each one an aliased ``node`` field).
CHUNK = 250


class EntityRenderer:
    def __init__(self, runtime: Runtime) -> None:
        from ispcore.schema import build_schema

        self.runtime = runtime
        # The API's own schema; its request limits are for callers, not for this.
        self.schema = build_schema(runtime.settings.model_copy(update={
            "max_aliases": CHUNK + 1, "max_query_tokens": 10_000_000}))
        self.type_names = {model.__name__: node.__name__ for model, node in NODE_TYPES.items()}
        self._selections: dict[str, str] = {}

    def _selection(self, type_name: str) -> str:
        """``... on T { __typename f1 f2 … }``: the type's fields that are scalars or enums
        and take no arguments."""
        if type_name not in self._selections:
            gql_type = self.schema._schema.get_type(type_name)
            assert isinstance(gql_type, GraphQLObjectType)
            names = [name for name, f in gql_type.fields.items() if not f.args and isinstance(
                get_named_type(f.type), GraphQLScalarType | GraphQLEnumType)]
            self._selections[type_name] = f"... on {type_name} {{ __typename {' '.join(names)} }}"
        return self._selections[type_name]

    async def __call__(self, events: list[Event]) -> dict[int, dict[str, Any] | None]:
        """Each event's entity, read once however many of the events name it."""
        wanted: dict[str, str] = {}
        for event in events:
            type_name = self.type_names.get(event.entity_type or "")
            if type_name is not None and event.entity_id is not None:
                wanted.setdefault(relay.to_base64(type_name, event.entity_id), type_name)
        fields = [f'e{n}: node(id: "{gid}") {{ {self._selection(type_name)} }}'
                  for n, (gid, type_name) in enumerate(wanted.items())]
        gids = list(wanted)
        entities: dict[str, dict[str, Any] | None] = {}
        for start in range(0, len(fields), CHUNK):
            query = "query WebhookEntities { " + " ".join(fields[start:start + CHUNK]) + " }"
            context = Context(runtime=self.runtime, actor=SYSTEM, request_id="webhooks")
            result = await self.schema.execute(query, context_value=context)
            if result.errors:
                log.warning("rendering webhook entities: %s", result.errors)
            for alias, value in (result.data or {}).items():
                entities[gids[int(alias[1:])]] = value
        return {event.id: entities.get(relay.to_base64(
            self.type_names.get(event.entity_type or "", ""), event.entity_id or 0))
            for event in events}
