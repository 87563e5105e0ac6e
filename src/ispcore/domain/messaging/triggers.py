"""Triggered messages: on an account's event (an invoice issued, a payment, a usage threshold,
…) each active trigger of the company for that event type renders its template for the chosen
contacts and queues it. ``handle_events`` is the event handler (registered by the workers);
``send_due_reminders`` is the daily job behind ``invoice.due_soon`` triggers."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ispcore.domain.billing.catalogue import Kind
from ispcore.domain.billing.documents_render import PDF_MEDIA_TYPE
from ispcore.domain.billing.invoices import InvoiceStatus
from ispcore.domain.billing.models import Invoice
from ispcore.domain.common.errors import ErrorCode, Validator
from ispcore.domain.common.records import check_owned, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company
from ispcore.domain.events.models import Event
from ispcore.domain.messaging import templates
from ispcore.domain.messaging.content_models import (
    MessageCategory,
    MessageTemplate,
    MessageTrigger,
    Recipients,
)
from ispcore.domain.messaging.models import Channel
from ispcore.domain.messaging.outbox import Attachment
from ispcore.domain.messaging.per_contact import Occasion, Send, send_to_accounts
from ispcore.domain.messaging.templates import Content
from ispcore.domain.messaging.variables import (
    EventType,
    event_account_id,
    events_values,
    invoice_values,
)

log = logging.getLogger(__name__)

HANDLER = "messaging.triggers"
#: The recorded events triggers listen to (``invoice.due_soon`` is fired by a job).
HANDLED_EVENTS = {e.value for e in EventType if e is not EventType.INVOICE_DUE_SOON}
MAX_DAYS_BEFORE = 90
FIELDS = ("event_type", "template_id", "recipients", "channel", "category_id", "days_before",
          "active")


# --- configuration -----------------------------------------------------------------------------

async def _clean(uow: UnitOfWork, company: Any, values: dict[str, Any],
                 row: MessageTrigger | None) -> dict[str, Any]:
    v = Validator()
    company_id = company.id
    merged = {k: values[k] if k in values else getattr(row, k, None) for k in FIELDS}
    await check_owned(uow, v, values, "template_id", MessageTemplate, what="message template",
                      company_id=company_id)
    await check_owned(uow, v, values, "category_id", MessageCategory, what="message category",
                      company_id=company_id)
    due_soon = merged["event_type"] == EventType.INVOICE_DUE_SOON
    days = merged["days_before"]
    if due_soon and (days is None or not 0 <= days <= MAX_DAYS_BEFORE):
        v.add("days_before", f"0 to {MAX_DAYS_BEFORE} days before the due date.",
              ErrorCode.REQUIRED if days is None else ErrorCode.INVALID)
    elif not due_soon and days is not None:
        v.add("days_before", "Only invoice.due_soon triggers fire days before a date.")
    if not v.errors:
        template = await uow.session.get_one(MessageTemplate, merged["template_id"])
        content = {k: getattr(template, k) for k in ("subject", "body_text", "body_html")}
        check = Validator()
        templates.check_content(check, content, merged["event_type"],
                                sms=merged["channel"] == Channel.SMS)
        if check.errors:
            v.add("template_id", f"The template does not suit {merged['event_type']} "
                  f"by {merged['channel']}: " + "; ".join(e.message for e in check.errors))
    v.raise_if_any()
    return values


#: Created, changed and deleted by the catalogue's rules (events, audit).
TRIGGER = Kind(MessageTrigger, "message trigger", "message_trigger", _clean, named=False)


# --- firing ------------------------------------------------------------------------------------

async def _fire(uow: UnitOfWork, company: Any, trigger: MessageTrigger,
                occasions: list[Occasion]) -> int:
    template = await uow.session.get_one(MessageTemplate, trigger.template_id)
    category = (await uow.session.get(MessageCategory, trigger.category_id)
                if trigger.category_id else None)
    send = Send(content=Content(template.subject, template.body_text, template.body_html),
                channel=Channel(trigger.channel), recipients=Recipients(trigger.recipients),
                category=category, origin="trigger")
    tally = await send_to_accounts(uow, company, send, occasions)
    return tally.queued


def _invoice_pdf(values: dict[str, Any], invoice_id: int) -> tuple[Attachment, ...]:
    return (Attachment(filename=f"invoice-{values['invoice.number']}.pdf",
                       content_type=PDF_MEDIA_TYPE, invoice_id=invoice_id),)


async def handle_events(uow: UnitOfWork, events: list[Event]) -> None:
    """Queue the messages of every active trigger for a batch of events: one query for the
    batch's triggers, one per kind of record the events name, and a fixed number per
    trigger (idempotent: the origin key is ``trigger:{trigger_id}:{event_id}:{contact_id}``)."""
    account_of = {e.id: account_id for e in events
                  if e.company_id is not None and (account_id := event_account_id(e))}
    events = [e for e in events if e.id in account_of]
    if not events:
        return
    triggers = list(await uow.session.scalars(select(MessageTrigger).where(
        MessageTrigger.company_id.in_({e.company_id for e in events}),
        MessageTrigger.event_type.in_({e.type for e in events}), MessageTrigger.active)
        .order_by(MessageTrigger.id)))
    wanted = {(t.company_id, t.event_type) for t in triggers}
    events = [e for e in events if (e.company_id, e.type) in wanted]
    if not events:
        return
    companies = {c.id: c for c in await uow.session.scalars(
        select(Company).where(Company.id.in_({e.company_id for e in events})))}
    values: dict[int, dict[str, Any]] = {}
    for company in companies.values():
        values.update(await events_values(
            uow, company, [e for e in events if e.company_id == company.id]))
    for trigger in triggers:
        occasions = [
            Occasion(account_of[e.id], f"trigger:{trigger.id}:{e.id}", values[e.id],
                     _invoice_pdf(values[e.id], e.entity_id)
                     if e.type == EventType.INVOICE_ISSUED and e.entity_id else ())
            for e in events
            if (e.company_id, e.type) == (trigger.company_id, trigger.event_type)]
        if occasions:
            await _fire(uow, companies[trigger.company_id], trigger, occasions)


async def send_due_reminders(uow: UnitOfWork) -> int:
    """For each active ``invoice.due_soon`` trigger, remind the accounts of open invoices due
    within its ``days_before`` from today (company time). Run daily or more often: each
    (trigger, invoice, contact) is queued once, and a missed day is caught up."""
    queued = 0
    triggers = list(await uow.session.scalars(select(MessageTrigger).where(
        MessageTrigger.event_type == EventType.INVOICE_DUE_SOON, MessageTrigger.active)
        .order_by(MessageTrigger.id)))
    for trigger in triggers:
        company = await uow.session.get_one(Company, trigger.company_id)
        today = today_in(uow, company)
        invoices = await uow.session.scalars(select(Invoice).where(
            Invoice.company_id == company.id, Invoice.status == InvoiceStatus.ISSUED,
            Invoice.paid_minor < Invoice.total_minor, Invoice.due_on >= today,
            Invoice.due_on <= today + timedelta(days=trigger.days_before or 0))
            .order_by(Invoice.id))
        queued += await _fire(uow, company, trigger, [
            Occasion(invoice.account_id, f"trigger:{trigger.id}:invoice-{invoice.id}",
                     await invoice_values(uow, company, invoice))
            for invoice in invoices])
    return queued
