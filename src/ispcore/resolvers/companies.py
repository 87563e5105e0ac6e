from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies import service
from ispcore.domain.companies.models import Company as CompanyModel
from ispcore.resolvers.connections import fetch_node, list_nodes
from ispcore.resolvers.mutations import input_values, mutate
from ispcore.schema.companies import (
    COMPANY_LISTING,
    Company,
    CompanyFilter,
    CompanyOrder,
    CreateCompanyInput,
    CreateCompanyPayload,
    DeleteCompanyInput,
    DeleteCompanyPayload,
    UpdateCompanyInput,
    UpdateCompanyPayload,
)
from ispcore.schema.nodes import Connection, decode_id, global_id
from ispcore.schema.permissions import requires


@strawberry.type
class CompanyQuery:
    @strawberry.field(extensions=requires("companies:read"))
    async def companies(self, info: Info, first: int | None = None, after: str | None = None,
                        filter: CompanyFilter | None = None,
                        order_by: list[CompanyOrder] | None = None) -> Connection[Company]:
        return await list_nodes(info, Company, COMPANY_LISTING, first=first, after=after,
                                filter=filter, order_by=order_by,
                                search=(CompanyModel.name, CompanyModel.contact_email))

    @strawberry.field(extensions=requires("companies:read"))
    async def company(self, info: Info, id: relay.GlobalID) -> Company | None:
        return await fetch_node(info, Company, id)


@strawberry.type
class CompanyMutation:
    @strawberry.mutation(extensions=requires("companies:write"))
    async def create_company(self, info: Info, input: CreateCompanyInput) -> CreateCompanyPayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            return {"company": await service.create_company(uow, input_values(input))}

        return await mutate(info, CreateCompanyPayload, work, input=input,
                            idempotency_key=input.idempotency_key)

    @strawberry.mutation(extensions=requires("companies:write"))
    async def update_company(self, info: Info, input: UpdateCompanyInput) -> UpdateCompanyPayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            company_id = decode_id(input.id, Company, "id")
            changes = input_values(input, exclude=("id",))
            return {"company": await service.update_company(uow, company_id, changes)}

        return await mutate(info, UpdateCompanyPayload, work)

    @strawberry.mutation(extensions=requires("companies:write"))
    async def delete_company(self, info: Info, input: DeleteCompanyInput) -> DeleteCompanyPayload:
        async def work(uow: UnitOfWork) -> dict[str, Any]:
            company = await service.delete_company(uow, decode_id(input.id, Company, "id"))
            return {"deleted_id": global_id(company)}

        return await mutate(info, DeleteCompanyPayload, work)
