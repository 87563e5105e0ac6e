"""Messaging content types: message categories, templates and the triggers that send them,
saved messages, mass messages with their progress, and contacts' notification preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import UNSET, relay
from strawberry.scalars import JSON
from strawberry.types import Info

from ispcore.domain.messaging import content_models as m
from ispcore.domain.messaging.models import Channel as DomainChannel
from ispcore.domain.messaging.variables import EventType, VariableType
from ispcore.schema.accounts import ACCOUNT_LISTING
from ispcore.schema.companies import Company
from ispcore.schema.filtering import (
    BooleanFilter,
    DateTimeFilter,
    IdOf,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.messaging_transport import MessageChannel
from ispcore.schema.nodes import ModelNode, model_node, related
from ispcore.schema.relations import One, relation

READ = "messaging:read"

MessageEventType = strawberry.enum(
    EventType, name="MessageEventType", description="What a trigger fires on: the events "
    "ispcore records, and INVOICE_DUE_SOON (daysBefore an open invoice's due date).")
MessageRecipients = strawberry.enum(
    m.Recipients, name="MessageRecipients", description="An account's contacts a message "
    "goes to: FINANCIAL (the primary contact when none is marked financial), PRIMARY or "
    "ALL. Each at their first email address, or first phone number that takes SMS.")
MassMessageStatus = strawberry.enum(m.MassMessageStatus, name="MassMessageStatus")
MessageVariableType = strawberry.enum(VariableType, name="MessageVariableType",
                                      description="MONEY prints in the company's currency; "
                                      "its .value is the number, for conditions.")


@strawberry.type(description="What a message is about; customers opt out per category, "
                 "except from those they cannot (transactional, e.g. billing), which reach "
                 "them whatever their opt-outs.")
@model_node(m.MessageCategory, read_permission=READ)
class MessageCategory(ModelNode):
    name: str
    description: str
    customers_can_opt_out: bool
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    company: Company | None = relation(One("Company", "company_id"))


@strawberry.type(description="A subject and bodies in Jinja (variables such as "
                 "{{ account.name }}, conditions with {% if %}), checked against the "
                 "variables of its event type when saved.")
@model_node(m.MessageTemplate, read_permission=READ)
class MessageTemplate(ModelNode):
    name: str
    event_type: MessageEventType | None = strawberry.field(
        description="Whose variables it may use (null: the account's only; any trigger may "
        "use it).")
    subject: str
    body_text: str = strawberry.field(description="The plain text body (SMS sends this).")
    body_html: str | None = strawberry.field(description="The HTML body of emails "
                                             "(variables are escaped).")
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    company: Company | None = relation(One("Company", "company_id"))


@strawberry.type(description="On an account's event, render a template for its chosen "
                 "contacts and queue it, honouring their notification preferences.")
@model_node(m.MessageTrigger, read_permission=READ)
class MessageTrigger(ModelNode):
    event_type: MessageEventType
    recipients: MessageRecipients
    channel: MessageChannel
    days_before: int | None = strawberry.field(description="INVOICE_DUE_SOON: days before "
                                               "the due date.")
    active: bool
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    template_id: strawberry.Private[int]
    category_id: strawberry.Private[int | None]

    template: MessageTemplate | None = relation(One("MessageTemplate", "template_id"))
    category: MessageCategory | None = relation(One("MessageCategory", "category_id"))
    company: Company | None = relation(One("Company", "company_id"))


@strawberry.type(description="A message kept for mass messages.")
@model_node(m.SavedMessage, read_permission=READ)
class SavedMessage(ModelNode):
    name: str
    channel: MessageChannel
    subject: str
    body_text: str
    body_html: str | None
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    category_id: strawberry.Private[int | None]

    category: MessageCategory | None = relation(One("MessageCategory", "category_id"))
    company: Company | None = relation(One("Company", "company_id"))


@strawberry.type(description="One message to the accounts a filter matched when it was "
                 "created, queued by a job in batches.")
@model_node(m.MassMessage, read_permission=READ)
class MassMessage(ModelNode):
    channel: MessageChannel
    recipients: MessageRecipients
    subject: str
    body_text: str
    body_html: str | None
    filter: JSON = strawberry.field(description="The accounts filter as given.")
    status: MassMessageStatus
    total: int = strawberry.field(description="Accounts matched.")
    processed: int = strawberry.field(description="Accounts worked through so far.")
    queued: int = strawberry.field(description="Messages queued so far.")
    skipped: int = strawberry.field(description="Contacts skipped: opted out, or no "
                                    "address for the channel.")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    company_id: strawberry.Private[int]
    category_id: strawberry.Private[int | None]
    saved_message_id: strawberry.Private[int | None]

    category: MessageCategory | None = relation(One("MessageCategory", "category_id"))
    saved_message: SavedMessage | None = relation(One("SavedMessage", "saved_message_id"))
    company: Company | None = relation(One("Company", "company_id"))


@strawberry.type(description="A variable a template may use.")
class MessageTemplateVariable:
    name: str = strawberry.field(description="As written in a template: account.name.")
    type: MessageVariableType
    description: str
    example: str


@strawberry.type(description="What a contact opted out of.")
class NotificationPreferences:
    email_opt_out: bool
    sms_opt_out: bool
    category_ids: strawberry.Private[list[int]]

    @strawberry.field(description="Categories the contact receives no messages of.")
    async def opted_out_categories(self, info: Info) -> list[MessageCategory]:
        found = [await related(info, MessageCategory, pk) for pk in self.category_ids]
        return [c for c in found if c is not None]


def preferences_from_rows(rows: list[Any]) -> NotificationPreferences:
    channels = {r.channel for r in rows if r.channel}
    return NotificationPreferences(
        email_opt_out=DomainChannel.EMAIL in channels, sms_opt_out=DomainChannel.SMS in channels,
        category_ids=[r.category_id for r in rows if r.category_id is not None])


def _named(entity: str, extra: dict[str, Any] | None = None) -> Any:
    return listing_inputs(entity, {"id": IdOf(entity), "company_id": IdOf("Company"),
                                   "name": StringFilter, **(extra or {})},
                          order_by=["name", "created_at"])


CATEGORY_LISTING = _named("MessageCategory")
TEMPLATE_LISTING = _named("MessageTemplate")
SAVED_MESSAGE_LISTING = _named("SavedMessage")
TRIGGER_LISTING = listing_inputs(
    "MessageTrigger", {"id": IdOf("MessageTrigger"), "company_id": IdOf("Company"),
                       "event_type": StringFilter, "active": BooleanFilter,
                       "template_id": IdOf("MessageTemplate")},
    order_by=["event_type", "created_at"])
MASS_MESSAGE_LISTING = listing_inputs(
    "MassMessage", {"id": IdOf("MassMessage"), "company_id": IdOf("Company"),
                    "status": StringFilter, "created_at": DateTimeFilter},
    order_by=["created_at"])


@strawberry.input
class CreateMessageCategoryInput:
    company_id: relay.GlobalID
    name: str
    description: str | None = UNSET
    customers_can_opt_out: bool = strawberry.field(default=True, description="False: "
                                                   "transactional, sent whatever the "
                                                   "contact's opt-outs.")


@strawberry.input(description="Omitted fields stay.")
class UpdateMessageCategoryInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET
    customers_can_opt_out: bool | None = UNSET


@strawberry.input(description="Subject and bodies in Jinja; see messageTemplateVariables.")
class CreateMessageTemplateInput:
    company_id: relay.GlobalID
    name: str
    event_type: MessageEventType | None = strawberry.field(
        default=UNSET, description="Whose variables it may use (null: the account's only).")
    subject: str = ""
    body_text: str = ""
    body_html: str | None = UNSET


@strawberry.input(description="Omitted fields stay; null bodyHtml: text only.")
class UpdateMessageTemplateInput:
    id: relay.GlobalID
    name: str | None = UNSET
    event_type: MessageEventType | None = UNSET
    subject: str | None = UNSET
    body_text: str | None = UNSET
    body_html: str | None = UNSET


@strawberry.input
class CreateMessageTriggerInput:
    company_id: relay.GlobalID
    event_type: MessageEventType
    template_id: relay.GlobalID
    recipients: MessageRecipients = m.Recipients.FINANCIAL
    channel: MessageChannel = DomainChannel.EMAIL
    category_id: relay.GlobalID | None = UNSET
    days_before: int | None = strawberry.field(default=UNSET, description="INVOICE_DUE_SOON "
                                               "only: 0 to 90.")
    active: bool = True


@strawberry.input(description="Omitted fields stay.")
class UpdateMessageTriggerInput:
    id: relay.GlobalID
    event_type: MessageEventType | None = UNSET
    template_id: relay.GlobalID | None = UNSET
    recipients: MessageRecipients | None = UNSET
    channel: MessageChannel | None = UNSET
    category_id: relay.GlobalID | None = UNSET
    days_before: int | None = UNSET
    active: bool | None = UNSET


@strawberry.input(description="A message for mass messages; only account variables.")
class CreateSavedMessageInput:
    company_id: relay.GlobalID
    name: str
    channel: MessageChannel
    subject: str = ""
    body_text: str = ""
    body_html: str | None = UNSET
    category_id: relay.GlobalID | None = UNSET


@strawberry.input(description="Omitted fields stay.")
class UpdateSavedMessageInput:
    id: relay.GlobalID
    name: str | None = UNSET
    channel: MessageChannel | None = UNSET
    subject: str | None = UNSET
    body_text: str | None = UNSET
    body_html: str | None = UNSET
    category_id: relay.GlobalID | None = UNSET


@strawberry.input(description="The message (or a saved message: what is omitted comes from "
                  "it) to the accounts `filter` matches now. With no filter, "
                  "confirmAllAccounts must be true.")
class CreateMassMessageInput:
    company_id: relay.GlobalID
    filter: ACCOUNT_LISTING.filter | None = strawberry.field(  # type: ignore[name-defined]
        default=UNSET, description="As the accounts query takes it.")
    confirm_all_accounts: bool = False
    saved_message_id: relay.GlobalID | None = UNSET
    channel: MessageChannel | None = UNSET
    subject: str | None = UNSET
    body_text: str | None = UNSET
    body_html: str | None = UNSET
    category_id: relay.GlobalID | None = UNSET
    recipients: MessageRecipients = m.Recipients.ALL


@strawberry.input(description="Omitted fields stay; optedOutCategoryIds replaces the list.")
class UpdateContactNotificationPreferencesInput:
    contact_id: relay.GlobalID
    email_opt_out: bool | None = UNSET
    sms_opt_out: bool | None = UNSET
    opted_out_category_ids: list[relay.GlobalID] | None = UNSET
