"""Rendering one message for each chosen contact of some accounts and queueing it: what
triggers and mass messages share. Ends at :func:`~ispcore.domain.messaging.outbox.
queue_messages`, idempotent on ``{key}:{contact_id}``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.messaging.content_models import MessageCategory, Recipients
from ispcore.domain.messaging.models import Channel
from ispcore.domain.messaging.outbox import Attachment, NewMessage, queue_messages
from ispcore.domain.messaging.preferences import choose_recipients
from ispcore.domain.messaging.templates import MAX_SMS_CHARS, Content, RenderError, render
from ispcore.domain.messaging.variables import account_values, context

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Send:
    """What to send, to whom, and what wrote it."""

    content: Content
    channel: Channel
    recipients: Recipients
    category: MessageCategory | None
    origin: str


@dataclass(frozen=True)
class Occasion:
    """One reason to message one account: the event's own variables (none for a mass
    message), the key of its messages (each one's origin key is ``{key}:{contact_id}``) and
    what an email carries."""

    account_id: int
    key: str
    values: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()


@dataclass
class Tally:
    #: Messages queued now (not those an earlier run queued).
    queued: int = 0
    skipped: int = 0


async def send_to_accounts(uow: UnitOfWork, company: Any, send: Send,
                           occasions: list[Occasion]) -> Tally:
    """Queue ``send`` once per occasion to its account's chosen contacts, with a fixed number
    of statements whatever the number of occasions. An occasion whose values the template
    cannot render is logged and skipped; the others are queued."""
    ids = sorted({o.account_id for o in occasions})
    tally = Tally()
    if not ids:
        return tally
    chosen, skipped = await choose_recipients(uow, ids, send.recipients, send.channel,
                                              send.category)
    tally.skipped = sum(skipped.get(o.account_id, 0) for o in occasions)
    values = await account_values(uow, company, ids)
    email = send.channel is Channel.EMAIL
    messages = []
    for occasion in occasions:
        account_id = occasion.account_id
        for recipient in chosen[account_id] if account_id in values else ():
            try:
                message = render(send.content, context(
                    {**values[account_id], **occasion.values}, recipient.name))
            except RenderError as exc:  # this occasion's values: the others still go
                log.warning("%s: the template could not render: %s", occasion.key, exc)
                tally.skipped += 1
                continue
            text = message.body_text if email else message.body_text[:MAX_SMS_CHARS]
            messages.append(NewMessage(
                company_id=company.id, channel=send.channel, recipient=recipient.address,
                origin=send.origin, origin_key=f"{occasion.key}:{recipient.contact_id}",
                subject=message.subject if email else "", body_text=text,
                body_html=message.body_html if email else None, account_id=account_id,
                contact_id=recipient.contact_id,
                category_id=send.category.id if send.category else None,
                attachments=occasion.attachments if email else ()))
    tally.queued = await queue_messages(uow, messages)
    return tally
