"""Root fields for IP address management: the address plan, assignments and their history."""

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network import assignments, ipam
from ispcore.resolvers.billing import listing
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.mutations import user_errors
from ispcore.schema import ipam as s
from ispcore.schema.accounts import Account, IdInput
from ispcore.schema.billing import AccountService
from ispcore.schema.companies import Company
from ispcore.schema.errors import UserError
from ispcore.schema.ipam import IpAssignment, IpPool, NetworkSite, Subnet, Supernet
from ispcore.schema.permissions import requires

READ = "network:read"
WRITE = "network:write"
CONFIGURE = "network:configure"

IDS = {"company_id": Company, "supernet_id": Supernet, "subnet_id": Subnet,
       "pool_id": IpPool, "network_site_id": NetworkSite, "account_id": Account,
       "account_service_id": AccountService}


def _create(field: str, create: Any) -> Any:
    async def run(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        return {field: await create(uow, values_of(data, IDS))}

    return run


def _update(field: str, node: Any, update: Any, nullable: tuple[str, ...] = ()) -> Any:
    async def run(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        values = values_of(data, IDS, update=True, exclude=("id",), nullable=nullable)
        return {field: await update(uow, pk(data.id, node), values)}

    return run


def _delete(node: Any, delete: Any) -> Any:
    async def run(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        await delete(uow, pk(data.id, node))
        return {"deleted_id": data.id}

    return run


async def _assign(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"ip_assignment": await assignments.assign_ip(uow, values_of(data, IDS))}


async def _release(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"ip_assignment": await assignments.release_ip(uow, pk(data.id, IpAssignment),
                                                          data.reason)}


@strawberry.type(description="Who held an address: the assignments that contain it.")
class IpAssignmentHistory:
    assignments: list[IpAssignment]
    errors: list[UserError]


async def _history(info: Info, address: str, at: datetime | None,
                   company_id: relay.GlobalID | None) -> IpAssignmentHistory:
    try:
        company = pk(company_id, Company, "company_id") if company_id else None
        async with info.context.unit_of_work("ipAssignmentHistory") as uow:
            rows = (await assignments.ip_assignment_history(uow, company, address, at)
                    if at is not None else
                    await assignments.address_holders(uow, company, address))
            nodes = [IpAssignment.from_model(row) for row in rows]
    except DomainError as exc:
        return IpAssignmentHistory(assignments=[], errors=user_errors(exc))
    return IpAssignmentHistory(assignments=nodes, errors=[])


@strawberry.type
class IpamQuery:
    network_sites = listing(NetworkSite, s.NETWORK_SITE_LISTING, (NetworkSite.model.name,),
                            "Towers, POPs, buildings and data centres.", permission=READ)
    supernets = listing(Supernet, s.SUPERNET_LISTING, (Supernet.model.name,
                                                        Supernet.model.cidr),
                        "Address blocks the companies hold.", permission=READ)
    subnets = listing(Subnet, s.SUBNET_LISTING, (Subnet.model.name, Subnet.model.cidr),
                      "Subnets of the supernets.", permission=READ)
    ip_assignments = listing(
        IpAssignment, s.IP_ASSIGNMENT_LISTING, (IpAssignment.model.address,),
        "Addresses and prefixes assigned, held and released (releasedAt isNull: held now).",
        permission=READ)

    @strawberry.field(extensions=requires(READ), description=(
        "Who held an address (or a prefix containing it) at a moment: at most one holder "
        "per company."))
    async def ip_assignment_history(self, info: Info, address: str, at: datetime,
                                    company_id: relay.GlobalID | None = None
                                    ) -> IpAssignmentHistory:
        return await _history(info, address, at, company_id)

    @strawberry.field(extensions=requires(READ), description=(
        "Everyone who ever held an address (or a prefix containing it), oldest first."))
    async def ip_address_holders(self, info: Info, address: str,
                                 company_id: relay.GlobalID | None = None
                                 ) -> IpAssignmentHistory:
        return await _history(info, address, None, company_id)


def _crud(name: str, field: str, node: Any, create: Any, update: Any, delete: Any,
          what: str, nullable: tuple[str, ...] = ()) -> tuple[Any, Any, Any]:
    inputs = {kind: getattr(s, f"{kind}{name}Input") for kind in ("Create", "Update")}
    return (
        command(_create(field, create), input_type=inputs["Create"], permission=CONFIGURE,
                payload=payload_type(f"Create{name}", field, node),
                description=f"Add {what}."),
        command(_update(field, node, update, nullable), input_type=inputs["Update"],
                permission=CONFIGURE, payload=payload_type(f"Update{name}", field, node),
                description=f"Change {what}."),
        command(_delete(node, delete), input_type=IdInput, permission=CONFIGURE,
                payload=payload_type(f"Delete{name}", "deleted_id", node),
                description=f"Delete {what}; refused while anything still uses it."),
    )


@strawberry.type
class IpamMutation:
    create_network_site, update_network_site, delete_network_site = _crud(
        "NetworkSite", "network_site", NetworkSite, ipam.create_site, ipam.update_site,
        ipam.delete_site, "a network site", nullable=("latitude", "longitude"))
    create_supernet, update_supernet, delete_supernet = _crud(
        "Supernet", "supernet", Supernet, ipam.create_supernet, ipam.update_supernet,
        ipam.delete_supernet, "a supernet")
    create_subnet, update_subnet, delete_subnet = _crud(
        "Subnet", "subnet", Subnet, ipam.create_subnet, ipam.update_subnet,
        ipam.delete_subnet, "a subnet of a supernet", nullable=("network_site_id", "gateway"))
    create_ip_pool, update_ip_pool, delete_ip_pool = _crud(
        "IpPool", "ip_pool", IpPool, ipam.create_pool, ipam.update_pool, ipam.delete_pool,
        "a pool of a subnet")
    assign_ip_address = command(
        _assign, input_type=s.AssignIpAddressInput, permission=WRITE,
        payload=payload_type("AssignIpAddress", "ip_assignment", IpAssignment),
        description="Give an account an address (or IPv6 prefix) of a subnet or pool: the "
        "one named, or the next free one.")
    release_ip_address = command(
        _release, input_type=s.ReleaseIpAddressInput, permission=WRITE,
        payload=payload_type("ReleaseIpAddress", "ip_assignment", IpAssignment),
        description="Take an address back; the assignment stays in the history.")
