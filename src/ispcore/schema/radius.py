"""RADIUS types: NAS clients, groups and their reply attributes, credentials, sessions, CoA
actions, network settings and address lists."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET, relay
from strawberry.types import Info

from ispcore.domain.network import models as m
from ispcore.domain.network.nas import CoaMode as DomainCoaMode
from ispcore.domain.network.nas import NasKind as DomainNasKind
from ispcore.domain.network.settings import AccessAction as DomainAccessAction
from ispcore.schema.accounts import Account
from ispcore.schema.billing import AccountService
from ispcore.schema.filtering import (
    BooleanFilter,
    DateTimeFilter,
    IdOf,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.nodes import ModelNode, model_node, related
from ispcore.schema.relations import One, Rows, relation
from ispcore.schema.scalars import BigInt

READ = "network:read"

NasKind = strawberry.enum(DomainNasKind, description="The NAS's make (FreeRADIUS's nas type).")
CoaMode = strawberry.enum(DomainCoaMode, description="COA: changes a live session in place; "
                          "DISCONNECT: ends it, so the customer reconnects with the new "
                          "answer.")
AccessAction = strawberry.enum(DomainAccessAction, description="What RADIUS does for an "
                               "account in this state: NONE (as if paying), REJECT, or "
                               "THROTTLE / REDIRECT into the state's group.")


@strawberry.type(description="A router or access concentrator that asks RADIUS and takes CoA. "
                 "Its shared secret is sealed and never shown.")
@model_node(m.NasClient, read_permission=READ)
class NasClient(ModelNode):
    name: str
    address: str = strawberry.field(description="Where its requests come from.")
    kind: NasKind
    coa_port: int
    coa_mode: CoaMode
    description: str
    active: bool
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    network_site_id: strawberry.Private[int | None]


@strawberry.type(description="A reply attribute; the value may hold placeholders such as "
                 "{download} and {upload} (kbit/s), filled from each member's service.")
class RadiusAttribute:
    attribute: str
    op: str = strawberry.field(description="= adds if absent, := replaces, += adds.")
    value: str
    templated: bool = strawberry.field(description="Filled per member (radreply) rather than "
                                       "shared by the group (radgroupreply).")


@strawberry.type(description="A named set of reply attributes credentials answer with.")
@model_node(m.RadiusGroup, read_permission=READ)
class RadiusGroup(ModelNode):
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]

    attributes: list[RadiusAttribute] = relation(Rows(
        m.RadiusGroupAttribute, "group_id", order_by=("position",),
        build=lambda rows: [RadiusAttribute(attribute=r.attribute, op=r.op, value=r.value,
                                            templated=r.templated) for r in rows]))


@strawberry.type(description="What the RADIUS servers answer for a credential now.")
class RadiusReplyItem:
    attribute: str
    op: str
    value: str


@strawberry.type(description="The PPPoE or hotspot login of an account's data service.")
@model_node(m.RadiusCredential, read_permission=READ)
class RadiusCredential(ModelNode):
    username: str
    access: str = strawberry.field(description="ACCEPT or REJECT, as RADIUS answers now.")
    access_state: str = strawberry.field(description="Why: ACTIVE, DELINQUENT, SUSPENDED, "
                                         "OVER_CAP (over the usage allowance: the usage "
                                         "policy's throttle group), NO_SERVICE (the service "
                                         "ended) or REMOVED.")
    removed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    account_service_id: strawberry.Private[int | None]
    radius_group_id: strawberry.Private[int | None]
    effective_group_id: strawberry.Private[int | None]
    password: strawberry.Private[str]

    account: Account | None = relation(One("Account", "account_id"))
    account_service: AccountService | None = relation(One("AccountService",
                                                          "account_service_id"))
    radius_group: RadiusGroup | None = relation(
        One("RadiusGroup", "radius_group_id"),
        description="Its own group; null: the company's default.")
    effective_group: RadiusGroup | None = relation(
        One("RadiusGroup", "effective_group_id"),
        description="The group it answers with now (the delinquent, suspended or usage "
                    "throttle group when that applies).")
    replies: list[RadiusReplyItem] = relation(
        Rows(m.RadiusReply, "credential_id", order_by=("position",),
             build=lambda rows: [RadiusReplyItem(attribute=r.attribute, op=r.op,
                                                 value=r.value) for r in rows]),
        description="Its own reply items (the group's shared items come after them).")

    @strawberry.field(name="password", description="Null without network:write.")
    def shown_password(self, info: Info) -> str | None:
        return self.password if info.context.actor.can("network:write") else None


@strawberry.type(description="A session seen by the built-in RADIUS server's accounting.")
@model_node(m.RadiusSession, read_permission=READ)
class RadiusSession(ModelNode):
    username: str
    acct_session_id: str
    framed_ip_address: str | None
    nas_port_id: str | None
    calling_station_id: str | None
    started_at: datetime
    updated_at: datetime
    stopped_at: datetime | None
    session_time: int
    input_octets: str = strawberry.field(description="Bytes from the customer (a decimal "
                                         "string: counters pass 2^53).")
    output_octets: str = strawberry.field(description="Bytes to the customer.")
    counted_in: BigInt = strawberry.field(
        name="countedInputOctets", description="Of `inputOctets`, those counted as usage "
        "(credited to the account as upload unless the session has none).")
    counted_out: BigInt = strawberry.field(
        name="countedOutputOctets", description="Of `outputOctets`, those counted as usage "
        "(download).")
    counted_at: datetime | None = strawberry.field(
        description="When the last report was counted: the next one's usage runs from here.")
    terminate_cause: str | None
    company_id: strawberry.Private[int]
    nas_id: strawberry.Private[int]
    account_id: strawberry.Private[int | None]
    credential_id: strawberry.Private[int | None]

    nas: NasClient | None = relation(One("NasClient", "nas_id"))
    account: Account | None = relation(One("Account", "account_id"))
    credential: RadiusCredential | None = relation(One("RadiusCredential", "credential_id"))


@strawberry.type(description="A CoA-Request or Disconnect-Request for a session, and what "
                 "the NAS said.")
@model_node(m.RadiusAction, read_permission=READ)
class RadiusAction(ModelNode):
    kind: str = strawberry.field(description="COA or DISCONNECT.")
    reason: str = strawberry.field(description="DELINQUENT, DELINQUENCY_CLEARED, SUSPENDED, "
                                   "RESTORED, ATTRIBUTES_CHANGED (speeds), SERVICE_ENDED, "
                                   "REMOVED, USAGE_CAP (over the usage allowance), "
                                   "USAGE_CAP_RESET (a new period or a larger allowance).")
    status: str = strawberry.field(description="PENDING, SENDING, ACK, NAK, TIMEOUT, ERROR, or "
                                   "SUPERSEDED (a newer change for the session went instead).")
    error_cause: int | None = strawberry.field(description="The NAK's Error-Cause (RFC 5176), "
                                               "e.g. 503 Session Context Not Found.")
    error: str
    attempts: int
    created_at: datetime
    completed_at: datetime | None
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    nas_id: strawberry.Private[int]
    session_id: strawberry.Private[int | None]
    credential_id: strawberry.Private[int | None]
    attributes: strawberry.Private[list[list[str]]]

    nas: NasClient | None = relation(One("NasClient", "nas_id"))
    account: Account | None = relation(One("Account", "account_id"))
    session: RadiusSession | None = relation(One("RadiusSession", "session_id"))
    credential: RadiusCredential | None = relation(One("RadiusCredential", "credential_id"))

    @strawberry.field(name="attributes", description="The attributes sent: the session's "
                      "identification and, for CoA, the new reply items.")
    def sent_attributes(self) -> list[RadiusReplyItem]:
        return [RadiusReplyItem(attribute=a, op="=", value=v) for a, v in self.attributes]


@strawberry.type(description="A company's network settings.")
class NetworkSettings:
    release_on_disconnect: bool = strawberry.field(description="Release the addresses of an "
                                                   "account that stops being active.")
    release_hold_days: int = strawberry.field(description="...after this many days.")
    delinquent_action: AccessAction
    suspended_action: AccessAction = strawberry.field(description="For accounts whose status "
                                                      "does not count as active.")
    delinquent_address_list: str
    suspended_address_list: str
    updated_at: datetime | None
    company_id: strawberry.Private[int]
    delinquent_radius_group_id: strawberry.Private[int | None]
    suspended_radius_group_id: strawberry.Private[int | None]
    default_radius_group_id: strawberry.Private[int | None]

    @strawberry.field(description="Delinquent accounts go here with THROTTLE or REDIRECT.")
    async def delinquent_radius_group(self, info: Info) -> RadiusGroup | None:
        return await related(info, RadiusGroup, self.delinquent_radius_group_id)

    @strawberry.field(description="Suspended accounts go here with THROTTLE or REDIRECT.")
    async def suspended_radius_group(self, info: Info) -> RadiusGroup | None:
        return await related(info, RadiusGroup, self.suspended_radius_group_id)

    @strawberry.field(description="The group of credentials that name none.")
    async def default_radius_group(self, info: Info) -> RadiusGroup | None:
        return await related(info, RadiusGroup, self.default_radius_group_id)

    @classmethod
    def from_row(cls, row: m.NetworkSettings) -> NetworkSettings:
        return cls(**{name: getattr(row, name) for name in (
            "release_on_disconnect", "release_hold_days", "delinquent_action",
            "suspended_action", "delinquent_address_list", "suspended_address_list",
            "updated_at", "company_id", "delinquent_radius_group_id",
            "suspended_radius_group_id", "default_radius_group_id")})


@strawberry.type(description="An address on a router address list.")
class AddressListEntry:
    address: str
    account_id: strawberry.Private[int]

    @strawberry.field
    async def account(self, info: Info) -> Account | None:
        return await related(info, Account, self.account_id)


@strawberry.type(description="Addresses of accounts in one state, for a MikroTik firewall "
                 "address list (also as a RouterOS script at /network/address-lists.rsc).")
class AddressList:
    name: str
    state: str = strawberry.field(description="DELINQUENT or SUSPENDED.")
    entries: list[AddressListEntry]


_OWNED = {"company_id": IdOf("Company"), "account_id": IdOf("Account")}
NAS_LISTING = listing_inputs("NasClient", {"id": IdOf("NasClient"), "company_id": IdOf(
    "Company"), "name": StringFilter, "address": StringFilter, "active": BooleanFilter},
    order_by=["name", "created_at"])
GROUP_LISTING = listing_inputs("RadiusGroup", {"id": IdOf("RadiusGroup"), "company_id": IdOf(
    "Company"), "name": StringFilter}, order_by=["name", "created_at"])
CREDENTIAL_LISTING = listing_inputs(
    "RadiusCredential", {"id": IdOf("RadiusCredential"), **_OWNED, "username": StringFilter,
                         "access": StringFilter, "access_state": StringFilter,
                         "removed_at": DateTimeFilter},
    order_by=["username", "created_at"])
SESSION_LISTING = listing_inputs(
    "RadiusSession", {"id": IdOf("RadiusSession"), **_OWNED, "nas_id": IdOf("NasClient"),
                      "username": StringFilter, "started_at": DateTimeFilter,
                      "stopped_at": DateTimeFilter}, order_by=["started_at", "updated_at"])
ACTION_LISTING = listing_inputs(
    "RadiusAction", {"id": IdOf("RadiusAction"), **_OWNED, "nas_id": IdOf("NasClient"),
                     "status": StringFilter, "reason": StringFilter,
                     "created_at": DateTimeFilter}, order_by=["created_at"])


@strawberry.input
class CreateNasClientInput:
    company_id: relay.GlobalID
    name: str
    address: str
    secret: str = strawberry.field(description="8 to 128 characters; sealed, never shown.")
    kind: NasKind | None = UNSET
    coa_port: int | None = strawberry.field(default=UNSET, description="Default 3799.")
    coa_mode: CoaMode | None = UNSET
    description: str | None = UNSET


@strawberry.input(description="Omitted fields stay.")
class UpdateNasClientInput:
    id: relay.GlobalID
    name: str | None = UNSET
    address: str | None = UNSET
    secret: str | None = UNSET
    kind: NasKind | None = UNSET
    coa_port: int | None = UNSET
    coa_mode: CoaMode | None = UNSET
    description: str | None = UNSET
    active: bool | None = UNSET


@strawberry.input
class RadiusAttributeInput:
    attribute: str
    value: str = strawberry.field(description="Placeholders: {download}, {upload} (kbit/s), "
                                  "{download_mbps}, {upload_mbps}, {download_bps}, "
                                  "{upload_bps}, {username}, {account_id}.")
    op: str = "="


@strawberry.input
class CreateRadiusGroupInput:
    company_id: relay.GlobalID
    name: str
    description: str | None = UNSET
    attributes: list[RadiusAttributeInput] | None = UNSET


@strawberry.input(description="Omitted fields stay; attributes, when given, replace all.")
class UpdateRadiusGroupInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET
    attributes: list[RadiusAttributeInput] | None = UNSET


@strawberry.input(description="Username and password are generated when omitted.")
class CreateRadiusCredentialInput:
    account_id: relay.GlobalID
    account_service_id: relay.GlobalID = strawberry.field(
        description="The account's data service (a service with speeds).")
    username: str | None = UNSET
    password: str | None = UNSET
    radius_group_id: relay.GlobalID | None = strawberry.field(
        default=UNSET, description="Null: the company's default group.")


@strawberry.input(description="Omitted fields stay; a null password generates a new one.")
class UpdateRadiusCredentialInput:
    id: relay.GlobalID
    username: str | None = UNSET
    password: str | None = UNSET
    account_service_id: relay.GlobalID | None = UNSET
    radius_group_id: relay.GlobalID | None = UNSET


@strawberry.input(description="Omitted fields stay.")
class UpdateNetworkSettingsInput:
    company_id: relay.GlobalID
    release_on_disconnect: bool | None = UNSET
    release_hold_days: int | None = UNSET
    delinquent_action: AccessAction | None = UNSET
    delinquent_radius_group_id: relay.GlobalID | None = UNSET
    suspended_action: AccessAction | None = UNSET
    suspended_radius_group_id: relay.GlobalID | None = UNSET
    default_radius_group_id: relay.GlobalID | None = UNSET
    delinquent_address_list: str | None = UNSET
    suspended_address_list: str | None = UNSET

