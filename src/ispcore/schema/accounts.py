"""Accounts, their types, statuses and groups, contacts, and the status history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import UNSET, relay
from strawberry.types import Info

from ispcore.domain.accounts import models as m
from ispcore.domain.accounts.service import StatusChangeKind as DomainStatusChangeKind
from ispcore.domain.addresses.models import AccountPostalAddress
from ispcore.domain.addresses.models import AddressOccupancy as OccupancyModel
from ispcore.domain.addresses.service import PostalKind
from ispcore.domain.billing import allocation
from ispcore.domain.custom_fields.service import EntityType
from ispcore.domain.messaging.content_models import ContactMessageOptOut
from ispcore.schema.companies import Company
from ispcore.schema.custom_fields import (
    CustomFieldValue,
    CustomFieldValueInput,
    custom_field_values,
)
from ispcore.schema.filtering import (
    BooleanFilter,
    CustomFields,
    DateFilter,
    DateTimeFilter,
    IdOf,
    StringFilter,
    Through,
    listing_inputs,
)
from ispcore.schema.identity import User
from ispcore.schema.money import Money, as_money
from ispcore.schema.nodes import ModelNode, model_node, related
from ispcore.schema.relations import Many, One, Rows, Via, relation
from ispcore.schema.usage import CurrentDataUsage, DataUsage, UsageGranularity

if TYPE_CHECKING:
    from ispcore.schema.addresses import AddressOccupancy, PostalAddress, ServiceableAddress
    from ispcore.schema.billing import (
        AccountBilling,
        AccountDiscount,
        AccountService,
        AccountVacation,
        BillingDefaults,
        Invoice,
        LedgerEntry,
        PendingCharge,
        TaxExemption,
    )
    from ispcore.schema.collections import AccountDelinquency
    from ispcore.schema.ipam import IpAssignment
    from ispcore.schema.messaging_content import NotificationPreferences
    from ispcore.schema.messaging_transport import OutboundMessage
    from ispcore.schema.payments import PaymentMethod
    from ispcore.schema.radius import RadiusAction, RadiusCredential, RadiusSession
    from ispcore.schema.records import CallLog, Note, ScheduledEvent, Task

ADDRESSES = "ispcore.schema.addresses"
BILLING = "ispcore.schema.billing"
COLLECTIONS = "ispcore.schema.collections"
IPAM = "ispcore.schema.ipam"
MESSAGING = "ispcore.schema.messaging_transport"
RECORDS = "ispcore.schema.records"
PAYMENTS = "ispcore.schema.payments"
RADIUS = "ispcore.schema.radius"

def primary_first(contacts: list[Any]) -> list[Any]:
    return sorted(contacts, key=lambda c: not c.is_primary)


def primary_of(contacts: list[Any]) -> Any:
    return next((c for c in contacts if c.is_primary), None)


def pinned_then_newest(notes: list[Any]) -> list[Any]:
    return sorted(notes, key=lambda n: (not n.pinned, -n.created_at.timestamp(), -n.pk))


def open_by_due_time(tasks: list[Any]) -> list[Any]:
    """Open before done; then by due time (undated last); then oldest first."""
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(tasks, key=lambda t: (t.completed_at is not None, t.due_at or far, t.pk))


def newest_first(items: list[Any]) -> list[Any]:
    return items[::-1]


def postal_address(kind: PostalKind) -> Rows:
    def build(rows: list[Any]) -> Any:
        from ispcore.schema.addresses import PostalAddress

        row = next((r for r in rows if r.kind == kind), None)
        return None if row is None else PostalAddress.from_row(row)

    return Rows(AccountPostalAddress, "account_id", build=build)


StatusChangeKind = strawberry.enum(DomainStatusChangeKind, name="AccountStatusChangeKind",
                                   description="How an account came to a status.")


@strawberry.type(description="What kind of customer an account is (residential, business, "
                 "…); billing defaults hang off it.")
@model_node(m.AccountType, read_permission="accounts:read")
class AccountType(ModelNode):
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    company: Company | None = relation(One("Company", "company_id"))
    billing_defaults: Annotated[BillingDefaults, strawberry.lazy(BILLING)] | None = relation(
        Many("BillingDefaults", "account_type_id",
             arrange=lambda rows: rows[0] if rows else None),
        description="Null without billing:read, or when the type uses the company's.")


@strawberry.type(description="Where an account stands: active, a lead, delinquent, "
                 "inactive, …")
@model_node(m.AccountStatus, read_permission="accounts:read")
class AccountStatus(ModelNode):
    name: str
    counts_as_active: bool = strawberry.field(description="Accounts in it are customers "
                                              "receiving service.")
    is_delinquent: bool = strawberry.field(description="Used for accounts behind on payment.")
    is_lead: bool = strawberry.field(description="Accounts in it are prospects, not yet "
                                     "customers.")
    is_disconnect_default: bool = strawberry.field(
        description="The status disconnectAccount uses when none is named.")
    color: str = strawberry.field(description="#RRGGBB.")
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    company: Company | None = relation(One("Company", "company_id"))


@strawberry.type(description="A set of accounts treated alike (a building, a reseller, "
                 "a billing exemption, …).")
@model_node(m.AccountGroup, read_permission="accounts:read")
class AccountGroup(ModelNode):
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    company: Company | None = relation(One("Company", "company_id"))


@strawberry.type(description="What a phone number is for: mobile, home, work, fax, …")
@model_node(m.PhoneNumberType, read_permission="accounts:read")
class PhoneNumberType(ModelNode):
    name: str
    can_receive_sms: bool
    created_at: datetime
    updated_at: datetime


@strawberry.type(description="A phone number of a contact.")
class PhoneNumber:
    number: str = strawberry.field(description="E.164, e.g. +13125550100.")
    extension: str | None
    phone_number_type_id: strawberry.Private[int]

    @strawberry.field
    async def phone_number_type(self, info: Info) -> PhoneNumberType | None:
        return await related(info, PhoneNumberType, self.phone_number_type_id)


def _preferences(rows: list[Any]) -> Any:
    from ispcore.schema.messaging_content import preferences_from_rows

    return preferences_from_rows(rows)


@strawberry.type(description="A person on an account.")
@model_node(m.Contact, read_permission="accounts:read")
class Contact(ModelNode):
    name: str
    role: str | None
    is_primary: bool = strawberry.field(description="Every account has exactly one.")
    is_financial: bool = strawberry.field(description="Receives the account's invoices.")
    portal_username: str | None = strawberry.field(
        description="Customer portal login, if the contact has one.")
    created_at: datetime
    updated_at: datetime
    account_id: strawberry.Private[int]

    account: Account | None = relation(One("Account", "account_id"))
    emails: list[str] = relation(Rows(m.ContactEmail, "contact_id", order_by=("position",),
                                      build=lambda rows: [row.email for row in rows]))
    phone_numbers: list[PhoneNumber] = relation(Rows(
        m.ContactPhoneNumber, "contact_id", order_by=("position",),
        build=lambda rows: [PhoneNumber(number=r.number, extension=r.extension,
                                        phone_number_type_id=r.phone_number_type_id)
                            for r in rows]))
    custom_fields: list[CustomFieldValue] = relation(custom_field_values(EntityType.CONTACT))
    notification_preferences: Annotated[NotificationPreferences, strawberry.lazy(
        "ispcore.schema.messaging_content")] = relation(Rows(
            ContactMessageOptOut, "contact_id", build=_preferences),
        description="What the contact opted out of (messaging).")


@strawberry.type(description="A customer (or a lead): the centre of billing, service and "
                 "support.")
@model_node(m.Account, read_permission="accounts:read")
class Account(ModelNode):
    account_number: str | None = strawberry.field(
        description="Chosen at creation; unique within the company.")
    name: str
    bill_to_parent: bool = strawberry.field(
        description="This child account's charges go on its parent's invoice.")
    activation_date: date | None
    next_bill_date: date | None = strawberry.field(description="Set by billing.")
    lead_source: str | None
    disconnected_on: date | None
    disconnect_reason: str | None
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    account_type_id: strawberry.Private[int]
    account_status_id: strawberry.Private[int]
    parent_account_id: strawberry.Private[int | None]

    company: Company | None = relation(One("Company", "company_id"))

    account_type: AccountType | None = relation(One("AccountType", "account_type_id"))
    account_status: AccountStatus | None = relation(One("AccountStatus", "account_status_id"))
    parent_account: Account | None = relation(One("Account", "parent_account_id"))
    child_accounts: list[Account] | None = relation(Many("Account", "parent_account_id"))
    groups: list[AccountGroup] | None = relation(Via(
        "AccountGroup", m.AccountGroupMembership, "account_id", "account_group_id",
        order_by=("account_group_id",)))
    contacts: list[Contact] | None = relation(
        Many("Contact", "account_id", arrange=primary_first), description="Primary contact first.")
    primary_contact: Contact | None = relation(
        Many("Contact", "account_id", arrange=primary_of))
    physical_address: Annotated[ServiceableAddress, strawberry.lazy(ADDRESSES)] | None = (
        relation(Via("ServiceableAddress", OccupancyModel, "account_id",
                     "serviceable_address_id", where=lambda: OccupancyModel.moved_out_on.is_(None),
                     single=True),
                 description="The serviceable address the account lives at now."))
    address_history: list[Annotated[AddressOccupancy, strawberry.lazy(ADDRESSES)]] | None = (
        relation(Many("AddressOccupancy", "account_id", order_by=("moved_in_on", "id")),
                 description="Every address the account lived at, oldest first."))
    mailing_address: Annotated[PostalAddress, strawberry.lazy(ADDRESSES)] | None = relation(
        postal_address(PostalKind.MAILING),
        description="Where mail goes; null means the physical address.")
    billing_address: Annotated[PostalAddress, strawberry.lazy(ADDRESSES)] | None = relation(
        postal_address(PostalKind.BILLING),
        description="Where invoices go; null means the mailing address.")
    custom_fields: list[CustomFieldValue] = relation(custom_field_values(EntityType.ACCOUNT))
    status_history: list[AccountStatusChange] | None = relation(
        Many("AccountStatusChange", "account_id"),
        description="Every status the account had, oldest first.")
    notes: list[Annotated[Note, strawberry.lazy(RECORDS)]] | None = relation(
        Many("Note", "account_id", arrange=pinned_then_newest),
        description="Null without notes:read. Pinned first, newest first.")
    tasks: list[Annotated[Task, strawberry.lazy(RECORDS)]] | None = relation(
        Many("Task", "account_id", arrange=open_by_due_time),
        description="Null without notes:read. Open tasks first, by due time.")
    call_logs: list[Annotated[CallLog, strawberry.lazy(RECORDS)]] | None = relation(
        Many("CallLog", "account_id", order_by=("occurred_at", "id"), arrange=newest_first),
        description="Null without notes:read. Newest first.")
    scheduled_events: list[Annotated[ScheduledEvent, strawberry.lazy(RECORDS)]] | None = (
        relation(Many("ScheduledEvent", "account_id", order_by=("run_on", "id")),
                 description="Null without scheduled_events:read. By day."))

    billing: Annotated[AccountBilling, strawberry.lazy(BILLING)] | None = relation(
        Many("AccountBilling", "account_id", arrange=lambda rows: rows[0] if rows else None),
        description="Null without billing:read. How the account is billed.")
    services: list[Annotated[AccountService, strawberry.lazy(BILLING)]] | None = relation(
        Many("AccountService", "account_id", order_by=("start_date", "id")),
        description="Null without billing:read. Services and packages, past and present.")
    invoices: list[Annotated[Invoice, strawberry.lazy(BILLING)]] | None = relation(
        Many("Invoice", "account_id", order_by=("id",), arrange=newest_first),
        description="Null without billing:read. Newest first.")
    transactions: list[Annotated[LedgerEntry, strawberry.lazy(BILLING)]] | None = relation(
        Many("LedgerEntry", "account_id"),
        description="Null without billing:read. The ledger, oldest first.")
    discounts: list[Annotated[AccountDiscount, strawberry.lazy(BILLING)]] | None = relation(
        Many("AccountDiscount", "account_id"), description="Null without billing:read.")
    tax_exemptions: list[Annotated[TaxExemption, strawberry.lazy(BILLING)]] | None = relation(
        Many("TaxExemption", "account_id"), description="Null without billing:read.")
    vacations: list[Annotated[AccountVacation, strawberry.lazy(BILLING)]] | None = relation(
        Many("AccountVacation", "account_id", order_by=("starts_on", "id")),
        description="Null without billing:read.")
    payment_methods: list[Annotated[PaymentMethod, strawberry.lazy(PAYMENTS)]] | None = (
        relation(Many("PaymentMethod", "account_id",
                      arrange=lambda rows: sorted((r for r in rows if r.active),
                                                  key=lambda r: not r.is_default)),
                 description="Null without billing:read. Cards and bank accounts on file "
                 "(active ones, the default first)."))
    pending_charges: list[Annotated[PendingCharge, strawberry.lazy(BILLING)]] | None = (
        relation(Many("PendingCharge", "account_id",
                      arrange=lambda rows: [r for r in rows if r.invoice_id is None]),
                 description="Null without billing:read. Charges and credits waiting for the "
                 "next invoice."))
    delinquency: Annotated[AccountDelinquency, strawberry.lazy(COLLECTIONS)] | None = relation(
        Many("AccountDelinquency", "account_id", arrange=lambda rows: rows[0] if rows else None),
        description="Null when the account is not delinquent (or without billing:read).")
    radius_credentials: list[Annotated[RadiusCredential, strawberry.lazy(RADIUS)]] | None = (
        relation(Many("RadiusCredential", "account_id",
                      arrange=lambda rows: [r for r in rows if r.removed_at is None]),
                 description="Null without network:read. Its RADIUS logins."))
    radius_sessions: list[Annotated[RadiusSession, strawberry.lazy(RADIUS)]] | None = relation(
        Many("RadiusSession", "account_id", order_by=("started_at", "id"),
             arrange=newest_first),
        description="Null without network:read. Newest first.")
    radius_actions: list[Annotated[RadiusAction, strawberry.lazy(RADIUS)]] | None = relation(
        Many("RadiusAction", "account_id", arrange=newest_first),
        description="Null without network:read. CoA and Disconnect requests, newest first.")
    ip_assignments: list[Annotated[IpAssignment, strawberry.lazy(IPAM)]] | None = relation(
        Many("IpAssignment", "account_id", order_by=("assigned_at", "id")),
        description="Null without network:read. Addresses and prefixes, held and released, "
        "oldest first.")
    outbound_messages: list[Annotated[OutboundMessage, strawberry.lazy(MESSAGING)]] | None = (
        relation(Many("OutboundMessage", "account_id", arrange=newest_first),
                 description="Null without messaging:read. Emails and texts sent (or being "
                 "sent) to the account, newest first; outboundMessages filters the whole log."))

    @strawberry.field(description="What the account owes (negative: credit): the sum of its "
                      "ledger. Null without billing:read.")
    async def balance(self, info: Info) -> Money | None:
        if not info.context.actor.can("billing:read"):
            return None
        minor = await info.context.loaders.balances().load(self.pk)
        return await as_money(info, minor, self.company_id)

    @strawberry.field(description="What the account's open invoices have left to pay. Null "
                      "without billing:read. amountDue - unappliedCredit = balance.")
    async def amount_due(self, info: Info) -> Money | None:
        return await self._money_of(info, allocation.amounts_due)

    @strawberry.field(description="Credit not on any invoice yet (an overpayment, a credit "
                      "larger than what was owed): the next invoice takes it. Null without "
                      "billing:read.")
    async def unapplied_credit(self, info: Info) -> Money | None:
        return await self._money_of(info, allocation.unapplied_credit)

    async def _money_of(self, info: Info, read: Any) -> Money | None:
        """``read(conn, account_ids)`` of this account, batched over the page."""
        if not info.context.actor.can("billing:read"):
            return None

        async def load(conn: Any, ids: Any) -> list[int]:
            found = await read(conn, ids)
            return [found[i] for i in ids]

        minor = await info.context.loaders.keyed(read.__name__, load).load(self.pk)
        return await as_money(info, minor, self.company_id)

    @strawberry.field(description="Null without usage:read. Usage in buckets of the "
                      "granularity that overlap [from, to).")
    async def data_usage(
            self, info: Info,
            start: Annotated[datetime, strawberry.argument(name="from")],
            to: datetime,
            granularity: UsageGranularity,
    ) -> DataUsage | None:
        from ispcore.resolvers.usage import data_usage

        return await data_usage(info, self, start, to, granularity)

    @strawberry.field(description="Null without usage:read. The billing period containing "
                      "today against the allowance.")
    async def current_data_usage(self, info: Info) -> CurrentDataUsage | None:
        from ispcore.resolvers.usage import current_data_usage

        return await current_data_usage(info, self)


@strawberry.type(description="One move of an account from a status to another.")
@model_node(m.AccountStatusChange, read_permission="accounts:read")
class AccountStatusChange(ModelNode):
    kind: StatusChangeKind
    reason: str
    changed_at: datetime
    account_id: strawberry.Private[int]
    from_status_id: strawberry.Private[int | None]
    to_status_id: strawberry.Private[int]
    user_id: strawberry.Private[int | None]

    account: Account | None = relation(One("Account", "account_id"))
    from_status: AccountStatus | None = relation(One("AccountStatus", "from_status_id"))
    to_status: AccountStatus | None = relation(One("AccountStatus", "to_status_id"))
    user: User | None = relation(One("User", "user_id"), description="Who made the change; "
                                 "null for the system or a job.")


# --- listings ------------------------------------------------------------------------------

def _named_listing(entity: str, **extra: type) -> object:
    return listing_inputs(entity, {"id": IdOf(entity), "company_id": IdOf("Company"),
                                   "name": StringFilter, **extra}, order_by=["name"])


ACCOUNT_TYPE_LISTING = _named_listing("AccountType")
ACCOUNT_STATUS_LISTING = _named_listing("AccountStatus", counts_as_active=BooleanFilter,
                                        is_delinquent=BooleanFilter, is_lead=BooleanFilter)
ACCOUNT_GROUP_LISTING = _named_listing("AccountGroup")
PHONE_NUMBER_TYPE_LISTING = listing_inputs(
    "PhoneNumberType", {"id": IdOf("PhoneNumberType"), "company_id": IdOf("Company"),
                        "name": StringFilter}, order_by=["name"])
ACCOUNT_LISTING = listing_inputs(
    "Account",
    {"id": IdOf("Account"), "company_id": IdOf("Company"), "name": StringFilter,
     "account_number": StringFilter, "account_type_id": IdOf("AccountType"),
     "account_status_id": IdOf("AccountStatus"), "parent_account_id": IdOf("Account"),
     "account_group_id": Through(m.AccountGroupMembership, "account_id", "account_group_id",
                                 "AccountGroup"),
     "bill_to_parent": BooleanFilter, "activation_date": DateFilter,
     "disconnected_on": DateFilter, "lead_source": StringFilter, "created_at": DateTimeFilter,
     "custom_fields": CustomFields("ACCOUNT")},
    order_by=["name", "created_at"],
)
CONTACT_LISTING = listing_inputs(
    "Contact",
    {"id": IdOf("Contact"), "company_id": IdOf("Company"), "account_id": IdOf("Account"),
     "name": StringFilter, "role": StringFilter, "is_primary": BooleanFilter,
     "is_financial": BooleanFilter, "portal_username": StringFilter,
     "email": Through(m.ContactEmail, "contact_id", "email", input=StringFilter),
     "created_at": DateTimeFilter, "custom_fields": CustomFields("CONTACT")},
    order_by=["name", "created_at"],
)
STATUS_CHANGE_LISTING = listing_inputs(
    "AccountStatusChange",
    {"account_id": IdOf("Account"), "company_id": IdOf("Company"), "kind": StringFilter,
     "to_status_id": IdOf("AccountStatus"), "changed_at": DateTimeFilter},
    order_by=["changed_at"],
)


# --- inputs --------------------------------------------------------------------------------

@strawberry.input
class CreateAccountTypeInput:
    company_id: relay.GlobalID
    name: str
    description: str | None = UNSET


@strawberry.input
class UpdateAccountTypeInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET


@strawberry.input
class CreateAccountStatusInput:
    company_id: relay.GlobalID
    name: str
    counts_as_active: bool
    is_delinquent: bool | None = UNSET
    is_lead: bool | None = UNSET
    is_disconnect_default: bool | None = UNSET
    color: str | None = UNSET


@strawberry.input
class UpdateAccountStatusInput:
    id: relay.GlobalID
    name: str | None = UNSET
    counts_as_active: bool | None = UNSET
    is_delinquent: bool | None = UNSET
    is_lead: bool | None = UNSET
    is_disconnect_default: bool | None = UNSET
    color: str | None = UNSET


@strawberry.input
class CreateAccountGroupInput:
    company_id: relay.GlobalID
    name: str
    description: str | None = UNSET


@strawberry.input
class UpdateAccountGroupInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET


@strawberry.input
class CreatePhoneNumberTypeInput:
    company_id: relay.GlobalID
    name: str
    can_receive_sms: bool | None = UNSET


@strawberry.input
class UpdatePhoneNumberTypeInput:
    id: relay.GlobalID
    name: str | None = UNSET
    can_receive_sms: bool | None = UNSET


@strawberry.input(description="An entity by its id.")
class IdInput:
    id: relay.GlobalID


@strawberry.input(description="A phone number: with its country code, or local to the "
                  "company's country.")
class PhoneNumberInput:
    number: str
    phone_number_type_id: relay.GlobalID
    extension: str | None = None


@strawberry.input(description="The primary contact created with an account.")
class ContactDetailsInput:
    name: str
    role: str | None = UNSET
    is_financial: bool | None = UNSET
    emails: list[str] | None = UNSET
    phone_numbers: list[PhoneNumberInput] | None = UNSET
    custom_fields: list[CustomFieldValueInput] | None = UNSET


@strawberry.input
class CreateAccountInput:
    company_id: relay.GlobalID
    name: str
    account_type_id: relay.GlobalID
    account_status_id: relay.GlobalID
    account_number: str | None = strawberry.field(
        default=UNSET, description="Your own account number; unique in the company.")
    parent_account_id: relay.GlobalID | None = UNSET
    bill_to_parent: bool | None = UNSET
    account_group_ids: list[relay.GlobalID] | None = UNSET
    activation_date: date | None = strawberry.field(
        default=UNSET, description="Defaults to today when the status counts as active.")
    lead_source: str | None = UNSET
    custom_fields: list[CustomFieldValueInput] | None = UNSET
    primary_contact: ContactDetailsInput | None = UNSET
    serviceable_address_id: relay.GlobalID | None = strawberry.field(
        default=UNSET, description="Moves the new account in at this address today.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key returns the first result.")


@strawberry.input(description="Statuses change through changeAccountStatus and the other "
                  "status commands, not here. accountGroupIds replaces the groups.")
class UpdateAccountInput:
    id: relay.GlobalID
    name: str | None = UNSET
    account_number: str | None = UNSET
    account_type_id: relay.GlobalID | None = UNSET
    parent_account_id: relay.GlobalID | None = UNSET
    bill_to_parent: bool | None = UNSET
    account_group_ids: list[relay.GlobalID] | None = UNSET
    activation_date: date | None = UNSET
    lead_source: str | None = UNSET
    custom_fields: list[CustomFieldValueInput] | None = UNSET


@strawberry.input
class ChangeAccountStatusInput:
    account_id: relay.GlobalID
    account_status_id: relay.GlobalID
    reason: str


@strawberry.input
class DisconnectAccountInput:
    account_id: relay.GlobalID
    reason: str
    date: date | None = strawberry.field(
        default=None, description="Today if omitted; a future day schedules the disconnection.")
    account_status_id: relay.GlobalID | None = strawberry.field(
        default=None, description="An inactive status; the company's disconnect default if "
        "omitted.")


@strawberry.input
class ReactivateAccountInput:
    account_id: relay.GlobalID
    account_status_id: relay.GlobalID
    reason: str


@strawberry.input
class ConvertLeadInput:
    account_id: relay.GlobalID
    account_status_id: relay.GlobalID
    reason: str | None = None


@strawberry.input
class CreateContactInput:
    account_id: relay.GlobalID
    name: str
    role: str | None = UNSET
    is_primary: bool | None = strawberry.field(
        default=UNSET, description="Defaults to true for an account's first contact.")
    is_financial: bool | None = UNSET
    emails: list[str] | None = UNSET
    phone_numbers: list[PhoneNumberInput] | None = UNSET
    custom_fields: list[CustomFieldValueInput] | None = UNSET


@strawberry.input(description="emails and phoneNumbers, when given, replace the lists. The "
                  "primary contact changes through setPrimaryContact.")
class UpdateContactInput:
    id: relay.GlobalID
    name: str | None = UNSET
    role: str | None = UNSET
    is_financial: bool | None = UNSET
    emails: list[str] | None = UNSET
    phone_numbers: list[PhoneNumberInput] | None = UNSET
    custom_fields: list[CustomFieldValueInput] | None = UNSET


@strawberry.input
class SetContactPortalLoginInput:
    id: relay.GlobalID
    username: str
    password: str
