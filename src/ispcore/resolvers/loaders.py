"""Per-request DataLoaders of nodes by id, for the fields of types that are not nodes (a
phone number's type, a search hit's node): one ``IN (...)`` query per type, in key order.
Node types' own relations are prefetched instead (``ispcore.resolvers.prefetch``).

They read plain rows (attribute access by column name, as the node types copy them) on
autocommit connections: no ORM identity map and no transaction to open and roll back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection
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

    def batch(self, name: str, load: Callable[[Sequence[Any]], Awaitable[list[Any]]]
              ) -> DataLoader[Any, Any]:
        """The request's loader called ``name`` (built with ``load`` the first time): for an
        area's own batched reads, e.g. a value computed for every account of a page."""
        loader = self._loaders.get(("batch", name))
        if loader is None:
            loader = self._loaders[("batch", name)] = DataLoader(load_fn=load)
        return loader

    def balances(self) -> DataLoader[int, int]:
        """Accounts' balances (minor units, the sum of their ledger entries), by account id."""
        loader = self._loaders.get("balances")
        if loader is None:
            from ispcore.domain.billing.ledger import balances

            async def load(ids: Sequence[int]) -> list[int]:
                async with self._db.read_rows() as conn:
                    found = await balances(conn, ids)
                return [found[i] for i in ids]

            loader = self._loaders["balances"] = DataLoader(load_fn=load)
        return loader

    def keyed(self, name: str,
              load: Callable[[AsyncConnection, Sequence[Any]], Awaitable[list[Any]]]
              ) -> DataLoader[Any, Any]:
        """The request's loader ``name`` of values that are not nodes: ``load(conn, keys)``
        answers a batch of keys, in key order, on a read connection."""
        loader = self._loaders.get(name)
        if loader is None:
            async def batch(keys: Sequence[Any]) -> list[Any]:
                async with self._db.read_rows() as conn:
                    return await load(conn, keys)

            loader = self._loaders[name] = DataLoader(load_fn=batch)
        return loader
