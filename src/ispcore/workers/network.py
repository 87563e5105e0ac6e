"""Network jobs: sending CoA and Disconnect requests."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.network import coa
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime


@job(coa.SEND_JOB)
async def send_radius_actions(runtime: Runtime) -> int:
    """Enqueued after each commit that queued actions; every minute too, for actions whose
    sender died (they are sent again: a NAS takes the same change twice harmlessly)."""
    return await coa.send_pending(lambda: runtime.unit_of_work(SYSTEM, action=coa.SEND_JOB))


CRON.append(CronEntry(coa.SEND_JOB, second=15))
