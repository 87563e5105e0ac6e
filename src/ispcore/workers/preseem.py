"""Pulling the usage Preseem measured, every 5 minutes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.usage import preseem
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

PULL_JOB = "usage.pull_preseem"


@job(PULL_JOB)
async def pull_preseem(runtime: Runtime) -> dict[str, int]:
    """Each active connection's settled 15-minute slots since its last pull; a re-run or an
    overlapping run counts nothing twice."""
    pulled = await preseem.pull_all(lambda: runtime.unit_of_work(SYSTEM, action=PULL_JOB),
                                    request_timeout=runtime.settings.preseem_timeout_seconds)
    totals = {"companies": len(pulled), "failed": sum(p.error is not None
                                                      for p in pulled.values())}
    for name in ("slots", "services", "new", "duplicates", "unattributed", "refused"):
        totals[name] = sum(getattr(p, name) for p in pulled.values())
    return totals


CRON.append(CronEntry(PULL_JOB, second=40, minutes=frozenset(range(0, 60, 5))))
