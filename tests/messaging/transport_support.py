"""Sending tests' helpers: a real SMTP server on loopback (aiosmtpd), the transport mutations,
queuing messages and reading the sent log."""

from __future__ import annotations

import email
import email.policy
import ipaddress
import ssl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
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
    #: Whether each message came over TLS.
    encrypted: list[bool] = field(default_factory=list)
    #: Recipients answered ``550 5.1.1`` at RCPT.
    unknown: set[str] = field(default_factory=set)
    #: Recipients answered ``451 4.3.0`` at RCPT.
    busy: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address in self.unknown:
            return "550 5.1.1 No such user here"
        if address in self.busy:
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.encrypted.append(session.ssl is not None  # after STARTTLS
                              or server.transport.get_extra_info("ssl_object") is not None)
        self.messages.append(email.message_from_bytes(  # type: ignore[arg-type]
            envelope.original_content, policy=email.policy.default))
        return "250 Message accepted for delivery"


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files in ``directory``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "smtp.crt", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@contextmanager
def smtp_server(port: int | None = None, *, login: tuple[str, str] | None = None,
                tls: str | None = None, certificate: tuple[Path, Path] | None = None
                ) -> Iterator[tuple[Inbox, int]]:
    """aiosmtpd on 127.0.0.1 (its own thread and loop). With ``login``, AUTH is required and
    only that user and password are accepted (over plain SMTP unless ``tls``). ``tls``:
    ``"starttls"`` (required before anything else) or ``"tls"`` (TLS from the first byte),
    with ``certificate``."""
    inbox = Inbox()
    port = port or free_port()
    extra: dict[str, Any] = {}
    if tls is not None:
        assert certificate is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*certificate)
        extra = ({"tls_context": context, "require_starttls": True} if tls == "starttls"
                 else {"ssl_context": context})
    if login is not None:
        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                         auth_data: Any) -> AuthResult:
            assert isinstance(auth_data, LoginPassword)
            seen = (auth_data.login.decode(), auth_data.password.decode())
            inbox.logins.append(seen)
            return AuthResult(success=seen == login, handled=False)

        # aiosmtpd counts only STARTTLS as TLS; implicit TLS is encrypted all the same
        extra.update(authenticator=authenticate, auth_required=True,
                     auth_require_tls=tls == "starttls")
        if tls != "starttls":
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
