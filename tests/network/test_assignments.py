"""Assigning addresses and prefixes through the API: explicit and next-free, IPv4 and IPv6,
every refusal, history, release after a disconnection, and many assignments at once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import tests.network.radius_support  # noqa: F401  (registers updateNetworkSettings)
from tests.accounts.factories import new_account, ok, refused
from tests.billing.factories import events_of
from tests.network.ipam_support import assign, ipam_setup, new_subnet

HISTORY = """query($address: String!, $at: DateTime!) { ipAssignmentHistory(address: $address,
  at: $at) { assignments { address account { id } } errors { field code message } } }"""
HOLDERS = """query($address: String!) { ipAddressHolders(address: $address) {
  assignments { address assignedAt releasedAt account { id } } errors { code } } }"""
ACCOUNT = """query($id: ID!) { account(id: $id) { ipAssignments { address releasedAt
  releaseAfter releaseReason } } }"""


async def test_next_free_skips_the_network_address_and_an_explicit_address_is_kept(
        api: Any) -> None:
    ipam = await ipam_setup(api, subnet="100.64.1.0/30", pool=("100.64.1.1", "100.64.1.1"))
    first = await assign(api, ipam)
    assert (first["address"], first["prefixLength"], first["pool"]) == ("100.64.1.1", 32, None)
    second = await assign(api, ipam, description=" Router ")
    assert (second["address"], second["description"]) == ("100.64.1.2", "Router")
    # Network and broadcast addresses: neither handed out nor accepted.
    errors = await refused(api, ipam.token, "assignIpAddress",
                           {"subnetId": ipam.subnet, "accountId": ipam.account})
    assert errors[0]["code"] == "EXHAUSTED"
    for address in ("100.64.1.0", "100.64.1.3"):
        errors = await refused(api, ipam.token, "assignIpAddress",
                               {"subnetId": ipam.subnet, "accountId": ipam.account,
                                "ipAddress": address})
        assert errors == [{"field": "ipAddress", "code": "INVALID",
                           "message": f"{address} is not usable in 100.64.1.0/30."}]


async def test_a_slash_31_uses_both_addresses(api: Any) -> None:
    ipam = await ipam_setup(api)
    subnet = await new_subnet(api, ipam.token, ipam.supernet, "100.64.9.0/31")
    got = [(await assign(api, ipam, subnetId=subnet))["address"] for _ in range(2)]
    assert got == ["100.64.9.0", "100.64.9.1"]


async def test_an_address_in_use_is_refused(api: Any) -> None:
    ipam = await ipam_setup(api)
    other = (await new_account(api, ipam.setup, "John Roe"))["id"]
    await assign(api, ipam, ipAddress="100.64.1.50")
    errors = await refused(api, ipam.token, "assignIpAddress",
                           {"subnetId": ipam.subnet, "accountId": other,
                            "ipAddress": "100.64.1.50"})
    assert errors == [{"field": "ipAddress", "code": "IN_USE",
                       "message": "100.64.1.50 overlaps 100.64.1.50, which is assigned."}]


async def test_an_address_outside_the_subnet_or_pool_is_refused(api: Any) -> None:
    ipam = await ipam_setup(api)
    for where, address, says in (
            ({"subnetId": ipam.subnet}, "100.64.2.7", "100.64.1.0/24"),
            ({"subnetId": ipam.subnet}, "2001:db8::1", "100.64.1.0/24"),
            ({"poolId": ipam.pool}, "100.64.1.30", "the pool 100.64.1.10-100.64.1.19")):
        errors = await refused(api, ipam.token, "assignIpAddress",
                               {**where, "accountId": ipam.account, "ipAddress": address})
        assert errors[0]["message"] == f"{address} is not usable in {says}.", errors
    errors = await refused(api, ipam.token, "assignIpAddress",
                           {"subnetId": ipam.subnet, "accountId": ipam.account,
                            "ipAddress": "100.64.1.300"})
    assert errors[0]["message"] == "'100.64.1.300' is not an IP address."
    listed = await api.data("{ ipAssignments { totalCount } }", token=ipam.token)
    assert listed["ipAssignments"]["totalCount"] == 0


async def test_an_exhausted_pool_is_refused_and_a_released_address_comes_back_last(
        api: Any) -> None:
    ipam = await ipam_setup(api, pool=("100.64.1.10", "100.64.1.13"))
    got = [await assign(api, ipam, poolId=ipam.pool) for _ in range(4)]
    assert [g["address"] for g in got] == [f"100.64.1.{n}" for n in (10, 11, 12, 13)]
    errors = await refused(api, ipam.token, "assignIpAddress",
                           {"poolId": ipam.pool, "accountId": ipam.account})
    assert errors == [{"field": "poolId", "code": "EXHAUSTED",
                       "message": "The pool has no free address left."}]
    for index in (2, 0):
        await ok(api, ipam.token, "releaseIpAddress", {"id": got[index]["id"], "reason": "x"})
    again = [(await assign(api, ipam, poolId=ipam.pool))["address"] for _ in range(2)]
    assert again == ["100.64.1.10", "100.64.1.12"]  # wrapped around, in address order
    errors = await refused(api, ipam.token, "releaseIpAddress", {"id": got[0]["id"]})
    assert errors[0]["message"] == "100.64.1.10 was already released."


async def test_the_cursor_moves_past_released_addresses(api: Any) -> None:
    ipam = await ipam_setup(api)
    first = await assign(api, ipam, poolId=ipam.pool)
    await ok(api, ipam.token, "releaseIpAddress", {"id": first["id"]})
    assert (await assign(api, ipam, poolId=ipam.pool))["address"] == "100.64.1.11"


async def test_ipv6_single_addresses_and_delegated_prefixes(api: Any) -> None:
    ipam = await ipam_setup(api)
    supernet = (await ok(api, ipam.token, "createSupernet",
                         {"companyId": ipam.setup.company, "cidr": "2001:db8::/32"}))["id"]
    lan = await new_subnet(api, ipam.token, supernet, "2001:db8::/64")
    single = await assign(api, ipam, subnetId=lan)
    assert (single["address"], single["prefixLength"], single["family"]) == (
        "2001:db8::1", 128, 6)  # ::0 is the subnet-router anycast address
    picked = await assign(api, ipam, subnetId=lan, ipAddress="2001:DB8::00ff")
    assert picked["address"] == "2001:db8::ff"

    delegating = await ok(api, ipam.token, "createSubnet",
                          {"supernetId": supernet, "cidr": "2001:db8:100::/48",
                           "delegatedPrefixLength": 56})
    assert delegating["usableCount"] == str(2**80)
    prefixes = [await assign(api, ipam, subnetId=delegating["id"]) for _ in range(2)]
    assert [(p["address"], p["prefixLength"]) for p in prefixes] == [
        ("2001:db8:100::/56", 56), ("2001:db8:100:100::/56", 56)]
    explicit = await assign(api, ipam, subnetId=delegating["id"],
                            ipAddress="2001:db8:100:ff00::/56")
    assert explicit["address"] == "2001:db8:100:ff00::/56"
    errors = await refused(api, ipam.token, "assignIpAddress",
                           {"subnetId": delegating["id"], "accountId": ipam.account,
                            "ipAddress": "2001:db8:100:200::1"})
    assert errors[0]["message"] == "2001:db8:100::/48 delegates /56 prefixes; give one."
    used = await api.data("query($id: ID!) { node(id: $id) { ... on Subnet { usedCount "
                          "assignments { address } } } }", {"id": delegating["id"]},
                          ipam.token)
    assert used["node"]["usedCount"] == str(3 * 2**72)
    assert len(used["node"]["assignments"]) == 3


async def test_an_overlapping_prefix_and_address_exclude_each_other(api: Any) -> None:
    ipam = await ipam_setup(api)
    supernet = (await ok(api, ipam.token, "createSupernet",
                         {"companyId": ipam.setup.company, "cidr": "2001:db8::/32"}))["id"]
    lan = await new_subnet(api, ipam.token, supernet, "2001:db8::/64")
    await assign(api, ipam, subnetId=lan, ipAddress="2001:db8::1:5")
    errors = await refused(api, ipam.token, "assignIpAddress",
                           {"subnetId": lan, "accountId": ipam.account,
                            "ipAddress": "2001:db8::1:0/112"})
    assert errors[0] == {"field": "ipAddress", "code": "IN_USE",
                         "message": "2001:db8::1:0/112 overlaps 2001:db8::1:5, which is "
                         "assigned."}
    await assign(api, ipam, subnetId=lan, ipAddress="2001:db8::2:0/112")
    errors = await refused(api, ipam.token, "assignIpAddress",
                           {"subnetId": lan, "accountId": ipam.account,
                            "ipAddress": "2001:db8::2:77"})
    assert "overlaps 2001:db8::2:0/112" in errors[0]["message"]
    # Next-free steps over the prefix too.
    await assign(api, ipam, subnetId=lan, ipAddress="2001:db8::1")
    assert (await assign(api, ipam, subnetId=lan))["address"] == "2001:db8::2"


async def test_the_service_must_be_the_accounts(api: Any) -> None:
    ipam = await ipam_setup(api)
    errors = await refused(api, ipam.token, "assignIpAddress",
                           {"subnetId": ipam.subnet, "accountId": ipam.account,
                            "accountServiceId": "QWNjb3VudFNlcnZpY2U6OTk5"})
    assert (errors[0]["field"], errors[0]["code"]) == ("accountServiceId", "NOT_FOUND")


async def test_history_answers_who_held_an_address_at_each_moment(api: Any, clock: Any
                                                                  ) -> None:
    ipam = await ipam_setup(api)
    other = (await new_account(api, ipam.setup, "John Roe"))["id"]
    t0 = clock.now()
    first = await assign(api, ipam, ipAddress="100.64.1.77")
    clock.advance(timedelta(days=10))
    t1 = clock.now()
    await ok(api, ipam.token, "releaseIpAddress", {"id": first["id"], "reason": "moved"})
    clock.advance(timedelta(days=1))
    await assign(api, ipam, account=other, ipAddress="100.64.1.77")

    async def held(moment: Any) -> list[str]:
        found = (await api.data(HISTORY, {"address": "100.64.1.77",
                                          "at": moment.isoformat()}, ipam.token))
        return [h["account"]["id"] for h in found["ipAssignmentHistory"]["assignments"]]

    assert await held(t0 - timedelta(seconds=1)) == []
    assert await held(t0 + timedelta(days=5)) == [ipam.account]
    assert await held(t1) == []  # released at t1: no longer held
    assert await held(t1 + timedelta(hours=12)) == []
    assert await held(clock.now() + timedelta(days=1)) == [other]
    everyone = (await api.data(HOLDERS, {"address": "100.64.1.77"}, ipam.token))
    assert [h["account"]["id"] for h in everyone["ipAddressHolders"]["assignments"]] == [
        ipam.account, other]
    bad = await api.data(HISTORY, {"address": "nope", "at": t0.isoformat()}, ipam.token)
    assert bad["ipAssignmentHistory"]["errors"][0]["field"] == "address"


async def test_a_disconnected_accounts_addresses_are_released_after_the_hold(
        api: Any, runtime: Any, clock: Any) -> None:
    from ispcore.workers.network import RELEASE_JOB
    from ispcore.workers.registry import run_job

    ipam = await ipam_setup(api)
    settings = await ok(api, ipam.token, "updateNetworkSettings",
                        {"companyId": ipam.setup.company, "releaseHoldDays": 7})
    assert (settings["releaseOnDisconnect"], settings["releaseHoldDays"]) == (True, 7)
    kept = (await new_account(api, ipam.setup, "Stays Active"))["id"]
    await assign(api, ipam, poolId=ipam.pool)
    await assign(api, ipam, account=kept, poolId=ipam.pool)

    async def status(status_id: str) -> None:
        await ok(api, ipam.token, "changeAccountStatus",
                 {"accountId": ipam.account, "accountStatusId": status_id, "reason": "test"})

    await status(ipam.setup.suspended)
    held = (await api.data(ACCOUNT, {"id": ipam.account}, ipam.token))["account"]
    assert held["ipAssignments"][0]["releaseAfter"] is not None
    clock.advance(timedelta(days=3))
    await status(ipam.setup.active)  # back within the hold: keeps it
    await status(ipam.setup.inactive)
    clock.advance(timedelta(days=6))
    assert await run_job(runtime, RELEASE_JOB) == 0
    clock.advance(timedelta(days=2))
    assert await run_job(runtime, RELEASE_JOB) == 1
    assert await run_job(runtime, RELEASE_JOB) == 0
    gone = (await api.data(ACCOUNT, {"id": ipam.account}, ipam.token))["account"]
    assert [(a["releasedAt"] is not None, a["releaseReason"]) for a in gone["ipAssignments"]
            ] == [(True, "account disconnected")]
    stays = (await api.data(ACCOUNT, {"id": kept}, ipam.token))["account"]
    assert stays["ipAssignments"][0]["releasedAt"] is None
    released = await events_of(api, ipam.token, "ip_assignment.released")
    assert [e["payload"]["reason"] for e in released] == ["account disconnected"]


async def test_no_release_when_the_company_keeps_addresses(api: Any, runtime: Any,
                                                           clock: Any) -> None:
    from ispcore.workers.network import RELEASE_JOB
    from ispcore.workers.registry import run_job

    ipam = await ipam_setup(api)
    await ok(api, ipam.token, "updateNetworkSettings",
             {"companyId": ipam.setup.company, "releaseOnDisconnect": False})
    await assign(api, ipam)
    await ok(api, ipam.token, "changeAccountStatus",
             {"accountId": ipam.account, "accountStatusId": ipam.setup.inactive,
              "reason": "moved away"})
    clock.advance(timedelta(days=400))
    assert await run_job(runtime, RELEASE_JOB) == 0
    errors = await refused(api, ipam.token, "updateNetworkSettings",
                           {"companyId": ipam.setup.company, "releaseHoldDays": -1})
    assert errors[0]["field"] == "releaseHoldDays"


async def test_simultaneous_assignments_get_distinct_addresses(api: Any) -> None:
    ipam = await ipam_setup(api, pool=("100.64.1.10", "100.64.1.59"))
    query = """mutation($input: AssignIpAddressInput!) { assignIpAddress(input: $input) {
      ipAssignment { address } errors { field code message } } }"""
    answers = await asyncio.gather(*(
        api.data(query, {"input": {"poolId": ipam.pool, "accountId": ipam.account}},
                 ipam.token) for _ in range(40)))
    payloads = [a["assignIpAddress"] for a in answers]
    assert all(p["errors"] == [] for p in payloads), payloads
    addresses = {p["ipAssignment"]["address"] for p in payloads}
    assert addresses == {f"100.64.1.{n}" for n in range(10, 50)}
