"""Usage jobs: lifting the throttle of periods that have ended."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.usage import caps
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

RESET_JOB = "usage.reset_throttles"


@job(RESET_JOB)
async def reset_throttles(runtime: Runtime) -> int:
    """Hourly: accounts throttled in a period that has ended answer at full speed again
    (compiled, CoA to live sessions); each period is lifted once."""
    async with runtime.unit_of_work(SYSTEM, action=RESET_JOB) as uow:
        return await caps.lift_ended(uow)


CRON.append(CronEntry(RESET_JOB, second=35, minutes=frozenset({5})))
