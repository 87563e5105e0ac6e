"""Billing jobs: carrying out a requested run, starting each company's daily run, and the
hourly delinquency sweep."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.billing import delinquency, document_batches, runs
from ispcore.domain.identity.actor import SYSTEM
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

DAILY_JOB = "billing.daily"


@job(runs.RUN_JOB)
async def run_billing(runtime: Runtime, run_id: int) -> None:
    await runs.execute(lambda: runtime.unit_of_work(SYSTEM, action=runs.RUN_JOB), run_id)


@job(document_batches.BATCH_JOB)
async def run_document_batch(runtime: Runtime, batch_id: int) -> None:
    await document_batches.execute(
        lambda: runtime.unit_of_work(SYSTEM, action=document_batches.BATCH_JOB), batch_id)


@job(DAILY_JOB)
async def start_daily_runs(runtime: Runtime) -> list[int]:
    """Hourly (days begin at different hours in different time zones): a run for each
    company whose day has begun without one."""
    return await runs.start_due_runs(lambda: runtime.unit_of_work(SYSTEM, action=DAILY_JOB))


CRON.append(CronEntry(DAILY_JOB, second=45, minutes=frozenset({5})))


@job(delinquency.SWEEP_JOB)
async def sweep_delinquency(runtime: Runtime) -> dict[str, int]:
    """Hourly (each company's day begins at its own hour): make overdue accounts delinquent,
    clear those that paid, charge late fees. A second pass in a day finds nothing to do."""
    found = await delinquency.sweep_all(
        lambda: runtime.unit_of_work(SYSTEM, action=delinquency.SWEEP_JOB))
    return {key: sum(getattr(c, key) for c in found.values())
            for key in ("made_delinquent", "cleared", "late_fees")}


CRON.append(CronEntry(delinquency.SWEEP_JOB, second=50, minutes=frozenset({35})))
