"""Root fields for a company's network settings."""

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network import settings
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import fetch_node
from ispcore.schema.companies import Company
from ispcore.schema.network_settings import NetworkSettings, UpdateNetworkSettingsInput
from ispcore.schema.permissions import requires


async def _update(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, update=True)
    company_id = pk(values.pop("company_id"), Company, "company_id")
    return {"network_settings": await settings.update_network_settings(uow, company_id,
                                                                       values)}


@strawberry.type
class NetworkSettingsQuery:
    @strawberry.field(extensions=requires("network:read"), description=(
        "A company's network settings (the defaults until changed)."))
    async def network_settings(self, info: Info, company_id: relay.GlobalID
                               ) -> NetworkSettings | None:
        company = await fetch_node(info, Company, company_id)
        if company is None:
            return None
        async with info.context.unit_of_work("networkSettings") as uow:
            row = await settings.network_settings(uow, company.pk)
            return NetworkSettings.from_model(row)


@strawberry.type
class NetworkSettingsMutation:
    update_network_settings = command(
        _update, input_type=UpdateNetworkSettingsInput, permission="network:configure",
        payload=payload_type("UpdateNetworkSettings", "network_settings", NetworkSettings),
        description="Change how a company's network treats its accounts' addresses.")
