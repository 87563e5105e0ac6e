"""Writing messages to the outbox. The one way any part of ispcore sends an email or SMS:
``queue_message`` in the caller's transaction; the send job (``SEND_JOB``) delivers after commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

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
