"""Turning an outbox row into the email that goes on the wire: multipart/alternative text and
HTML (inside multipart/mixed when files are attached), From with the sender's name, Reply-To,
Date and a Message-ID on the company's domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from ispcore.domain.messaging.models import OutboundMessage
from ispcore.domain.messaging.transport_models import EmailSettings


@dataclass(frozen=True)
class File:
    filename: str
    content_type: str
    content: bytes


def message_id(message: OutboundMessage, domain: str) -> str:
    """The same for every attempt at one message, so a receiver can tell a resend (after a
    crash between the server's acceptance and our record of it) from a new email."""
    return f"<ispcore.{message.company_id}.{message.id}.{int(message.created_at.timestamp())}" \
           f"@{domain}>"


def compose(message: OutboundMessage, settings: EmailSettings, files: list[File],
            now: datetime) -> EmailMessage:
    email = EmailMessage()
    user, _, domain = settings.from_address.rpartition("@")
    email["From"] = Address(display_name=settings.from_name, username=user, domain=domain)
    email["To"] = message.recipient
    if settings.reply_to:
        email["Reply-To"] = settings.reply_to
    email["Subject"] = message.subject
    email["Date"] = format_datetime(now)
    email["Message-ID"] = message_id(message, settings.domain)
    email.set_content(message.body_text or "")
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    for file in files:
        maintype, _, subtype = file.content_type.partition("/")
        email.add_attachment(file.content, maintype=maintype or "application",
                             subtype=subtype or "octet-stream", filename=file.filename)
    return email
