"""Jobs leave only after commit; ARQ jobs are msgpack; the ARQ worker runs the same jobs."""

from __future__ import annotations

import pickle

import msgpack
import pytest
from arq.worker import Worker
from redis.asyncio import Redis

from ispcore.domain.companies.service import create_company
from ispcore.domain.events import service as events
from ispcore.domain.identity.actor import SYSTEM
from ispcore.runtime import build_runtime
from ispcore.workers import registry
from ispcore.workers.settings import WorkerSettings
from tests.conftest import REDIS_URL, test_settings

COMPANY = {"name": "Acme Fibre", "currency": "USD", "time_zone": "America/Denver"}


@pytest.fixture
def probe_job():
    calls: list[dict] = []

    @registry.job("test.probe")
    async def probe(runtime, **kwargs):
        calls.append(kwargs)

    yield calls
    registry.JOBS.pop("test.probe", None)


async def test_inline_jobs_run_after_commit_and_are_dropped_on_rollback(runtime, system_uow,
                                                                        probe_job):
    async with system_uow() as uow:
        uow.enqueue("test.probe", account_id=1)
        await runtime.jobs.drain()
        assert probe_job == []  # not before the commit
    await runtime.jobs.drain()
    assert probe_job == [{"account_id": 1}]

    with pytest.raises(ValueError):
        async with system_uow() as uow:
            uow.enqueue("test.probe", account_id=2)
            raise ValueError("rolled back")
    await runtime.jobs.drain()
    assert probe_job == [{"account_id": 1}]


async def test_a_job_id_is_enqueued_once_while_waiting(runtime, system_uow, probe_job):
    async with system_uow() as uow:
        uow.enqueue("test.probe", job_id="same", n=1)
        uow.enqueue("test.probe", job_id="same", n=2)
    await runtime.jobs.drain()
    assert probe_job == [{"n": 1}]


@pytest.fixture
async def redis():
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
async def scaled_runtime(runtime, database_url, clock, redis):
    """The same database in scaled mode: ARQ on Redis db 15."""
    rt = await build_runtime(test_settings(database_url, redis_url=REDIS_URL), clock=clock)
    yield rt
    await rt.close()


async def _queued(redis: Redis) -> list[dict]:
    job_ids = await redis.zrange("arq:queue", 0, -1)
    jobs = []
    for job_id in job_ids:
        raw = await redis.get(b"arq:job:" + job_id)
        assert not raw.startswith(b"\x80"), "pickle protocol header in a queued job"
        with pytest.raises(pickle.UnpicklingError):
            pickle.loads(raw)
        jobs.append(msgpack.unpackb(raw, timestamp=3))
    return jobs


async def test_arq_jobs_leave_after_commit_serialised_as_msgpack(scaled_runtime, redis):
    with pytest.raises(ValueError):
        async with scaled_runtime.unit_of_work(SYSTEM, action="test") as uow:
            await create_company(uow, dict(COMPANY))
            raise ValueError("rolled back")
    assert await _queued(redis) == []

    async with scaled_runtime.unit_of_work(SYSTEM, action="test") as uow:
        await create_company(uow, dict(COMPANY))
    queued = await _queued(redis)
    assert [job["f"] for job in queued] == [events.DISPATCH_JOB]


async def test_arq_worker_runs_the_dispatch_job(scaled_runtime, redis):
    handled: list[str] = []

    async def handle(uow, batch):
        handled.extend(event.type for event in batch)

    events.register_handler("test.arq", {"company.created"}, handle)
    try:
        async with scaled_runtime.unit_of_work(SYSTEM, action="test") as uow:
            await create_company(uow, dict(COMPANY))
        worker = Worker(
            functions=WorkerSettings.functions,
            redis_pool=scaled_runtime.redis,
            on_startup=None,
            burst=True,
            poll_delay=0.05,
            job_serializer=WorkerSettings.job_serializer,
            job_deserializer=WorkerSettings.job_deserializer,
            ctx={"runtime": scaled_runtime},
            handle_signals=False,
        )
        await worker.main()
        # The dispatch job, and the webhook fan-out it enqueues.
        assert (worker.jobs_complete, worker.jobs_failed) == (2, 0)
        assert handled == ["company.created"]
    finally:
        events.unregister_handler("test.arq")


def test_worker_settings_declare_cron_and_msgpack():
    assert {f.name for f in WorkerSettings.functions} >= {events.DISPATCH_JOB}
    assert [c.name for c in WorkerSettings.cron_jobs] == [
        f"cron:{events.DISPATCH_JOB}", "cron:platform.housekeeping",
        "cron:accounts.scheduled_events", "cron:monitoring.prune_history",
        "cron:billing.daily", "cron:billing.delinquency",
        "cron:messaging.send", "cron:messaging.due_reminders",
        "cron:monitoring.watch_pollers",
        "cron:monitoring.escalate_alerts",
        "cron:payments.reconcile", "cron:payments.autopay",
        "cron:usage.pull_preseem",
        "cron:usage.collect_radacct", "cron:webhooks.fan_out", "cron:webhooks.deliver",
        "cron:network.send_radius_actions",
        "cron:network.release_addresses", "cron:usage.reset_throttles"]
    packed = WorkerSettings.job_serializer({"f": "x", "a": [], "k": {"n": 1}})
    assert WorkerSettings.job_deserializer(packed) == {"f": "x", "a": [], "k": {"n": 1}}


async def test_inline_cron_runs_the_dispatcher_every_minute(runtime, system_uow):
    from datetime import UTC, datetime

    handled: list[int] = []

    async def handle(uow, batch):
        handled.extend(event.id for event in batch)

    async with system_uow() as uow:
        events.record_event(uow, "cron.test", company_id=None)
    await runtime.jobs.drain()  # dispatched before any handler existed: nothing to do
    events.register_handler("test.cron", {"cron.test"}, handle)
    try:
        await runtime.jobs.tick(datetime(2026, 11, 2, 15, 0, 30, tzinfo=UTC))
        await runtime.jobs.drain()
        assert handled == []  # not due at second 30
        await runtime.jobs.tick(datetime(2026, 11, 2, 15, 1, 0, tzinfo=UTC))
        await runtime.jobs.drain()
        assert len(handled) == 1
    finally:
        events.unregister_handler("test.cron")


async def test_housekeeping_forgets_old_idempotency_answers_and_ended_sessions(
        api, runtime, clock):
    from datetime import timedelta

    from sqlalchemy import func, select

    from ispcore.domain.idempotency.models import IdempotencyKey
    from ispcore.domain.identity.models import UserSession
    from ispcore.workers.jobs import HOUSEKEEPING_JOB

    token = await api.admin_token()
    create = ('mutation($k: String) { createCompany(input: {name: "Keep", currency: "USD", '
              'timeZone: "UTC", idempotencyKey: $k}) { errors { code } } }')
    await api.data(create, {"k": "old"}, token)
    login = ('mutation { login(input: {email: "admin@example.com", password: '
             '"correct horse battery staple"}) { token } }')
    session = (await api.data(login))["login"]["token"]

    async def counts() -> tuple[int, int]:
        async with runtime.db.session() as s:
            return (await s.scalar(select(func.count()).select_from(IdempotencyKey)),
                    await s.scalar(select(func.count()).select_from(UserSession)))

    quiet = {"idempotency_keys": 0, "sessions": 0, "sign_in_failures": 0, "usage_records": 0,
             "webhook_deliveries": 0}
    assert await registry.run_job(runtime, HOUSEKEEPING_JOB) == quiet
    clock.advance(timedelta(hours=25))
    assert await registry.run_job(runtime, HOUSEKEEPING_JOB) == {**quiet, "idempotency_keys": 1}
    clock.advance(timedelta(days=31))
    assert await registry.run_job(runtime, HOUSEKEEPING_JOB) == {**quiet, "sessions": 1}
    assert await counts() == (0, 0)
    assert session
