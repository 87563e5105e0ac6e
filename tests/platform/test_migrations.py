"""Models and migrations agree, and the history runs up, down and up again."""

from __future__ import annotations

from sqlalchemy import Column, Integer, Table, inspect

from ispcore import migrate
from ispcore.db import Base, create_engine
from tests.conftest import backend, create_database


async def _fresh_engine(tmp_path_factory):
    url, drop = await create_database(tmp_path_factory)
    return create_engine(url), drop


async def test_models_and_migrations_do_not_drift(tmp_path_factory):
    engine, drop = await _fresh_engine(tmp_path_factory)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(migrate.drift) == [], f"drift on {backend()}"

            # The check sees a model the migrations lack.
            unmigrated = Table("unmigrated_things", Base.metadata,
                               Column("id", Integer, primary_key=True))
            try:
                found = await conn.run_sync(migrate.drift, Base.metadata)
            finally:
                Base.metadata.remove(unmigrated)
        assert [d[0] for d in found] == ["add_table"]
    finally:
        await engine.dispose()
        await drop()


async def test_upgrade_downgrade_upgrade(tmp_path_factory):
    engine, drop = await _fresh_engine(tmp_path_factory)
    try:
        await migrate.upgrade(engine)
        assert await migrate.current_revision(engine) == migrate.head_revision()
        async with engine.connect() as conn:
            tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert set(Base.metadata.tables) <= tables

        await migrate.downgrade(engine, "base")
        assert await migrate.current_revision(engine) is None
        async with engine.connect() as conn:
            left = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        assert left & set(Base.metadata.tables) == set()

        await migrate.upgrade(engine)
        assert await migrate.is_current(engine)
        async with engine.connect() as conn:
            assert await conn.run_sync(migrate.drift) == []
    finally:
        await engine.dispose()
        await drop()
