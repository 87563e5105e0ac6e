"""Root fields of message sending: the sent log, email and SMS settings, a test email and the
retry of a failed message."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.messaging import sending, settings
from ispcore.resolvers.billing import listing
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import fetch_node
from ispcore.schema import messaging_transport as s
from ispcore.schema.accounts import IdInput
from ispcore.schema.companies import Company
from ispcore.schema.messaging_transport import EmailSettings, OutboundMessage, SmsSettings
from ispcore.schema.permissions import requires

READ, WRITE, CONFIGURE = "messaging:read", "messaging:write", "messaging:configure"


async def _update_email(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, {"company_id": Company})
    row = await settings.update_email_settings(uow, values.pop("company_id"), values)
    return {"email_settings": EmailSettings.from_row(row)}


async def _update_sms(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, {"company_id": Company})
    row = await settings.update_sms_settings(uow, values.pop("company_id"), values)
    return {"sms_settings": SmsSettings.from_row(row)}


async def _send_test(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"outbound_message": await settings.send_test_email(
        uow, pk(data.company_id, Company, "company_id"), data.to)}


async def _retry(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"outbound_message": await sending.retry_message(uow, pk(data.id, OutboundMessage))}


async def _company_pk(info: Info, company_id: relay.GlobalID) -> int | None:
    company = await fetch_node(info, Company, company_id)
    return None if company is None else company.pk


@strawberry.type
class MessagingTransportQuery:
    outbound_messages = listing(OutboundMessage, s.MESSAGE_LISTING,
                                (OutboundMessage.model.recipient, OutboundMessage.model.subject),
                                "Emails and texts sent, being sent and failed: the sent log.",
                                permission=READ)

    @strawberry.field(extensions=requires(READ), description="A company's outbound email "
                      "settings; null if it has none.")
    async def email_settings(self, info: Info, company_id: relay.GlobalID
                             ) -> EmailSettings | None:
        company = await _company_pk(info, company_id)
        if company is None:
            return None
        async with info.context.unit_of_work("emailSettings") as uow:
            row = await settings.email_settings(uow, company)
            return EmailSettings.from_row(row) if row is not None else None

    @strawberry.field(extensions=requires(READ), description="A company's SMS settings; null "
                      "if it has none.")
    async def sms_settings(self, info: Info, company_id: relay.GlobalID) -> SmsSettings | None:
        company = await _company_pk(info, company_id)
        if company is None:
            return None
        async with info.context.unit_of_work("smsSettings") as uow:
            row = await settings.sms_settings(uow, company)
            return SmsSettings.from_row(row) if row is not None else None


@strawberry.type
class MessagingTransportMutation:
    update_email_settings = command(
        _update_email, input_type=s.UpdateEmailSettingsInput, permission=CONFIGURE,
        payload=s.UpdateEmailSettingsPayload,
        description="Set or change the SMTP server a company's emails are sent through.")
    update_sms_settings = command(
        _update_sms, input_type=s.UpdateSmsSettingsInput, permission=CONFIGURE,
        payload=s.UpdateSmsSettingsPayload,
        description="Set or change a company's SMS provider.")
    send_test_email = command(
        _send_test, input_type=s.SendTestEmailInput, permission=WRITE,
        payload=payload_type("SendTestEmail", "outbound_message", OutboundMessage),
        description="Queue a test email through the company's settings; the message's status "
                    "and lastError tell how it went.")
    retry_outbound_message = command(
        _retry, input_type=IdInput, permission=WRITE,
        payload=payload_type("RetryOutboundMessage", "outbound_message", OutboundMessage),
        description="Queue a FAILED message again, for a new round of attempts.")
