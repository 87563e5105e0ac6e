"""Per-request DataLoaders: one ``IN (...)`` query per relation, results in key order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from ispcore.db import Database


class Loaders:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._by_id: dict[type, DataLoader[int, Any]] = {}

    def by_id(self, model: type) -> DataLoader[int, Any]:
        """Loads ``model`` rows by primary key (``None`` for a missing one)."""
        loader = self._by_id.get(model)
        if loader is None:

            async def load(ids: Sequence[int]) -> list[Any]:
                async with self._db.session() as session:
                    rows = await session.scalars(select(model).where(model.id.in_(ids)))
                    found = {row.id: row for row in rows}
                return [found.get(i) for i in ids]

            loader = self._by_id[model] = DataLoader(load_fn=load)
        return loader
