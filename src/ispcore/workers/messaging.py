"""Sending queued emails and texts: after each commit that queued one, and every minute for
the retries that have come due."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.messaging import sending
from ispcore.domain.messaging.outbox import SEND_JOB
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime


@job(SEND_JOB)
async def send_messages(runtime: Runtime) -> dict[str, int]:
    """Claim due messages in batches and send them; two runs at once never send one message
    twice (see ``domain/messaging/sending.py``)."""
    settings = runtime.settings
    transport = sending.Transport(smtp_timeout=settings.smtp_timeout_seconds,
                                  twilio_base_url=settings.twilio_api_base,
                                  sms_timeout=settings.sms_timeout_seconds,
                                  allow_private=settings.webhooks_allow_private)
    return dict(await sending.send_due(
        lambda: runtime.unit_of_work(SYSTEM, action=SEND_JOB), transport))


CRON.append(CronEntry(SEND_JOB, second=50))
