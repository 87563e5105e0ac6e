"""Alembic environment: runs on a connection handed in by ``ispcore.migrate`` or, from the
``alembic`` command line, on ``ISPCORE_DATABASE_URL``."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

import ispcore.domain.models  # noqa: F401
from ispcore.config import get_settings
from ispcore.db import Base, create_engine
from ispcore.migrate import compare_type, for_dialect, render_item

target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        render_item=render_item,
        compare_type=compare_type,
        include_object=for_dialect(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    engine = create_engine(url)
    async with engine.connect() as conn:
        if conn.dialect.name == "sqlite":  # as ispcore.migrate does: table copies drop tables
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        await conn.run_sync(run_on)
        await conn.commit()
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    asyncio.run(run_from_url(context.config.get_main_option("sqlalchemy.url")
                             or get_settings().database_url))
