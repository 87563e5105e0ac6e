"""Sending tests' helpers: a real SMTP server on loopback (aiosmtpd), the transport mutations,
queuing messages and reading the sent log."""

from __future__ import annotations

import email
import email.policy
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from strawberry import relay

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.messaging.models import Channel
from ispcore.domain.messaging.outbox import SEND_JOB as SEND_JOB
from ispcore.domain.messaging.outbox import Attachment, queue_message
from tests.accounts.factories import MUTATIONS, _mutation
from tests.conftest import free_port

EMAIL_FIELDS = """smtpHost smtpPort security username hasPassword fromAddress fromName replyTo
  domain active"""
SMS_FIELDS = "provider accountSid hasAuthToken fromNumber active"
MESSAGE_FIELDS = """id channel status recipient subject attempts lastError providerId sentAt
  nextAttemptAt origin"""
MUTATIONS.update({
    "updateEmailSettings": _mutation("updateEmailSettings", "UpdateEmailSettingsInput",
                                     "emailSettings", EMAIL_FIELDS),
    "updateSmsSettings": _mutation("updateSmsSettings", "UpdateSmsSettingsInput",
                                   "smsSettings", SMS_FIELDS),
    "sendTestEmail": _mutation("sendTestEmail", "SendTestEmailInput", "outboundMessage",
                               MESSAGE_FIELDS),
    "retryOutboundMessage": _mutation("retryOutboundMessage", "IdInput", "outboundMessage",
                                      MESSAGE_FIELDS),
})
MESSAGES = f"""query($filter: OutboundMessageFilter) {{ outboundMessages(filter: $filter) {{
  totalCount edges {{ node {{ {MESSAGE_FIELDS} account {{ id }} }} }} }} }}"""


@dataclass
class Inbox:
    """What the SMTP server received: parsed messages, and the logins it saw."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)
    #: Recipients answered ``550 5.1.1`` at RCPT.
    unknown: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address in self.unknown:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(  # type: ignore[arg-type]
            envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(port: int | None = None, *, login: tuple[str, str] | None = None
                ) -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd on 127.0.0.1 (its own thread and loop); with ``login``, AUTH is required and
    only that user and password are accepted (over plain SMTP, as TLS is not under test)."""
    inbox = Inbox()
    port = port or free_port()
    extra: dict[str, Any] = {}
    if login is not None:
        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                         auth_data: Any) -> AuthResult:
            assert isinstance(auth_data, LoginPassword)
            seen = (auth_data.login.decode(), auth_data.password.decode())
            inbox.logins.append(seen)
            return AuthResult(success=seen == login, handled=False)

        extra = {"authenticator": authenticate, "auth_required": True,
                 "auth_require_tls": False}
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **extra)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def pk_of(global_id: str) -> int:
    return int(relay.GlobalID.from_id(global_id).node_id)


async def queue(runtime: Any, company: str, key: str, *, to: str = "pat@example.net",
                channel: Channel = Channel.EMAIL, attachments: tuple[Attachment, ...] = (),
                **fields: Any) -> int:
    """Queue one message for ``company`` (a global id) as other areas do; its id."""
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        message = await queue_message(
            uow, company_id=pk_of(company), channel=channel, recipient=to, origin="manual",
            origin_key=key, subject=fields.pop("subject", f"Hello {key}"),
            body_text=fields.pop("body_text", f"Plain text of {key}."),
            attachments=attachments, **fields)
        return message.id


async def sent_log(api: Any, token: str, **flt: Any) -> list[dict[str, Any]]:
    data = await api.data(MESSAGES, {"filter": flt or None}, token)
    return [edge["node"] for edge in data["outboundMessages"]["edges"]]
