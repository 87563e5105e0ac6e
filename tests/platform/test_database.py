"""The embedded SQLite database runs with WAL, foreign keys and a busy timeout."""

from __future__ import annotations

from sqlalchemy import text

from ispcore.db import Database


async def test_sqlite_connections_get_wal_foreign_keys_and_busy_timeout(tmp_path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'embedded.db'}")
    try:
        async with db.engine.connect() as conn:
            pragmas = {name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                       for name in ("journal_mode", "foreign_keys", "busy_timeout")}
        assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}
    finally:
        await db.dispose()
