"""Writing messages to the outbox. The one way any part of ispcore sends an email or SMS:
``queue_message`` in the caller's transaction; the send job (``SEND_JOB``) delivers after commit."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import String, select

from ispcore.db import among, bulk_insert
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.messaging.models import (
    Channel,
    MessageAttachment,
    MessageStatus,
    OutboundMessage,
)

SEND_JOB = "messaging.send"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes | None = None
    #: Render this invoice's PDF at send time instead of storing ``content``.
    invoice_id: int | None = None


@dataclass(frozen=True)
class NewMessage:
    """One message to queue with :func:`queue_messages` (the arguments of
    :func:`queue_message`)."""

    company_id: int
    channel: Channel
    recipient: str
    origin: str
    origin_key: str
    subject: str = ""
    body_text: str = ""
    body_html: str | None = None
    account_id: int | None = None
    contact_id: int | None = None
    category_id: int | None = None
    attachments: tuple[Attachment, ...] = ()


async def queue_messages(uow: UnitOfWork, messages: Sequence[NewMessage]) -> int:
    """Queue many messages in the caller's transaction with a fixed number of statements
    (a handler's or a job's batch); returns how many were queued. Idempotent on
    (``company_id``, ``origin_key``) as :func:`queue_message`: a message whose key is taken
    is left out. The keys given must differ from one another."""
    keys: dict[int, list[str]] = defaultdict(list)
    for m in messages:
        keys[m.company_id].append(m.origin_key)
    taken = await _ids_of(uow, keys)
    new = [m for m in messages if (m.company_id, m.origin_key) not in taken]
    if not new:
        return 0
    now = uow.clock.now()
    await bulk_insert(uow.session, OutboundMessage, [
        {"company_id": m.company_id, "channel": m.channel.value,
         "status": MessageStatus.QUEUED.value, "account_id": m.account_id,
         "contact_id": m.contact_id, "recipient": m.recipient, "subject": m.subject,
         "body_text": m.body_text, "body_html": m.body_html, "origin": m.origin,
         "origin_key": m.origin_key, "category_id": m.category_id, "attempts": 0,
         "next_attempt_at": now, "last_error": None, "provider_id": None,
         "created_at": now, "sent_at": None} for m in new])
    with_files: dict[int, list[str]] = defaultdict(list)
    for m in new:
        if m.attachments:
            with_files[m.company_id].append(m.origin_key)
    if with_files:  # their ids by key (ids returned in order would cost a row each on SQLite)
        ids = await _ids_of(uow, with_files)
        await bulk_insert(uow.session, MessageAttachment, [
            {"message_id": ids[m.company_id, m.origin_key], "filename": a.filename,
             "content_type": a.content_type, "content": a.content,
             "invoice_id": a.invoice_id} for m in new for a in m.attachments])
    uow.enqueue(SEND_JOB, job_id=f"{SEND_JOB}:{int(now.timestamp())}")
    return len(new)


async def _ids_of(uow: UnitOfWork, keys: dict[int, list[str]]) -> dict[tuple[int, str], int]:
    """The ids of the messages queued with these origin keys (by company), by (company,
    key): one query per company."""
    found: dict[tuple[int, str], int] = {}
    for company_id, company_keys in keys.items():
        rows = await uow.session.execute(
            select(OutboundMessage.origin_key, OutboundMessage.id).where(
                OutboundMessage.company_id == company_id,
                among(uow.session, OutboundMessage.origin_key, company_keys,
                      item_type=String)))
        found.update(((company_id, key), pk) for key, pk in rows)
    return found


async def queue_message(
    uow: UnitOfWork,
    *,
    company_id: int,
    channel: Channel,
    recipient: str,
    origin: str,
    origin_key: str,
    subject: str = "",
    body_text: str = "",
    body_html: str | None = None,
    account_id: int | None = None,
    contact_id: int | None = None,
    category_id: int | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> OutboundMessage:
    """Queue one message in the caller's transaction and return it.

    Idempotent on (``company_id``, ``origin_key``): when a message with that key exists it is
    returned unchanged and nothing new is queued. The send job is enqueued after commit.
    """
    existing = await uow.session.scalar(select(OutboundMessage).where(
        OutboundMessage.company_id == company_id, OutboundMessage.origin_key == origin_key))
    if existing is not None:
        return existing
    now = uow.clock.now()
    message = OutboundMessage(
        company_id=company_id, channel=channel, status=MessageStatus.QUEUED,
        recipient=recipient, subject=subject, body_text=body_text, body_html=body_html,
        origin=origin, origin_key=origin_key, account_id=account_id, contact_id=contact_id,
        category_id=category_id, attempts=0, next_attempt_at=now, created_at=now)
    uow.session.add(message)
    await uow.session.flush()
    for attachment in attachments:
        uow.session.add(MessageAttachment(
            message_id=message.id, filename=attachment.filename,
            content_type=attachment.content_type, content=attachment.content,
            invoice_id=attachment.invoice_id))
    uow.enqueue(SEND_JOB, job_id=f"{SEND_JOB}:{int(now.timestamp())}")
    return message
