"""Requests per minute per token (or per address for anonymous callers), fixed window."""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis.asyncio import Redis

WINDOW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    remaining: int
    retry_after: int


def _window(now: float) -> tuple[int, int]:
    window = int(now // WINDOW_SECONDS)
    return window, int((window + 1) * WINDOW_SECONDS - now) + 1


class MemoryRateLimiter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._counts: dict[str, tuple[int, int]] = {}

    async def hit(self, key: str, limit: int | None = None) -> Verdict:
        limit = limit or self.limit
        window, retry_after = _window(time.time())
        seen_window, count = self._counts.get(key, (window, 0))
        if seen_window != window:
            count = 0
            if len(self._counts) > 100_000:
                self._counts.clear()
        count += 1
        self._counts[key] = (window, count)
        return Verdict(count <= limit, max(limit - count, 0), retry_after)


class RedisRateLimiter:
    def __init__(self, redis: Redis, limit: int) -> None:
        self.limit = limit
        self._redis = redis

    async def hit(self, key: str, limit: int | None = None) -> Verdict:
        limit = limit or self.limit
        window, retry_after = _window(time.time())
        redis_key = f"ispcore:rate:{key}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(redis_key)
            pipe.expire(redis_key, WINDOW_SECONDS * 2)
            count, _ = await pipe.execute()
        return Verdict(count <= limit, max(limit - count, 0), retry_after)
