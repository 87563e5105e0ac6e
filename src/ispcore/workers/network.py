"""Network jobs: sending CoA and Disconnect requests, and releasing the addresses of accounts
disconnected longer than the hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.network import coa, release
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

RELEASE_JOB = "network.release_addresses"


@job(coa.SEND_JOB)
async def send_radius_actions(runtime: Runtime) -> int:
    """Enqueued after each commit that queued actions; every minute too, for actions whose
    sender died (they are sent again: a NAS takes the same change twice harmlessly)."""
    return await coa.send_pending(lambda: runtime.unit_of_work(SYSTEM, action=coa.SEND_JOB))


@job(RELEASE_JOB)
async def release_addresses(runtime: Runtime) -> int:
    """Hourly: release the held addresses whose hold after a disconnection has run out."""
    async with runtime.unit_of_work(SYSTEM, action=RELEASE_JOB) as uow:
        return await release.release_due(uow)


CRON.append(CronEntry(coa.SEND_JOB, second=15))
CRON.append(CronEntry(RELEASE_JOB, second=25, minutes=frozenset({50})))
