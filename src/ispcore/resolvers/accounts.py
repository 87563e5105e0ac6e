"""Root fields for accounts, their settings, contacts and status commands."""

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.accounts import contacts as contact_service
from ispcore.domain.accounts import service, settings
from ispcore.domain.accounts.contacts import PhoneInput
from ispcore.domain.accounts.models import Account as AccountModel
from ispcore.domain.accounts.models import Contact as ContactModel
from ispcore.domain.addresses import service as addresses
from ispcore.domain.common.errors import DomainError, nested
from ispcore.domain.common.records import today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.scheduling import service as scheduling
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import fetch_node, list_nodes
from ispcore.schema import accounts as s
from ispcore.schema.accounts import (
    Account,
    AccountGroup,
    AccountStatus,
    AccountStatusChange,
    AccountType,
    Contact,
    PhoneNumberType,
)
from ispcore.schema.addresses import ServiceableAddress
from ispcore.schema.companies import Company
from ispcore.schema.errors import UserError
from ispcore.schema.nodes import Connection, global_id
from ispcore.schema.permissions import requires
from ispcore.schema.records import ScheduledEvent

READ = "accounts:read"
WRITE = "accounts:write"
CONFIGURE = "accounts:configure"


# --- settings: types, statuses, groups, phone number types ------------------------------

def _setting_commands(setting: settings.Setting, node: Any, create_input: Any,
                      update_input: Any) -> tuple[Any, Any, Any]:
    name = node.__name__
    field = name[0].lower() + name[1:]

    async def create(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        values = values_of(data, {"company_id": Company})
        return {field: await settings.create_setting(uow, setting, values)}

    async def update(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        values = values_of(data, update=True)
        return {field: await settings.update_setting(uow, setting, pk(data.id, node), values)}

    async def delete(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        return {"deleted_id": global_id(await settings.delete_setting(uow, setting,
                                                                      pk(data.id, node)))}

    what = setting.what
    return (
        command(create, input_type=create_input, permission=CONFIGURE,
                payload=payload_type(f"Create{name}", field, node),
                description=f"Create an {what}." if what[0] in "aeiou" else f"Create a {what}."),
        command(update, input_type=update_input, permission=CONFIGURE,
                payload=payload_type(f"Update{name}", field, node),
                description=f"Change a {what}; omitted fields stay."),
        command(delete, input_type=s.IdInput, permission=CONFIGURE,
                payload=payload_type(f"Delete{name}", "deleted_id", node),
                description=f"Delete a {what} nothing uses."),
    )


_type_commands = _setting_commands(settings.ACCOUNT_TYPE, AccountType,
                                   s.CreateAccountTypeInput, s.UpdateAccountTypeInput)
_status_commands = _setting_commands(settings.ACCOUNT_STATUS, AccountStatus,
                                     s.CreateAccountStatusInput, s.UpdateAccountStatusInput)
_group_commands = _setting_commands(settings.ACCOUNT_GROUP, AccountGroup,
                                    s.CreateAccountGroupInput, s.UpdateAccountGroupInput)
_phone_type_commands = _setting_commands(settings.PHONE_NUMBER_TYPE, PhoneNumberType,
                                         s.CreatePhoneNumberTypeInput,
                                         s.UpdatePhoneNumberTypeInput)


# --- accounts --------------------------------------------------------------------------

ACCOUNT_IDS = {"company_id": Company, "account_type_id": AccountType,
               "account_status_id": AccountStatus, "parent_account_id": Account,
               "account_group_ids": AccountGroup, "serviceable_address_id": ServiceableAddress}


def _contact_values(data: Any, *, update: bool = False) -> dict[str, Any]:
    values = values_of(data, {"account_id": Account}, update=update, nullable=("role",))
    if values.get("phone_numbers") is not None:
        values["phone_numbers"] = [
            PhoneInput(p.number, pk(p.phone_number_type_id, PhoneNumberType, "phone_numbers"),
                       p.extension) for p in values["phone_numbers"]]
    return values


async def _create_account(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, ACCOUNT_IDS)
    contact = values.pop("primary_contact", None)
    address_id = values.pop("serviceable_address_id", None)
    account = await service.create_account(uow, values)
    if contact is not None:
        try:
            details = _contact_values(contact)
            await contact_service.create_contact(uow, {**details, "account_id": account.id,
                                                       "is_primary": True})
        except DomainError as exc:
            raise nested(exc, "primary_contact") from None
    if address_id is not None:
        await addresses.move_in(uow, account.id, address_id, None)
    return {"account": account}


async def _update_account(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, ACCOUNT_IDS, update=True,
                       nullable=("account_number", "parent_account_id", "activation_date",
                                 "lead_source"))
    return {"account": await service.update_account(uow, pk(data.id, Account), values)}


async def _delete_account(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"deleted_id": global_id(await service.delete_account(uow, pk(data.id, Account)))}


async def _change_status(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    account = await service.change_status(
        uow, pk(data.account_id, Account, "account_id"),
        pk(data.account_status_id, AccountStatus, "account_status_id"), data.reason)
    return {"account": account}


async def _disconnect(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    """Today or earlier: now. A later day: a scheduled DISCONNECT event."""
    account_id = pk(data.account_id, Account, "account_id")
    status_id = (pk(data.account_status_id, AccountStatus, "account_status_id")
                 if data.account_status_id is not None else None)
    account = await service.get_account(uow, account_id)
    company = await uow.session.get_one(Company.model, account.company_id)
    day = data.date or today_in(uow, company)
    if day > today_in(uow, company):
        event = await scheduling.schedule(uow, account_id, "DISCONNECT", day,
                                          {"reason": data.reason,
                                           "account_status_id": status_id})
        return {"account": account, "scheduled_event": event}
    account = await service.disconnect_now(uow, account_id, reason=data.reason, on=day,
                                           status_id=status_id)
    return {"account": account, "scheduled_event": None}


async def _reactivate(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    account = await service.reactivate(
        uow, pk(data.account_id, Account, "account_id"),
        pk(data.account_status_id, AccountStatus, "account_status_id"), data.reason)
    return {"account": account}


async def _convert_lead(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    account = await service.convert_lead(
        uow, pk(data.account_id, Account, "account_id"),
        pk(data.account_status_id, AccountStatus, "account_status_id"), data.reason)
    return {"account": account}


@strawberry.type
class DisconnectAccountPayload:
    account: Account | None = None
    scheduled_event: ScheduledEvent | None = strawberry.field(
        default=None, description="Set when the date is in the future.")
    errors: list[UserError] = strawberry.field(default_factory=list)


AccountPayload = payload_type("AccountStatusCommand", "account", Account)


# --- contacts --------------------------------------------------------------------------

async def _create_contact(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"contact": await contact_service.create_contact(uow, _contact_values(data))}


async def _update_contact(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = _contact_values(data, update=True)
    return {"contact": await contact_service.update_contact(uow, pk(data.id, Contact),
                                                            values)}


async def _delete_contact(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    contact = await contact_service.delete_contact(uow, pk(data.id, Contact))
    return {"deleted_id": global_id(contact)}


async def _set_primary(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"contact": await contact_service.set_primary(uow, pk(data.id, Contact))}


async def _set_portal_login(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    contact = await contact_service.set_portal_login(uow, pk(data.id, Contact), data.username,
                                                     data.password)
    return {"contact": contact}


async def _remove_portal_login(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"contact": await contact_service.remove_portal_login(uow, pk(data.id, Contact))}


ContactPayload = payload_type("ContactCommand", "contact", Contact)


@strawberry.type
class AccountQuery:
    @strawberry.field(extensions=requires(READ))
    async def account_types(self, info: Info, first: int | None = None,
                            after: str | None = None,
                            filter: s.ACCOUNT_TYPE_LISTING.filter | None = None,
                            order_by: list[s.ACCOUNT_TYPE_LISTING.order] | None = None
                            ) -> Connection[AccountType]:
        return await list_nodes(info, AccountType, s.ACCOUNT_TYPE_LISTING, first=first,
                                after=after, filter=filter, order_by=order_by,
                                search=(AccountType.model.name,))

    @strawberry.field(extensions=requires(READ))
    async def account_statuses(self, info: Info, first: int | None = None,
                               after: str | None = None,
                               filter: s.ACCOUNT_STATUS_LISTING.filter | None = None,
                               order_by: list[s.ACCOUNT_STATUS_LISTING.order] | None = None
                               ) -> Connection[AccountStatus]:
        return await list_nodes(info, AccountStatus, s.ACCOUNT_STATUS_LISTING, first=first,
                                after=after, filter=filter, order_by=order_by,
                                search=(AccountStatus.model.name,))

    @strawberry.field(extensions=requires(READ))
    async def account_groups(self, info: Info, first: int | None = None,
                             after: str | None = None,
                             filter: s.ACCOUNT_GROUP_LISTING.filter | None = None,
                             order_by: list[s.ACCOUNT_GROUP_LISTING.order] | None = None
                             ) -> Connection[AccountGroup]:
        return await list_nodes(info, AccountGroup, s.ACCOUNT_GROUP_LISTING, first=first,
                                after=after, filter=filter, order_by=order_by,
                                search=(AccountGroup.model.name,))

    @strawberry.field(extensions=requires(READ))
    async def phone_number_types(self, info: Info, first: int | None = None,
                                 after: str | None = None,
                                 filter: s.PHONE_NUMBER_TYPE_LISTING.filter | None = None,
                                 order_by: list[s.PHONE_NUMBER_TYPE_LISTING.order] | None = None
                                 ) -> Connection[PhoneNumberType]:
        return await list_nodes(info, PhoneNumberType, s.PHONE_NUMBER_TYPE_LISTING,
                                first=first, after=after, filter=filter, order_by=order_by,
                                search=(PhoneNumberType.model.name,))

    @strawberry.field(extensions=requires(READ),
                      description="Accounts; filter.search matches name and number.")
    async def accounts(self, info: Info, first: int | None = None, after: str | None = None,
                       filter: s.ACCOUNT_LISTING.filter | None = None,
                       order_by: list[s.ACCOUNT_LISTING.order] | None = None
                       ) -> Connection[Account]:
        return await list_nodes(info, Account, s.ACCOUNT_LISTING, first=first, after=after,
                                filter=filter, order_by=order_by,
                                search=(AccountModel.name, AccountModel.account_number))

    @strawberry.field(extensions=requires(READ))
    async def account(self, info: Info, id: relay.GlobalID) -> Account | None:
        return await fetch_node(info, Account, id)

    @strawberry.field(extensions=requires(READ))
    async def contacts(self, info: Info, first: int | None = None, after: str | None = None,
                       filter: s.CONTACT_LISTING.filter | None = None,
                       order_by: list[s.CONTACT_LISTING.order] | None = None
                       ) -> Connection[Contact]:
        return await list_nodes(info, Contact, s.CONTACT_LISTING, first=first, after=after,
                                filter=filter, order_by=order_by,
                                search=(ContactModel.name, ContactModel.role))

    @strawberry.field(extensions=requires(READ))
    async def account_status_changes(
            self, info: Info, first: int | None = None, after: str | None = None,
            filter: s.STATUS_CHANGE_LISTING.filter | None = None,
            order_by: list[s.STATUS_CHANGE_LISTING.order] | None = None
    ) -> Connection[AccountStatusChange]:
        return await list_nodes(info, AccountStatusChange, s.STATUS_CHANGE_LISTING,
                                first=first, after=after, filter=filter, order_by=order_by,
                                search=(AccountStatusChange.model.reason,))


@strawberry.type
class AccountMutation:
    create_account_type, update_account_type, delete_account_type = _type_commands
    create_account_status, update_account_status, delete_account_status = _status_commands
    create_account_group, update_account_group, delete_account_group = _group_commands
    create_phone_number_type, update_phone_number_type, delete_phone_number_type = (
        _phone_type_commands)

    create_account = command(
        _create_account, input_type=s.CreateAccountInput, permission=WRITE, idempotent=True,
        payload=payload_type("CreateAccount", "account", Account),
        description="Create an account, optionally with its primary contact and its "
        "serviceable address.")
    update_account = command(
        _update_account, input_type=s.UpdateAccountInput, permission=WRITE,
        payload=payload_type("UpdateAccount", "account", Account),
        description="Change an account; omitted fields stay. Not the status.")
    delete_account = command(
        _delete_account, input_type=s.IdInput, permission=WRITE,
        payload=payload_type("DeleteAccount", "deleted_id", Account),
        description="Delete an account without child accounts, with its contacts and notes.")
    change_account_status = command(
        _change_status, input_type=s.ChangeAccountStatusInput, permission=WRITE,
        payload=AccountPayload,
        description="Move an account to another status, with a reason for its history.")
    disconnect_account = command(
        _disconnect, input_type=s.DisconnectAccountInput, permission=WRITE,
        payload=DisconnectAccountPayload,
        description="Disconnect an account (inactive status, reason, address freed), now or "
        "on a future day.")
    reactivate_account = command(
        _reactivate, input_type=s.ReactivateAccountInput, permission=WRITE,
        payload=AccountPayload, description="Bring a disconnected account back to an active "
        "status.")
    convert_lead = command(
        _convert_lead, input_type=s.ConvertLeadInput, permission=WRITE,
        payload=AccountPayload, description="Make a lead a customer.")

    create_contact = command(
        _create_contact, input_type=s.CreateContactInput, permission=WRITE,
        payload=payload_type("CreateContact", "contact", Contact),
        description="Add a contact to an account.")
    update_contact = command(
        _update_contact, input_type=s.UpdateContactInput, permission=WRITE,
        payload=payload_type("UpdateContact", "contact", Contact),
        description="Change a contact; emails and phoneNumbers, when given, replace the lists.")
    delete_contact = command(
        _delete_contact, input_type=s.IdInput, permission=WRITE,
        payload=payload_type("DeleteContact", "deleted_id", Contact),
        description="Remove a contact (the primary one only when it is the last).")
    set_primary_contact = command(
        _set_primary, input_type=s.IdInput, permission=WRITE, payload=ContactPayload,
        description="Make this contact its account's primary contact.")
    set_contact_portal_login = command(
        _set_portal_login, input_type=s.SetContactPortalLoginInput, permission=WRITE,
        payload=ContactPayload, description="Give a contact a customer portal login.")
    remove_contact_portal_login = command(
        _remove_portal_login, input_type=s.IdInput, permission=WRITE,
        payload=ContactPayload, description="Take a contact's portal login away.")
