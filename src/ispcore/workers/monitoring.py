"""Monitoring jobs: marking silent pollers down, every minute; and the handler that hands on
the devices of a deleted network site."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ispcore.domain.events.service import register_handler
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.monitoring import ownership, pollers
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

WATCH_POLLERS_JOB = "monitoring.watch_pollers"


@job(WATCH_POLLERS_JOB)
async def watch_pollers(runtime: Runtime) -> int:
    """Active pollers not heard from within ``poller_down_after_seconds`` go DOWN (with
    ``poller.down``, once); safe to run twice."""
    silent = timedelta(seconds=runtime.settings.poller_down_after_seconds)
    async with runtime.unit_of_work(SYSTEM, action=WATCH_POLLERS_JOB) as uow:
        return await pollers.mark_silent_down(uow, silent)


CRON.append(CronEntry(WATCH_POLLERS_JOB, second=45))
register_handler(ownership.SITE_DELETED_HANDLER, {"network_site.deleted"},
                 ownership.sites_deleted)
