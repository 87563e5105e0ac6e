"""Job functions by name, and the cron schedule; both runners (ARQ and inline) read these."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

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
    return await JOBS[name](runtime, **kwargs)
