"""Root fields of the Preseem connection."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage import preseem
from ispcore.resolvers.commands import command, values_of
from ispcore.resolvers.usage_ingest import visible_companies
from ispcore.schema.companies import Company
from ispcore.schema.permissions import requires
from ispcore.schema.preseem import (
    PreseemSettings,
    UpdatePreseemSettingsInput,
    UpdatePreseemSettingsPayload,
)

READ, CONFIGURE = "usage:read", "usage:configure"


async def _update(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, {"company_id": Company})
    row = await preseem.update_preseem_settings(uow, values.pop("company_id"), values)
    return {"preseem_settings": PreseemSettings.from_row(row)}


@strawberry.type
class PreseemQuery:
    @strawberry.field(extensions=requires(READ), description="A company's Preseem connection; "
                      "null if it has none.")
    async def preseem_settings(self, info: Info, company_id: relay.GlobalID
                               ) -> PreseemSettings | None:
        async with info.context.unit_of_work("preseemSettings") as uow:
            try:
                [company] = await visible_companies(uow, company_id)
            except DomainError:  # not a company id, or not one the caller may see
                return None
            row = await preseem.preseem_settings(uow, company)
            return PreseemSettings.from_row(row) if row is not None else None


@strawberry.type
class PreseemMutation:
    update_preseem_settings = command(
        _update, input_type=UpdatePreseemSettingsInput, permission=CONFIGURE,
        payload=UpdatePreseemSettingsPayload,
        description="Connect a company to Preseem, or change the connection.")
