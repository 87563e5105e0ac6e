"""Network jobs: releasing the addresses of accounts disconnected longer than the hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.network import settings
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

RELEASE_JOB = "network.release_addresses"


@job(RELEASE_JOB)
async def release_addresses(runtime: Runtime) -> int:
    """Hourly: release the held addresses whose hold after a disconnection has run out."""
    async with runtime.unit_of_work(SYSTEM, action=RELEASE_JOB) as uow:
        return await settings.release_due(uow)


CRON.append(CronEntry(RELEASE_JOB, second=25, minutes=frozenset({50})))
