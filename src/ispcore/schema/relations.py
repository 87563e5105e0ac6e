"""Relation fields of node types, declared once and loaded a whole page at a time.

A relation field names what it is (``One``: a foreign key on this node; ``Many``: rows of
another node type pointing here; ``Via``: through a link table; ``Rows``: plain values built
from rows of a model). Before a page of nodes goes back to graphql, the selection is walked and
every selected relation is loaded for every node of the page in one query (then the relations
selected under it, and so on): see ``ispcore.resolvers.prefetch``. The fields have no
resolvers: strawberry reads them as plain attributes, which is most of what makes nested
lists cheap.

A node that reached the response some other way still answers: its relation loads on demand.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import strawberry
from strawberry.utils.str_converters import to_camel_case

#: The request's context, for the rare relation that was not prefetched.
CURRENT_CONTEXT: ContextVar[Any] = ContextVar("ispcore_context", default=None)


@dataclass(eq=False)
class Relation:
    """Also the field's default value, and a data descriptor: a node's attribute reads the
    prefetched value (a plain attribute to strawberry, no resolver), or loads it on demand."""

    name: str = field(init=False, default="")

    def __get__(self, node: Any, owner: type | None = None) -> Any:
        if node is None:
            return self
        loaded = node.__dict__.get("_relations")
        if loaded is not None and self.name in loaded:
            return loaded[self.name]
        from ispcore.resolvers.prefetch import load_one

        return load_one(CURRENT_CONTEXT.get(), node, self)

    def __set__(self, node: Any, value: Any) -> None:
        if value is not self:  # the dataclass __init__ assigning the default
            node.__dict__.setdefault("_relations", {})[self.name] = value


@dataclass(eq=False)
class One(Relation):
    """The ``target`` node whose id is this node's ``key`` attribute."""

    target: str
    key: str


@dataclass(eq=False)
class Many(Relation):
    """The ``target`` nodes whose ``column`` is this node's id, in ``order_by`` order;
    ``arrange`` may sort or pick from the list (e.g. the primary contact)."""

    target: str
    column: str
    order_by: Sequence[str] = ("id",)
    arrange: Callable[[list[Any]], Any] | None = None


@dataclass(eq=False)
class Via(Relation):
    """The ``target`` nodes linked to this node through rows of ``link`` (``owner`` names
    this node, ``to`` the target), e.g. an account's groups; ``single`` takes the first."""

    target: str
    link: type
    owner: str
    to: str
    where: Callable[[], Any] | None = None
    order_by: Sequence[str] = ("id",)
    single: bool = False


@dataclass(eq=False)
class Rows(Relation):
    """A value built by ``build`` from the ``model`` rows whose ``column`` is this node's id
    (emails, custom field values, a postal address). ``permission`` guards it if set."""

    model: type
    column: str
    build: Callable[[list[Any]], Any]
    order_by: Sequence[str] = ("id",)
    where: Callable[[], Any] | None = None
    permission: str | None = None


def relation(spec: Relation, *, description: str | None = None) -> Any:
    """A strawberry field of a node type backed by ``spec`` (the attribute's annotation gives
    its type; :func:`ispcore.schema.nodes.model_node` names it)."""
    return strawberry.field(default=spec, init=False, description=description)


def relations_of(cls: type) -> dict[str, Relation]:
    """Collect the relation fields declared on ``cls``, naming each."""
    found: dict[str, Relation] = {}
    for attr, value in vars(cls).items():
        spec = getattr(value, "default", None)
        if isinstance(spec, Relation):
            spec.name = attr
            found[attr] = spec
    return found


def graphql_names(relations: dict[str, Relation]) -> dict[str, str]:
    """GraphQL field name -> python name, for reading a selection."""
    return {to_camel_case(name): name for name in relations}
