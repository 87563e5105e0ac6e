"""The platform's jobs. Later areas add theirs in their own modules, imported below."""

from __future__ import annotations

import asyncio
import weakref
from datetime import timedelta
from typing import TYPE_CHECKING

from ispcore.domain.events.service import DISPATCH_JOB, dispatch_pending
from ispcore.domain.idempotency import service as idempotency
from ispcore.domain.identity import throttle, users
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.monitoring import retention as monitoring_retention
from ispcore.domain.scheduling import service as scheduling
from ispcore.domain.usage import retention as usage_retention
from ispcore.domain.webhooks import retention as webhook_retention
from ispcore.domain.webhooks.fan_out import FAN_OUT_JOB
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime


class _Dispatching:
    """Whether this process's dispatcher is working, and whether a commit since asked for
    another pass."""

    running = False
    again = False


#: One dispatcher at a time per process (and event loop): a dispatch job arriving while one
#: works asks it for one more pass and returns at once, holding no connection. (Dispatchers
#: in other processes are safe beside it: each batch is claimed.)
_dispatching: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Dispatching] = (
    weakref.WeakKeyDictionary())


@job(DISPATCH_JOB)
async def dispatch_events(runtime: Runtime) -> int:
    """Hand new outbox events to their handlers; enqueued after each commit that wrote events,
    and run every minute in case a notification was lost."""
    second = int(runtime.clock.now().timestamp())
    await runtime.jobs.enqueue(FAN_OUT_JOB, job_id=f"{FAN_OUT_JOB}:{second}")  # webhooks
    state = _dispatching.setdefault(asyncio.get_running_loop(), _Dispatching())
    if state.running:
        state.again = True
        return 0
    state.running, ran = True, 0
    try:
        while True:
            state.again = False
            ran += await dispatch_pending(
                lambda: runtime.unit_of_work(SYSTEM, action=DISPATCH_JOB))
            if not state.again:
                return ran
    finally:
        state.running = False


HOUSEKEEPING_JOB = "platform.housekeeping"
#: A retry with an idempotency key is answered from storage for this long.
IDEMPOTENCY_WINDOW = timedelta(hours=24)
#: Ended login sessions are kept this long (for "who was signed in" questions), then deleted.
ENDED_SESSIONS_KEPT = timedelta(days=30)


@job(HOUSEKEEPING_JOB)
async def housekeeping(runtime: Runtime) -> dict[str, int]:
    """Hourly: forget expired idempotency answers, long-ended login sessions, stale counts of
    failed sign-ins, raw usage records and webhook deliveries past their retention."""
    async with runtime.unit_of_work(SYSTEM, action=HOUSEKEEPING_JOB) as uow:
        return {"idempotency_keys": await idempotency.purge(uow, IDEMPOTENCY_WINDOW),
                "sessions": await users.purge_sessions(uow, ENDED_SESSIONS_KEPT),
                "sign_in_failures": await throttle.prune(uow),
                "usage_records": await usage_retention.prune_records(uow),
                "webhook_deliveries": await webhook_retention.prune(uow)}


CRON.append(CronEntry(DISPATCH_JOB, second=0))
CRON.append(CronEntry(HOUSEKEEPING_JOB, second=30, minutes=frozenset({17})))


SCHEDULED_EVENTS_JOB = "accounts.scheduled_events"


@job(SCHEDULED_EVENTS_JOB)
async def run_scheduled_events(runtime: Runtime) -> dict[str, int]:
    """Every minute: run the scheduled events whose day has begun in their company."""
    return await scheduling.run_due(
        lambda: runtime.unit_of_work(SYSTEM, action=SCHEDULED_EVENTS_JOB))


CRON.append(CronEntry(SCHEDULED_EVENTS_JOB, second=15))


@job(monitoring_retention.PRUNE_JOB)
async def prune_metric_history(runtime: Runtime) -> dict[str, int]:
    """Hourly (the cron has no coarser step; a run with nothing past its retention costs two
    small deletes): raw samples and hourly rollups past their retention, in batches."""
    return await monitoring_retention.prune_history(
        lambda: runtime.unit_of_work(SYSTEM, action=monitoring_retention.PRUNE_JOB))


CRON.append(CronEntry(monitoring_retention.PRUNE_JOB, second=20, minutes=frozenset({43})))


import ispcore.workers.billing  # noqa: E402  (billing's jobs)
import ispcore.workers.messaging  # noqa: E402  (sending emails and texts)
import ispcore.workers.messaging_content  # noqa: E402  (triggers, reminders, mass messages)
import ispcore.workers.monitoring  # noqa: E402  (silent pollers marked down)
import ispcore.workers.monitoring_alerts  # noqa: E402  (alerts: open, close, escalate)
import ispcore.workers.payments  # noqa: E402  (payments' jobs)
import ispcore.workers.preseem  # noqa: E402  (usage pulled from Preseem)
import ispcore.workers.radacct  # noqa: E402  (usage from FreeRADIUS's radacct)
import ispcore.workers.webhooks  # noqa: E402  (webhook fan-out and delivery)

# isort: split
import ispcore.workers.network  # noqa: E402  (network's jobs, cron last)
import ispcore.workers.usage_throttles  # noqa: E402, F401  (usage's throttle reset)
