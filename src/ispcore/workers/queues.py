"""Job queues: ARQ on Redis in scaled mode, an in-process runner in embedded mode."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import msgpack
from arq.connections import ArqRedis

from ispcore.db import PoolTimeout
from ispcore.workers.registry import CRON, JOBS, retry_delay, run_job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

log = logging.getLogger(__name__)


def serialize_job(data: dict[str, Any]) -> bytes:
    """ARQ jobs travel as msgpack, never pickle: whoever can write to Redis must not be able
    to run code in a worker."""
    return msgpack.packb(data, datetime=True)


def deserialize_job(data: bytes) -> dict[str, Any]:
    return msgpack.unpackb(data, timestamp=3)


class ArqJobQueue:
    def __init__(self, redis: ArqRedis) -> None:
        self.redis = redis

    async def enqueue(self, name: str, *, job_id: str | None = None, **kwargs: Any) -> None:
        if name not in JOBS:
            raise KeyError(f"unknown job {name!r}")
        # ARQ refuses a job id it already holds (waiting, running or its kept result).
        await self.redis.enqueue_job(name, _job_id=job_id, **kwargs)


class InlineJobQueue:
    """Runs the same job functions as the ARQ worker, as tasks in this process, plus cron.

    A job with a ``job_id`` is enqueued once while an equal one waits to start. A job that
    found no free connection is run again after a growing delay, for as long as it takes.
    """

    def __init__(self) -> None:
        self.runtime: Runtime | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._waiting: set[str] = set()
        self._cron_task: asyncio.Task[None] | None = None

    def bind(self, runtime: Runtime) -> None:
        self.runtime = runtime

    async def enqueue(self, name: str, *, job_id: str | None = None, **kwargs: Any) -> None:
        if name not in JOBS:
            raise KeyError(f"unknown job {name!r}")
        if job_id is not None:
            if job_id in self._waiting:
                return
            self._waiting.add(job_id)
        task = asyncio.create_task(self._run(name, job_id, kwargs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, name: str, job_id: str | None, kwargs: dict[str, Any]) -> None:
        await asyncio.sleep(0)
        if job_id is not None:
            self._waiting.discard(job_id)
        assert self.runtime is not None
        attempt = 0
        while True:
            try:
                await run_job(self.runtime, name, **kwargs)
                return
            except PoolTimeout:
                attempt += 1
                delay = retry_delay(attempt)
                log.warning("inline job %s found no free connection; running it again in "
                            "%.2f s", name, delay)
                await asyncio.sleep(delay)
            except Exception:
                log.exception("inline job %s failed", name)
                return

    async def drain(self) -> None:
        """Wait until every job enqueued so far (and any they enqueue) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def start_cron(self) -> None:
        if self._cron_task is None:
            self._cron_task = asyncio.create_task(self._cron_loop())

    async def tick(self, moment: datetime) -> None:
        """Enqueue the cron entries due at ``moment`` (a whole second, UTC)."""
        for entry in CRON:
            if entry.due(moment):
                await self.enqueue(entry.job, job_id=f"cron:{entry.job}")

    async def _cron_loop(self) -> None:
        last = None
        while True:
            now = datetime.now(UTC).replace(microsecond=0)
            if now != last:
                last = now
                await self.tick(now)
            await asyncio.sleep(1.0 - datetime.now(UTC).microsecond / 1e6)

    async def close(self) -> None:
        if self._cron_task is not None:
            self._cron_task.cancel()
            self._cron_task = None
        await self.drain()
