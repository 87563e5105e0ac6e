"""Over the usage cap, RADIUS answers with the policy's throttle group: the credential shows
OVER_CAP, the built-in server answers a real radclient with the slow speed, and a live
session's NAS (the stand-in on loopback, checking each request with pyrad) gets a CoA it
ACKs. A larger allowance or the next period (the hourly usage.reset_throttles job) restores
full speed, once; delinquency and suspension still win."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.usage import caps
from ispcore.domain.usage.models import UsagePeriod, UsageTopUp
from ispcore.network.radius.server import RadiusServer
from ispcore.workers.registry import run_job
from ispcore.workers.usage_throttles import RESET_JOB
from tests.accounts.account_queries import events_of
from tests.accounts.factories import ok
from tests.network.coa_listener import nas_at  # noqa: F401  (the NAS stand-in fixture)
from tests.network.radius_support import ACCOUNT_RADIUS, Radius, credential, radius_setup
from tests.peers.radius_support import SECRET
from tests.peers.test_radius_end_to_end import (  # noqa: F401  (server: a fixture)
    answer,
    answered_after,
    server,
)
from tests.peers.test_radius_radclient import SIGNED, radclient
from tests.usage.policy_support import new_policy, on_fibre, throttle_group
from tests.usage.support import GB, Usage, feed, pk_of

PAT = ['User-Name = "pat"', 'User-Password = "pppoe-pass"', SIGNED]
FULL_SPEED = 'Mikrotik-Rate-Limit = "20000k/100000k"'
SLOW = 'Mikrotik-Rate-Limit = "1M/1M"'
CURRENT = """query($id: ID!) { account(id: $id) { currentDataUsage { throttled
  remainingBytes } } }"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def capped(api: Any, **policy: Any) -> tuple[Radius, dict[str, Any]]:
    """Pat on Fibre 100 (billed on the 2nd) under a 10 GB policy that throttles."""
    radius = await radius_setup(api, secret=SECRET)
    group = await throttle_group(api, radius.billing)
    made = await new_policy(api, radius.billing, "10 GB", capGb=10,
                            throttleRadiusGroupId=group, **policy)
    await on_fibre(api, radius.billing, made["id"])
    return radius, made


async def use(runtime: Any, radius: Radius, key: str, gigabytes: int,
              start: datetime = utc(2026, 11, 2, 14)) -> None:
    await feed(runtime, Usage(radius.billing, radius.account),
               (key, start, start.replace(minute=30), gigabytes * GB, 0))


async def state(api: Any, radius: Radius) -> tuple[str, str, str | None]:
    found = await credential(api, radius)
    group = found["effectiveGroup"]
    return found["access"], found["accessState"], group and group["name"]


async def throttled(runtime: Any) -> list[tuple[date, bool]]:
    async with runtime.db.session() as s:
        return [(p.period_start, p.throttled) for p in await s.scalars(
            select(UsagePeriod).order_by(UsagePeriod.period_start))]


async def test_over_the_cap_the_credential_answers_with_the_throttle_group(
        api: Any, runtime: Any, vault_key: str) -> None:
    radius, _ = await capped(api)
    await use(runtime, radius, "a", 9)
    assert await state(api, radius) == ("ACCEPT", "ACTIVE", "Speed")
    await use(runtime, radius, "b", 2)
    assert await state(api, radius) == ("ACCEPT", "OVER_CAP", "Over cap")
    assert await throttled(runtime) == [(date(2026, 11, 2), True)]
    [event] = await events_of(api, radius.token, "usage.throttled")
    assert (event["payload"]["used_bytes"], event["payload"]["allowance_bytes"]) == (
        11 * GB, 10 * GB)
    # More usage changes nothing more.
    await use(runtime, radius, "c", 1)
    assert len(await events_of(api, radius.token, "usage.throttled")) == 1
    usage = (await api.data(CURRENT, {"id": radius.account}, radius.token))["account"]
    assert usage["currentDataUsage"] == {"throttled": True, "remainingBytes": 0}


async def test_a_larger_allowance_restores_full_speed_at_once(
        api: Any, runtime: Any, vault_key: str) -> None:
    radius, policy = await capped(api)
    await use(runtime, radius, "a", 12)
    assert (await state(api, radius))[1] == "OVER_CAP"
    # A top-up bought for this period (the billing helper records it, then rechecks).
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        uow.session.add(UsageTopUp(company_id=pk_of(radius.company),
                                   account_id=pk_of(radius.account),
                                   period_start=date(2026, 11, 2), gigabytes=5,
                                   purchased_at=runtime.clock.now()))
        await uow.session.flush()
        await caps.recheck(uow, pk_of(radius.account))
    assert await state(api, radius) == ("ACCEPT", "ACTIVE", "Speed")
    [lifted] = await events_of(api, radius.token, "usage.throttle_lifted")
    assert lifted["payload"]["allowance_bytes"] == 15 * GB
    await use(runtime, radius, "b", 4)  # 16 GB of 15
    assert (await state(api, radius))[1] == "OVER_CAP"
    # A larger cap on the policy applies to its accounts at once; a smaller one too.
    await ok(api, radius.token, "updateUsagePolicy", {"id": policy["id"], "capGb": 20})
    assert (await state(api, radius))[1] == "ACTIVE"
    await ok(api, radius.token, "updateUsagePolicy", {"id": policy["id"], "capGb": 10})
    assert (await state(api, radius))[1] == "OVER_CAP"
    # Another throttle group: the throttled account moves to it.
    other = await throttle_group(api, radius.billing, "Crawl")
    await ok(api, radius.token, "updateUsagePolicy",
             {"id": policy["id"], "throttleRadiusGroupId": other})
    assert await state(api, radius) == ("ACCEPT", "OVER_CAP", "Crawl")
    # A service without a policy caps nothing.
    await on_fibre(api, radius.billing, None)
    assert await state(api, radius) == ("ACCEPT", "ACTIVE", "Speed")
    assert await throttled(runtime) == [(date(2026, 11, 2), False)]


async def test_an_inactive_policy_or_one_without_a_throttle_group_throttles_no_one(
        api: Any, runtime: Any, vault_key: str) -> None:
    radius, policy = await capped(api)
    await ok(api, radius.token, "updateUsagePolicy", {"id": policy["id"], "active": False})
    await use(runtime, radius, "a", 12)
    assert (await state(api, radius))[1] == "ACTIVE"
    await ok(api, radius.token, "updateUsagePolicy",
             {"id": policy["id"], "active": True, "throttleRadiusGroupId": None})
    assert (await state(api, radius))[1] == "ACTIVE"
    await ok(api, radius.token, "updateUsagePolicy",
             {"id": policy["id"], "throttleRadiusGroupId": (await throttle_group(
                 api, radius.billing, "Late"))})
    assert await state(api, radius) == ("ACCEPT", "OVER_CAP", "Late")


async def test_late_usage_of_an_ended_period_throttles_no_one(
        api: Any, runtime: Any, clock: Any, vault_key: str) -> None:
    radius, _ = await capped(api)
    clock.set(utc(2026, 12, 2, 12))  # the period of 2 Nov ended this morning (Chicago)
    await use(runtime, radius, "late", 12, start=utc(2026, 12, 1, 20))
    assert await throttled(runtime) == [(date(2026, 11, 2), False)]
    assert (await state(api, radius))[1] == "ACTIVE"


async def test_with_a_live_session_the_nas_is_told_and_the_next_period_is_full_speed(
        api: Any, runtime: Any, clock: Any, vault_key: str,
        server: RadiusServer, nas_at: Any) -> None:  # noqa: F811  (both are fixtures)
    radius, _ = await capped(api)
    await answered_after(server, runtime)
    assert FULL_SPEED in await answer(server, *PAT)
    listener, port = await nas_at("ack", secret=SECRET)
    await ok(api, radius.token, "updateNasClient", {"id": radius.nas, "coaPort": port})
    start = await radclient(server.acct_port, "acct", 'User-Name = "pat"',
                            'Acct-Session-Id = "cap-0001"', "Acct-Status-Type = Start")
    assert "Accounting-Response" in start

    await use(runtime, radius, "a", 11)
    await runtime.jobs.drain()
    await answered_after(server, runtime)
    slow = await answer(server, *PAT)
    assert slow.startswith("Received Access-Accept")
    assert SLOW in slow and 'Mikrotik-Address-List = "over-cap"' in slow
    assert "20000k" not in slow
    [coa] = listener.requests
    assert coa.code == 43  # CoA-Request
    assert coa["Acct-Session-Id"] == ["cap-0001"] and coa["Mikrotik-Rate-Limit"] == ["1M/1M"]

    # The job finds nothing to do while the period runs.
    assert await run_job(runtime, RESET_JOB) == 0
    # 2 Dec, 01:00 in Chicago: a new period; the hourly job restores full speed, once.
    clock.set(utc(2026, 12, 2, 7))
    assert await run_job(runtime, RESET_JOB) == 1
    await runtime.jobs.drain()
    await answered_after(server, runtime)
    assert FULL_SPEED in await answer(server, *PAT)
    assert await state(api, radius) == ("ACCEPT", "ACTIVE", "Speed")
    assert len(listener.requests) == 2
    assert listener.requests[1]["Mikrotik-Rate-Limit"] == ["20000k/100000k"]
    actions = (await api.data(ACCOUNT_RADIUS, {"id": radius.account}, radius.token))[
        "account"]["radiusActions"]
    assert [(a["kind"], a["reason"], a["status"]) for a in actions] == [
        ("COA", "USAGE_CAP_RESET", "ACK"), ("COA", "USAGE_CAP", "ACK")]
    clock.set(utc(2026, 12, 2, 8))
    assert await run_job(runtime, RESET_JOB) == 0
    await runtime.jobs.drain()
    assert len(listener.requests) == 2
    assert len(await events_of(api, radius.token, "usage.throttle_lifted")) == 1


async def test_delinquency_and_suspension_still_win(api: Any, runtime: Any,
                                                    vault_key: str) -> None:
    radius, _ = await capped(api)
    setup = radius.billing.setup
    delinquent_group = await throttle_group(api, radius.billing, "Delinquent")
    await ok(api, radius.token, "updateNetworkSettings", {
        "companyId": radius.company, "delinquentAction": "THROTTLE",
        "delinquentRadiusGroupId": delinquent_group, "suspendedAction": "REJECT"})
    await use(runtime, radius, "a", 11)
    assert await state(api, radius) == ("ACCEPT", "OVER_CAP", "Over cap")

    async def status(status_id: str) -> None:
        await ok(api, radius.token, "changeAccountStatus", {
            "accountId": radius.account, "accountStatusId": status_id, "reason": "test"})

    await status(setup.delinquent)
    assert await state(api, radius) == ("ACCEPT", "DELINQUENT", "Delinquent")
    await status(setup.suspended)
    assert await state(api, radius) == ("REJECT", "SUSPENDED", None)
    await status(setup.active)
    assert await state(api, radius) == ("ACCEPT", "OVER_CAP", "Over cap")
    # With NONE for delinquency an account is treated as paying: the cap still applies.
    await ok(api, radius.token, "updateNetworkSettings",
             {"companyId": radius.company, "delinquentAction": "NONE"})
    await status(setup.delinquent)
    assert await state(api, radius) == ("ACCEPT", "DELINQUENT", "Over cap")
