"""How long metric history is kept: raw samples ``metrics_raw_days`` (7), hourly rollups
``metrics_hourly_days`` (90), daily rollups for good. Old rows go in batches, each in its
own transaction, so a first prune of a large history never holds long locks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, tuple_

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.monitoring.models import MetricRollup, MetricSample, Rollup

BATCH = 10_000
PRUNE_JOB = "monitoring.prune_history"


async def _delete_batch(uow: UnitOfWork, model: Any, where: list[Any], keys: list[Any],
                        batch: int) -> int:
    chosen = select(*keys).where(*where).limit(batch)
    result = await uow.session.execute(
        delete(model).where(tuple_(*keys).in_(chosen)).execution_options(
            synchronize_session=False))
    return result.rowcount or 0


async def prune_history(open_uow: Callable[[], UnitOfWork], *, batch: int = BATCH
                        ) -> dict[str, int]:
    """Delete raw samples and hourly rollups past their retention; how many of each."""
    deleted = {"samples": 0, "hourly_rollups": 0}
    s, r = MetricSample, MetricRollup
    while True:
        async with open_uow() as uow:
            before = uow.clock.now() - timedelta(days=uow.settings.metrics_raw_days)
            done = await _delete_batch(uow, s, [s.at < before],
                                       [s.device_id, s.check_id, s.instance, s.at], batch)
        deleted["samples"] += done
        if done < batch:
            break
    while True:
        async with open_uow() as uow:
            before = uow.clock.now() - timedelta(days=uow.settings.metrics_hourly_days)
            done = await _delete_batch(
                uow, r, [r.granularity == Rollup.HOUR.value, r.bucket_start < before],
                [r.device_id, r.check_id, r.instance, r.granularity, r.bucket_start], batch)
        deleted["hourly_rollups"] += done
        if done < batch:
            break
    return deleted
