"""Loading the selected relations of a page of nodes: one query per relation per level."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ispcore.schema.relations import Many, One, Relation, Rows, Via

if TYPE_CHECKING:
    from ispcore.schema.nodes import ModelNode


def _selected(selections: Iterable[Any]) -> Iterable[Any]:
    """Fields of a selection set, fragments opened (their type conditions are ignored: a
    relation another type also names is merely loaded for nothing)."""
    for selection in selections or ():
        if hasattr(selection, "name") and not hasattr(selection, "type_condition"):
            yield selection
        else:
            yield from _selected(selection.selections)


def sub_selections(selections: Iterable[Any], *path: str) -> list[Any]:
    """The selections under ``path`` (GraphQL names, e.g. ``"edges", "node"``)."""
    current = list(selections or ())
    for name in path:
        current = [s for field in _selected(current) if field.name == name
                   for s in field.selections]
    return current


def _store(node: Any, name: str, value: Any) -> None:
    node.__dict__.setdefault("_relations", {})[name] = value


async def prefetch(context: Any, node_type: type[ModelNode], nodes: Sequence[Any],
                   selections: Iterable[Any]) -> None:
    """Load every relation of ``node_type`` selected in ``selections`` for all ``nodes``,
    on one connection for the whole walk."""
    wanted = _wanted(node_type, nodes, selections)
    if wanted:
        async with context.rows() as conn:
            await _prefetch(_Loading(context, conn), node_type, nodes, wanted)


async def load_one(context: Any, node: Any, spec: Relation) -> Any:
    """A relation of one node that was not prefetched (loaded on its own)."""
    async with context.rows() as conn:
        await _fill(_Loading(context, conn), spec, [node], [])
    return node.__dict__["_relations"][spec.name]


class _Loading:
    """The request's context and the connection a prefetch walk reads on."""

    def __init__(self, context: Any, conn: Any) -> None:
        self.actor = context.actor
        self.conn = conn


def _wanted(node_type: type[ModelNode], nodes: Sequence[Any], selections: Iterable[Any]
            ) -> dict[str, list[Any]]:
    """The selected relations of ``node_type`` and the selections under each."""
    wanted: dict[str, list[Any]] = {}
    if not nodes or not node_type.relations:
        return wanted
    for field in _selected(selections):
        name = node_type.relation_names.get(field.name)
        if name is not None:
            wanted.setdefault(name, []).extend(field.selections)
    return wanted


async def _prefetch(loading: _Loading, node_type: type[ModelNode], nodes: Sequence[Any],
                    wanted: dict[str, list[Any]]) -> None:
    for name, below in wanted.items():
        await _fill(loading, node_type.relations[name], nodes, below)


def _target(name: str) -> type[ModelNode]:
    from ispcore.schema.nodes import node_type_named

    node_type = node_type_named(name)
    assert node_type is not None, name
    return node_type


async def _fill(loading: _Loading, spec: Relation, nodes: Sequence[Any], below: list[Any]
                ) -> None:
    actor = loading.actor
    if isinstance(spec, Rows):
        if spec.permission and not actor.can(spec.permission):
            for node in nodes:
                _store(node, spec.name, None)
            return
        grouped = await _rows_by(loading, spec.model, spec.column,
                                 [node.pk for node in nodes], spec.order_by,
                                 spec.where() if spec.where else None)
        for node in nodes:
            _store(node, spec.name, spec.build(grouped.get(node.pk, [])))
        return
    target = _target(spec.target)
    if not actor.can(target.read_permission):
        for node in nodes:
            _store(node, spec.name, None)
        return
    children: list[Any] = []
    if isinstance(spec, One):
        keys = {getattr(node, spec.key) for node in nodes} - {None}
        found = await _nodes_by_id(loading, target, keys)
        for node in nodes:
            _store(node, spec.name, found.get(getattr(node, spec.key)))
        children = list(found.values())
    elif isinstance(spec, Many):
        grouped = await _nodes_by(loading, target, spec.column, [n.pk for n in nodes],
                                  spec.order_by)
        for node in nodes:
            items = grouped.get(node.pk, [])
            children.extend(items)
            _store(node, spec.name, spec.arrange(items) if spec.arrange else items)
    elif isinstance(spec, Via):
        links = await _rows_by(loading, spec.link, spec.owner, [n.pk for n in nodes],
                               spec.order_by, spec.where() if spec.where else None)
        keys = {getattr(row, spec.to) for rows in links.values() for row in rows}
        found = await _nodes_by_id(loading, target, keys)
        for node in nodes:
            items = [found[getattr(row, spec.to)] for row in links.get(node.pk, [])
                     if getattr(row, spec.to) in found]
            _store(node, spec.name, (items[0] if items else None) if spec.single else items)
        children = list(found.values())
    await _prefetch(loading, target, children, _wanted(target, children, below))


async def _nodes_by_id(loading: _Loading, node_type: type[ModelNode], ids: set[int]
                       ) -> dict[int, Any]:
    if not ids:
        return {}
    statement = node_type.readable(loading.actor).where(node_type.model.id.in_(sorted(ids)))
    rows = (await loading.conn.execute(statement)).all()
    return {row.id: node_type.from_model(row) for row in rows}


async def _nodes_by(loading: _Loading, node_type: type[ModelNode], column: str, keys: list[int],
                    order_by: Sequence[str]) -> dict[int, list[Any]]:
    grouped = await _grouped(loading, node_type.readable(loading.actor), node_type.model,
                             column, keys, order_by)
    return {key: [node_type.from_model(row) for row in rows] for key, rows in grouped.items()}


async def _rows_by(loading: _Loading, model: type, column: str, keys: list[int],
                   order_by: Sequence[str], where: Any) -> dict[int, list[Any]]:
    statement = select(model) if where is None else select(model).where(where)
    return await _grouped(loading, statement, model, column, keys, order_by)


async def _grouped(loading: _Loading, statement: Any, model: type, column: str,
                   keys: list[int], order_by: Sequence[str]) -> dict[int, list[Any]]:
    """The rows of ``statement`` whose ``column`` is one of ``keys``, by that column."""
    statement = (statement.where(getattr(model, column).in_(sorted(set(keys))))
                 .order_by(*(getattr(model, name) for name in order_by)))
    grouped: dict[int, list[Any]] = {}
    for row in (await loading.conn.execute(statement)).all():
        grouped.setdefault(getattr(row, column), []).append(row)
    return grouped
