"""Per-request DataLoaders: one ``IN (...)`` query per relation, results in key order.

They read plain rows (attribute access by column name, as the node types copy them) on
autocommit connections: no ORM identity map and no transaction to open and roll back, which
on a nested page is most of the cost of a load."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from ispcore.db import Database
from ispcore.domain.identity.actor import Actor

if TYPE_CHECKING:
    from ispcore.schema.nodes import ModelNode


class Loaders:
    def __init__(self, db: Database, actor: Actor) -> None:
        self._db = db
        self._actor = actor
        self._loaders: dict[Any, DataLoader[int, Any]] = {}

    def nodes(self, node_type: type[ModelNode]) -> DataLoader[int, Any]:
        """Loads ``node_type``'s model rows by primary key, narrowed to what the actor may
        see (``None`` for a missing or hidden one)."""
        loader = self._loaders.get(node_type)
        if loader is None:
            statement = node_type.readable(self._actor)
            model = node_type.model

            async def load(ids: Sequence[int]) -> list[Any]:
                async with self._db.read_rows() as conn:
                    rows = await conn.execute(statement.where(model.id.in_(ids)))
                    found = {row.id: row for row in rows}
                return [found.get(i) for i in ids]

            loader = self._loaders[node_type] = DataLoader(load_fn=load)
        return loader

    def rows_by(self, model: type, column: str, *, order_by: Sequence[str] = ("id",),
                where: Any = None) -> DataLoader[int, list[Any]]:
        """Loads the ``model`` rows whose ``column`` is each key (an account's contacts, a
        contact's emails): one query for every parent on the page. Callers check the
        permission to see them; ``where`` narrows further (say, current rows only)."""
        key = (model, column, tuple(order_by), None if where is None else str(where))
        loader = self._loaders.get(key)  # type: ignore[call-overload]
        if loader is None:
            owner = getattr(model, column)
            ordering = [getattr(model, name) for name in order_by]

            async def load(ids: Sequence[int]) -> list[list[Any]]:
                statement = select(model).where(owner.in_(ids)).order_by(*ordering)
                if where is not None:
                    statement = statement.where(where)
                grouped: dict[int, list[Any]] = {i: [] for i in ids}
                async with self._db.read_rows() as conn:
                    for row in await conn.execute(statement):
                        grouped[getattr(row, column)].append(row)
                return [grouped[i] for i in ids]

            loader = self._loaders[key] = DataLoader(load_fn=load)  # type: ignore[index]
        return loader
