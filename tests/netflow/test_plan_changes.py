"""Changes to the address plan and the exporters while the collector runs: flows to an
address whose subnet and assignment are made at that moment are credited, not transit
(whose an address's usage is, is decided when it is written); the API's changes reach the
collector at once through the notifier (in process, and through Redis), a change made
while its subscription was down is picked up when it is back, and it reloads periodically
without any message."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import update

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.network import addressing, ipam, release
from ispcore.domain.network.models import IpAssignment, Supernet
from ispcore.network.netflow.collector import NetflowCollector
from ispcore.network.netflow.plan import key_of
from ispcore.runtime import Runtime, build_runtime
from tests.accounts.factories import ok
from tests.conftest import REDIS_URL, test_settings
from tests.netflow.support import (
    Plan,
    hold,
    per_account,
    plan_setup,
    ready,
    send,
    unattributed,
    utc,
    v5_at,
)
from tests.network.ipam_support import new_subnet
from tests.peers.radius_support import until

NEW = "100.64.2.5"
WEB = "93.184.216.34"
END = utc(2026, 11, 2, 14, 30, 20)


async def new_subnet_held_by_bob(api: Any, plan: Plan, *, at: datetime | None = None) -> None:
    """A subnet beside the setup's, in its supernet, and Bob holding one of its addresses."""
    supernet = (await api.data("query($id: ID!) { node(id: $id) { ... on Subnet { supernet "
                               "{ id } } } }", {"id": plan.v4}, plan.token)
                )["node"]["supernet"]["id"]
    subnet = await new_subnet(api, plan.token, supernet, "100.64.2.0/24")
    clock = api.runtime.clock
    was = clock.now()
    if at is not None:
        clock.set(at)
    try:
        await ok(api, plan.token, "assignIpAddress",
                 {"subnetId": subnet, "accountId": plan.bob, "ipAddress": NEW})
    finally:
        clock.set(was)


async def test_flows_to_a_subnet_and_assignment_made_meanwhile_are_credited(
        api: Any, runtime: Any, collector: NetflowCollector) -> None:
    plan = await plan_setup(api)
    await ready(collector)
    await new_subnet_held_by_bob(api, plan, at=utc(2026, 11, 2, 14))
    # At once: whether the collector has heard of the change yet does not matter.
    await send(collector, v5_at(END, [(WEB, NEW, 5_000), (NEW, WEB, 300)]))
    await collector.flush()
    assert await per_account(runtime) == {plan.bob_pk: (5_000, 300)}
    assert await unattributed(runtime) == {}


async def test_flows_tallied_before_their_assignment_was_made_are_credited(
        api: Any, runtime: Any, collector: NetflowCollector) -> None:
    """The flows are in memory when the subnet and the assignment (from 14:00, before the
    flows' 14:30) are made: the flush credits them to the holder at the flows' time."""
    plan = await plan_setup(api)
    await ready(collector)
    await send(collector, v5_at(END, [(WEB, NEW, 7_000)]))
    await new_subnet_held_by_bob(api, plan, at=utc(2026, 11, 2, 14))
    await collector.flush()
    assert await per_account(runtime) == {plan.bob_pk: (7_000, 0)}
    assert await unattributed(runtime) == {}


@contextlib.asynccontextmanager
async def running(runtime: Runtime, plan_seconds: float = 3600
                  ) -> AsyncIterator[NetflowCollector]:
    """A collector that does not flush by itself, reloading every ``plan_seconds`` (by
    default not within a test: what it knows of changes, it knows from the notifier)."""
    found = NetflowCollector(runtime, host="127.0.0.1", port=0, flush_seconds=3600,
                             metrics_port=0, plan_seconds=plan_seconds)
    await found.start()
    try:
        yield found
    finally:
        await found.stop()


@pytest.fixture
async def quiet_collector(runtime: Any) -> AsyncIterator[NetflowCollector]:
    async with running(runtime) as found:
        yield found


def holder_now(collector: NetflowCollector, plan: Plan, address: str) -> int | None:
    holdings = collector.holdings.get(plan.company_pk)
    if holdings is None:
        return None
    now = collector.runtime.clock.now()
    return holdings.holder(int(ipaddress.ip_address(address)), now, now + timedelta(seconds=1))


def in_space(collector: NetflowCollector, plan: Plan, address: str) -> bool:
    space = collector.plans.get(plan.company_pk)
    parsed = ipaddress.ip_address(address)
    return space is not None and space.learn(key_of(parsed.version, int(parsed)))


async def test_the_apis_changes_reach_the_running_collector_at_once(
        api: Any, runtime: Any, quiet_collector: NetflowCollector) -> None:
    collector = quiet_collector
    plan = await plan_setup(api)  # its exporter at 127.0.0.1 among them
    await until(lambda: "127.0.0.1" in collector.by_address)
    await until(lambda: in_space(collector, plan, "100.64.9.9"))
    await hold(api, plan, plan.alice, "100.64.1.10")
    await until(lambda: holder_now(collector, plan, "100.64.1.10") == plan.alice_pk)
    await ok(api, plan.token, "createSupernet", {"companyId": plan.company,
                                                 "cidr": "198.51.100.0/24"})
    await until(lambda: in_space(collector, plan, "198.51.100.7"))
    other = await ok(api, plan.token, "createNetflowExporter", {
        "companyId": plan.company, "name": "edge-2", "address": "127.0.0.2"})
    await until(lambda: "127.0.0.2" in collector.by_address)
    await send(collector, v5_at(END, [(WEB, "100.64.1.10", 40)]), source="127.0.0.2")
    await ok(api, plan.token, "updateNetflowExporter", {"id": other["id"], "active": False})
    await until(lambda: "127.0.0.2" not in collector.by_address)
    await collector.flush()
    assert await per_account(runtime) == {plan.alice_pk: (40, 0)}


async def test_addresses_released_in_bulk_reach_the_running_collector(
        api: Any, runtime: Any, quiet_collector: NetflowCollector) -> None:
    """The hourly release of disconnected accounts' addresses is one UPDATE statement."""
    collector = quiet_collector
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, "100.64.1.10")
    await until(lambda: holder_now(collector, plan, "100.64.1.10") == plan.alice_pk)
    async with runtime.db.session() as s, s.begin():  # due for release; no message
        await s.execute(update(IpAssignment).values(
            release_after=runtime.clock.now() - timedelta(hours=1)))
    async with runtime.unit_of_work(SYSTEM) as uow:
        assert await release.release_due(uow) == 1
    await until(lambda: holder_now(collector, plan, "100.64.1.10") is None)


async def quiet_supernet(runtime: Any, company_id: int, cidr: str) -> None:
    """A supernet written straight to the database: no unit of work, so no message."""
    span = addressing.span_of(ipaddress.ip_network(cidr))
    now = runtime.clock.now()
    async with runtime.db.session() as s, s.begin():
        s.add(Supernet(company_id=company_id, cidr=cidr, family=span.family,
                       first_key=span.first_key, last_key=span.last_key, name="", description="",
                       created_at=now, updated_at=now))


async def test_without_any_message_the_collector_reloads_periodically(
        api: Any, runtime: Any) -> None:
    plan = await plan_setup(api)
    async with running(runtime, plan_seconds=0.2) as collector:
        await quiet_supernet(runtime, plan.company_pk, "203.0.113.0/24")
        await until(lambda: in_space(collector, plan, "203.0.113.9"))


@pytest.fixture
async def redis_runtime(database_url: str, clock: Any, runtime: Runtime
                        ) -> AsyncIterator[Runtime]:
    """Scaled mode on the tests' database (migrated by ``runtime``): the notifier is Redis."""
    rt = await build_runtime(test_settings(database_url, redis_url=REDIS_URL), clock=clock)
    yield rt
    await rt.close()


async def subscribers(redis: Redis) -> int:
    return dict(await redis.pubsub_numsub("ispcore:netflow"))[b"ispcore:netflow"]


async def test_through_redis_and_a_change_missed_while_resubscribing(
        api: Any, redis_runtime: Runtime) -> None:
    plan = await plan_setup(api)
    async with Redis.from_url(REDIS_URL) as redis, running(redis_runtime) as collector:
        for _ in range(250):  # listening: from now on, only a message explains a reload
            if await subscribers(redis) and not collector.stale:
                break
            await asyncio.sleep(0.02)
        async with redis_runtime.unit_of_work(SYSTEM) as uow:
            await ipam.create_supernet(uow, {"company_id": plan.company_pk,
                                             "cidr": "198.51.100.0/24"})
        await until(lambda: in_space(collector, plan, "198.51.100.7"))
        # The subscription drops: what changes then is never announced to it...
        await quiet_supernet(redis_runtime, plan.company_pk, "203.0.113.0/24")
        db = int(REDIS_URL.rsplit("/", 1)[1])
        for client in await redis.client_list(_type="pubsub"):
            if int(client["db"]) == db:
                await redis.client_kill_filter(_id=client["id"])
        # ... and is loaded once the subscription is back.
        await until(lambda: in_space(collector, plan, "203.0.113.9"), seconds=15)
