"""Helpers for the messaging content tests: a billing company whose accounts have contacts
with email addresses and mobile numbers, templates and triggers made through the API, and the
outbox read back from the database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from ispcore.domain.messaging.models import MessageAttachment, OutboundMessage
from ispcore.domain.messaging.outbox import SEND_JOB
from ispcore.workers import registry
from tests.accounts.factories import _mutation
from tests.billing.factories import MUTATIONS, Billing, customer, ok

ERRORS = "errors { field code message }"
TEMPLATE_FIELDS = "id name eventType subject bodyText bodyHtml"
TRIGGER_FIELDS = """id eventType recipients channel daysBefore active template { id name }
  category { id name }"""
MASS_FIELDS = """id status total processed queued skipped channel subject filter
  category { id } savedMessage { id }"""
PREFERENCES = "id notificationPreferences { emailOptOut smsOptOut optedOutCategories { id } }"
MUTATIONS.update({
    "createMessageCategory": _mutation("createMessageCategory", "CreateMessageCategoryInput",
                                       "messageCategory", "id name customersCanOptOut"),
    "updateMessageCategory": _mutation("updateMessageCategory", "UpdateMessageCategoryInput",
                                       "messageCategory", "id name customersCanOptOut"),
    "deleteMessageCategory": _mutation("deleteMessageCategory", "IdInput", "deletedId", ""),
    "createMessageTemplate": _mutation("createMessageTemplate", "CreateMessageTemplateInput",
                                       "messageTemplate", TEMPLATE_FIELDS),
    "updateMessageTemplate": _mutation("updateMessageTemplate", "UpdateMessageTemplateInput",
                                       "messageTemplate", TEMPLATE_FIELDS),
    "deleteMessageTemplate": _mutation("deleteMessageTemplate", "IdInput", "deletedId", ""),
    "createMessageTrigger": _mutation("createMessageTrigger", "CreateMessageTriggerInput",
                                      "messageTrigger", TRIGGER_FIELDS),
    "updateMessageTrigger": _mutation("updateMessageTrigger", "UpdateMessageTriggerInput",
                                      "messageTrigger", TRIGGER_FIELDS),
    "deleteMessageTrigger": _mutation("deleteMessageTrigger", "IdInput", "deletedId", ""),
    "createSavedMessage": _mutation("createSavedMessage", "CreateSavedMessageInput",
                                    "savedMessage", "id name channel subject bodyText "
                                    "category { id }"),
    "updateSavedMessage": _mutation("updateSavedMessage", "UpdateSavedMessageInput",
                                    "savedMessage", "id name channel subject bodyText"),
    "deleteSavedMessage": _mutation("deleteSavedMessage", "IdInput", "deletedId", ""),
    "createMassMessage": _mutation("createMassMessage", "CreateMassMessageInput",
                                   "massMessage", MASS_FIELDS),
    "cancelMassMessage": _mutation("cancelMassMessage", "IdInput", "massMessage", MASS_FIELDS),
    "updateContactNotificationPreferences": _mutation(
        "updateContactNotificationPreferences", "UpdateContactNotificationPreferencesInput",
        "contact", PREFERENCES),
})

INVOICE_TEMPLATE = {
    "name": "Invoice issued", "eventType": "INVOICE_ISSUED",
    "subject": "Invoice {{ invoice.number }} for {{ account.name }}",
    "bodyText": "Hello {{ contact.name }}, invoice {{ invoice.number }} of {{ invoice.total }} "
                "is due on {{ invoice.due_date }}."
                "{% if account.balance.value > 100 %} Your balance is high.{% endif %}",
    "bodyHtml": "<p>Hello {{ contact.name }}, you owe {{ account.balance }}.</p>",
}


@pytest.fixture
def send_job() -> Any:
    """The outbox's send job belongs to the sending side; where it is not registered, a
    stand-in that sends nothing, so queueing a message enqueues a known job."""
    if SEND_JOB in registry.JOBS:
        yield
        return

    @registry.job(SEND_JOB)
    async def send_nothing(runtime: Any, **kwargs: Any) -> None:
        return None

    yield
    registry.JOBS.pop(SEND_JOB, None)


@dataclass
class Customer:
    account: str
    primary: str     # contact: jane@example.com, mobile +13125550101
    financial: str   # contact: billing@example.com


async def customer_with_contacts(api: Any, billing: Billing, name: str = "Jane Doe",
                                 **fields: Any) -> Customer:
    slug = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".")
    account = await customer(api, billing, name=name, primaryContact={
        "name": name, "emails": [f"{slug}@example.com", f"{slug}.2@example.com"],
        "phoneNumbers": [{"number": "+13125550100", "phoneNumberTypeId": billing.setup.home},
                         {"number": "+13125550101",
                          "phoneNumberTypeId": billing.setup.mobile}]}, **fields)
    view = await api.data("query($id: ID!) { account(id: $id) { contacts { id } } }",
                          {"id": account}, billing.token)
    [primary] = view["account"]["contacts"]
    financial = await ok(api, billing.token, "createContact", {
        "accountId": account, "name": f"{name} (billing)", "isFinancial": True,
        "emails": [f"billing.{slug}@example.com"]})
    return Customer(account, primary["id"], financial["id"])


async def invoice_trigger(api: Any, token: str, company: str, **trigger: Any
                          ) -> dict[str, Any]:
    """A template for issued invoices and an EMAIL trigger to the financial contacts (what
    the end-to-end SMTP test needs)."""
    template = await ok(api, token, "createMessageTemplate",
                        {"companyId": company, **INVOICE_TEMPLATE})
    return await ok(api, token, "createMessageTrigger", {
        "companyId": company, "eventType": "INVOICE_ISSUED", "templateId": template["id"],
        "recipients": "FINANCIAL", "channel": "EMAIL", **trigger})


async def outbox(runtime: Any) -> list[OutboundMessage]:
    async with runtime.db.session() as session:
        return list(await session.scalars(select(OutboundMessage).order_by(
            OutboundMessage.id)))


async def attachments(runtime: Any) -> list[MessageAttachment]:
    async with runtime.db.session() as session:
        return list(await session.scalars(select(MessageAttachment).order_by(
            MessageAttachment.id)))
