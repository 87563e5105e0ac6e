"""The address plan through the API: sites, supernets, subnets and pools, and every way a
block is refused."""

from __future__ import annotations

from typing import Any

from tests.accounts.factories import company_setup, new_account, ok, refused
from tests.billing.factories import events_of
from tests.network.ipam_support import assign, ipam_setup, new_subnet

PLAN = """query($id: ID!) { node(id: $id) { ... on Supernet { cidr addressCount
  allocatedCount freeCount subnets { cidr usableCount usedCount freeCount
  pools { firstAddress lastAddress usableCount usedCount freeCount } } } } }"""


async def test_sites_are_created_checked_changed_and_deleted(api: Any) -> None:
    setup = await company_setup(api)
    site = await ok(api, setup.token, "createNetworkSite",
                    {"companyId": setup.company, "name": "North Tower", "kind": "TOWER",
                     "latitude": 41.88, "longitude": -87.63})
    assert (site["kind"], site["latitude"]) == ("TOWER", 41.88)
    errors = await refused(api, setup.token, "createNetworkSite",
                           {"companyId": setup.company, "name": "north tower", "kind": "POP",
                            "latitude": 91})
    assert {(e["field"], e["code"]) for e in errors} == {("latitude", "INVALID")}
    errors = await refused(api, setup.token, "createNetworkSite",
                           {"companyId": setup.company, "name": "north tower", "kind": "POP"})
    assert errors[0]["code"] == "DUPLICATE"
    changed = await ok(api, setup.token, "updateNetworkSite",
                       {"id": site["id"], "kind": "POP", "longitude": None})
    assert (changed["kind"], changed["longitude"]) == ("POP", None)
    supernet = (await ok(api, setup.token, "createSupernet",
                         {"companyId": setup.company, "cidr": "10.0.0.0/8"}))["id"]
    subnet = await new_subnet(api, setup.token, supernet, "10.1.0.0/24",
                              networkSiteId=site["id"])
    assert (await refused(api, setup.token, "deleteNetworkSite",
                          {"id": site["id"]}))[0]["code"] == "IN_USE"
    await ok(api, setup.token, "deleteSubnet", {"id": subnet})
    await ok(api, setup.token, "deleteNetworkSite", {"id": site["id"]})


async def test_malformed_cidrs_are_refused(api: Any) -> None:
    setup = await company_setup(api)
    for cidr, says in (("10.0.0.0/33", "not a CIDR block"), ("10.0.0.1", "not a CIDR block"),
                       ("10.0.0.1/8", "the network is 10.0.0.0/8")):
        errors = await refused(api, setup.token, "createSupernet",
                               {"companyId": setup.company, "cidr": cidr})
        assert (errors[0]["field"], errors[0]["code"]) == ("cidr", "INVALID")
        assert says in errors[0]["message"]
    listed = await api.data("{ supernets { totalCount } }", token=setup.token)
    assert listed["supernets"]["totalCount"] == 0


async def test_a_subnet_lies_inside_its_supernet(api: Any) -> None:
    ipam = await ipam_setup(api)
    errors = await refused(api, ipam.token, "createSubnet",
                           {"supernetId": ipam.supernet, "cidr": "100.65.0.0/24"})
    assert errors == [{"field": "cidr", "code": "INVALID",
                       "message": "100.65.0.0/24 is not inside the supernet 100.64.0.0/16."}]
    errors = await refused(api, ipam.token, "createSubnet",
                           {"supernetId": ipam.supernet, "cidr": "2001:db8::/64"})
    assert "not inside" in errors[0]["message"]


async def test_subnets_of_a_company_never_overlap(api: Any) -> None:
    ipam = await ipam_setup(api)
    for cidr in ("100.64.1.128/25", "100.64.0.0/23", "100.64.1.0/24"):
        errors = await refused(api, ipam.token, "createSubnet",
                               {"supernetId": ipam.supernet, "cidr": cidr})
        assert errors[0]["message"] == f"{cidr} overlaps the subnet 100.64.1.0/24."
    await new_subnet(api, ipam.token, ipam.supernet, "100.64.2.0/24")
    errors = await refused(api, ipam.token, "createSupernet",
                           {"companyId": ipam.setup.company, "cidr": "100.0.0.0/8"})
    assert errors[0]["message"] == "100.0.0.0/8 overlaps the supernet 100.64.0.0/16."


async def test_subnet_gateway_and_delegation_are_checked(api: Any) -> None:
    ipam = await ipam_setup(api)
    errors = await refused(api, ipam.token, "createSubnet",
                           {"supernetId": ipam.supernet, "cidr": "100.64.2.0/24",
                            "gateway": "100.64.3.1", "delegatedPrefixLength": 28})
    assert {e["field"] for e in errors} == {"gateway", "delegatedPrefixLength"}
    subnet = await ok(api, ipam.token, "createSubnet",
                      {"supernetId": ipam.supernet, "cidr": "100.64.2.0/24",
                       "gateway": "100.64.2.1"})
    assert (subnet["gateway"], subnet["family"], subnet["usableCount"]) == (
        "100.64.2.1", 4, "253")  # the gateway is never handed out
    [error] = await refused(api, ipam.token, "assignIpAddress", {
        "subnetId": subnet["id"], "accountId": ipam.account, "ipAddress": "100.64.2.1"})
    assert (error["field"], error["code"]) == ("ipAddress", "IN_USE")
    assert "gateway" in error["message"]
    first = await ok(api, ipam.token, "assignIpAddress", {"subnetId": subnet["id"],
                                                          "accountId": ipam.account})
    assert first["address"] == "100.64.2.2"


async def test_a_pool_lies_in_its_subnet_usable_range_apart_from_other_pools(api: Any) -> None:
    ipam = await ipam_setup(api)
    for first, last, field in (("100.64.1.0", "100.64.1.5", "firstAddress"),
                               ("100.64.1.250", "100.64.1.255", "lastAddress"),
                               ("100.64.2.1", "100.64.2.5", "firstAddress")):
        errors = await refused(api, ipam.token, "createIpPool",
                               {"subnetId": ipam.subnet, "firstAddress": first,
                                "lastAddress": last})
        assert errors[0]["field"] == field, errors
        assert "is not a usable address of 100.64.1.0/24" in errors[0]["message"]
    errors = await refused(api, ipam.token, "createIpPool",
                           {"subnetId": ipam.subnet, "firstAddress": "100.64.1.15",
                            "lastAddress": "100.64.1.30"})
    assert errors[0]["message"] == "The range overlaps the pool 100.64.1.10-100.64.1.19."
    errors = await refused(api, ipam.token, "createIpPool",
                           {"subnetId": ipam.subnet, "firstAddress": "100.64.1.40",
                            "lastAddress": "100.64.1.30"})
    assert errors[0]["message"] == "The last address comes before the first."
    pool = await ok(api, ipam.token, "updateIpPool",
                    {"id": ipam.pool, "lastAddress": "100.64.1.29"})
    assert (pool["usableCount"], pool["freeCount"]) == ("20", "20")


async def test_deleting_blocks_in_use_is_refused(api: Any) -> None:
    ipam = await ipam_setup(api)
    held = await assign(api, ipam, poolId=ipam.pool)
    for mutation, pk in (("deleteSupernet", ipam.supernet), ("deleteSubnet", ipam.subnet),
                         ("deleteIpPool", ipam.pool)):
        errors = await refused(api, ipam.token, mutation, {"id": pk})
        assert errors[0]["code"] == "IN_USE", errors
    await ok(api, ipam.token, "releaseIpAddress", {"id": held["id"]})
    await ok(api, ipam.token, "deleteIpPool", {"id": ipam.pool})
    errors = await refused(api, ipam.token, "deleteSubnet", {"id": ipam.subnet})
    assert "history" in errors[0]["message"]


async def test_usage_figures(api: Any) -> None:
    ipam = await ipam_setup(api)
    for _ in range(3):
        await assign(api, ipam, poolId=ipam.pool)
    await assign(api, ipam, ipAddress="100.64.1.200")
    await new_subnet(api, ipam.token, ipam.supernet, "100.64.2.0/25")
    plan = (await api.data(PLAN, {"id": ipam.supernet}, ipam.token))["node"]
    assert (plan["addressCount"], plan["allocatedCount"], plan["freeCount"]) == (
        "65536", "384", "65152")
    first, second = plan["subnets"]
    assert (first["usableCount"], first["usedCount"], first["freeCount"]) == (
        "254", "4", "250")
    assert first["pools"] == [{"firstAddress": "100.64.1.10", "lastAddress": "100.64.1.19",
                               "usableCount": "10", "usedCount": "3", "freeCount": "7"}]
    assert (second["usableCount"], second["usedCount"]) == ("126", "0")


async def test_plan_changes_are_events(api: Any) -> None:
    ipam = await ipam_setup(api)
    await assign(api, ipam)
    for kind in ("supernet.created", "subnet.created", "ip_pool.created",
                 "ip_assignment.created"):
        assert len(await events_of(api, ipam.token, kind)) == 1, kind


async def test_reading_and_changing_the_plan_needs_network_permissions(api: Any) -> None:
    ipam = await ipam_setup(api)
    _, reader = await api.user_with_token("noc@example.com", permissions=["network:read"])
    listed = await api.data("{ subnets { edges { node { cidr } } } }", token=reader)
    assert listed["subnets"]["edges"] == [{"node": {"cidr": "100.64.1.0/24"}}]
    body = await api.gql("""mutation($i: AssignIpAddressInput!) { assignIpAddress(input: $i)
      { errors { code } } }""", {"i": {"subnetId": ipam.subnet, "accountId": ipam.account}},
                         reader)
    assert body["errors"]


async def test_an_account_of_another_company_gets_no_address(api: Any) -> None:
    ipam = await ipam_setup(api)
    other = await company_setup(api, ipam.token, name="Other ISP")
    stranger = (await new_account(api, other))["id"]
    errors = await refused(api, ipam.token, "assignIpAddress",
                           {"subnetId": ipam.subnet, "accountId": stranger})
    assert errors[0]["field"] == "accountId"
    errors = await refused(api, ipam.token, "assignIpAddress",
                           {"subnetId": ipam.subnet, "poolId": ipam.pool,
                            "accountId": ipam.account})
    assert errors[0]["field"] == "subnetId"


async def test_an_accounts_addresses_need_network_read(api: Any) -> None:
    ipam = await ipam_setup(api)
    await assign(api, ipam, ipAddress="100.64.1.9")
    query = "query($id: ID!) { account(id: $id) { ipAssignments { address } } }"
    seen = await api.data(query, {"id": ipam.account}, ipam.token)
    assert seen["account"]["ipAssignments"] == [{"address": "100.64.1.9"}]
    _, clerk = await api.user_with_token("clerk@example.com", permissions=["accounts:read"])
    hidden = await api.data(query, {"id": ipam.account}, clerk)
    assert hidden["account"]["ipAssignments"] is None
