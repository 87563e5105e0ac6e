"""Relay nodes and connections shared by every entity."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar, Generic, Self

import strawberry
from graphql import GraphQLError
from sqlalchemy import Select, select
from strawberry import relay
from strawberry.relay.types import NodeType as NodeT  # relay.Connection's own type variable
from strawberry.types import Info

from ispcore.domain.identity.actor import Actor
from ispcore.schema.permissions import denied

#: Model class -> strawberry node type; filled by :func:`model_node`.
NODE_TYPES: dict[type, type[ModelNode]] = {}


class ModelNode(relay.Node):
    """A node backed by one SQLAlchemy model.

    Subclasses set ``model`` and ``read_permission``; ``from_model`` copies the same-named
    attributes, and ``node(id:)`` loads through :meth:`resolve_nodes` with the permission
    checked.
    """

    model: ClassVar[type]
    read_permission: ClassVar[str]
    _copied: ClassVar[tuple[str, ...]]

    @classmethod
    def from_model(cls, obj: Any) -> Self:
        copied = cls.__dict__.get("_copied")
        if copied is None:
            copied = cls._copied = tuple(f.name for f in dataclasses.fields(cls) if f.init)
        return cls(**{name: getattr(obj, name) for name in copied})

    @classmethod
    def readable(cls, actor: Actor) -> Select[Any]:
        """The rows ``actor`` may see (beyond the type's permission); narrowing happens in
        SQL, so lists, ``node(id:)`` and counts agree."""
        return select(cls.model)

    @classmethod
    async def resolve_nodes(cls, *, info: Info, node_ids: Iterable[str],
                            required: bool = False) -> list[Self | None]:
        actor = info.context.actor
        if not actor.can(cls.read_permission):
            raise denied(actor, cls.read_permission)
        ids = [decode_pk(cls.__name__, raw) for raw in node_ids]
        async with info.context.read() as session:
            rows = {row.id: row for row in await session.scalars(
                cls.readable(actor).where(cls.model.id.in_(ids)))}
        return [cls.from_model(rows[i]) if i in rows else None for i in ids]


def decode_pk(type_name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise GraphQLError(f"Malformed {type_name} id.",
                           extensions={"code": "BAD_USER_INPUT"}) from None
    if value <= 0 or value >= 2**63:
        raise GraphQLError(f"Malformed {type_name} id.", extensions={"code": "BAD_USER_INPUT"})
    return value


def model_node(model: type, *, read_permission: str) -> Callable[[type], type]:
    """Bind a strawberry node type to its model (use under ``@strawberry.type``)."""

    def bind(cls: type) -> type:
        assert issubclass(cls, ModelNode)
        cls.model = model
        cls.read_permission = read_permission
        NODE_TYPES[model] = cls
        return cls

    return bind


def node_type_named(name: str) -> type[ModelNode] | None:
    return next((t for t in NODE_TYPES.values() if t.__name__ == name), None)


def to_node(obj: Any) -> ModelNode | None:
    if obj is None:
        return None
    return NODE_TYPES[type(obj)].from_model(obj)


def global_id(obj: Any) -> relay.GlobalID:
    return relay.GlobalID(NODE_TYPES[type(obj)].__name__, str(obj.id))


def decode_id(gid: relay.GlobalID, expected: type[ModelNode], field: str) -> int:
    """The primary key in a global id, which must name ``expected``'s type."""
    from ispcore.domain.common.errors import DomainError

    if gid.type_name != expected.__name__:
        raise DomainError(f"Expected a {expected.__name__} id, got a {gid.type_name} id.",
                          field=field)
    try:
        return decode_pk(expected.__name__, gid.node_id)
    except GraphQLError as exc:
        raise DomainError(exc.message, field=field) from None


@strawberry.type
class Connection(relay.Connection[NodeT], Generic[NodeT]):
    """A page of nodes with cursors; ``totalCount`` counts every match (run only if asked)."""

    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many nodes match the filter, over all pages.")
    async def total_count(self) -> int:
        return await self.count()
