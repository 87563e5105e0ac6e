"""Bounding the units of work (so the database connections) one job holds at once, so that a
job working in parallel cannot take the whole pool from the others."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_slots: ContextVar[asyncio.Semaphore | None] = ContextVar("job_connection_slots", default=None)
#: The task holding a slot in this context: its nested units of work take no other.
_holder: ContextVar[asyncio.Task[object] | None] = ContextVar("job_connection_holder",
                                                              default=None)


@contextmanager
def bounded(connections: int) -> Iterator[None]:
    """Within the block, and the tasks it starts, at most ``connections`` units of work are
    open at once; the others wait for one to close (without a connection)."""
    token = _slots.set(asyncio.Semaphore(connections))
    try:
        yield
    finally:
        _slots.reset(token)


async def take_slot() -> Callable[[], None] | None:
    """Wait for a slot of the current job; returns the function that gives it back, or None
    outside a job and for a unit of work opened inside one its task holds already (waiting
    for a second slot there could wait for itself)."""
    slots, task = _slots.get(), asyncio.current_task()
    if slots is None or (task is not None and _holder.get() is task):
        return None
    await slots.acquire()
    token = _holder.set(task)

    def give_back() -> None:
        _holder.reset(token)
        slots.release()

    return give_back
