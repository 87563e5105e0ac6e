"""How long raw usage records are kept. A record starting more than ``MAX_AGE`` ago is refused
by every source, so its key can no longer stop a replay and is not needed: the rollups keep
the usage. Records are deleted a day after that, in the hourly housekeeping."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage.ingest import MAX_AGE
from ispcore.domain.usage.models import UsageRecord

KEPT = MAX_AGE + timedelta(days=1)


async def prune_records(uow: UnitOfWork) -> int:
    """Delete raw records older than :data:`KEPT`; returns how many."""
    result = await uow.session.execute(
        delete(UsageRecord).where(UsageRecord.started_at < uow.clock.now() - KEPT))
    return result.rowcount or 0
