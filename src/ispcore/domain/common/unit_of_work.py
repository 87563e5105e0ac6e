"""One transaction per request or job, and the side effects that wait for it to commit."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from ispcore.domain.common import job_connections
from ispcore.domain.common.clock import Clock
from ispcore.domain.common.ports import JobQueue, Notifier
from ispcore.domain.identity.actor import Actor

if TYPE_CHECKING:
    from ispcore.config import Settings
    from ispcore.db import Database

log = logging.getLogger(__name__)

AfterCommit = Callable[[], Awaitable[None]]


class UnitOfWork:
    """Owns a session; commits on a clean exit, rolls back otherwise.

    Services flush, the edge commits. Jobs, notifications and other side effects registered
    with :meth:`after_commit` run only once the transaction has committed, and are dropped if
    it rolls back. Inside a job, opening one waits for one of the job's connection slots
    (``job_connections``).
    """

    def __init__(
        self,
        db: Database,
        *,
        settings: Settings,
        actor: Actor,
        clock: Clock,
        jobs: JobQueue,
        notifier: Notifier,
        request_id: str | None = None,
        action: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.actor = actor
        self.clock = clock
        self.jobs = jobs
        self.notifier = notifier
        self.request_id = request_id
        self.action = action
        self._after_commit: list[AfterCommit] = []
        self._once_keys: set[str] = set()
        self._give_back_slot: Callable[[], None] | None = None
        self.session: AsyncSession

    async def __aenter__(self) -> UnitOfWork:
        self._give_back_slot = await job_connections.take_slot()
        self.session = self.db.session()
        self.session.info["uow"] = self
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        committed = False
        try:
            if exc_type is None:
                await self.session.commit()
                committed = True
            else:
                await self.session.rollback()
        finally:
            try:
                await self.session.close()
            finally:
                if self._give_back_slot is not None:
                    self._give_back_slot()
                    self._give_back_slot = None
        if committed:
            await self._run_after_commit()
        self._after_commit.clear()

    def after_commit(self, effect: AfterCommit, *, once_key: str | None = None) -> None:
        """Run ``effect`` after a successful commit (once per ``once_key`` if given)."""
        if once_key is not None:
            if once_key in self._once_keys:
                return
            self._once_keys.add(once_key)
        self._after_commit.append(effect)

    def enqueue(self, name: str, *, job_id: str | None = None, **kwargs: Any) -> None:
        """Enqueue a job once this unit of work commits."""

        async def send() -> None:
            await self.jobs.enqueue(name, job_id=job_id, **kwargs)

        self.after_commit(send, once_key=f"job:{job_id}" if job_id else None)

    async def _run_after_commit(self) -> None:
        for effect in self._after_commit:
            try:
                await effect()
            except Exception:
                # The change is committed and stays. A lost notification or dispatch job is
                # made up for by the subscribers' polling and the dispatcher's cron; any other
                # effect must be safe to lose or be re-driven by its own job.
                log.exception("after-commit side effect failed")
