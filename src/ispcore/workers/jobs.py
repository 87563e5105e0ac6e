"""The platform's jobs. Later areas add theirs in their own modules, imported below."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.events.service import DISPATCH_JOB, dispatch_pending
from ispcore.domain.identity.actor import SYSTEM
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime


@job(DISPATCH_JOB)
async def dispatch_events(runtime: Runtime) -> int:
    """Hand new outbox events to their handlers; enqueued after each commit that wrote events,
    and run every minute in case a notification was lost."""
    return await dispatch_pending(lambda: runtime.unit_of_work(SYSTEM, action=DISPATCH_JOB))


CRON.append(CronEntry(DISPATCH_JOB, second=0))
