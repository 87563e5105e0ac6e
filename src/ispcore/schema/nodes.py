"""Relay nodes and connections shared by every entity.

The global id of a node is computed once when the node is built (a plain field, no resolver
per row), and an edge's cursor only when a query selects it: lists of hundreds of nodes cost
little more than graphql-core itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

import strawberry
from graphql import GraphQLError
from sqlalchemy import Row, Select, select
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.identity.actor import Actor

NodeT = TypeVar("NodeT")

#: Model class -> strawberry node type; filled by :func:`model_node`.
NODE_TYPES: dict[type, type[ModelNode]] = {}


def encode_global_id(type_name: str, pk: int) -> str:
    """The Relay global id: base64 of ``Type:pk`` (what ``relay.GlobalID`` parses)."""
    return relay.to_base64(type_name, pk)


@strawberry.interface(name="Node", description="An object with a global id.")
class Node:
    id: strawberry.ID = strawberry.field(
        description="Global id, unique across types; pass it to node(id:).")


@strawberry.type  # never in the schema itself: the base of every model-backed type
class ModelNode(Node):
    """A node backed by one SQLAlchemy model.

    Subclasses set ``model`` and ``read_permission`` (with :func:`model_node`); ``from_model``
    copies the same-named attributes of a model instance or a result row, and ``node(id:)``
    loads through the request's loader with the permission checked.
    """

    pk: strawberry.Private[int]
    model: ClassVar[type]
    read_permission: ClassVar[str]
    #: Relation fields (python name -> spec) and their GraphQL names -> python names.
    relations: ClassVar[dict[str, Any]] = {}
    relation_names: ClassVar[dict[str, str]] = {}
    _copied: ClassVar[tuple[str, ...]]

    @classmethod
    def model_fields(cls) -> tuple[str, ...]:
        """The node's fields copied from its model (all but ``id``/``pk``)."""
        copied = cls.__dict__.get("_copied")
        if copied is None:
            copied = cls._copied = tuple(
                f.name for f in dataclasses.fields(cls)
                if f.init and f.name not in ("id", "pk") and f.name not in cls.relations)
        return copied

    @classmethod
    def from_model(cls, obj: Any) -> Self:
        """The node for a model instance (or anything with the same attributes)."""
        pk = obj.id
        return cls(id=encode_global_id(cls.__name__, pk), pk=pk,
                   **{name: getattr(obj, name) for name in cls.model_fields()})

    @classmethod
    def row_reader(cls, columns: Sequence[str]) -> Callable[[Row[Any]], Self]:
        """A fast builder of nodes from result rows with these columns (for long lists).

        Values go straight into the instance dict by position: no keyword arguments, no
        attribute lookups per field. The node types are plain dataclasses without
        ``__post_init__``, so this builds exactly what the constructor would.
        """
        fields = cls.model_fields()
        positions = [columns.index(name) for name in fields]
        pk_position = columns.index("id")
        type_name, new = cls.__name__, object.__new__
        pairs = list(zip(fields, positions, strict=True))

        def read(row: Row[Any]) -> Self:
            node = new(cls)
            values = node.__dict__
            for name, position in pairs:
                values[name] = row[position]
            pk = row[pk_position]
            values["pk"] = pk
            values["id"] = encode_global_id(type_name, pk)
            return node

        return read

    @classmethod
    def readable(cls, actor: Actor) -> Select[Any]:
        """The rows ``actor`` may see (beyond the type's permission); narrowing happens in
        SQL, so lists, ``node(id:)`` and counts agree."""
        return select(cls.model)


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
        from ispcore.schema.relations import graphql_names, relations_of

        assert issubclass(cls, ModelNode)
        cls.model = model
        cls.read_permission = read_permission
        cls.relations = relations_of(cls)
        cls.relation_names = graphql_names(cls.relations)
        NODE_TYPES[model] = cls
        return cls

    return bind


async def related(info: Info, node_type: type[ModelNode], pk: int | None, *,
                  own: bool = False) -> Any:
    """A related node, through the request's loader: the one rule for relation fields.

    It is null unless the actor holds the related type's read permission (or ``own``: it is
    part of the actor's own record) and the row is within the type's row-level narrowing.
    """
    if pk is None or not (own or info.context.actor.can(node_type.read_permission)):
        return None
    found = await info.context.loaders.nodes(node_type).load(pk)
    if found is None:
        return None
    node = node_type.from_model(found)
    await _prefetch_below(info, node_type, [node])
    return node


async def _prefetch_below(info: Info, node_type: type[ModelNode], nodes: list[Any]) -> None:
    """Load the relations selected under the current field for ``nodes``."""
    if node_type.relations and nodes:
        from ispcore.resolvers.prefetch import prefetch

        await prefetch(info.context, node_type, nodes, info.selected_fields[0].selections)


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


@strawberry.type(description="A node and where it is in its connection.")
class Edge(Generic[NodeT]):
    node: NodeT
    sort_key: strawberry.Private[list[Any]]
    encode: strawberry.Private[Callable[[list[Any]], str]]

    @strawberry.field(description="Pass as `after:` to continue after this node.")
    def cursor(self) -> str:
        return self.encode(self.sort_key)


@strawberry.type(description="A page of nodes.")
class Connection(Generic[NodeT]):
    page_info: relay.PageInfo
    edges: list[Edge[NodeT]]
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="How many nodes match the filter, over all pages.")
    async def total_count(self) -> int:
        return await self.count()
