"""Events' entities as the API shows them, for webhook messages: each through ``node(id:)``
with its type's scalar fields, run on the schema itself as the system actor, many entities of
one type per query (``node`` reads through the request's loader: one read per query). An
entity that is gone (or a type the API does not show) renders as null."""

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

#: Entities per query (each one an aliased ``node`` field); a power of two.
CHUNK = 256


class EntityRenderer:
    def __init__(self, runtime: Runtime) -> None:
        from ispcore.schema import build_schema

        self.runtime = runtime
        # The API's own schema; its request limits are for callers, not for this.
        self.schema = build_schema(runtime.settings.model_copy(update={
            "max_aliases": CHUNK + 1, "max_query_tokens": 10_000_000}))
        self.type_names = {model.__name__: node.__name__ for model, node in NODE_TYPES.items()}
        self._selections: dict[str, str] = {}
        self._queries: dict[tuple[str, int], str] = {}

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

    def _query(self, type_name: str, size: int) -> str:
        """One query text per type and size: ``size`` aliased ``node`` fields taking their
        ids as variables, so the schema's parser and validation caches keep hitting."""
        key = (type_name, size)
        if key not in self._queries:
            variables = ", ".join(f"$i{n}: ID!" for n in range(size))
            fields = " ".join(f"e{n}: node(id: $i{n}) {{ {self._selection(type_name)} }}"
                              for n in range(size))
            self._queries[key] = f"query WebhookEntities({variables}) {{ {fields} }}"
        return self._queries[key]

    async def _render(self, type_name: str, ids: list[str]) -> list[dict[str, Any] | None]:
        """The entities of one type (at most CHUNK), in one execution; the id list is padded
        to a power of two (repeats cost no read: the request's loader has them)."""
        size = 1 << (len(ids) - 1).bit_length()
        padded = ids + ids[-1:] * (size - len(ids))
        context = Context(runtime=self.runtime, actor=SYSTEM, request_id="webhooks")
        result = await self.schema.execute(
            self._query(type_name, size), context_value=context,
            variable_values={f"i{n}": gid for n, gid in enumerate(padded)})
        if result.errors:
            log.warning("rendering webhook entities: %s", result.errors)
        data = result.data or {}
        return [data.get(f"e{n}") for n in range(len(ids))]

    async def __call__(self, events: list[Event]) -> dict[int, dict[str, Any] | None]:
        """Each event's entity, read once however many of the events name it: one execution
        per type (and CHUNK entities)."""
        wanted: dict[str, list[str]] = {}
        for event in events:
            type_name = self.type_names.get(event.entity_type or "")
            if type_name is not None and event.entity_id is not None:
                wanted.setdefault(type_name, []).append(
                    relay.to_base64(type_name, event.entity_id))
        entities: dict[str, dict[str, Any] | None] = {}
        for type_name, gids in wanted.items():
            unique = list(dict.fromkeys(gids))
            for start in range(0, len(unique), CHUNK):
                chunk = unique[start:start + CHUNK]
                entities.update(zip(chunk, await self._render(type_name, chunk), strict=True))
        return {event.id: entities.get(relay.to_base64(
            self.type_names.get(event.entity_type or "", ""), event.entity_id or 0))
            for event in events}
