"""Notifications reach every subscriber: in process (embedded) and through Redis (scaled)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from ispcore.infra.notifier import MemoryNotifier, RedisNotifier
from tests.conftest import REDIS_URL


async def _first_two(notifier, channel: str, publish) -> list[str]:
    received: list[str] = []
    started = asyncio.Event()

    async def listen():
        stream = notifier.subscribe(channel)
        task = asyncio.ensure_future(stream.__anext__())
        started.set()
        received.append(await task)
        received.append(await stream.__anext__())
        await stream.aclose()

    listener = asyncio.create_task(listen())
    await started.wait()
    await asyncio.sleep(0.2)
    await publish(channel, "one")
    await publish(channel, "two")
    await asyncio.wait_for(listener, 5)
    return received


async def test_memory_notifier_fans_out():
    notifier = MemoryNotifier()
    assert await _first_two(notifier, "events", notifier.publish) == ["one", "two"]


async def test_redis_notifier_crosses_processes():
    subscriber_side = Redis.from_url(REDIS_URL)
    publisher_side = Redis.from_url(REDIS_URL)  # another connection, as another replica
    try:
        listening = RedisNotifier(subscriber_side)
        publishing = RedisNotifier(publisher_side)
        assert await _first_two(listening, "events", publishing.publish) == ["one", "two"]
    finally:
        await subscriber_side.aclose()
        await publisher_side.aclose()
