"""The outbox: events commit with their change, and each handler gets each event once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from ispcore.domain.companies.service import create_company
from ispcore.domain.events import service as events
from ispcore.domain.events.models import Event, EventHandlerRun
from ispcore.workers.registry import run_job

COMPANY = {"name": "Acme Fibre", "currency": "USD", "time_zone": "America/Denver"}


class Recorder:
    """A handler whose effect (a list entry) happens only if its transaction commits."""

    def __init__(self, name: str, fail_on: set[int] | None = None) -> None:
        self.name = name
        self.seen: list[int] = []
        self.fail_on = fail_on or set()

    async def __call__(self, uow, event: Event) -> None:
        if event.payload.get("n") in self.fail_on:
            raise asyncio.CancelledError  # the worker is killed half-way through this event

        async def effect(event_id: int = event.id) -> None:
            self.seen.append(event_id)

        uow.after_commit(effect)


@pytest.fixture
def handler():
    made = []

    def register(name: str, types: set[str], **kwargs) -> Recorder:
        recorder = Recorder(name, **kwargs)
        events.register_handler(name, types, recorder)
        made.append(name)
        return recorder

    yield register
    for name in made:
        events.unregister_handler(name)


async def _record(system_uow, count: int, event_type: str = "test.happened") -> list[int]:
    async with system_uow() as uow:
        made = [events.record_event(uow, event_type, company_id=None, payload={"n": n})
                for n in range(count)]
    return [e.id for e in made]  # assigned at commit


async def _count(runtime, model) -> int:
    async with runtime.db.session() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def test_event_is_written_in_the_same_transaction(runtime, system_uow):
    async with system_uow() as uow:
        company = await create_company(uow, dict(COMPANY))
    async with runtime.db.session() as session:
        event = await session.scalar(select(Event))
    assert (event.type, event.company_id, event.entity_type, event.entity_id) == (
        "company.created", company.id, "Company", company.id)
    assert event.payload["name"] == "Acme Fibre"

    with pytest.raises(RuntimeError):
        async with system_uow() as uow:
            await create_company(uow, {**COMPANY, "name": "Rolled Back"})
            raise RuntimeError("the request failed after the change")
    assert await _count(runtime, Event) == 1


async def test_each_handler_gets_each_event_once(runtime, system_uow, handler):
    first = handler("first", {"test.happened"})
    second = handler("second", {"test.happened", "other.thing"})
    ids = await _record(system_uow, 5)
    other = await _record(system_uow, 2, "other.thing")
    await runtime.jobs.drain()  # the commit enqueued the dispatcher

    assert first.seen == ids
    assert second.seen == ids + other
    assert await run_job(runtime, events.DISPATCH_JOB) == 0  # nothing left to do
    assert first.seen == ids
    assert await _count(runtime, EventHandlerRun) == 12


async def test_a_job_killed_half_way_does_its_work_once_when_re_run(runtime, system_uow,
                                                                     handler):
    ids = await _record(system_uow, 6)
    await runtime.jobs.drain()  # no handler yet: the dispatcher finds nothing to do
    flaky = handler("flaky", {"test.happened"}, fail_on={3})

    with pytest.raises(asyncio.CancelledError):
        await run_job(runtime, events.DISPATCH_JOB)
    assert flaky.seen == ids[:3]

    flaky.fail_on.clear()  # the worker comes back
    assert await run_job(runtime, events.DISPATCH_JOB) == 3
    assert flaky.seen == ids
    assert await run_job(runtime, events.DISPATCH_JOB) == 0
    assert flaky.seen == ids


async def test_concurrent_dispatchers_do_not_double_handle(runtime, system_uow, handler):
    ids = await _record(system_uow, 20)
    await runtime.jobs.drain()
    recorder = handler("concurrent", {"test.happened"})
    results = await asyncio.gather(*(run_job(runtime, events.DISPATCH_JOB) for _ in range(3)))
    assert sum(results) == 20
    assert sorted(recorder.seen) == ids


async def test_the_feed_returns_late_committers_it_jumped_over(runtime, clock):
    from datetime import timedelta

    from ispcore.domain.events.feed import GAP_TTL, EventFeed

    def event(pk: int) -> Event:
        return Event(id=pk, type="feed.test", company_id=None, payload={},
                     occurred_at=clock.now())

    async with runtime.db.session() as session:
        feed = await EventFeed.from_now(session)
        session.add_all([event(1), event(2), event(4), event(6)])  # 3 and 5 still in flight
        await session.commit()
        assert [e.id for e in await feed.next_batch(session, clock.now())] == [1, 2, 4, 6]
        assert set(feed.gaps) == {3, 5}

        session.add(event(3))  # commits late, after 4 was seen
        await session.commit()
        assert [e.id for e in await feed.next_batch(session, clock.now())] == [3]
        assert set(feed.gaps) == {5}

        clock.advance(GAP_TTL + timedelta(seconds=1))  # 5 was rolled back: forget it
        assert await feed.next_batch(session, clock.now()) == []
        assert feed.gaps == {}


async def test_a_failing_handler_holds_up_nothing_and_is_retried(runtime, system_uow, handler):
    ids = await _record(system_uow, 3)
    await runtime.jobs.drain()
    failing = handler("failing", {"test.happened"}, fail_on=set())
    healthy = handler("healthy", {"test.happened"})

    async def broken(uow, event):
        if event.payload["n"] == 1:
            raise RuntimeError("the partner's API is down")
        await Recorder.__call__(failing, uow, event)

    events.register_handler("failing", {"test.happened"}, broken)
    assert await run_job(runtime, events.DISPATCH_JOB) == 5
    assert failing.seen == [ids[0], ids[2]]
    assert healthy.seen == ids

    events.register_handler("failing", {"test.happened"}, failing)  # the API is back
    assert await run_job(runtime, events.DISPATCH_JOB) == 1
    assert sorted(failing.seen) == ids
