"""Payment jobs: the reconciler of unanswered charges, and autopay of due invoices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.billing import collect
from ispcore.domain.identity.actor import SYSTEM
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

RECONCILE_JOB = "payments.reconcile"
AUTOPAY_JOB = "payments.autopay"


@job(RECONCILE_JOB)
async def reconcile_payments(runtime: Runtime, company_id: int | None = None
                             ) -> dict[str, int]:
    """Every 5 minutes: settle the charges whose processor has not answered yet."""
    return await collect.reconcile(
        lambda: runtime.unit_of_work(SYSTEM, action=RECONCILE_JOB), company_id=company_id)


@job(AUTOPAY_JOB)
async def autopay(runtime: Runtime, company_id: int | None = None) -> dict[str, int]:
    """Hourly (days begin at different hours in different time zones): charge the invoices
    due by today, in each company's time zone, to their accounts' autopay methods. An
    invoice is charged by autopay once at most, so running again is harmless."""
    return await collect.autopay(
        lambda: runtime.unit_of_work(SYSTEM, action=AUTOPAY_JOB), company_id=company_id)


CRON.append(CronEntry(RECONCILE_JOB, second=50, minutes=frozenset(range(2, 60, 5))))
CRON.append(CronEntry(AUTOPAY_JOB, second=40, minutes=frozenset({35})))
