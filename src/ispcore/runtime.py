"""Everything one process needs, built once from the settings: the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis, RedisSettings, create_pool

import ispcore.domain.audit.recorder
import ispcore.domain.models
import ispcore.domain.network.hooks
import ispcore.domain.usage.hooks
import ispcore.workers.jobs  # noqa: F401  (registers the job functions)
from ispcore.config import Settings
from ispcore.db import Database
from ispcore.domain.common.clock import Clock, SystemClock
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.identity.actor import Actor
from ispcore.infra.notifier import MemoryNotifier, RedisNotifier
from ispcore.infra.rate_limit import MemoryRateLimiter, RedisRateLimiter
from ispcore.workers.queues import ArqJobQueue, InlineJobQueue, deserialize_job, serialize_job


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    jobs: ArqJobQueue | InlineJobQueue
    notifier: MemoryNotifier | RedisNotifier
    rate_limiter: MemoryRateLimiter | RedisRateLimiter
    redis: ArqRedis | None = None

    def unit_of_work(self, actor: Actor, *, request_id: str | None = None,
                     action: str | None = None) -> UnitOfWork:
        return UnitOfWork(self.db, settings=self.settings, actor=actor, clock=self.clock,
                          jobs=self.jobs, notifier=self.notifier, request_id=request_id,
                          action=action)

    async def close(self) -> None:
        if isinstance(self.jobs, InlineJobQueue):
            await self.jobs.close()
        await self.notifier.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)


async def connect_redis(url: str) -> ArqRedis:
    return await create_pool(redis_settings(url), job_serializer=serialize_job,
                             job_deserializer=deserialize_job)


async def build_runtime(settings: Settings, *, clock: Clock | None = None,
                        start_cron: bool = False) -> Runtime:
    """Embedded mode without a Redis URL; scaled mode with one."""
    db = Database(settings.database_url, pool_size=settings.db_pool_size,
                  pool_timeout=settings.db_pool_timeout_seconds)
    clock = clock or SystemClock()
    if settings.redis_url:
        redis = await connect_redis(settings.redis_url)
        return Runtime(settings, db, clock, ArqJobQueue(redis), RedisNotifier(redis),
                       RedisRateLimiter(redis, settings.rate_limit_per_minute), redis=redis)
    jobs = InlineJobQueue()
    runtime = Runtime(settings, db, clock, jobs, MemoryNotifier(),
                      MemoryRateLimiter(settings.rate_limit_per_minute))
    jobs.bind(runtime)
    if start_cron:
        jobs.start_cron()
    return runtime
