"""One ``INSERT .. ON CONFLICT`` statement for many rows, whatever their number: the rows
go in as one array parameter per column (``unnest``) on PostgreSQL, and as one executemany
on SQLite. Poll results write every table this way, so a batch of a thousand devices costs
the same few statements as a batch of one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession


def _is_postgresql(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


def least(session: AsyncSession, a: Any, b: Any) -> Any:
    return (func.least if _is_postgresql(session) else func.min)(a, b)


def greatest(session: AsyncSession, a: Any, b: Any) -> Any:
    return (func.greatest if _is_postgresql(session) else func.max)(a, b)


async def upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                 keys: Sequence[str], *, update: Callable[[Any], dict[str, Any]] | None = None,
                 returning: Sequence[str] = ()) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys); a row whose ``keys`` are taken is left
    alone, or with ``update`` gets ``update(excluded)``'s columns set. Returns the
    ``returning`` columns of the rows inserted or updated."""
    if not rows:
        return []
    if _is_postgresql(session):
        columns = list(rows[0])
        values = func.unnest(*[bindparam(f"v_{c}", [r[c] for r in rows],
                                         type_=ARRAY(table.c[c].type)) for c in columns]
                             ).table_valued(*columns).render_derived()
        statement = postgresql.insert(table).from_select(
            columns, select(*[values.c[c] for c in columns]))
    else:
        statement = sqlite.insert(table)
    if update is None:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    else:
        statement = statement.on_conflict_do_update(index_elements=list(keys),
                                                    set_=update(statement.excluded))
    if returning:
        statement = statement.returning(*[table.c[c] for c in returning])
    if _is_postgresql(session):
        result = await session.execute(statement)
    else:
        result = await session.execute(statement, list(rows))
    return list(result.all()) if returning else []
