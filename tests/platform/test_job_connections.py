"""Jobs share a small pool without starving one another: each job holds a bounded number of
connections at once, and a job that found none free in time is run again, never lost."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from ispcore.domain.events import service as events
from ispcore.domain.events.models import Event
from ispcore.domain.identity.actor import SYSTEM
from ispcore.runtime import Runtime
from ispcore.workers.registry import JOBS, job

BUSY_JOB = "test.busy_job"


class SlowHandler:
    """Holds its unit of work (and connection) a while per batch, as real work would;
    counts how many batches of any ``SlowHandler`` are being handled at once."""

    active = 0
    most_at_once = 0

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def __call__(self, uow: Any, batch: list[Event]) -> None:
        SlowHandler.active += 1
        SlowHandler.most_at_once = max(SlowHandler.most_at_once, SlowHandler.active)
        try:
            await uow.session.scalar(select(func.count()).select_from(Event))
            await asyncio.sleep(0.05)
        finally:
            SlowHandler.active -= 1

        ids = [e.id for e in batch]

        async def effect() -> None:
            self.seen.extend(ids)

        uow.after_commit(effect)


@pytest.fixture
def busy_job() -> Any:
    @job(BUSY_JOB)
    async def hold_a_connection(runtime: Runtime, n: int) -> None:
        async with runtime.unit_of_work(SYSTEM, action=BUSY_JOB) as uow:
            events.record_event(uow, "test.job_done", company_id=None, payload={"n": n})
            await uow.session.flush()
            await asyncio.sleep(0.1)

    yield
    JOBS.pop(BUSY_JOB, None)


async def test_a_dispatch_beside_other_jobs_on_a_tiny_pool_loses_nothing(
        tiny_pool_runtime: Runtime, busy_job: Any, caplog: pytest.LogCaptureFixture) -> None:
    tiny = tiny_pool_runtime
    first, second = SlowHandler(), SlowHandler()
    events.register_handler("test.slow.first", {"test.happened"}, first)
    events.register_handler("test.slow.second", {"test.happened"}, second)
    SlowHandler.most_at_once = 0
    try:
        async with tiny.unit_of_work(SYSTEM, action="test") as uow:
            await events.record_events(uow, [
                {"type": "test.happened", "company_id": None, "entity_type": None,
                 "entity_id": None, "payload": {"n": n}} for n in range(30)])
        # The commit enqueued the dispatcher; eight jobs want a connection meanwhile.
        for n in range(8):
            await tiny.jobs.enqueue(BUSY_JOB, n=n)
        with caplog.at_level(logging.WARNING, logger="ispcore.workers.queues"):
            await tiny.jobs.drain()
    finally:
        events.unregister_handler("test.slow.first")
        events.unregister_handler("test.slow.second")

    async with tiny.db.session() as session:
        happened = list(await session.scalars(
            select(Event.id).where(Event.type == "test.happened").order_by(Event.id)))
        done = sorted(p["n"] for p in await session.scalars(
            select(Event.payload).where(Event.type == "test.job_done")))
    assert sorted(first.seen) == happened and sorted(second.seen) == happened  # once each
    assert done == list(range(8))  # every job ran to its end
    failed = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failed == []
    assert any("no free connection" in r.getMessage() for r in caplog.records)  # it was short
    assert SlowHandler.most_at_once == 1  # the dispatch job held one connection at a time
