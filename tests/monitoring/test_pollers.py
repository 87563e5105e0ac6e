"""Pollers: the token shown once and rotated, scopes (sites and subnets, canonical), and who
owns each device: the longest subnet first, then the site, the lowest id on a tie, active
pollers only; kept in step as devices and pollers change."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ispcore.domain.identity.secrets import token_hash
from ispcore.domain.monitoring.models import Poller
from ispcore.domain.monitoring.ownership import Scope, owner_of
from ispcore.domain.network.addressing import to_key
from tests.accounts.factories import ok, refused
from tests.monitoring.config_support import device, events_of, org, poller
from tests.monitoring.test_devices import codes
from tests.support import count_statements

WHOAMI = "{ pollerWorkload { pollerId } }"


def _subnet(poller_id: int, first: int, last: int, prefix: int) -> Scope:
    return Scope(poller_id, None, 4, to_key(first), to_key(last), prefix)


def test_ownership_rule() -> None:
    ten = 10 << 24
    scopes = [_subnet(3, ten, ten + 2**16 - 1, 16), _subnet(2, ten, ten + 255, 24),
              _subnet(1, ten, ten + 2**16 - 1, 16), Scope(4, 7, None, None, None, None),
              Scope(5, 7, None, None, None, None)]
    assert owner_of(scopes, 4, to_key(ten + 5), 7) == 2  # longest prefix beats a site
    assert owner_of(scopes, 4, to_key(ten + 300), None) == 1  # /16 tie: lowest id
    assert owner_of(scopes, 4, to_key(11 << 24), 7) == 4  # site tie: lowest id
    assert owner_of(scopes, 6, to_key(ten + 5), None) is None  # another family
    assert owner_of([], 4, to_key(ten), 7) is None


async def test_a_pollers_token_is_shown_once_and_rotating_it_stops_the_old_one(
        api: Any, runtime: Any) -> None:
    o = await org(api)
    made, token = await poller(api, o, "Tower poller", description="In the NOC rack")
    assert token.startswith("isp_pol_")
    assert (made["status"], made["concurrency"], made["active"]) == ("NEVER_SEEN", 64, True)
    async with runtime.db.session() as session:
        stored = await session.scalar(select(Poller.token_hash))
    assert stored == token_hash(token)
    body = await api.gql("{ pollers { edges { node { id } } } }", token=o.token)
    assert "token" not in str(body)
    assert (await api.data(WHOAMI, token=token))["pollerWorkload"]["pollerId"] == made["id"]
    rotated = await ok(api, o.token, "rotatePollerToken", {"id": made["id"]})
    assert rotated["token"] != token and rotated["token"].startswith("isp_pol_")
    refused_old = await api.post(WHOAMI, token=token)
    assert refused_old.status_code == 401
    assert (await api.data(WHOAMI, token=rotated["token"]))["pollerWorkload"]
    await ok(api, o.token, "updatePoller", {"id": made["id"], "active": False})
    assert (await api.post(WHOAMI, token=rotated["token"])).status_code == 401
    assert [t for t, _ in await events_of(runtime, "poller.")] == [
        "poller.created", "poller.token_rotated", "poller.updated"]


async def test_scopes_are_canonical_and_checked(api: Any, runtime: Any) -> None:
    o = await org(api)
    other = await org(api, o.token, name="Other ISP")
    made, _ = await poller(api, o, "P1", networkSiteIds=[o.site_a, o.site_a],
                           subnets=["10.1.0.0/16", " 2001:DB8::/32", "10.1.0.0/16"])
    assert made["scopes"]["subnets"] == ["10.1.0.0/16", "2001:db8::/32"]
    assert [s["id"] for s in made["scopes"]["networkSites"]] == [o.site_a]
    errors = await refused(api, o.token, "createPoller", {
        "companyId": o.company, "name": "P2", "subnets": ["10.1.0.1/16", "nope"],
        "networkSiteIds": [other.site_a], "concurrency": 0})
    assert codes(errors) == {("concurrency", "INVALID")}
    errors = await refused(api, o.token, "createPoller", {
        "companyId": o.company, "name": "P2", "subnets": ["10.1.0.1/16", "nope"],
        "networkSiteIds": [other.site_a]})
    assert codes(errors) == {("networkSiteIds.0", "NOT_FOUND"), ("subnets.0", "INVALID"),
                             ("subnets.1", "INVALID")}
    assert "the network is 10.1.0.0/16" in str(errors)
    errors = await refused(api, o.token, "createPoller", {"companyId": o.company,
                                                          "name": "p1"})
    assert codes(errors) == {("name", "DUPLICATE")}
    # Given scopes replace all of them; omitted ones stay.
    kept = await ok(api, o.token, "updatePoller", {"id": made["id"], "concurrency": 8})
    assert kept["scopes"] == made["scopes"] and kept["concurrency"] == 8
    replaced = await ok(api, o.token, "updatePoller", {"id": made["id"], "subnets": []})
    assert replaced["scopes"] == {"subnets": [], "networkSites": []}


async def test_devices_follow_the_ownership_rule_as_things_change(
        api: Any, runtime: Any, vault_key: str) -> None:
    o = await org(api)
    site_poller, _ = await poller(api, o, "North site", networkSiteIds=[o.site_a])
    wide, _ = await poller(api, o, "Wide", subnets=["10.0.0.0/8"])
    core = await device(api, o, "Core", "10.1.2.3", networkSiteId=o.site_a)
    north = await device(api, o, "North AP", "192.168.1.2", networkSiteId=o.site_a)
    lost = await device(api, o, "Lost", "172.16.0.1")
    assert core["poller"]["name"] == "Wide"  # a subnet beats a site
    assert north["poller"]["name"] == "North site"
    assert lost["poller"] is None
    narrow, _ = await poller(api, o, "Narrow", subnets=["10.1.2.0/24"])

    async def owners() -> dict[str, str | None]:
        rows = (await api.data("{ devices(orderBy: {field: NAME}) { edges { node { name "
                               "poller { name } } } } }", token=o.token))["devices"]["edges"]
        return {e["node"]["name"]: (e["node"]["poller"] or {}).get("name") for e in rows}

    assert await owners() == {"Core": "Narrow", "Lost": None, "North AP": "North site"}
    await ok(api, o.token, "updatePoller", {"id": narrow["id"], "active": False})
    assert (await owners())["Core"] == "Wide"
    await ok(api, o.token, "updateDevice", {"id": lost["id"], "managementAddress": "10.9.9.9"})
    await ok(api, o.token, "updateDevice", {"id": north["id"], "networkSiteId": o.site_b})
    assert await owners() == {"Core": "Wide", "Lost": "Wide", "North AP": None}
    await ok(api, o.token, "updatePoller", {"id": site_poller["id"],
                                            "networkSiteIds": [o.site_b]})
    await poller(api, o, "Backup", subnets=["10.0.0.0/8"])  # a tie: Wide keeps them
    assert await owners() == {"Core": "Wide", "Lost": "Wide", "North AP": "North site"}
    with count_statements(runtime) as seen:
        await ok(api, o.token, "deletePoller", {"id": wide["id"]})
    updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE DEVICES")]
    assert len(updates) == 1  # Core and Lost move together, in one statement
    assert await owners() == {"Core": "Backup", "Lost": "Backup", "North AP": "North site"}
    counts = (await api.data("{ pollers(orderBy: {field: NAME}) { edges { node { name "
                             "deviceCount scopes { networkSites { name } } } } } }",
                             token=o.token))["pollers"]["edges"]
    assert [(e["node"]["name"], e["node"]["deviceCount"]) for e in counts] == [
        ("Backup", 2), ("Narrow", 0), ("North site", 1)]
    assert counts[2]["node"]["scopes"]["networkSites"] == [{"name": "Acme Fibre South"}]


async def test_a_poller_list_reads_scopes_and_counts_in_constant_statements(
        api: Any, runtime: Any) -> None:
    o = await org(api)
    query = ("{ pollers { edges { node { name deviceCount scopes { subnets "
             "networkSites { name } } } } } }")

    async def statements() -> int:
        with count_statements(runtime) as seen:
            await api.data(query, token=o.token)
        return len(seen)

    await poller(api, o, "P0", networkSiteIds=[o.site_a], subnets=["10.0.0.0/24"])
    one = await statements()
    for i in range(1, 6):
        await poller(api, o, f"P{i}", networkSiteIds=[o.site_a, o.site_b],
                     subnets=[f"10.{i}.0.0/16"])
    assert await statements() == one


async def test_a_deleted_sites_devices_go_to_the_next_owner(
        api: Any, runtime: Any, vault_key: str) -> None:
    o = await org(api)
    await poller(api, o, "Site", networkSiteIds=[o.site_a])
    await poller(api, o, "Fallback", subnets=["0.0.0.0/0"])
    made = await device(api, o, "AP", "192.0.2.1", networkSiteId=o.site_a)
    assert made["poller"]["name"] == "Fallback"  # any subnet beats a site
    site_only, _ = await poller(api, o, "Only", networkSiteIds=[o.site_b])
    ap = await device(api, o, "AP2", "2001:db8::2", networkSiteId=o.site_b)
    assert ap["poller"]["name"] == "Only"
    await ok(api, o.token, "deleteNetworkSite", {"id": o.site_b})
    await runtime.jobs.drain()  # the event handler runs
    rows = (await api.data("{ devices(orderBy: {field: NAME}) { edges { node { name "
                           "networkSite { id } poller { name } } } } }",
                           token=o.token))["devices"]["edges"]
    assert [(e["node"]["name"], e["node"]["poller"]) for e in rows] == [
        ("AP", {"name": "Fallback"}), ("AP2", None)]
    assert site_only["scopes"]["networkSites"] == [{"id": o.site_b, "name": "Acme Fibre South"}]
