"""Schema migrations (Alembic), callable from async code and the CLI."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from ispcore.config import resource_dir
from ispcore.db import Base, UTCDateTime


def render_item(type_: str, obj: Any, autogen_context: Any) -> Any:
    """Write our column types as plain SQLAlchemy types, so migrations do not import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def compare_type(ctx: Any, inspected: Any, metadata: Any, inspected_type: Any,
                 metadata_type: Any) -> bool | None:
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, DateTime)
    return None


#: Tables the migrations make on SQLite outside the models (FTS5 virtual tables and their
#: shadow tables).
SQLITE_ONLY_TABLES = ("search_documents_fts",)


def for_dialect(dialect_name: str) -> Any:
    """An ``include_object`` hook: objects marked ``info={"dialects": (...)}`` (a trigram
    index, say) exist only on those databases, and the migrations create them only there."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
                ) -> bool:
        if reflected and type_ == "table" and (name or "").startswith(SQLITE_ONLY_TABLES):
            return False
        dialects = getattr(obj, "info", {}).get("dialects")
        if dialects is None and compare_to is not None:
            dialects = getattr(compare_to, "info", {}).get("dialects")
        if dialects is None and reflected and type_ == "index":
            return True
        return dialects is None or dialect_name in dialects

    return include


def drift(connection: Connection, metadata: MetaData = Base.metadata) -> list[Any]:
    """What autogenerate would still write: empty when the models match the database."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": compare_type, "render_item": render_item,
                          "include_object": for_dialect(connection.dialect.name)})
    return compare_metadata(context, metadata)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    return config


def _run(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)


async def _migrate(engine: AsyncEngine, action: str, revision: str) -> None:
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it and dropping the old one; with foreign keys
            # on, that drop would cascade to (or be refused by) the rows pointing at it.
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            await conn.run_sync(_run, action, revision)
            if sqlite:
                broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                if broken:
                    raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
            await conn.commit()
        finally:
            if sqlite:
                await conn.rollback()  # a PRAGMA inside a failed transaction would do nothing
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _migrate(engine, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _migrate(engine, "downgrade", revision)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> Any:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


@lru_cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def is_current(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()
