"""``GET /network/address-lists.rsc?companyId=…``: the delinquent and suspended address lists
as a RouterOS script a MikroTik router fetches and imports on a schedule (``/tool fetch`` with
an ``Authorization: Bearer`` header, then ``/import``). Needs ``network:read``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse

from ispcore.domain.common.errors import NotFound
from ispcore.domain.common.records import company_of
from ispcore.domain.identity.actor import Actor
from ispcore.domain.network.address_lists import address_lists, routeros_script
from ispcore.runtime import Runtime
from ispcore.schema.companies import Company
from ispcore.web.auth import request_actor
from ispcore.web.documents import global_pk

READ = "network:read"
router = APIRouter()


@router.get("/network/address-lists.rsc", include_in_schema=False)
async def address_lists_script(request: Request, company_id: str = Query(alias="companyId"),
                               actor: Actor = Depends(request_actor)) -> PlainTextResponse:
    if not actor.can(READ):
        raise HTTPException(403, f"Missing permission {READ}.")
    runtime: Runtime = request.app.state.runtime
    async with runtime.unit_of_work(actor) as uow:
        try:
            company = await company_of(uow, global_pk(company_id, Company))
        except NotFound:
            raise HTTPException(404, "Not found.") from None
        lists = await address_lists(uow, company.id)
    return PlainTextResponse(routeros_script(lists), headers={
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
