"""Test fixtures: a real database (PostgreSQL or SQLite, chosen by ISPCORE_TEST_DB), the app in
process, a live server for websockets and the browser, and helpers to call the API."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn
from sqlalchemy import text

from ispcore import migrate
from ispcore.app import create_app
from ispcore.config import Settings
from ispcore.db import Base
from ispcore.domain.common.clock import FixedClock
from ispcore.domain.identity.actor import SYSTEM
from ispcore.runtime import Runtime, build_runtime
from tests.support import Api

PG_ADMIN_DSN = os.environ.get("ISPCORE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("ISPCORE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def backend() -> str:
    return os.environ.get("ISPCORE_TEST_DB", "sqlite")


def pytest_report_header() -> str:
    return f"ispcore database backend: {backend()}"


async def create_database(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    """A new empty database; returns its URL and a coroutine function that drops it."""
    if backend() == "postgresql":
        name = f"ispcore_test_{uuid.uuid4().hex[:10]}"
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

        async def drop() -> None:
            conn = await asyncpg.connect(PG_ADMIN_DSN)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()

        base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
        return f"{base}/{name}", drop
    path = tmp_path_factory.mktemp("db") / f"{uuid.uuid4().hex[:8]}.db"

    async def remove() -> None:
        pass

    return f"sqlite+aiosqlite:///{path}", remove


def test_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": database_url, "rate_limit_per_minute": 100_000,
                              "login_attempts_per_minute": 100_000, "redis_url": None}
    values.update(overrides)
    return Settings(**values)


test_settings.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    url, drop = await create_database(tmp_path_factory)
    yield url
    await drop()


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> None:
    """Still argon2id, with the smallest cost: tests hash hundreds of passwords."""
    from argon2 import PasswordHasher

    from ispcore.domain.identity import secrets

    secrets._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session")
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 2, 15, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
async def runtime(database_url: str, clock: FixedClock) -> AsyncIterator[Runtime]:
    rt = await build_runtime(test_settings(database_url), clock=clock)
    await migrate.upgrade(rt.db.engine)
    yield rt
    await rt.close()


async def truncate_all(rt: Runtime) -> None:
    """Empty every table, children first. Rows pointing at rows of their own table (child
    accounts, reversing ledger entries) lose that link first: an ON DELETE RESTRICT is
    checked row by row. On PostgreSQL, DELETE and a reset of the id sequences in two round
    trips: TRUNCATE of every table would take a quarter of a second per test."""
    sorted_tables = list(reversed(Base.metadata.sorted_tables))
    statements = []
    for table in sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table is table and fk.parent.nullable:
                statements.append(f'UPDATE "{table.name}" SET "{fk.parent.name}" = NULL')
        statements.append(f'DELETE FROM "{table.name}"')
    async with rt.db.engine.begin() as conn:
        if rt.db.is_sqlite:
            for statement in statements:
                await conn.execute(text(statement))
            return
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.execute("; ".join(statements))
        with_ids = [t.name for t in sorted_tables if "id" in t.c and t.c.id.primary_key]
        await raw.execute("SELECT setval(pg_get_serial_sequence(t, 'id'), 1, false) "
                          "FROM unnest($1::text[]) AS t", with_ids)


@pytest.fixture(autouse=True)
async def _clean(request: pytest.FixtureRequest, clock: FixedClock) -> AsyncIterator[None]:
    start = clock.now()
    yield
    clock.set(start)
    if "runtime" in request.fixturenames:
        rt: Runtime = request.getfixturevalue("runtime")
        await rt.jobs.drain()
        await truncate_all(rt)


@pytest.fixture
async def tiny_pool_runtime(database_url: str, clock: FixedClock, runtime: Runtime
                            ) -> AsyncIterator[Runtime]:
    """A second process on the test database whose pool holds one connection (and one more
    for a burst), gives up waiting for one after 0.2 s, and lends one to each job."""
    rt = await build_runtime(test_settings(database_url, db_pool_size=1,
                                           db_pool_timeout_seconds=0.2,
                                           job_db_connections=1), clock=clock)
    yield rt
    await rt.jobs.drain()
    await rt.close()


@pytest.fixture
def system_uow(runtime: Runtime) -> Any:
    def open_uow(action: str = "test") -> Any:
        return runtime.unit_of_work(SYSTEM, action=action)

    return open_uow


@pytest.fixture(scope="session")
async def app(runtime: Runtime) -> AsyncIterator[Any]:
    application = create_app(runtime=runtime)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def api(app: Any, runtime: Runtime) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client, runtime)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
async def live_server(app: Any) -> AsyncIterator[str]:
    """The same app served by uvicorn on loopback, in this event loop."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off",
                            ws="websockets-sansio")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    yield f"127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
def vault_key(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> str:
    """A vault key on the server (bank account numbers and NAS secrets are sealed with it)."""
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    monkeypatch.setattr(runtime.settings, "vault_key", key)
    return key


@pytest.fixture
def private_targets_allowed(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outbound connections may reach loopback and private addresses: the servers tests run
    (SMTP, HTTP receivers) listen on 127.0.0.1."""
    monkeypatch.setattr(runtime.settings, "webhooks_allow_private", True)
