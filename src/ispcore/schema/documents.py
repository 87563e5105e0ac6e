"""Invoice document types: the company's invoice template and batches of printed or emailed
invoices."""

from __future__ import annotations

import base64
from datetime import date, datetime

import strawberry
from strawberry import UNSET, relay

from ispcore.domain.billing import document_batches as d
from ispcore.domain.billing import documents_models as m
from ispcore.domain.billing.documents_render import default_template
from ispcore.schema.billing import Invoice
from ispcore.schema.companies import Company
from ispcore.schema.filtering import DateTimeFilter, IdOf, StringFilter, listing_inputs
from ispcore.schema.identity import User
from ispcore.schema.nodes import ModelNode, encode_global_id, model_node
from ispcore.schema.relations import Many, One, relation

READ = "billing:read"

DocumentBatchKind = strawberry.enum(d.BatchKind, description="PRINT: one PDF of the "
                                    "invoices; EMAIL: each invoice's recipients worked out "
                                    "for sending.")
DocumentBatchStatus = strawberry.enum(d.BatchStatus)
DocumentBatchItemStatus = strawberry.enum(d.ItemStatus, description=(
    "PENDING until the batch runs; PRINTED; QUEUED for sending; SKIPPED (see reason)."))


@strawberry.type(description="How a company's invoices look. The HTML is a Jinja2 template "
                 "(sandboxed, autoescaped); the built-in one documents the names it may use.")
class InvoiceTemplate:
    html: str = strawberry.field(description="The template in use (the built-in one unless "
                                 "changed).")
    is_default: bool = strawberry.field(description="The built-in HTML is in use.")
    logo_media_type: str | None = strawberry.field(description="image/png, image/jpeg or "
                                                   "image/svg+xml; null: no logo.")
    logo: str | None = strawberry.field(description="The logo, base64.")
    remittance_slip: bool = strawberry.field(description="Invoices end with a tear-off slip "
                                             "to return with a payment.")
    footer: str
    updated_at: datetime

    @classmethod
    def from_row(cls, row: m.InvoiceTemplate) -> InvoiceTemplate:
        return cls(html=row.html or default_template(), is_default=row.html is None,
                   logo_media_type=row.logo_media_type,
                   logo=base64.b64encode(row.logo).decode("ascii") if row.logo else None,
                   remittance_slip=row.remittance_slip, footer=row.footer,
                   updated_at=row.updated_at)


@strawberry.type(description="An invoice in a document batch.")
@model_node(m.DocumentBatchItem, read_permission=READ)
class DocumentBatchItem(ModelNode):
    position: int
    status: DocumentBatchItemStatus
    recipient: str | None = strawberry.field(description="EMAIL: the addresses it goes to, "
                                             "comma-separated.")
    subject: str | None
    reason: str | None = strawberry.field(description="Why it was skipped.")
    company_id: strawberry.Private[int]
    document_batch_id: strawberry.Private[int]
    invoice_id: strawberry.Private[int]

    invoice: Invoice | None = relation(One("Invoice", "invoice_id"))
    batch: DocumentBatch | None = relation(One("DocumentBatch", "document_batch_id"))


@strawberry.type(description="Invoices printed into one PDF, or prepared for email.")
@model_node(m.DocumentBatch, read_permission=READ)
class DocumentBatch(ModelNode):
    kind: DocumentBatchKind
    status: DocumentBatchStatus
    issued_on: date | None = strawberry.field(description="The issue day that chose the "
                                              "invoices (null: they were named).")
    only_paper_accounts: bool
    invoice_count: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    company_id: strawberry.Private[int]
    requested_by_user_id: strawberry.Private[int | None]

    @strawberry.field(description="Where a finished PRINT batch's PDF is downloaded (GET, "
                      "same bearer token as the API).")
    def pdf_url(self) -> str | None:
        if self.kind != d.BatchKind.PRINT or self.status != d.BatchStatus.DONE:
            return None
        return f"/document-batches/{encode_global_id('DocumentBatch', self.pk)}.pdf"

    company: Company | None = relation(One("Company", "company_id"))
    requested_by: User | None = relation(One("User", "requested_by_user_id"))
    items: list[DocumentBatchItem] | None = relation(Many("DocumentBatchItem",
                                                          "document_batch_id",
                                                          order_by=("position",)))


DOCUMENT_BATCH_LISTING = listing_inputs(
    "DocumentBatch", {"id": IdOf("DocumentBatch"), "company_id": IdOf("Company"),
                      "kind": StringFilter, "status": StringFilter,
                      "created_at": DateTimeFilter}, order_by=["created_at"])


@strawberry.input(description="Omitted fields stay.")
class UpdateInvoiceTemplateInput:
    company_id: relay.GlobalID
    html: str | None = strawberry.field(default=UNSET, description="A Jinja2 template; it "
                                        "must render a sample invoice to be saved.")
    logo: str | None = strawberry.field(default=UNSET, description="PNG, JPEG or SVG, base64 "
                                        "(at most 512 KB); null removes the logo.")
    remittance_slip: bool | None = UNSET
    footer: str | None = UNSET


@strawberry.input
class ResetInvoiceTemplateInput:
    company_id: relay.GlobalID


@strawberry.input(description="The invoices named, or else those issued on a day.")
class CreateInvoiceBatchInput:
    company_id: relay.GlobalID
    invoice_ids: list[relay.GlobalID] | None = None
    issued_on: date | None = strawberry.field(default=None, description="Today in the "
                                              "company if omitted (and no invoices named).")
    only_paper_accounts: bool = strawberry.field(default=False, description="Only accounts "
                                                 "that get paper invoices (or have no email "
                                                 "address for them).")
