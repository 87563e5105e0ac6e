"""Root fields for RADIUS: NAS clients, groups, credentials, sessions, CoA actions, network
settings and address lists."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network import address_lists, credentials, nas, radius_groups
from ispcore.domain.network import settings as nsettings
from ispcore.domain.network.templates import PLACEHOLDERS
from ispcore.resolvers.billing import listing
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import fetch_node
from ispcore.schema import radius as s
from ispcore.schema.accounts import Account, IdInput
from ispcore.schema.billing import AccountService
from ispcore.schema.companies import Company
from ispcore.schema.errors import UserError
from ispcore.schema.nodes import global_id
from ispcore.schema.permissions import requires
from ispcore.schema.radius import (
    AddressList,
    AddressListEntry,
    NasClient,
    NetworkSettings,
    RadiusAction,
    RadiusCredential,
    RadiusGroup,
    RadiusSession,
)

READ, WRITE, CONFIGURE = "network:read", "network:write", "network:configure"
IDS = {"company_id": Company, "account_id": Account,
       "account_service_id": AccountService, "radius_group_id": RadiusGroup,
       "delinquent_radius_group_id": RadiusGroup, "suspended_radius_group_id": RadiusGroup,
       "default_radius_group_id": RadiusGroup}


@strawberry.type
class UpdateNetworkSettingsPayload:
    network_settings: NetworkSettings | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type(description="A placeholder RADIUS attribute values may use.")
class RadiusPlaceholder:
    name: str
    description: str


def _attributes(data: Any) -> list[dict[str, Any]] | None:
    items = getattr(data, "attributes", None)
    if not items:
        return items
    return [{"attribute": i.attribute, "op": i.op, "value": i.value} for i in items]


async def _create_nas(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"nas_client": await nas.create_nas(uow, values_of(data, IDS))}


async def _update_nas(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True)
    return {"nas_client": await nas.update_nas(uow, pk(data.id, NasClient), values)}


async def _delete_nas(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"deleted_id": global_id(await nas.delete_nas(uow, pk(data.id, NasClient)))}


async def _create_group(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS)
    values["attributes"] = _attributes(data) or []
    return {"radius_group": await radius_groups.create_group(uow, values)}


async def _update_group(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True)
    if "attributes" in values:
        values["attributes"] = _attributes(data) or []
    return {"radius_group": await radius_groups.update_group(uow, pk(data.id, RadiusGroup),
                                                             values)}


async def _delete_group(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row = await radius_groups.delete_group(uow, pk(data.id, RadiusGroup))
    return {"deleted_id": global_id(row)}


async def _create_credential(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"radius_credential": await credentials.create_credential(uow, values_of(data, IDS))}


async def _update_credential(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True, nullable=("password", "radius_group_id"))
    return {"radius_credential": await credentials.update_credential(
        uow, pk(data.id, RadiusCredential), values)}


async def _remove_credential(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"radius_credential": await credentials.remove_credential(
        uow, pk(data.id, RadiusCredential))}


async def _update_settings(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True, nullable=nsettings.GROUPS)
    company_id = values.pop("company_id")
    row = await nsettings.update_network_settings(uow, company_id, values)
    return {"network_settings": NetworkSettings.from_row(row)}


@strawberry.type
class RadiusQuery:
    @strawberry.field(extensions=requires(READ), description="A company's network settings.")
    async def network_settings(self, info: Info, company_id: relay.GlobalID
                               ) -> NetworkSettings | None:
        company = await fetch_node(info, Company, company_id)
        if company is None:
            return None
        async with info.context.unit_of_work("networkSettings") as uow:
            row = await nsettings.network_settings(uow, company.pk, create=False)
            return NetworkSettings.from_row(row)

    @strawberry.field(extensions=requires(READ), description="The addresses of delinquent and "
                      "of suspended accounts, per router address list.")
    async def address_lists(self, info: Info, company_id: relay.GlobalID) -> list[AddressList]:
        company = await fetch_node(info, Company, company_id)
        if company is None:
            return []
        async with info.context.unit_of_work("addressLists") as uow:
            lists = await address_lists.address_lists(uow, company.pk)
        return [AddressList(name=lst.name, state=lst.state, entries=[
            AddressListEntry(address=a, account_id=account) for a, account in lst.entries])
            for lst in lists]

    @strawberry.field(extensions=requires(READ), description="Placeholders RADIUS attribute "
                      "values may use.")
    def radius_placeholders(self) -> list[RadiusPlaceholder]:
        return [RadiusPlaceholder(name=f"{{{name}}}", description=text)
                for name, text in PLACEHOLDERS.items()]

    nas_clients = listing(NasClient, s.NAS_LISTING, (NasClient.model.name,
                                                     NasClient.model.address),
                          "Routers and access concentrators that ask RADIUS.", permission=READ)
    radius_groups = listing(RadiusGroup, s.GROUP_LISTING, (RadiusGroup.model.name,),
                            "RADIUS groups.", permission=READ)
    radius_credentials = listing(RadiusCredential, s.CREDENTIAL_LISTING,
                                 (RadiusCredential.model.username,),
                                 "RADIUS logins (removed ones too).", permission=READ)
    radius_sessions = listing(RadiusSession, s.SESSION_LISTING,
                              (RadiusSession.model.username,),
                              "Sessions seen by the built-in RADIUS server.", permission=READ)
    radius_actions = listing(RadiusAction, s.ACTION_LISTING, (),
                             "CoA and Disconnect requests sent to NAS clients.",
                             permission=READ)


@strawberry.type
class RadiusMutation:
    create_nas_client = command(
        _create_nas, input_type=s.CreateNasClientInput, permission=CONFIGURE,
        payload=payload_type("CreateNasClient", "nas_client", NasClient),
        description="Add a NAS; its secret is sealed with the server's vault key.")
    update_nas_client = command(
        _update_nas, input_type=s.UpdateNasClientInput, permission=CONFIGURE,
        payload=payload_type("UpdateNasClient", "nas_client", NasClient),
        description="Change a NAS (a new secret replaces the old one).")
    delete_nas_client = command(
        _delete_nas, input_type=IdInput, permission=CONFIGURE,
        payload=payload_type("DeleteNasClient", "deleted_id", NasClient),
        description="Delete a NAS with no sessions or actions on record.")
    create_radius_group = command(
        _create_group, input_type=s.CreateRadiusGroupInput, permission=CONFIGURE,
        payload=payload_type("CreateRadiusGroup", "radius_group", RadiusGroup),
        description="Create a RADIUS group with its reply attributes.")
    update_radius_group = command(
        _update_group, input_type=s.UpdateRadiusGroupInput, permission=CONFIGURE,
        payload=payload_type("UpdateRadiusGroup", "radius_group", RadiusGroup),
        description="Change a group; its members' answers change at once (CoA to live "
                    "sessions).")
    delete_radius_group = command(
        _delete_group, input_type=IdInput, permission=CONFIGURE,
        payload=payload_type("DeleteRadiusGroup", "deleted_id", RadiusGroup),
        description="Delete a group no credential or setting uses.")
    create_radius_credential = command(
        _create_credential, input_type=s.CreateRadiusCredentialInput, permission=WRITE,
        payload=payload_type("CreateRadiusCredential", "radius_credential", RadiusCredential),
        description="Give an account's data service a RADIUS login.")
    update_radius_credential = command(
        _update_credential, input_type=s.UpdateRadiusCredentialInput, permission=WRITE,
        payload=payload_type("UpdateRadiusCredential", "radius_credential", RadiusCredential),
        description="Change a login; live sessions get a CoA when the answer changes.")
    remove_radius_credential = command(
        _remove_credential, input_type=IdInput, permission=WRITE,
        payload=payload_type("RemoveRadiusCredential", "radius_credential", RadiusCredential),
        description="Stop answering a login; live sessions are disconnected.")
    update_network_settings = command(
        _update_settings, input_type=s.UpdateNetworkSettingsInput, permission=CONFIGURE,
        payload=UpdateNetworkSettingsPayload,
        description="Change a company's network settings.")
