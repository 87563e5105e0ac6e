"""Usage from FreeRADIUS's ``radacct``: counted every minute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.usage import radacct
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime


@job(radacct.COLLECT_JOB)
async def collect_radacct(runtime: Runtime) -> dict[str, int]:
    """Credit what the sessions FreeRADIUS wrote to ``radacct`` used since the last run."""
    return await radacct.collect(
        lambda: runtime.unit_of_work(SYSTEM, action=radacct.COLLECT_JOB))


CRON.append(CronEntry(radacct.COLLECT_JOB, second=45))
