"""Batches of invoice documents: PRINT renders the invoices into one PDF; EMAIL works out who
each invoice goes to and queues one email per address in the message outbox, with the
invoice's PDF attached (the messaging job sends them). A batch is requested, then
carried out by a job that is safe to run again: a finished batch is left alone, and a batch
a dead worker left RUNNING is simply done again."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select, update

from ispcore.db import among, bulk_insert, bulk_update
from ispcore.domain.accounts.models import Contact, ContactEmail
from ispcore.domain.billing.documents import render_invoices
from ispcore.domain.billing.documents_models import (
    DocumentBatch,
    DocumentBatchFile,
    DocumentBatchItem,
)
from ispcore.domain.billing.documents_render import PDF_MEDIA_TYPE, format_money
from ispcore.domain.billing.invoices import InvoiceStatus
from ispcore.domain.billing.models import AccountBilling, Invoice
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.messaging.models import Channel
from ispcore.domain.messaging.outbox import Attachment, queue_message

log = logging.getLogger(__name__)

BATCH_JOB = "billing.document_batch"
MAX_INVOICES = 5000


class BatchKind(StrEnum):
    PRINT = "PRINT"
    EMAIL = "EMAIL"


class BatchStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class ItemStatus(StrEnum):
    """PENDING until the job runs; then PRINTED, or QUEUED (for sending) or SKIPPED."""

    PENDING = "PENDING"
    PRINTED = "PRINTED"
    QUEUED = "QUEUED"
    SKIPPED = "SKIPPED"


async def invoice_recipients(session: Any, account_ids: list[int]) -> dict[int, list[str]]:
    """Where each account's invoices are emailed: the first address of each financial
    contact, else the primary contact's. Accounts with none are absent."""
    rows = await session.execute(
        select(Contact.account_id, Contact.id, Contact.is_financial, ContactEmail.email)
        .join(ContactEmail, ContactEmail.contact_id == Contact.id)
        .where(among(session, Contact.account_id, account_ids),
               Contact.is_financial | Contact.is_primary)
        .order_by(Contact.account_id, Contact.id, ContactEmail.position))
    financial: dict[int, list[str]] = defaultdict(list)
    primary: dict[int, list[str]] = {}
    taken: set[int] = set()
    for account_id, contact_id, is_financial, email in rows:
        if contact_id in taken:
            continue
        taken.add(contact_id)
        if not is_financial:
            primary[account_id] = [email]
        elif email not in financial[account_id]:
            financial[account_id].append(email)
    return primary | dict(financial)


async def _chosen(uow: UnitOfWork, company_id: int, values: dict[str, Any]) -> list[Invoice]:
    ids = values.get("invoice_ids")
    if ids:
        invoices = [await load(uow, Invoice, pk, field="invoice_ids", what="invoice",
                               company_id=company_id) for pk in dict.fromkeys(ids)]
    else:
        invoices = list(await uow.session.scalars(
            select(Invoice).where(Invoice.company_id == company_id,
                                  Invoice.status == InvoiceStatus.ISSUED,
                                  Invoice.issued_on == values["issued_on"])
            .order_by(Invoice.number, Invoice.id)))
    if values.get("only_paper_accounts") and invoices:
        paper = await paper_accounts(uow.session, sorted({i.account_id for i in invoices}))
        invoices = [i for i in invoices if i.account_id in paper]
    return invoices


async def paper_accounts(session: Any, account_ids: list[int]) -> set[int]:
    """The accounts whose invoices go by post: those that asked for paper invoices, and
    those with no email address for invoices."""
    emailed = await invoice_recipients(session, account_ids)
    paper = {pk for pk in account_ids if pk not in emailed}
    flag = getattr(AccountBilling, "paper_invoices", None)  # the collections area's setting
    if flag is not None:
        paper |= set(await session.scalars(select(AccountBilling.account_id).where(
            among(session, AccountBilling.account_id, account_ids), flag.is_(True))))
    return paper


async def request_batch(uow: UnitOfWork, kind: BatchKind, company_id: int,
                        values: dict[str, Any]) -> DocumentBatch:
    """Record a batch of the invoices named (``invoice_ids``), or else of those issued on
    ``issued_on`` (today in the company by default); ``only_paper_accounts`` leaves out
    accounts with an email address for invoices. Its job starts once this commits."""
    company = await company_of(uow, company_id, "company_id")
    if not values.get("invoice_ids"):
        values["issued_on"] = values.get("issued_on") or today_in(uow, company)
    else:
        values["issued_on"] = None
    invoices = await _chosen(uow, company.id, values)
    field = "invoice_ids" if values.get("invoice_ids") else "issued_on"
    if not invoices:
        raise DomainError("No invoices match.", field=field, code=ErrorCode.NOT_FOUND)
    if len(invoices) > MAX_INVOICES:
        raise DomainError(f"At most {MAX_INVOICES} invoices in a batch; "
                          f"{len(invoices)} match.", field=field)
    batch = DocumentBatch(company_id=company.id, kind=kind, status=BatchStatus.QUEUED,
                          issued_on=values["issued_on"],
                          only_paper_accounts=bool(values.get("only_paper_accounts")),
                          invoice_count=len(invoices), requested_by_user_id=uow.actor.user_id,
                          created_at=uow.clock.now())
    uow.session.add(batch)
    await uow.session.flush()
    await bulk_insert(uow.session, DocumentBatchItem, [
        {"company_id": company.id, "document_batch_id": batch.id, "invoice_id": i.id,
         "position": n, "status": ItemStatus.PENDING, "recipient": None, "subject": None,
         "reason": None} for n, i in enumerate(invoices, start=1)])
    record_event(uow, "document_batch.requested", company_id=company.id, entity=batch,
                 payload={"kind": kind.value, "invoice_count": len(invoices)})
    uow.enqueue(BATCH_JOB, job_id=f"{BATCH_JOB}:{batch.id}", batch_id=batch.id)
    return batch


async def _items(uow: UnitOfWork, batch: DocumentBatch) -> list[tuple[int, Invoice]]:
    rows = await uow.session.execute(
        select(DocumentBatchItem.id, Invoice).join(
            Invoice, Invoice.id == DocumentBatchItem.invoice_id)
        .where(DocumentBatchItem.document_batch_id == batch.id)
        .order_by(DocumentBatchItem.position))
    return [(item_id, invoice) for item_id, invoice in rows]


async def _print(uow: UnitOfWork, batch: DocumentBatch, company: Any) -> None:
    items = await _items(uow, batch)
    content, pages = await render_invoices(uow.session, company, [i for _pk, i in items])
    uow.session.add(DocumentBatchFile(document_batch_id=batch.id, media_type=PDF_MEDIA_TYPE,
                                      content=content, page_count=pages,
                                      created_at=uow.clock.now()))
    await bulk_update(uow.session, DocumentBatchItem,
                      [{"id": pk, "status": ItemStatus.PRINTED} for pk, _i in items])


async def _email(uow: UnitOfWork, batch: DocumentBatch, company: Any) -> None:
    items = await _items(uow, batch)
    recipients = await invoice_recipients(uow.session,
                                          sorted({i.account_id for _pk, i in items}))
    rows = []
    for pk, invoice in items:
        row = {"id": pk, "status": ItemStatus.SKIPPED, "recipient": None,
               "subject": None, "reason": None}
        emails = recipients.get(invoice.account_id)
        if invoice.status != InvoiceStatus.ISSUED:
            row["reason"] = f"The invoice is {invoice.status.lower()}, not issued."
        elif not emails:
            row["reason"] = "The account has no email address for invoices."
        else:
            row.update(status=ItemStatus.QUEUED, recipient=", ".join(emails)[:1000],
                       subject=f"Invoice {invoice.number} from {company.name}"[:300])
            await _queue_invoice_emails(uow, batch, company, invoice, emails, row["subject"])
        rows.append(row)
    await bulk_update(uow.session, DocumentBatchItem, rows)


async def _queue_invoice_emails(uow: UnitOfWork, batch: DocumentBatch, company: Any,
                                invoice: Invoice, emails: list[str], subject: str) -> None:
    """One email per address; a batch carried out again finds them queued already."""
    total = format_money(invoice.total_minor, invoice.currency)
    body = (f"Invoice {invoice.number} from {company.name} for {total}, due on "
            f"{invoice.due_on.isoformat()}, is attached.\n")
    pdf = Attachment(filename=f"invoice-{invoice.number}.pdf", content_type=PDF_MEDIA_TYPE,
                     invoice_id=invoice.id)
    for email in emails:
        await queue_message(
            uow, company_id=batch.company_id, channel=Channel.EMAIL, recipient=email,
            origin="document_batch", origin_key=f"document_batch:{batch.id}:{invoice.id}:{email}",
            subject=subject, body_text=body, account_id=invoice.account_id,
            attachments=(pdf,))


async def execute(open_uow: Callable[[], UnitOfWork], batch_id: int) -> None:
    """Carry out a batch; a finished one (DONE or FAILED) is left as it is."""
    async with open_uow() as uow:
        batch = await load(uow, DocumentBatch, batch_id, field="batch_id",
                           what="document batch")
        if batch.status in (BatchStatus.DONE, BatchStatus.FAILED):
            return
        batch.status = BatchStatus.RUNNING
        batch.started_at = uow.clock.now()
    try:
        async with open_uow() as uow:
            batch = await uow.session.get_one(DocumentBatch, batch_id,
                                              with_for_update=True)
            if batch.status != BatchStatus.RUNNING:
                return  # another run of the job finished it meanwhile
            await _finish(uow, batch)
    except Exception as exc:
        log.exception("document batch %s failed", batch_id)
        async with open_uow() as uow:
            await uow.session.execute(
                update(DocumentBatch)
                .where(DocumentBatch.id == batch_id, DocumentBatch.status == BatchStatus.RUNNING)
                .values(status=BatchStatus.FAILED, finished_at=uow.clock.now(),
                        error=f"{type(exc).__name__}: {exc}"[:1000]))


async def _finish(uow: UnitOfWork, batch: DocumentBatch) -> None:
    company = await company_of(uow, batch.company_id)
    await (_print if batch.kind == BatchKind.PRINT else _email)(uow, batch, company)
    batch.status = BatchStatus.DONE
    batch.finished_at = uow.clock.now()
    counts = dict((await uow.session.execute(
        select(DocumentBatchItem.status, func.count())
        .where(DocumentBatchItem.document_batch_id == batch.id)
        .group_by(DocumentBatchItem.status))).all())
    record_event(uow, "document_batch.completed", company_id=batch.company_id, entity=batch,
                 payload={"kind": batch.kind, "invoice_count": batch.invoice_count,
                          "items": {k: int(v) for k, v in counts.items()}})


async def batch_file(session: Any, batch_id: int) -> DocumentBatchFile | None:
    return await session.scalar(select(DocumentBatchFile).where(
        DocumentBatchFile.document_batch_id == batch_id))

