"""Fan-out of small notifications to every subscriber, in process or through Redis.

A subscriber may pass ``ready``: it is called each time the subscription is (again) in
place, from which point no message is missed, so that the subscriber can reload whatever
may have changed while it was not listening (before the first subscription, or while a
Redis connection was being re-established)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable

from redis.asyncio import Redis

CHANNEL_PREFIX = "ispcore:"


class MemoryNotifier:
    """One process: each subscriber gets its own queue."""

    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[str]]] = defaultdict(set)

    async def publish(self, channel: str, message: str) -> None:
        for queue in list(self._queues[channel]):
            queue.put_nowait(message)

    async def subscribe(self, channel: str, ready: Callable[[], None] | None = None
                        ) -> AsyncIterator[str]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues[channel].add(queue)
        if ready is not None:
            ready()
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

    async def subscribe(self, channel: str, ready: Callable[[], None] | None = None
                        ) -> AsyncIterator[str]:
        """Messages of ``channel``. Redis confirms each SUBSCRIBE, the first and any that
        the client sends again after reconnecting: that confirmation calls ``ready``."""
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(CHANNEL_PREFIX + channel)
        try:
            async for message in pubsub.listen():
                if message["type"] == "subscribe":
                    if ready is not None:
                        ready()
                    continue
                if message["type"] != "message":
                    continue
                data = message["data"]
                yield data.decode() if isinstance(data, bytes) else str(data)
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()

    async def close(self) -> None:
        pass
