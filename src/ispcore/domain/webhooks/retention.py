"""The delivery log is kept for 30 days; housekeeping deletes what is older (finished
deliveries with their attempts, and messages no delivery needs any more)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, exists, select

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.webhooks.models import WebhookDelivery, WebhookMessage

KEPT = timedelta(days=30)


async def prune(uow: UnitOfWork, kept: timedelta = KEPT) -> int:
    """Delete finished deliveries created before ``kept`` ago; returns how many."""
    before = uow.clock.now() - kept
    result = await uow.session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.status.in_(("SUCCEEDED", "FAILED")), WebhookDelivery.created_at < before))
    await uow.session.execute(delete(WebhookMessage).where(
        WebhookMessage.created_at < before,
        ~exists(select(WebhookDelivery.id).where(
            WebhookDelivery.event_id == WebhookMessage.event_id))))
    return result.rowcount
