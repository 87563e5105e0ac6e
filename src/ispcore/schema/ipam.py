"""IP address management types: sites, supernets, subnets, pools and assignments.

Address counts are strings: an IPv6 subnet holds far more addresses than a GraphQL Int
(32 bits) or a JavaScript number (53 bits) can carry."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET, relay
from strawberry.types import Info

from ispcore.domain.network import models as m
from ispcore.domain.network import usage
from ispcore.domain.network.ipam import SiteKind
from ispcore.schema.accounts import Account
from ispcore.schema.billing import AccountService
from ispcore.schema.companies import Company
from ispcore.schema.filtering import DateTimeFilter, IdOf, IntFilter, StringFilter, listing_inputs
from ispcore.schema.nodes import ModelNode, model_node
from ispcore.schema.relations import Many, One, relation

READ = "network:read"

NetworkSiteKind = strawberry.enum(SiteKind, name="NetworkSiteKind",
                                  description="TOWER, POP, BUILDING, DATA_CENTER or OTHER.")


def _usage_of(node: Any, info: Info, measure: Any) -> Any:
    """The node's usage, computed once however many count fields ask for it."""
    found = node.__dict__.get("_usage_task")
    if found is None:
        async def compute() -> usage.Usage:
            async with info.context.rows() as conn:
                return await measure(conn)

        found = node.__dict__["_usage_task"] = asyncio.ensure_future(compute())
    return found


@strawberry.type(description="A tower, POP, building or data centre.")
@model_node(m.NetworkSite, read_permission=READ)
class NetworkSite(ModelNode):
    name: str
    kind: NetworkSiteKind
    description: str
    latitude: float | None
    longitude: float | None
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    company: Company | None = relation(One("Company", "company_id"))
    subnets: list[Subnet] | None = relation(Many("Subnet", "network_site_id"))


@strawberry.type(description="A block of addresses the company holds (e.g. from its RIR), "
                 "carved into subnets.")
@model_node(m.Supernet, read_permission=READ)
class Supernet(ModelNode):
    cidr: str
    name: str
    description: str
    family: int = strawberry.field(description="4 or 6.")
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    company: Company | None = relation(One("Company", "company_id"))
    subnets: list[Subnet] | None = relation(Many("Subnet", "supernet_id",
                                                 order_by=("first_key",)))

    def _usage(self, info: Info) -> Any:
        return _usage_of(self, info, lambda conn: usage.supernet_usage(conn, self.pk,
                                                                       self.cidr))

    @strawberry.field(description="Addresses in the supernet.")
    async def address_count(self, info: Info) -> str:
        return str((await self._usage(info)).total)

    @strawberry.field(description="Addresses inside its subnets.")
    async def allocated_count(self, info: Info) -> str:
        return str((await self._usage(info)).used)

    @strawberry.field(description="Addresses in no subnet yet.")
    async def free_count(self, info: Info) -> str:
        return str((await self._usage(info)).free)


@strawberry.type(description="A range of a subnet that automatic assignment draws from.")
@model_node(m.IpPool, read_permission=READ)
class IpPool(ModelNode):
    name: str
    first_address: str
    last_address: str
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    subnet_id: strawberry.Private[int]
    family: strawberry.Private[int]
    first_key: strawberry.Private[str]
    last_key: strawberry.Private[str]

    subnet: Subnet | None = relation(One("Subnet", "subnet_id"))

    def _usage(self, info: Info) -> Any:
        return _usage_of(self, info, lambda conn: usage.pool_usage(
            conn, self.subnet_id, self.family, self.first_key, self.last_key))

    @strawberry.field(description="Addresses in the pool.")
    async def usable_count(self, info: Info) -> str:
        return str((await self._usage(info)).total)

    @strawberry.field(description="Addresses of the pool held now.")
    async def used_count(self, info: Info) -> str:
        return str((await self._usage(info)).used)

    @strawberry.field(description="Addresses of the pool free now.")
    async def free_count(self, info: Info) -> str:
        return str((await self._usage(info)).free)


@strawberry.type(description="A subnet of a supernet: its addresses (or, with "
                 "delegatedPrefixLength, IPv6 prefixes) are assigned to accounts.")
@model_node(m.Subnet, read_permission=READ)
class Subnet(ModelNode):
    cidr: str
    name: str
    description: str
    family: int = strawberry.field(description="4 or 6.")
    gateway: str | None
    delegated_prefix_length: int | None = strawberry.field(
        description="IPv6: the length of the prefixes delegated to customers (e.g. 56); "
        "null: single addresses are assigned.")
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    supernet_id: strawberry.Private[int]
    network_site_id: strawberry.Private[int | None]

    company: Company | None = relation(One("Company", "company_id"))
    supernet: Supernet | None = relation(One("Supernet", "supernet_id"))
    network_site: NetworkSite | None = relation(One("NetworkSite", "network_site_id"))
    pools: list[IpPool] | None = relation(Many("IpPool", "subnet_id", order_by=("first_key",)))
    assignments: list[IpAssignment] | None = relation(
        Many("IpAssignment", "subnet_id", order_by=("first_key", "id"),
             arrange=lambda rows: [r for r in rows if r.released_at is None]),
        description="The assignments held now, by address (ipAssignments lists history).")

    def _usage(self, info: Info) -> Any:
        return _usage_of(self, info, lambda conn: usage.subnet_usage(
            conn, self.pk, self.cidr, self.delegated_prefix_length, self.gateway))

    @strawberry.field(description="Addresses that can be assigned: IPv4 leaves out the "
                      "network and broadcast addresses (not in a /31 or /32), IPv6 the "
                      "subnet-router anycast address; a delegating subnet counts all. The "
                      "gateway is never assigned and not counted.")
    async def usable_count(self, info: Info) -> str:
        return str((await self._usage(info)).total)

    @strawberry.field(description="Addresses held now (a delegated prefix counts all of "
                      "its addresses).")
    async def used_count(self, info: Info) -> str:
        return str((await self._usage(info)).used)

    @strawberry.field(description="Usable addresses not held now.")
    async def free_count(self, info: Info) -> str:
        return str((await self._usage(info)).free)


@strawberry.type(description="An address or delegated prefix held by an account from "
                 "assignedAt until releasedAt (kept after release: the history).")
@model_node(m.IpAssignment, read_permission=READ)
class IpAssignment(ModelNode):
    address: str = strawberry.field(description="10.0.0.5, or a prefix: 2001:db8:0:100::/56.")
    prefix_length: int
    family: int
    description: str
    assigned_at: datetime
    released_at: datetime | None
    release_after: datetime | None = strawberry.field(
        description="Set when the account stopped being active: released then unless the "
        "account is active again.")
    release_reason: str
    company_id: strawberry.Private[int]
    subnet_id: strawberry.Private[int]
    pool_id: strawberry.Private[int | None]
    account_id: strawberry.Private[int | None]
    account_service_id: strawberry.Private[int | None]

    subnet: Subnet | None = relation(One("Subnet", "subnet_id"))
    pool: IpPool | None = relation(One("IpPool", "pool_id"))
    account: Account | None = relation(One("Account", "account_id"))
    account_service: AccountService | None = relation(
        One("AccountService", "account_service_id"),
        description="The data service it is for, if named. Null without billing:read.")


NETWORK_SITE_LISTING = listing_inputs(
    "NetworkSite", {"id": IdOf("NetworkSite"), "company_id": IdOf("Company"),
                    "name": StringFilter, "kind": StringFilter,
                    "created_at": DateTimeFilter}, order_by=["name", "created_at"])
SUPERNET_LISTING = listing_inputs(
    "Supernet", {"id": IdOf("Supernet"), "company_id": IdOf("Company"), "cidr": StringFilter,
                 "name": StringFilter, "family": IntFilter, "created_at": DateTimeFilter},
    order_by=["created_at"])
SUBNET_LISTING = listing_inputs(
    "Subnet", {"id": IdOf("Subnet"), "company_id": IdOf("Company"),
               "supernet_id": IdOf("Supernet"), "network_site_id": IdOf("NetworkSite"),
               "cidr": StringFilter, "name": StringFilter, "family": IntFilter,
               "created_at": DateTimeFilter}, order_by=["created_at"])
IP_ASSIGNMENT_LISTING = listing_inputs(
    "IpAssignment", {"id": IdOf("IpAssignment"), "company_id": IdOf("Company"),
                     "subnet_id": IdOf("Subnet"), "pool_id": IdOf("IpPool"),
                     "account_id": IdOf("Account"),
                     "account_service_id": IdOf("AccountService"), "address": StringFilter,
                     "family": IntFilter, "assigned_at": DateTimeFilter,
                     "released_at": DateTimeFilter},
    order_by=["assigned_at"])


@strawberry.input
class CreateNetworkSiteInput:
    company_id: relay.GlobalID
    name: str
    kind: NetworkSiteKind
    description: str | None = None
    latitude: float | None = strawberry.field(default=None, description="-90 to 90.")
    longitude: float | None = strawberry.field(default=None, description="-180 to 180.")


@strawberry.input
class UpdateNetworkSiteInput:
    id: relay.GlobalID
    name: str | None = UNSET
    kind: NetworkSiteKind | None = UNSET
    description: str | None = UNSET
    latitude: float | None = UNSET
    longitude: float | None = UNSET


@strawberry.input
class CreateSupernetInput:
    company_id: relay.GlobalID
    cidr: str = strawberry.field(description="e.g. 100.64.0.0/16 or 2001:db8::/32; no host "
                                 "bits set.")
    name: str | None = None
    description: str | None = None


@strawberry.input
class UpdateSupernetInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET


@strawberry.input
class CreateSubnetInput:
    supernet_id: relay.GlobalID
    cidr: str = strawberry.field(description="Inside the supernet, overlapping no other "
                                 "subnet of the company.")
    name: str | None = None
    description: str | None = None
    network_site_id: relay.GlobalID | None = None
    gateway: str | None = strawberry.field(default=None,
                                           description="A usable address of the subnet.")
    delegated_prefix_length: int | None = strawberry.field(
        default=None, description="IPv6 only: hand out prefixes of this length (e.g. 56) "
        "instead of single addresses.")


@strawberry.input
class UpdateSubnetInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET
    network_site_id: relay.GlobalID | None = UNSET
    gateway: str | None = UNSET


@strawberry.input
class CreateIpPoolInput:
    subnet_id: relay.GlobalID
    first_address: str = strawberry.field(description="Usable addresses of the subnet; the "
                                          "range overlaps no other pool of it.")
    last_address: str
    name: str | None = None


@strawberry.input
class UpdateIpPoolInput:
    id: relay.GlobalID
    name: str | None = UNSET
    first_address: str | None = UNSET
    last_address: str | None = UNSET


@strawberry.input
class AssignIpAddressInput:
    subnet_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Assign from the subnet (or give poolId; one of them).")
    pool_id: relay.GlobalID | None = None
    account_id: relay.GlobalID
    account_service_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The account's data service it is for.")
    ip_address: str | None = strawberry.field(default=None, description=(
        "This address (or prefix, e.g. 2001:db8:0:100::/56); default: the next free one "
        "after the last handed out. Released addresses are handed out again last."))
    description: str | None = None


@strawberry.input
class ReleaseIpAddressInput:
    id: relay.GlobalID
    reason: str | None = None
