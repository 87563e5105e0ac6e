"""Telling a webhook endpoint's owner that it was disabled: an email to the user who created
it, queued in the message outbox by an event handler on ``webhook.disabled``.

The email goes out through the endpoint's company's email settings; an instance-wide endpoint
has no company, so it uses the first company (lowest id) with active email settings. Without
an owner (deleted user) or any settings the event stays the only notice, and the log says so.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.models import Event
from ispcore.domain.identity.models import User
from ispcore.domain.messaging.models import Channel
from ispcore.domain.messaging.outbox import NewMessage, queue_messages
from ispcore.domain.messaging.transport_models import EmailSettings

log = logging.getLogger(__name__)

HANDLER = "webhooks.owner_notice"
EVENT_TYPES = {"webhook.disabled"}


async def notify_owners(uow: UnitOfWork, events: list[Event]) -> None:
    """Queue one email per disabled endpoint of the batch: its owners read in one query,
    the messages queued together."""
    owner_ids = {e.payload.get("created_by_id") for e in events} - {None}
    owners = {u.id: u for u in await uow.session.scalars(
        select(User).where(User.id.in_(owner_ids)))} if owner_ids else {}
    fallback = None
    if any(e.company_id is None for e in events):
        fallback = await uow.session.scalar(
            select(EmailSettings.company_id).where(EmailSettings.active)
            .order_by(EmailSettings.company_id).limit(1))
    messages = []
    for event in events:
        owner = owners.get(event.payload.get("created_by_id"))
        company_id = event.company_id or fallback
        if owner is None or company_id is None:
            log.warning("webhook %s was disabled; no owner or no email settings to tell",
                        event.entity_id)
            continue
        url, reason = event.payload.get("url", "?"), event.payload.get("reason", "?")
        messages.append(NewMessage(
            company_id=company_id, channel=Channel.EMAIL, recipient=owner.email,
            origin="system", origin_key=f"webhook_disabled:{event.id}",
            subject=f"Webhook disabled: {url}"[:500],
            body_text=(f"The webhook endpoint {url} has been disabled and receives no more "
                       f"events.\n\nReason: {reason}\n\nFix the endpoint, then re-enable it "
                       "(updateWebhook with active: true); its delivery log "
                       "(webhookDeliveries) shows the failed attempts.\n")))
    await queue_messages(uow, messages)
