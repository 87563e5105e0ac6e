"""Root fields for messaging content: categories, templates, triggers, saved and mass messages,
the variables a template may use, and contacts' notification preferences. (No ``from
__future__ import annotations``: the connection's filter and order types are made at import
time.)"""

from typing import Any

import strawberry
from sqlalchemy.sql.elements import ColumnElement
from strawberry import UNSET
from strawberry.utils.str_converters import to_camel_case

from ispcore.domain.accounts.models import Account as AccountModel
from ispcore.domain.billing.catalogue import Kind
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.messaging import library, mass, preferences, triggers
from ispcore.domain.messaging.variables import EventType, catalogue
from ispcore.resolvers.billing import listing
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.listing import compile_filter
from ispcore.resolvers.mutations import _canonical
from ispcore.schema import messaging_content as s
from ispcore.schema.accounts import ACCOUNT_LISTING, Account, Contact, IdInput
from ispcore.schema.companies import Company
from ispcore.schema.messaging_content import (
    MassMessage,
    MessageCategory,
    MessageTemplate,
    MessageTemplateVariable,
    MessageTrigger,
    SavedMessage,
)
from ispcore.schema.nodes import global_id
from ispcore.schema.permissions import requires

READ, WRITE, CONFIGURE = "messaging:read", "messaging:write", "messaging:configure"
IDS = {"company_id": Company, "template_id": MessageTemplate, "category_id": MessageCategory,
       "saved_message_id": SavedMessage, "contact_id": Contact,
       "opted_out_category_ids": MessageCategory}
#: The columns the accounts query searches (``filter.search``).
ACCOUNT_SEARCH = (AccountModel.name, AccountModel.account_number)


def _crud(kind: Kind, node: Any, field: str, nullable: tuple[str, ...] = ()
          ) -> tuple[Any, Any, Any]:
    """create, update and delete runs for a kind of the catalogue's rules; updates may set
    ``nullable`` fields to null."""

    async def create(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        return {field: await library.create(uow, kind, values_of(data, IDS))}

    async def update(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        values = values_of(data, IDS, update=True, nullable=nullable)
        return {field: await library.update(uow, kind, pk(data.id, node), values)}

    async def delete(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        return {"deleted_id": global_id(await library.remove(uow, kind, pk(data.id, node)))}

    return create, update, delete


_create_category, _update_category, _delete_category = _crud(
    library.CATEGORY, MessageCategory, "message_category", ("description",))
_create_template, _update_template, _delete_template = _crud(
    library.TEMPLATE, MessageTemplate, "message_template", ("event_type", "body_html"))
_create_saved, _update_saved, _delete_saved = _crud(
    library.SAVED_MESSAGE, SavedMessage, "saved_message", ("body_html", "category_id"))
_create_trigger, _update_trigger, _delete_trigger = _crud(
    triggers.TRIGGER, MessageTrigger, "message_trigger", ("category_id", "days_before"))


def _is_empty(value: Any) -> bool:
    """A filter that selects nothing out (no operator with a value, blank search)."""
    if isinstance(value, dict):
        return all(_is_empty(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_empty(v) for v in value)
    return value is None or (isinstance(value, str) and not value.strip())


def _as_given(value: Any) -> Any:
    """A canonical input with its field names as the schema spells them (``startsWith``)."""
    if isinstance(value, dict):
        return {to_camel_case(k.rstrip("_")): _as_given(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_given(v) for v in value]
    return value


def _accounts(uow: UnitOfWork, flt: Any) -> ColumnElement[bool] | None:
    """The accounts query's filter as a condition on accounts (None: no filter)."""
    if flt is UNSET or flt is None or _is_empty(_canonical(flt)):
        return None
    readable = Account.readable(uow.actor).where(
        compile_filter(AccountModel, ACCOUNT_LISTING, flt, ACCOUNT_SEARCH))
    return AccountModel.id.in_(readable.with_only_columns(AccountModel.id))


async def _create_mass(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, exclude=("filter",))
    values["filter"] = {} if data.filter in (UNSET, None) else _as_given(_canonical(data.filter))
    return {"mass_message": await mass.create_mass_message(uow, values,
                                                           _accounts(uow, data.filter))}


async def _cancel_mass(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"mass_message": await mass.cancel_mass_message(uow, pk(data.id, MassMessage))}


async def _update_preferences(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, exclude=("contact_id",))
    contact = await preferences.update_preferences(uow, pk(data.contact_id, Contact,
                                                           "contact_id"), values)
    return {"contact": contact}


@strawberry.type
class MessagingContentQuery:
    message_categories = listing(MessageCategory, s.CATEGORY_LISTING,
                                 (MessageCategory.model.name,), "Message categories.",
                                 permission=READ)
    message_templates = listing(MessageTemplate, s.TEMPLATE_LISTING,
                                (MessageTemplate.model.name,), "Message templates.",
                                permission=READ)
    message_triggers = listing(MessageTrigger, s.TRIGGER_LISTING,
                               (MessageTrigger.model.event_type,), "Triggered messages.",
                               permission=READ)
    saved_messages = listing(SavedMessage, s.SAVED_MESSAGE_LISTING, (SavedMessage.model.name,),
                             "Saved messages.", permission=READ)
    mass_messages = listing(MassMessage, s.MASS_MESSAGE_LISTING, (MassMessage.model.subject,),
                            "Mass messages with their progress.", permission=READ)

    @strawberry.field(extensions=requires(READ), description="The variables a template for "
                      "this event type may use (null: a mass or saved message's, the "
                      "account's).")
    def message_template_variables(self, event_type: s.MessageEventType | None = None
                                   ) -> list[MessageTemplateVariable]:
        kind = EventType(event_type.value) if event_type is not None else None
        return [MessageTemplateVariable(name=v.name, type=v.type, description=v.description,
                                        example=v.example) for v in catalogue(kind)]


@strawberry.type
class MessagingContentMutation:
    create_message_category = command(
        _create_category, input_type=s.CreateMessageCategoryInput, permission=CONFIGURE,
        payload=payload_type("CreateMessageCategory", "message_category", MessageCategory),
        description="Create a message category.")
    update_message_category = command(
        _update_category, input_type=s.UpdateMessageCategoryInput, permission=CONFIGURE,
        payload=payload_type("UpdateMessageCategory", "message_category", MessageCategory),
        description="Change a message category.")
    delete_message_category = command(
        _delete_category, input_type=IdInput, permission=CONFIGURE,
        payload=payload_type("DeleteMessageCategory", "deleted_id", MessageCategory),
        description="Delete a category no trigger uses (opt-outs of it go with it).")
    create_message_template = command(
        _create_template, input_type=s.CreateMessageTemplateInput, permission=CONFIGURE,
        payload=payload_type("CreateMessageTemplate", "message_template", MessageTemplate),
        description="Create a template; an unknown variable, a name starting with _, or "
        "syntax other than variables, {% if %} and safe filters is refused.")
    update_message_template = command(
        _update_template, input_type=s.UpdateMessageTemplateInput, permission=CONFIGURE,
        payload=payload_type("UpdateMessageTemplate", "message_template", MessageTemplate),
        description="Change a template (checked again).")
    delete_message_template = command(
        _delete_template, input_type=IdInput, permission=CONFIGURE,
        payload=payload_type("DeleteMessageTemplate", "deleted_id", MessageTemplate),
        description="Delete a template no trigger uses.")
    create_message_trigger = command(
        _create_trigger, input_type=s.CreateMessageTriggerInput, permission=CONFIGURE,
        payload=payload_type("CreateMessageTrigger", "message_trigger", MessageTrigger),
        description="Send a template on an event; the template must suit the event type.")
    update_message_trigger = command(
        _update_trigger, input_type=s.UpdateMessageTriggerInput, permission=CONFIGURE,
        payload=payload_type("UpdateMessageTrigger", "message_trigger", MessageTrigger),
        description="Change a trigger.")
    delete_message_trigger = command(
        _delete_trigger, input_type=IdInput, permission=CONFIGURE,
        payload=payload_type("DeleteMessageTrigger", "deleted_id", MessageTrigger),
        description="Delete a trigger (messages it queued stay).")
    create_saved_message = command(
        _create_saved, input_type=s.CreateSavedMessageInput, permission=WRITE,
        payload=payload_type("CreateSavedMessage", "saved_message", SavedMessage),
        description="Save a message for mass messages (account variables only).")
    update_saved_message = command(
        _update_saved, input_type=s.UpdateSavedMessageInput, permission=WRITE,
        payload=payload_type("UpdateSavedMessage", "saved_message", SavedMessage),
        description="Change a saved message.")
    delete_saved_message = command(
        _delete_saved, input_type=IdInput, permission=WRITE,
        payload=payload_type("DeleteSavedMessage", "deleted_id", SavedMessage),
        description="Delete a saved message no mass message was made from.")
    create_mass_message = command(
        _create_mass, input_type=s.CreateMassMessageInput, permission=WRITE,
        payload=payload_type("CreateMassMessage", "mass_message", MassMessage),
        description="Message the accounts a filter matches (all of them only with "
        "confirmAllAccounts); a job queues the messages in batches.")
    cancel_mass_message = command(
        _cancel_mass, input_type=IdInput, permission=WRITE,
        payload=payload_type("CancelMassMessage", "mass_message", MassMessage),
        description="Stop a mass message before its next batch (queued messages are sent).")
    update_contact_notification_preferences = command(
        _update_preferences, input_type=s.UpdateContactNotificationPreferencesInput,
        permission="accounts:write",
        payload=payload_type("UpdateContactNotificationPreferences", "contact", Contact),
        description="Set what a contact opts out of: email, SMS, message categories.")
