"""Root fields for serviceable addresses, moving accounts, and postal addresses."""

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.addresses import service
from ispcore.domain.addresses.models import ServiceableAddress as AddressModel
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import fetch_node, list_nodes
from ispcore.schema import addresses as s
from ispcore.schema.accounts import Account, IdInput
from ispcore.schema.addresses import AddressOccupancy, ServiceableAddress
from ispcore.schema.companies import Company
from ispcore.schema.nodes import Connection, global_id
from ispcore.schema.permissions import requires

NULLABLE = ("line2", "unit", "subdivision", "postal_code", "latitude", "longitude",
            "fcc_location_id")


async def _create(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, {"company_id": Company})
    return {"serviceable_address": await service.create_address(uow, values)}


async def _update(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, update=True, nullable=NULLABLE)
    address = await service.update_address(uow, pk(data.id, ServiceableAddress), values)
    return {"serviceable_address": address}


async def _delete(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    address = await service.delete_address(uow, pk(data.id, ServiceableAddress))
    return {"deleted_id": global_id(address)}


async def _move_in(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    account = await service.move_in(
        uow, pk(data.account_id, Account, "account_id"),
        pk(data.serviceable_address_id, ServiceableAddress, "serviceable_address_id"),
        data.date)
    return {"account": account}


async def _move_out(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"account": await service.move_out(uow, pk(data.account_id, Account, "account_id"),
                                              data.date)}


async def _set_postal(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, exclude=("account_id", "kind"))
    account = await service.set_postal_address(
        uow, pk(data.account_id, Account, "account_id"), data.kind, values)
    return {"account": account}


async def _clear_postal(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    account = await service.clear_postal_address(
        uow, pk(data.account_id, Account, "account_id"), data.kind)
    return {"account": account}


AccountAddressPayload = payload_type("AccountAddress", "account", Account)


@strawberry.type
class AddressQuery:
    @strawberry.field(extensions=requires("addresses:read"))
    async def serviceable_addresses(
            self, info: Info, first: int | None = None, after: str | None = None,
            filter: s.SERVICEABLE_ADDRESS_LISTING.filter | None = None,
            order_by: list[s.SERVICEABLE_ADDRESS_LISTING.order] | None = None
    ) -> Connection[ServiceableAddress]:
        return await list_nodes(info, ServiceableAddress, s.SERVICEABLE_ADDRESS_LISTING,
                                first=first, after=after, filter=filter, order_by=order_by,
                                search=(AddressModel.line1, AddressModel.city,
                                        AddressModel.postal_code, AddressModel.unit))

    @strawberry.field(extensions=requires("addresses:read"))
    async def serviceable_address(self, info: Info, id: relay.GlobalID
                                  ) -> ServiceableAddress | None:
        return await fetch_node(info, ServiceableAddress, id)

    @strawberry.field(extensions=requires("addresses:read"),
                      description="Who lived where, when.")
    async def address_occupancies(
            self, info: Info, first: int | None = None, after: str | None = None,
            filter: s.OCCUPANCY_LISTING.filter | None = None,
            order_by: list[s.OCCUPANCY_LISTING.order] | None = None
    ) -> Connection[AddressOccupancy]:
        return await list_nodes(info, AddressOccupancy, s.OCCUPANCY_LISTING, first=first,
                                after=after, filter=filter, order_by=order_by)


@strawberry.type
class AddressMutation:
    create_serviceable_address = command(
        _create, input_type=s.CreateServiceableAddressInput, permission="addresses:write",
        payload=payload_type("CreateServiceableAddress", "serviceable_address",
                             ServiceableAddress),
        description="Pre-qualify an address (no account needed).")
    update_serviceable_address = command(
        _update, input_type=s.UpdateServiceableAddressInput, permission="addresses:write",
        payload=payload_type("UpdateServiceableAddress", "serviceable_address",
                             ServiceableAddress),
        description="Change an address; omitted fields stay.")
    delete_serviceable_address = command(
        _delete, input_type=IdInput, permission="addresses:write",
        payload=payload_type("DeleteServiceableAddress", "deleted_id", ServiceableAddress),
        description="Delete an address nobody ever lived at.")
    move_account_to_address = command(
        _move_in, input_type=s.MoveAccountToAddressInput, permission="accounts:write",
        payload=AccountAddressPayload,
        description="Make a serviceable address the account's physical address.")
    move_account_out = command(
        _move_out, input_type=s.MoveAccountOutInput, permission="accounts:write",
        payload=AccountAddressPayload,
        description="The account leaves its physical address (the address is freed).")
    set_account_postal_address = command(
        _set_postal, input_type=s.SetAccountPostalAddressInput, permission="accounts:write",
        payload=AccountAddressPayload, description="Set the mailing or billing address.")
    clear_account_postal_address = command(
        _clear_postal, input_type=s.ClearAccountPostalAddressInput,
        permission="accounts:write", payload=AccountAddressPayload,
        description="Remove the mailing or billing address.")
