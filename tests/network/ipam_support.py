"""IPAM through the API, for the network tests: an address plan (a supernet, a subnet and a
pool) and assigning addresses from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.accounts.factories import MUTATIONS, Setup, _mutation, company_setup, new_account, ok

SUBNET_FIELDS = """id cidr name gateway family delegatedPrefixLength supernet { id cidr }
  networkSite { id } usableCount usedCount freeCount"""
ASSIGNMENT_FIELDS = """id address prefixLength family description assignedAt releasedAt
  releaseAfter releaseReason account { id } subnet { id } pool { id }"""
POOL_FIELDS = "id name firstAddress lastAddress usableCount usedCount freeCount subnet { id }"

MUTATIONS.update({
    "createNetworkSite": _mutation("createNetworkSite", "CreateNetworkSiteInput",
                                   "networkSite", "id name kind description latitude longitude"),
    "updateNetworkSite": _mutation("updateNetworkSite", "UpdateNetworkSiteInput",
                                   "networkSite", "id name kind description latitude longitude"),
    "deleteNetworkSite": _mutation("deleteNetworkSite", "IdInput", "deletedId", ""),
    "createSupernet": _mutation("createSupernet", "CreateSupernetInput", "supernet",
                                "id cidr name family addressCount allocatedCount freeCount"),
    "updateSupernet": _mutation("updateSupernet", "UpdateSupernetInput", "supernet",
                                "id cidr name description"),
    "deleteSupernet": _mutation("deleteSupernet", "IdInput", "deletedId", ""),
    "createSubnet": _mutation("createSubnet", "CreateSubnetInput", "subnet", SUBNET_FIELDS),
    "updateSubnet": _mutation("updateSubnet", "UpdateSubnetInput", "subnet", SUBNET_FIELDS),
    "deleteSubnet": _mutation("deleteSubnet", "IdInput", "deletedId", ""),
    "createIpPool": _mutation("createIpPool", "CreateIpPoolInput", "ipPool", POOL_FIELDS),
    "updateIpPool": _mutation("updateIpPool", "UpdateIpPoolInput", "ipPool", POOL_FIELDS),
    "deleteIpPool": _mutation("deleteIpPool", "IdInput", "deletedId", ""),
    "assignIpAddress": _mutation("assignIpAddress", "AssignIpAddressInput", "ipAssignment",
                                 ASSIGNMENT_FIELDS),
    "releaseIpAddress": _mutation("releaseIpAddress", "ReleaseIpAddressInput", "ipAssignment",
                                  ASSIGNMENT_FIELDS),
})


@dataclass
class Ipam:
    setup: Setup
    supernet: str
    subnet: str
    pool: str
    account: str

    @property
    def token(self) -> str:
        return self.setup.token


async def ipam_setup(api: Any, *, supernet: str = "100.64.0.0/16",
                     subnet: str = "100.64.1.0/24", pool: tuple[str, str] = (
                         "100.64.1.10", "100.64.1.19")) -> Ipam:
    """A company with an active account, a supernet, a subnet of it and a pool of that."""
    setup = await company_setup(api)
    supernet_id = (await ok(api, setup.token, "createSupernet",
                            {"companyId": setup.company, "cidr": supernet,
                             "name": "Carrier-grade NAT"}))["id"]
    subnet_id = await new_subnet(api, setup.token, supernet_id, subnet)
    pool_id = (await ok(api, setup.token, "createIpPool",
                        {"subnetId": subnet_id, "firstAddress": pool[0],
                         "lastAddress": pool[1], "name": "Dynamic"}))["id"]
    account = (await new_account(api, setup))["id"]
    return Ipam(setup, supernet_id, subnet_id, pool_id, account)


async def new_subnet(api: Any, token: str, supernet: str, cidr: str, **fields: Any) -> str:
    return (await ok(api, token, "createSubnet",
                     {"supernetId": supernet, "cidr": cidr, **fields}))["id"]


async def assign(api: Any, ipam: Ipam, *, account: str | None = None, **fields: Any
                 ) -> dict[str, Any]:
    """Assign from the setup's subnet (unless ``poolId`` or ``subnetId`` is given)."""
    where = {} if "poolId" in fields or "subnetId" in fields else {"subnetId": ipam.subnet}
    return await ok(api, ipam.token, "assignIpAddress",
                    {"accountId": account or ipam.account, **where, **fields})
