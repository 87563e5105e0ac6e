"""Alert jobs: the handler that opens and closes alerts from monitoring events, and the
every-minute sweep that escalates unacknowledged alerts and settles devices that stopped
flapping."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.events.service import register_handler
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.monitoring import alerts
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

register_handler(alerts.HANDLER, alerts.EVENT_TYPES, alerts.handle)


@job(alerts.ESCALATE_JOB)
async def escalate_alerts(runtime: Runtime) -> dict[str, int]:
    """Every minute: escalate alerts nobody acknowledged in time; settle flapping devices."""
    return await alerts.sweep(lambda: runtime.unit_of_work(SYSTEM,
                                                          action=alerts.ESCALATE_JOB))


CRON.append(CronEntry(alerts.ESCALATE_JOB, second=20))
