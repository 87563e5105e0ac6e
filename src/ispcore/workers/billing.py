"""Billing jobs: carrying out a requested run, and starting each company's daily run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.billing import runs
from ispcore.domain.identity.actor import SYSTEM
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

DAILY_JOB = "billing.daily"


@job(runs.RUN_JOB)
async def run_billing(runtime: Runtime, run_id: int) -> None:
    await runs.execute(lambda: runtime.unit_of_work(SYSTEM, action=runs.RUN_JOB), run_id)


@job(DAILY_JOB)
async def start_daily_runs(runtime: Runtime) -> list[int]:
    """Hourly (days begin at different hours in different time zones): a run for each
    company whose day has begun without one."""
    return await runs.start_due_runs(lambda: runtime.unit_of_work(SYSTEM, action=DAILY_JOB))


CRON.append(CronEntry(DAILY_JOB, second=45, minutes=frozenset({5})))
