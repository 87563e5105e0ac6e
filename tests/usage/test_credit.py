"""Crediting usage through the one ingest path: stored once, rolled up per hour, day and
period, free and billable split by the policy, thresholds and the throttle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.usage.ingest import Source, problem
from ispcore.domain.usage.models import UsageDaily, UsageHourly, UsagePeriod, UsageRecord
from tests.billing.factories import events_of
from tests.usage.support import GB, attach_policy, feed, usage_setup


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def rows(runtime: Any, model: Any) -> list[Any]:
    async with runtime.db.session() as s:
        return list(await s.scalars(select(model).order_by(model.id)))


async def test_the_same_sample_twice_counts_once(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    sample = ("r1", utc(2026, 11, 2, 14, 0), utc(2026, 11, 2, 14, 5), 1000, 200)
    first = await feed(runtime, usage, sample)
    again = await feed(runtime, usage, sample, sample)
    assert (first.new, first.duplicates) == (1, 0)
    assert (again.new, again.duplicates) == (0, 2)
    [hour] = await rows(runtime, UsageHourly)
    assert (hour.billable_in, hour.billable_out, hour.hour) == (1000, 200, utc(2026, 11, 2, 14))
    # The same key from another source is other data.
    other = await feed(runtime, usage, sample, source=Source.NETFLOW)
    assert other.new == 1
    async with runtime.db.session() as s:
        assert await s.scalar(select(func.count()).select_from(UsageRecord)) == 2


async def test_rollups_per_hour_local_day_and_billing_period(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    # 30 Nov 23:30 to 1 Dec 00:30 in Chicago: two days, two billing periods.
    await feed(runtime, usage, ("r", utc(2026, 12, 1, 5, 30), utc(2026, 12, 1, 6, 30), 100, 10))
    daily = {d.day: d.billable_in for d in await rows(runtime, UsageDaily)}
    assert daily == {date(2026, 11, 30): 50, date(2026, 12, 1): 50}
    periods = {(p.period_start, p.period_end): (p.billable_in, p.billable_out)
               for p in await rows(runtime, UsagePeriod)}
    assert periods == {(date(2026, 11, 1), date(2026, 12, 1)): (50, 5),
                       (date(2026, 12, 1), date(2027, 1, 1)): (50, 5)}
    hourly = {h.hour: h.billable_in for h in await rows(runtime, UsageHourly)}
    assert hourly == {utc(2026, 12, 1, 5): 50, utc(2026, 12, 1, 6): 50}


async def test_free_periods_are_recorded_as_free(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    await attach_policy(runtime, usage, free=((1, 0, 360),))  # Monday 00:00-06:00
    # Monday 2 Nov 05:00-07:00 Chicago (11:00-13:00 UTC): the first hour is free.
    await feed(runtime, usage, ("r", utc(2026, 11, 2, 11), utc(2026, 11, 2, 13), 2000, 400))
    [period] = await rows(runtime, UsagePeriod)
    assert (period.free_in, period.free_out, period.billable_in, period.billable_out) == (
        1000, 200, 1000, 200)


async def test_thresholds_are_announced_once_each_per_period(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    await attach_policy(runtime, usage, cap_gb=10, notify_percents=[50, 80, 100])
    start = utc(2026, 11, 2, 14)
    await feed(runtime, usage, ("a", start, start + timedelta(minutes=5), 4 * GB, GB))
    await feed(runtime, usage, ("b", start, start + timedelta(minutes=5), 2 * GB, GB))
    await feed(runtime, usage, ("c", start, start + timedelta(minutes=5), GB // 2, 0))
    events = await events_of(api, usage.billing.token, "usage.threshold_reached")
    assert sorted(e["payload"]["percent"] for e in events) == [50, 80]
    await feed(runtime, usage, ("d", start, start + timedelta(minutes=5), 2 * GB, 0))
    events = await events_of(api, usage.billing.token, "usage.threshold_reached")
    assert sorted(e["payload"]["percent"] for e in events) == [50, 80, 100]
    [period] = await rows(runtime, UsagePeriod)
    assert period.notified_percent == 100
    assert not period.throttled  # the policy has no throttle group


async def test_without_a_policy_everything_is_billable_and_nobody_is_told(
        api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    start = utc(2026, 11, 1, 6)  # a Sunday night
    await feed(runtime, usage, ("a", start, start + timedelta(hours=1), 600 * GB, 0))
    [period] = await rows(runtime, UsagePeriod)
    assert (period.billable_in, period.free_in) == (600 * GB, 0)
    assert await events_of(api, usage.billing.token, "usage.threshold_reached") == []


def test_records_that_cannot_be_taken_are_named() -> None:
    now = utc(2026, 11, 2, 15)
    minute = timedelta(minutes=1)
    assert problem(now - minute, now, 1, 1, now) is None
    assert problem(now, now - minute, 1, 1, now) == "end_before_start"
    assert problem(now - minute, now, -1, 1, now) == "negative_bytes"
    assert problem(now - minute, now, 10**16, 0, now) == "absurd_bytes"
    assert problem(now - minute, now, 7 * 10**12, 0, now) == "absurd_bytes"  # > 800 Gbit/s
    assert problem(now + timedelta(hours=1), now + timedelta(hours=2), 1, 1, now) == "in_future"
    assert problem(now - timedelta(days=91), now, 1, 1, now) == "too_old"
    assert problem(now.replace(tzinfo=None), now, 1, 1, now) == "naive_time"


async def test_raw_records_are_pruned_once_past_the_replay_window(
        api: Any, runtime: Any, clock: Any) -> None:
    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.domain.usage.retention import KEPT, prune_records

    usage = await usage_setup(api)
    now = clock.now()
    await feed(runtime, usage, ("old", now - timedelta(days=89), now - timedelta(days=89), 5, 5),
               ("new", now - timedelta(days=1), now - timedelta(days=1), 7, 7))
    clock.advance(KEPT - timedelta(days=89) + timedelta(minutes=1))
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        assert await prune_records(uow) == 1
    [kept] = await rows(runtime, UsageRecord)
    assert kept.source_key == "new"
    # The rollups keep the usage of the pruned record.
    assert sum(p.billable_in for p in await rows(runtime, UsagePeriod)) == 12
