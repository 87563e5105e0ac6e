"""Rendering one message for each chosen contact of some accounts and queueing it: what
triggers and mass messages share. Ends at :func:`~ispcore.domain.messaging.outbox.
queue_message`, idempotent on ``{key}:{contact_id}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.messaging.content_models import MessageCategory, Recipients
from ispcore.domain.messaging.models import Channel
from ispcore.domain.messaging.outbox import Attachment, queue_message
from ispcore.domain.messaging.preferences import choose_recipients
from ispcore.domain.messaging.templates import Content, render
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
    for account_id in ids:
        if account_id not in values:
            continue
        for recipient in chosen[account_id]:
            message = render(send.content, context(
                {**values[account_id], **accounts[account_id]}, recipient.name))
            email = send.channel is Channel.EMAIL
            await queue_message(
                uow, company_id=company.id, channel=send.channel,
                recipient=recipient.address, origin=send.origin,
                origin_key=f"{send.key}:{recipient.contact_id}",
                subject=message.subject if email else "", body_text=message.body_text,
                body_html=message.body_html if email else None, account_id=account_id,
                contact_id=recipient.contact_id,
                category_id=send.category.id if send.category else None,
                attachments=send.attachments if email else ())
            tally.queued += 1
    return tally
