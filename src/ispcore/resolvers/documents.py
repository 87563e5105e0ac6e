"""Root fields for invoice documents: the invoice template, print and email batches."""

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.billing import document_batches, documents
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.resolvers.billing import listing
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import fetch_node
from ispcore.schema import documents as s
from ispcore.schema.billing import Invoice
from ispcore.schema.companies import Company
from ispcore.schema.documents import DocumentBatch, InvoiceTemplate
from ispcore.schema.permissions import requires

READ = "billing:read"
CONFIGURE = "billing:configure"
RUN = "billing:run"


async def _update_template(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, update=True, nullable=("logo", "footer"))
    company_id = pk(values.pop("company_id"), Company, "company_id")
    row = await documents.update_template(uow, company_id, values)
    return {"invoice_template": InvoiceTemplate.from_row(row)}


async def _reset_template(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row = await documents.reset_template(uow, pk(data.company_id, Company, "company_id"))
    return {"invoice_template": InvoiceTemplate.from_row(row)}


def _batch(kind: document_batches.BatchKind) -> Any:
    async def create(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        values = values_of(data, {"invoice_ids": Invoice})
        company_id = pk(values.pop("company_id"), Company, "company_id")
        return {"document_batch": await document_batches.request_batch(uow, kind, company_id,
                                                                       values)}

    return create


_batch_payload = payload_type("CreateDocumentBatch", "document_batch", DocumentBatch)


@strawberry.type
class DocumentQuery:
    @strawberry.field(extensions=requires(READ), description="A company's invoice template.")
    async def invoice_template(self, info: Info, company_id: relay.GlobalID
                               ) -> InvoiceTemplate | None:
        company = await fetch_node(info, Company, company_id)
        if company is None:
            return None
        async with info.context.unit_of_work("invoiceTemplate") as uow:
            return InvoiceTemplate.from_row(await documents.company_template(uow, company.pk))

    @strawberry.field(extensions=requires(READ))
    async def document_batch(self, info: Info, id: relay.GlobalID) -> DocumentBatch | None:
        return await fetch_node(info, DocumentBatch, id)

    document_batches = listing(DocumentBatch, s.DOCUMENT_BATCH_LISTING, (),
                               "Print and email batches.")


@strawberry.type
class DocumentMutation:
    update_invoice_template = command(
        _update_template, input_type=s.UpdateInvoiceTemplateInput, permission=CONFIGURE,
        payload=payload_type("UpdateInvoiceTemplate", "invoice_template", InvoiceTemplate),
        description="Change how a company's invoices look; a template that does not render "
        "a sample invoice is refused.")
    reset_invoice_template = command(
        _reset_template, input_type=s.ResetInvoiceTemplateInput, permission=CONFIGURE,
        payload=payload_type("ResetInvoiceTemplate", "invoice_template", InvoiceTemplate),
        description="Go back to the built-in invoice HTML (logo, footer and slip stay).")
    create_invoice_print_batch = command(
        _batch(document_batches.BatchKind.PRINT), input_type=s.CreateInvoiceBatchInput,
        permission=RUN, payload=_batch_payload,
        description="Queue one PDF of many invoices, for printing and mailing.")
    create_invoice_email_batch = command(
        _batch(document_batches.BatchKind.EMAIL), input_type=s.CreateInvoiceBatchInput,
        permission=RUN, payload=_batch_payload,
        description="Queue invoices for email: each one's recipients are worked out.")
