"""Fan-out of small notifications to every subscriber, in process or through Redis."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

from redis.asyncio import Redis

CHANNEL_PREFIX = "ispcore:"


class MemoryNotifier:
    """One process: each subscriber gets its own queue."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)

    async def publish(self, channel: str, message: str) -> None:
        for queue in list(self._queues[channel]):
            queue.put_nowait(message)

    async def subscribe(self, channel: str) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues[channel].add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues[channel].discard(queue)

    async def close(self) -> None:
        self._queues.clear()


class RedisNotifier:
    """Many processes: Redis pub/sub. Messages are hints; the database stays the record."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def publish(self, channel: str, message: str) -> None:
        await self._redis.publish(CHANNEL_PREFIX + channel, message)

    async def subscribe(self, channel: str) -> AsyncIterator[str]:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(CHANNEL_PREFIX + channel)
        try:
            async for message in pubsub.listen():
                data = message["data"]
                yield data.decode() if isinstance(data, bytes) else str(data)
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()

    async def close(self) -> None:
        pass
