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
    """A handler whose effect (a list entry per event) happens only if its transaction
    commits; ``queries`` is how many statements it runs per batch."""

    def __init__(self, name: str, fail_on: set[int] | None = None, queries: int = 0) -> None:
        self.name = name
        self.seen: list[int] = []
        self.batches: list[int] = []
        self.fail_on = fail_on or set()
        self.queries = queries

    async def __call__(self, uow, batch: list[Event]) -> None:
        if any(event.payload.get("n") in self.fail_on for event in batch):
            raise asyncio.CancelledError  # the worker is killed half-way through this batch
        for _ in range(self.queries):
            await uow.session.scalar(select(func.count()).select_from(Event))

        ids = [event.id for event in batch]

        async def effect() -> None:
            self.seen.extend(ids)
            self.batches.append(len(ids))

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
        await events.dispatch_pending(system_uow, batch_size=2)
    assert flaky.seen == ids[:2]  # the batch it was killed in left nothing behind

    flaky.fail_on.clear()  # the worker comes back
    assert await run_job(runtime, events.DISPATCH_JOB) == 4
    assert flaky.seen == ids
    assert await run_job(runtime, events.DISPATCH_JOB) == 0
    assert flaky.seen == ids


async def test_concurrent_dispatchers_do_not_double_handle(runtime, system_uow, handler):
    ids = await _record(system_uow, 40)
    await runtime.jobs.drain()
    recorder = handler("concurrent", {"test.happened"})
    results = await asyncio.gather(*(events.dispatch_pending(system_uow, batch_size=3)
                                     for _ in range(3)))  # as three processes would
    assert sum(results) == 40
    assert sorted(recorder.seen) == ids
    assert await _count(runtime, EventHandlerRun) == 40


async def test_a_dispatch_job_arriving_while_one_works_is_folded_into_it(
        runtime, system_uow, handler):
    ids = await _record(system_uow, 10)
    await runtime.jobs.drain()
    recorder = handler("folded", {"test.happened"})
    results = await asyncio.gather(*(run_job(runtime, events.DISPATCH_JOB) for _ in range(3)))
    assert sorted(results) == [0, 0, 10]  # one dispatcher did it all, in one batch
    assert recorder.seen == ids and recorder.batches == [10]


async def test_a_handler_gets_its_events_in_batches_of_one_transaction_each(
        runtime, system_uow, handler):
    ids = await _record(system_uow, 7)
    other = await _record(system_uow, 2, "other.thing")
    await runtime.jobs.drain()
    recorder = handler("batched", {"test.happened", "other.thing"})
    assert await events.dispatch_pending(system_uow, batch_size=3) == 9
    assert recorder.seen == ids + other  # in id order
    assert recorder.batches == [3, 3, 3]


async def test_the_dispatchers_statements_per_batch_do_not_grow_with_the_batch(
        runtime, system_uow, handler):
    from tests.support import count_statements

    await runtime.jobs.drain()
    recorder = handler("counted", {"test.happened"}, queries=2)

    async def statements(count: int) -> int:
        await _record(system_uow, count)
        await runtime.jobs.drain()  # the commit's own dispatch is not counted
        async with system_uow() as uow:
            await uow.session.execute(EventHandlerRun.__table__.delete())
        with count_statements(runtime) as seen:
            assert await events.dispatch_pending(system_uow, batch_size=100) > 0
        return len(seen)

    few = await statements(2)
    many = await statements(60)
    assert few == many
    assert recorder.batches == [2, 2, 60, 62]  # each counted pass: one batch


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
    ids = await _record(system_uow, 7)
    await runtime.jobs.drain()
    failing = handler("failing", {"test.happened"}, fail_on=set())
    healthy = handler("healthy", {"test.happened"})

    async def broken(uow, batch):
        if any(event.payload["n"] in (1, 5) for event in batch):
            raise RuntimeError("the partner's API is down")
        await Recorder.__call__(failing, uow, batch)

    events.register_handler("failing", {"test.happened"}, broken)
    assert await run_job(runtime, events.DISPATCH_JOB) == 12
    assert sorted(failing.seen) == [ids[n] for n in (0, 2, 3, 4, 6)]
    assert healthy.seen == ids

    events.register_handler("failing", {"test.happened"}, failing)  # the API is back
    assert await run_job(runtime, events.DISPATCH_JOB) == 2
    assert sorted(failing.seen) == ids
