"""PDF downloads: ``GET /invoices/{id}.pdf`` and ``GET /document-batches/{id}.pdf``.

Same bearer tokens as ``/graphql`` and the ``billing:read`` permission. Rows are looked up
through the node type's ``readable(actor)``, like ``node(id:)``: what the API would not show
is 404 here too. ``?companyId=`` narrows to one company (another company's invoice: 404).
Ids are global ids (a plain number is taken as the primary key).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response
from strawberry import relay

from ispcore.domain.billing import document_batches
from ispcore.domain.billing.documents import render_invoices
from ispcore.domain.billing.documents_render import PDF_MEDIA_TYPE
from ispcore.domain.companies.models import Company
from ispcore.domain.identity.actor import Actor
from ispcore.runtime import Runtime
from ispcore.schema.billing import Invoice
from ispcore.schema.documents import DocumentBatch
from ispcore.schema.nodes import ModelNode
from ispcore.web.auth import request_actor

READ = "billing:read"

router = APIRouter()
COMPANY = Query(None, alias="companyId")


def global_pk(raw: str, node_type: type[ModelNode]) -> int:
    """The primary key of a global id (or a plain number) of ``node_type``; else 404."""
    if raw.isdigit():
        return int(raw)
    try:
        gid = relay.GlobalID.from_id(raw)
        if gid.type_name == node_type.__name__ and gid.node_id.isdigit():
            return int(gid.node_id)
    except Exception:
        pass
    raise HTTPException(404, "Not found.")


async def _readable(request: Request, actor: Actor, node_type: type[ModelNode], raw: str,
                    company: str | None) -> Any:
    """The row, if the actor may read it (and it is of ``company`` when one is named)."""
    if not actor.can(READ):
        raise HTTPException(403, f"Missing permission {READ}.")
    pk = global_pk(raw, node_type)
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.session() as session:
        row = await session.scalar(node_type.readable(actor).where(node_type.model.id == pk))
    if row is None or (company is not None and row.company_id != _company_pk(company)):
        raise HTTPException(404, "Not found.")
    return row


def _company_pk(raw: str) -> int | None:
    from ispcore.schema.companies import Company as CompanyNode

    try:
        return global_pk(raw, CompanyNode)
    except HTTPException:
        return None


def _pdf(content: bytes, name: str) -> Response:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "document"
    return Response(content, media_type=PDF_MEDIA_TYPE, headers={
        "Content-Disposition": f'inline; filename="{safe}.pdf"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


# Global ids are base64 and may hold "/": the path convertor takes them whole.
@router.get("/invoices/{id:path}.pdf", include_in_schema=False)
async def invoice_pdf(request: Request, id: str, company_id: str | None = COMPANY,
                      actor: Actor = Depends(request_actor)) -> Response:
    invoice = await _readable(request, actor, Invoice, id, company_id)
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.session() as session:
        company = await session.get_one(Company, invoice.company_id)
        content, _pages = await render_invoices(session, company, [invoice])
    label = invoice.number or f"draft-{invoice.id}"
    return _pdf(content, f"invoice-{label}")


@router.get("/document-batches/{id:path}.pdf", include_in_schema=False)
async def batch_pdf(request: Request, id: str, company_id: str | None = COMPANY,
                    actor: Actor = Depends(request_actor)) -> Response:
    batch = await _readable(request, actor, DocumentBatch, id, company_id)
    runtime: Runtime = request.app.state.runtime
    async with runtime.db.session() as session:
        found = await document_batches.batch_file(session, batch.id)
    if found is None:
        raise HTTPException(404, "The batch has no PDF (not a finished print batch).")
    return _pdf(found.content, f"invoices-batch-{batch.id}")
