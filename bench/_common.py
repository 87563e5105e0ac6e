"""Shared pieces of the benchmarks: a temporary database with ispcore's schema and seed data,
timing statistics and table printing.

Nothing here asserts timings: the machines these run on are shared and noisy, so every
script measures its baselines in the same run and prints figures and ratios only.
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Runnable as ``python bench/x.py`` from a checkout without installing the package.
_SRC = Path(__file__).resolve().parents[1] / "src"
if _SRC.is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

PG_ADMIN_DSN = os.environ.get("ISPCORE_BENCH_PG_DSN",
                              "postgresql://postgres@127.0.0.1:5432/postgres")

#: The rate limit the benchmarks configure: large enough never to trigger, so the figures
#: are the floor of the stack and not of the limiter.
NO_RATE_LIMIT = 10**9

#: Frames a profile's call tree shows even inside libraries (the rest are folded).
PROFILE_SHOW_REGEX = r".*(ispcore|strawberry|graphql|sqlalchemy|starlette|fastapi|uvicorn).*"

ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"


# --- databases ----------------------------------------------------------------------------

@dataclass
class TempDatabase:
    url: str
    kind: str
    path: Path | None = None  # SQLite file


@asynccontextmanager
async def temp_database(kind: str) -> AsyncIterator[TempDatabase]:
    """An empty database that is removed afterwards: a SQLite file in a temp dir, or a new
    PostgreSQL database on 127.0.0.1:5432 (user postgres, trust auth), dropped at the end."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ispcore-bench-") as tmp:
            path = Path(tmp) / "bench.db"
            yield TempDatabase(f"sqlite+aiosqlite:///{path}", kind, path)
        return
    if kind != "postgresql":
        raise SystemExit(f"unknown --db {kind!r} (sqlite or postgresql)")
    import asyncpg

    name = f"ispcore_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield TempDatabase(f"{base}/{name}", kind)
    finally:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def analyze(url: str) -> None:
    """Gather the planner's statistics of every table, committed (``VACUUM ANALYZE`` on
    PostgreSQL, ``ANALYZE`` on SQLite), on a connection of its own: an ANALYZE in a
    transaction that is rolled back leaves the planner without statistics, and ending a
    pooled connection's transaction behind SQLAlchemy's back would leave it in autocommit."""
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.split("///", 1)[1]) as conn:
            conn.execute("ANALYZE")
        return
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def bench_settings(database_url: str, **overrides: Any) -> Any:
    from ispcore.config import Settings

    values: dict[str, Any] = {"database_url": database_url, "redis_url": None,
                              "rate_limit_per_minute": NO_RATE_LIMIT, "log_level": "WARNING"}
    values.update(overrides)
    return Settings(**values)


async def open_runtime(database_url: str, *, migrate: bool) -> Any:
    """An embedded-mode runtime (no Redis, no cron) on ``database_url``."""
    from ispcore import migrate as migrations
    from ispcore.runtime import build_runtime

    runtime = await build_runtime(bench_settings(database_url), start_cron=False)
    if migrate:
        await migrations.upgrade(runtime.db.engine)
    return runtime


async def seed_companies(runtime: Any, count: int) -> None:
    """``count`` companies with every column set, in one bulk INSERT (no audit rows: the
    benchmarks read, they do not exercise the write path)."""
    from sqlalchemy import insert

    from ispcore.domain.common.models import name_key
    from ispcore.domain.companies.models import Company

    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "name": f"Bench ISP {i:04d}",
            "name_key": name_key(f"Bench ISP {i:04d}"),
            "currency": ("USD", "EUR", "GBP")[i % 3],
            "time_zone": ("America/Chicago", "Europe/Berlin", "Europe/London")[i % 3],
            "contact_email": f"noc{i}@isp{i}.example.net",
            "address_line1": f"{i} Fiber Street",
            "address_line2": None,
            "city": ("Springfield", "Berlin", "London")[i % 3],
            "subdivision": ("IL", "BE", "ENG")[i % 3],
            "postal_code": f"{10000 + i}",
            "country": ("US", "DE", "GB")[i % 3],
            "created_at": start + timedelta(minutes=i),
            "updated_at": start + timedelta(minutes=i),
        }
        for i in range(1, count + 1)
    ]
    async with runtime.db.engine.begin() as conn:
        await conn.execute(insert(Company), rows)


async def admin_with_token(runtime: Any) -> tuple[int, str]:
    """An admin user and a personal access token, made as tests/support.py does."""
    from ispcore.domain.identity import access_tokens, users
    from ispcore.domain.identity.actor import SYSTEM, Actor

    async with runtime.unit_of_work(SYSTEM, action="bench") as uow:
        role = await users.ensure_admin_role(uow)
        user = await users.create_user(uow, email=ADMIN_EMAIL, name="bench",
                                       password=ADMIN_PASSWORD, role_id=role.id,
                                       ip_allowlist=None)
        uow.actor = Actor(user_id=user.id, permissions=users.role_permissions(role))
        created = await access_tokens.create_token(uow, name="bench", scopes=None,
                                                   expires_at=None)
        return user.id, created.secret


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- statistics and output -----------------------------------------------------------------

def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def machine_line() -> str:
    import platform

    return (f"python {platform.python_version()} on {platform.machine()}, "
            f"{os.cpu_count()} cpus, load avg {os.getloadavg()[0]:.2f} "
            f"({datetime.now().strftime('%Y-%m-%d %H:%M')})")
