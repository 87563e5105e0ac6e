"""Reading metric history back: series of points per instance (raw samples, or hourly or daily
rollups), and the current readings of devices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ispcore.db import among
from ispcore.domain.common.errors import DomainError, NotFound
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.monitoring.models import (
    MetricRollup,
    MetricSample,
    MetricState,
    MonitoringCheck,
)


class Granularity(StrEnum):
    AUTO = "AUTO"  # RAW for short recent spans, HOUR up to 90 days, else DAY
    RAW = "RAW"
    HOUR = "HOUR"
    DAY = "DAY"


#: The longest span each granularity answers (about 10,000 points of a 60 s check for RAW).
MAX_SPAN = {Granularity.RAW: timedelta(days=7), Granularity.HOUR: timedelta(days=400),
            Granularity.DAY: timedelta(days=3660)}
AUTO_RAW_SPAN = timedelta(days=2)
AUTO_HOUR_SPAN = timedelta(days=90)


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    value: float  # the mean over the bucket
    minimum: float
    maximum: float
    count: int


@dataclass(slots=True)
class Series:
    name: str
    instance: str
    label: str
    unit: str
    granularity: Granularity
    points: list[Point] = field(default_factory=list)


def pick(start: datetime, end: datetime, granularity: Granularity, now: datetime,
         raw_days: int) -> Granularity:
    """The granularity AUTO stands for; others as asked."""
    if granularity != Granularity.AUTO:
        return granularity
    span = end - start
    if span <= AUTO_RAW_SPAN and start >= now - timedelta(days=raw_days):
        return Granularity.RAW
    return Granularity.HOUR if span <= AUTO_HOUR_SPAN else Granularity.DAY


def span_problem(start: datetime, end: datetime, granularity: Granularity) -> str | None:
    """Why a range cannot be asked for at ``granularity`` (not AUTO), or None."""
    if end <= start:
        return "`to` must be after `from`."
    if end - start > MAX_SPAN[granularity]:
        return (f"A {granularity.value} query covers at most {MAX_SPAN[granularity].days} "
                "days; ask for a shorter range or a coarser granularity.")
    return None


def _instance_order(instance: str) -> tuple[Any, ...]:
    """Table indexes in number order (``2`` before ``10``), other names after, by text."""
    parts = instance.split(".")
    if all(p.isdigit() for p in parts):
        return (0, tuple(int(p) for p in parts))
    return (1, instance)


async def metric_series(uow: UnitOfWork, device_id: int, template_id: int | None, name: str,
                        start: datetime, end: datetime, granularity: Granularity,
                        instance: str | None) -> list[Series]:
    """The history of metric ``name`` of the device (with its template) over ``[start,
    end)``, one series per instance (only ``instance`` when given), in instance order."""
    session = uow.session
    check = None
    if template_id is not None:
        check = await session.scalar(select(MonitoringCheck).where(
            MonitoringCheck.template_id == template_id, MonitoringCheck.name == name))
    if check is None:
        raise NotFound(f"The device's template has no check named {name!r}.", field="name")
    chosen = pick(start, end, granularity, uow.clock.now(), uow.settings.metrics_raw_days)
    problem = span_problem(start, end, chosen)
    if problem:
        raise DomainError(problem, field="to")
    labels = {row.instance: row.label for row in await session.execute(
        select(MetricState.instance, MetricState.label).where(
            MetricState.device_id == device_id, MetricState.check_id == check.id))}
    points: dict[str, list[Point]] = defaultdict(list)
    if chosen == Granularity.RAW:
        s = MetricSample
        statement = (select(s.instance, s.at, s.value)
                     .where(s.device_id == device_id, s.check_id == check.id, s.at >= start,
                            s.at < end).order_by(s.instance, s.at))
        if instance is not None:
            statement = statement.where(s.instance == instance)
        for row in await session.execute(statement):
            points[row.instance].append(Point(row.at, row.value, row.value, row.value, 1))
    else:
        r = MetricRollup
        unit = timedelta(hours=1) if chosen == Granularity.HOUR else timedelta(days=1)
        statement = (select(r.instance, r.bucket_start, r.count, r.total, r.minimum, r.maximum)
                     .where(r.device_id == device_id, r.check_id == check.id,
                            r.granularity == chosen.value, r.bucket_start > start - unit,
                            r.bucket_start < end).order_by(r.instance, r.bucket_start))
        if instance is not None:
            statement = statement.where(r.instance == instance)
        for row in await session.execute(statement):
            points[row.instance].append(Point(row.bucket_start, row.total / row.count,
                                              row.minimum, row.maximum, row.count))
    instances = set(points) | set(labels)
    if instance is not None:
        instances &= {instance}
    return [Series(check.name, i, labels.get(i, ""), check.unit, chosen, points.get(i, []))
            for i in sorted(instances, key=_instance_order)]


@dataclass(frozen=True, slots=True)
class Reading:
    name: str
    instance: str
    label: str
    unit: str
    value: float | None
    state: str
    since: datetime
    read_at: datetime
    error: str | None


async def readings(conn: Any, device_ids: Sequence[int]) -> list[list[Reading]]:
    """The current readings of each of ``device_ids`` (in that order), by check name and
    instance; one query for them all."""
    found: dict[int, list[Reading]] = defaultdict(list)
    st, ch = MetricState, MonitoringCheck
    rows = await conn.execute(
        select(st.device_id, ch.name, st.instance, st.label, ch.unit, st.value, st.state,
               st.state_since, st.read_at, st.error)
        .join(ch, ch.id == st.check_id)
        .where(among(conn, st.device_id, list(device_ids))))
    for row in rows:
        found[row.device_id].append(Reading(
            row.name, row.instance, row.label, row.unit, row.value, row.state,
            row.state_since, row.read_at, row.error))
    for items in found.values():
        items.sort(key=lambda r: (r.name, _instance_order(r.instance)))
    return [found.get(i, []) for i in device_ids]
