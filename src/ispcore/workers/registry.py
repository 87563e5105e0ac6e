"""Job functions by name, and the cron schedule; both runners (ARQ and inline) read these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ispcore.domain.common import job_connections

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

JobFunction = Callable[..., Awaitable[Any]]

JOBS: dict[str, JobFunction] = {}


@dataclass(frozen=True)
class CronEntry:
    """Run ``job`` when the UTC time's minute is in ``minutes`` (None: every minute) at
    second ``second``."""

    job: str
    second: int = 0
    minutes: frozenset[int] | None = None

    def due(self, moment: datetime) -> bool:
        return moment.second == self.second and (
            self.minutes is None or moment.minute in self.minutes
        )


CRON: list[CronEntry] = []


def job(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register ``async def fn(runtime, **kwargs)`` as job ``name``.

    Jobs take ids and plain values only, open their own unit of work and must be safe to run
    twice: a worker can die half-way and the job be run again.
    """

    def register(fn: JobFunction) -> JobFunction:
        JOBS[name] = fn
        return fn

    return register


async def run_job(runtime: Runtime, name: str, **kwargs: Any) -> Any:
    """Run job ``name`` holding at most ``job_db_connections`` units of work at once. A job
    that found no free connection in time raises :class:`~ispcore.db.PoolTimeout`: its
    runner runs it again after :func:`retry_delay`."""
    with job_connections.bounded(runtime.settings.job_db_connections):
        return await JOBS[name](runtime, **kwargs)


def retry_delay(attempt: int) -> float:
    """Seconds before running again a job that found the pool busy ``attempt`` times."""
    return min(30.0, 0.25 * 2 ** (attempt - 1))
