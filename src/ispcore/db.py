"""Database engine, sessions and the declarative base shared by every domain area."""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager as AsyncContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Table,
    bindparam,
    event,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import TimeoutError as _SQLAlchemyTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
BigId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[str]: JSON(),
    }


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


def create_engine(url: str, *, pool_size: int = 10, pool_timeout: float = 30.0
                  ) -> AsyncEngine:
    """An engine whose pool keeps ``pool_size`` connections and opens as many more for a
    burst; a checkout waits ``pool_timeout`` seconds for one before it raises
    :class:`PoolTimeout`."""
    pool = {"pool_size": pool_size, "max_overflow": pool_size, "pool_timeout": pool_timeout}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **pool)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # asyncpg prepares every statement; after five runs PostgreSQL may switch a prepared
    # statement to a generic plan, blind to its parameters: a LIKE pattern or an IN list then
    # plans as a scan. Custom plans cost a little planning and keep the indexes in use.
    return create_async_engine(
        url, pool_pre_ping=True, **pool,
        connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}})


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # SQLite's own lower() folds ASCII only; case-insensitive matching must agree with
    # PostgreSQL for "Télécom" as much as for "Acme".
    dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: Raised when no connection of the pool came free in time: the work was not refused, it
#: was not started, and may be tried again later.
PoolTimeout = _SQLAlchemyTimeout


class Database:
    """The engine and session factory of one process."""

    def __init__(self, url: str, *, pool_size: int = 10, pool_timeout: float = 30.0) -> None:
        self.url = url
        self.engine = create_engine(url, pool_size=pool_size, pool_timeout=pool_timeout)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # Same pool; on PostgreSQL no BEGIN/ROLLBACK round trips around read-only statements
        # (SQLite has no round trips to save, and switching modes per checkout costs there).
        self._reader = (self.engine if self.is_sqlite
                        else self.engine.execution_options(isolation_level="AUTOCOMMIT"))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> AsyncSession:
        return self.sessionmaker()

    def read_rows(self) -> AsyncContextManager[AsyncConnection]:
        """A connection for read-only Core statements, in autocommit mode."""
        return self._reader.connect()

    async def dispose(self) -> None:
        await self.engine.dispose()


# --- bulk writes ------------------------------------------------------------------------------

_SEQUENCES: dict[str, str] = {}


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection of ``session``'s transaction (begun if it was not yet)."""
    conn = await session.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():
        await conn.exec_driver_sql("SELECT 1")
    return raw


async def bulk_insert(session: AsyncSession, model: Any, rows: list[dict[str, Any]], *,
                      ids: bool = False) -> list[int]:
    """Insert ``rows`` (dicts with the same keys) into ``model``'s table in the session's
    transaction, in one go: COPY on PostgreSQL, one executemany INSERT on SQLite. With
    ``ids``, returns the new rows' ids in order (drawn from the table's sequence first on
    PostgreSQL). Rows go in as given: no ORM events, defaults or audit."""
    if not rows:
        return []
    from sqlalchemy import insert

    table = model.__table__
    if session.bind.dialect.name == "sqlite":
        if ids:
            return list(await session.scalars(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))
        await session.execute(insert(table), rows)
        return []
    raw = await _driver(session)
    columns = list(rows[0])
    new_ids: list[int] = []
    if ids:
        sequence = _SEQUENCES.get(table.name)
        if sequence is None:
            sequence = _SEQUENCES[table.name] = await raw.fetchval(
                "SELECT pg_get_serial_sequence($1, 'id')", table.name)
        new_ids = [r[0] for r in await raw.fetch(
            "SELECT nextval($1::regclass) FROM generate_series(1, $2)", sequence, len(rows))]
        columns = ["id", *columns]
    given = columns[1:] if ids else columns
    as_json = [c for c in given if isinstance(table.c[c].type, JSON)]
    if as_json:
        rows = [{**row, **{c: json.dumps(row[c]) for c in as_json}} for row in rows]
    values = operator.itemgetter(*given)
    records = [(pk, *values(row)) for pk, row in zip(new_ids, rows, strict=True)] if ids else [
        values(row) if len(given) > 1 else (values(row),) for row in rows]
    await raw.copy_records_to_table(table.name, records=records, columns=columns)
    return new_ids


async def bulk_update(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> None:
    """Set columns of many rows by id (dicts with ``id`` and the same other keys) in one
    statement on PostgreSQL (``UPDATE … FROM unnest(…)``), one executemany on SQLite."""
    if not rows:
        return
    from sqlalchemy import update

    if session.bind.dialect.name == "sqlite":
        await session.execute(update(model), rows)
        return
    table = model.__table__
    columns = list(rows[0])
    dialect = postgresql.dialect()
    arrays = [f"${n}::{table.c[c].type.compile(dialect=dialect)}[]"
              for n, c in enumerate(columns, start=1)]
    names = ", ".join(f'"{c}"' for c in columns)
    sets = ", ".join(f'"{c}" = v."{c}"' for c in columns if c != "id")
    raw = await _driver(session)
    await raw.execute(
        f'UPDATE "{table.name}" AS t SET {sets} FROM unnest({", ".join(arrays)}) '
        f'AS v({names}) WHERE t.id = v.id', *[[row[c] for row in rows] for c in columns])


def _is_postgresql(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


def least(session: AsyncSession, a: Any, b: Any) -> Any:
    return (func.least if _is_postgresql(session) else func.min)(a, b)


def greatest(session: AsyncSession, a: Any, b: Any) -> Any:
    return (func.greatest if _is_postgresql(session) else func.max)(a, b)


async def bulk_upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                 keys: Sequence[str], *, update: Callable[[Any], dict[str, Any]] | None = None,
                 returning: Sequence[str] = ()) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys) in one ``INSERT … ON CONFLICT`` whatever
    their number: one array parameter per column (``unnest``) on PostgreSQL, one executemany
    on SQLite. A row whose ``keys`` are taken is left alone, or with ``update`` gets
    ``update(excluded)``'s columns set. Returns the ``returning`` columns of the rows
    inserted or updated."""
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


def among(on: AsyncSession | AsyncConnection, column: Any, ids: Sequence[Any], *,
          item_type: Any = BigInteger) -> Any:
    """``column IN ids`` for a long list of ids, for statements run ``on`` a session or
    connection: one array parameter on PostgreSQL (``= ANY``) rather than a rendered
    parameter per id; a plain ``IN`` on SQLite. ``item_type`` is the array's element type
    (``String`` for a list of texts)."""
    from sqlalchemy import any_, bindparam
    from sqlalchemy.dialects.postgresql import ARRAY

    ids = list(ids)
    dialect = on.dialect if isinstance(on, AsyncConnection) else on.bind.dialect
    if dialect.name == "sqlite":
        return column.in_(ids)
    return column == any_(bindparam(None, ids, type_=ARRAY(item_type)))
