"""Rendering one message for each chosen contact of some accounts and queueing it: what
triggers and mass messages share. Ends at :func:`~ispcore.domain.messaging.outbox.
queue_message`, idempotent on ``{key}:{contact_id}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, select

from ispcore.db import among
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.messaging.content_models import MessageCategory, Recipients
from ispcore.domain.messaging.models import Channel, OutboundMessage
from ispcore.domain.messaging.outbox import Attachment, queue_message
from ispcore.domain.messaging.preferences import choose_recipients
from ispcore.domain.messaging.templates import MAX_SMS_CHARS, Content, render
from ispcore.domain.messaging.variables import account_values, context


@dataclass(frozen=True)
class Send:
    """What to send, to whom, and what wrote it."""

    content: Content
    channel: Channel
    recipients: Recipients
    category: MessageCategory | None
    origin: str
    #: Each message's origin key is ``{key}:{contact_id}``.
    key: str
    attachments: tuple[Attachment, ...] = ()


@dataclass
class Tally:
    #: Messages queued now (not those an earlier run queued).
    queued: int = 0
    skipped: int = 0


async def send_to_accounts(uow: UnitOfWork, company: Any, send: Send,
                           accounts: dict[int, dict[str, Any]]) -> Tally:
    """Queue ``send`` for each account in ``accounts`` (account id -> the event's own
    variables, empty for a mass message)."""
    ids = list(accounts)
    tally = Tally()
    if not ids:
        return tally
    chosen, tally.skipped = await choose_recipients(uow, ids, send.recipients, send.channel,
                                                    send.category)
    values = await account_values(uow, company, ids)
    keys = {f"{send.key}:{r.contact_id}" for pk in ids for r in chosen[pk]}
    done = set(await uow.session.scalars(select(OutboundMessage.origin_key).where(
        OutboundMessage.company_id == company.id,
        among(uow.session, OutboundMessage.origin_key, sorted(keys), item_type=String))))
    email = send.channel is Channel.EMAIL
    for account_id in ids:
        for recipient in chosen[account_id] if account_id in values else ():
            key = f"{send.key}:{recipient.contact_id}"
            if key in done:  # queued by an earlier run: queue_message would return it
                continue
            message = render(send.content, context(
                {**values[account_id], **accounts[account_id]}, recipient.name))
            text = message.body_text if email else message.body_text[:MAX_SMS_CHARS]
            await queue_message(
                uow, company_id=company.id, channel=send.channel,
                recipient=recipient.address, origin=send.origin, origin_key=key,
                subject=message.subject if email else "", body_text=text,
                body_html=message.body_html if email else None, account_id=account_id,
                contact_id=recipient.contact_id,
                category_id=send.category.id if send.category else None,
                attachments=send.attachments if email else ())
            tally.queued += 1
    return tally
