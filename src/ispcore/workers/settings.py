"""ARQ worker settings: ``arq ispcore.workers.settings.WorkerSettings`` or ``ispcore worker``."""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.worker import Retry, func

from ispcore.config import get_settings
from ispcore.db import PoolTimeout
from ispcore.runtime import build_runtime, redis_settings
from ispcore.workers.queues import deserialize_job, serialize_job
from ispcore.workers.registry import CRON, JOBS, retry_delay, run_job


async def _run(ctx: dict[str, Any], name: str, **kwargs: Any) -> Any:
    try:
        return await run_job(ctx["runtime"], name, **kwargs)
    except PoolTimeout as exc:  # no connection came free in time: queue it again
        raise Retry(defer=retry_delay(ctx["job_try"])) from exc


def _arq_function(name: str) -> Any:
    async def call(ctx: dict[str, Any], **kwargs: Any) -> Any:
        return await _run(ctx, name, **kwargs)

    call.__qualname__ = call.__name__ = name.replace(".", "_")
    return func(call, name=name)


def _arq_cron(entry: Any) -> Any:
    async def call(ctx: dict[str, Any]) -> Any:
        return await _run(ctx, entry.job)

    call.__qualname__ = call.__name__ = f"cron_{entry.job.replace('.', '_')}"
    return cron(call, name=f"cron:{entry.job}", second=entry.second,
                minute=set(entry.minutes) if entry.minutes is not None else None,
                unique=True)


async def startup(ctx: dict[str, Any]) -> None:
    ctx["runtime"] = await build_runtime(get_settings())


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["runtime"].close()


class WorkerSettings:
    """ARQ settings: ``ispcore worker`` (or ``arq ispcore.workers.settings.WorkerSettings``).

    The same job functions and cron entries the inline runner uses in embedded mode; jobs are
    msgpack-serialised. As many jobs run at once as the pool (``db_pool_size`` kept, as many
    more for a burst) holds at ``job_db_connections`` each; a job that found no free
    connection goes back in the queue (``Retry``, after a growing delay, up to ``max_tries``:
    about ten minutes of waiting).
    """

    functions = [_arq_function(name) for name in JOBS]
    cron_jobs = [_arq_cron(entry) for entry in CRON]
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = redis_settings(get_settings().redis_url or "redis://127.0.0.1:6379")
    job_serializer = serialize_job
    job_deserializer = deserialize_job
    keep_result = 60
    max_jobs = max(1, 2 * get_settings().db_pool_size // get_settings().job_db_connections)
    max_tries = 25
