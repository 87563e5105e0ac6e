"""Types of message sending: the sent log (``OutboundMessage``), a company's email (SMTP) and
SMS settings, and their inputs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import UNSET, relay

from ispcore.domain.messaging import models as m
from ispcore.domain.messaging import transport_models as t
from ispcore.schema.companies import Company
from ispcore.schema.errors import UserError
from ispcore.schema.filtering import DateTimeFilter, IdOf, IntFilter, StringFilter, listing_inputs
from ispcore.schema.nodes import ModelNode, model_node
from ispcore.schema.relations import One, relation

if TYPE_CHECKING:
    from ispcore.schema.accounts import Account, Contact

READ = "messaging:read"
ACCOUNTS = "ispcore.schema.accounts"

MessageChannel = strawberry.enum(m.Channel, name="MessageChannel",
                                 description="How a message is sent.")
MessageStatus = strawberry.enum(m.MessageStatus, name="MessageStatus", description=(
    "QUEUED: waiting for its first or next attempt; SENT: the mail server or SMS provider "
    "took it; FAILED: refused for good, or given up after the last retry."))
SmtpSecurity = strawberry.enum(t.SmtpSecurity, name="SmtpSecurity", description=(
    "NONE: plain SMTP; STARTTLS: upgraded to TLS before logging in (port 587); TLS: TLS from "
    "the first byte (port 465)."))
SmsProviderKind = strawberry.enum(t.SmsProviderKind, name="SmsProviderKind", description=(
    "LOG_ONLY: texts are written to the server's log and counted as sent; TWILIO: sent "
    "through Twilio's REST API."))


@strawberry.type(description="One email or SMS to one recipient, and what became of it: the "
                 "sent log.")
@model_node(m.OutboundMessage, read_permission=READ)
class OutboundMessage(ModelNode):
    channel: MessageChannel
    status: MessageStatus
    recipient: str = strawberry.field(description="An email address or a phone number.")
    subject: str
    body_text: str
    body_html: str | None
    origin: str = strawberry.field(description="What queued it: trigger, mass_message, "
                                   "manual, system, …")
    attempts: int = strawberry.field(description="Attempts in the current round (a retry "
                                     "starts a new round).")
    next_attempt_at: datetime | None = strawberry.field(description="When a QUEUED message "
                                                        "is tried (again).")
    last_error: str | None = strawberry.field(description="Why the last attempt failed.")
    provider_id: str | None = strawberry.field(description="The email's Message-ID, or the "
                                               "SMS provider's id for the text.")
    created_at: datetime
    sent_at: datetime | None
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int | None]
    contact_id: strawberry.Private[int | None]

    company: Company | None = relation(One("Company", "company_id"))
    account: Annotated[Account, strawberry.lazy(ACCOUNTS)] | None = relation(
        One("Account", "account_id"), description="Null without accounts:read.")
    contact: Annotated[Contact, strawberry.lazy(ACCOUNTS)] | None = relation(
        One("Contact", "contact_id"), description="Null without accounts:read.")


@strawberry.input(description="Operators on a message status.")
class MessageStatusFilter:
    eq: MessageStatus | None = UNSET
    in_: list[MessageStatus] | None = strawberry.field(name="in", default=UNSET)


@strawberry.input(description="Operators on a message channel.")
class MessageChannelFilter:
    eq: MessageChannel | None = UNSET


MESSAGE_LISTING = listing_inputs(
    "OutboundMessage", {
        "id": IdOf("OutboundMessage"), "company_id": IdOf("Company"),
        "account_id": IdOf("Account"), "contact_id": IdOf("Contact"),
        "channel": MessageChannelFilter, "status": MessageStatusFilter,
        "recipient": StringFilter, "subject": StringFilter, "origin": StringFilter,
        "attempts": IntFilter, "created_at": DateTimeFilter, "sent_at": DateTimeFilter},
    order_by=["created_at"])


@strawberry.type(description="A company's outbound email: the SMTP server it sends through "
                 "and who its mail is from.")
class EmailSettings:
    smtp_host: str
    smtp_port: int
    security: SmtpSecurity
    username: str | None
    has_password: bool = strawberry.field(description="A password is stored (sealed; it is "
                                          "never shown).")
    from_address: str
    from_name: str
    reply_to: str | None
    domain: str = strawberry.field(description="The domain of the emails' Message-IDs.")
    active: bool = strawberry.field(description="Inactive: emails fail with that reason.")
    updated_at: datetime

    @classmethod
    def from_row(cls, row: t.EmailSettings) -> EmailSettings:
        return cls(smtp_host=row.smtp_host, smtp_port=row.smtp_port,
                   security=t.SmtpSecurity(row.security), username=row.username,
                   has_password=row.password_sealed is not None,
                   from_address=row.from_address, from_name=row.from_name,
                   reply_to=row.reply_to, domain=row.domain, active=row.active,
                   updated_at=row.updated_at)


@strawberry.type(description="A company's SMS provider and the number texts come from.")
class SmsSettings:
    provider: SmsProviderKind
    account_sid: str | None
    has_auth_token: bool = strawberry.field(description="An auth token is stored (sealed; "
                                            "it is never shown).")
    from_number: str
    active: bool = strawberry.field(description="Inactive: texts fail with that reason.")
    updated_at: datetime

    @classmethod
    def from_row(cls, row: t.SmsSettings) -> SmsSettings:
        return cls(provider=t.SmsProviderKind(row.provider), account_sid=row.account_sid,
                   has_auth_token=row.auth_token_sealed is not None,
                   from_number=row.from_number, active=row.active, updated_at=row.updated_at)


@strawberry.input(description="Omitted fields stay. New settings need smtpHost and "
                  "fromAddress; the port defaults to 587 with STARTTLS, the domain to the "
                  "from address's.")
class UpdateEmailSettingsInput:
    company_id: relay.GlobalID
    smtp_host: str | None = UNSET
    smtp_port: int | None = strawberry.field(default=UNSET, description="1 to 65535.")
    security: SmtpSecurity | None = UNSET
    username: str | None = strawberry.field(default=UNSET, description="Empty: no login.")
    password: str | None = strawberry.field(
        default=UNSET, description="Write-only: sealed with the server's vault key; empty "
        "removes it.")
    from_address: str | None = UNSET
    from_name: str | None = UNSET
    reply_to: str | None = strawberry.field(default=UNSET, description="Empty: none.")
    domain: str | None = UNSET
    active: bool | None = UNSET


@strawberry.input(description="Omitted fields stay. TWILIO needs accountSid and authToken.")
class UpdateSmsSettingsInput:
    company_id: relay.GlobalID
    provider: SmsProviderKind | None = UNSET
    account_sid: str | None = UNSET
    auth_token: str | None = strawberry.field(
        default=UNSET, description="Write-only: sealed with the server's vault key.")
    from_number: str | None = strawberry.field(
        default=UNSET, description="E.164 (+13125550100), a short code or a sender id.")
    active: bool | None = UNSET


@strawberry.input(description="Queue a test email through the company's settings.")
class SendTestEmailInput:
    company_id: relay.GlobalID
    to: str


@strawberry.type
class UpdateEmailSettingsPayload:
    email_settings: EmailSettings | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateSmsSettingsPayload:
    sms_settings: SmsSettings | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
