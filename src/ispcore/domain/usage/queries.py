"""Reading an account's usage back: buckets per UTC hour, per day of the company's calendar or
per billing period (from the rollups :mod:`ispcore.domain.usage.ingest` keeps), and where the
current period stands against its allowance. Each function answers for many accounts of one
company at once, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ispcore.db import among
from ispcore.domain.billing.calendar import Period, cycle_containing
from ispcore.domain.common.records import start_of_day
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage import caps
from ispcore.domain.usage.ingest import Terms, account_terms, totals_of
from ispcore.domain.usage.models import UsageDaily, UsageHourly, UsagePeriod, UsagePolicy

#: Buckets one call may ask for: hours, days or (about 31-day) billing periods.
MAX_BUCKETS = 1000


class Granularity(StrEnum):
    HOUR = "HOUR"
    DAY = "DAY"
    BILLING_PERIOD = "BILLING_PERIOD"


_UNIT = {Granularity.HOUR: timedelta(hours=1), Granularity.DAY: timedelta(days=1),
         Granularity.BILLING_PERIOD: timedelta(days=31)}


@dataclass(frozen=True)
class Counters:
    """Bytes downloaded (in) and uploaded (out), billable and free."""

    billable_in: int = 0
    billable_out: int = 0
    free_in: int = 0
    free_out: int = 0

    @property
    def billable(self) -> int:
        return self.billable_in + self.billable_out

    @property
    def free(self) -> int:
        return self.free_in + self.free_out

    @property
    def total(self) -> int:
        return self.billable + self.free

    def __add__(self, other: Counters) -> Counters:
        return Counters(*(getattr(self, f.name) + getattr(other, f.name)
                          for f in fields(self)))

    @classmethod
    def of(cls, row: Any | None) -> Counters:
        return cls() if row is None else cls(**totals_of([row]))


@dataclass(frozen=True)
class Bucket:
    """Usage from ``start`` up to ``end`` (instants)."""

    start: datetime
    end: datetime
    counters: Counters


def span_problem(start: datetime, end: datetime, granularity: Granularity) -> str | None:
    """Why a range cannot be asked for, or None."""
    if end <= start:
        return "`to` must be after `from`."
    if end - start > _UNIT[granularity] * MAX_BUCKETS:
        unit = {Granularity.HOUR: "hours", Granularity.DAY: "days",
                Granularity.BILLING_PERIOD: "billing periods"}[granularity]
        return (f"A {granularity.value} query covers at most {MAX_BUCKETS:,} {unit}; ask for "
                "a shorter range (or a coarser granularity).")
    return None


def _hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hours(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    hour, out = _hour_of(start), []
    while hour < end:
        out.append((hour, hour + timedelta(hours=1)))
        hour += timedelta(hours=1)
    return out


def _days(start: datetime, end: datetime, terms: Terms) -> list[date]:
    """The company's calendar days that overlap ``[start, end)``."""
    day = start.astimezone(terms.zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(terms.zone).date()
    return [day + timedelta(days=n) for n in range((last - day).days + 1)]


def _periods(start: datetime, end: datetime, terms: Terms) -> list[Period]:
    """The account's billing periods (by its anchor day) that overlap ``[start, end)``."""
    period = cycle_containing(start.astimezone(terms.zone).date(), terms.anchor_day)
    last = (end - timedelta(microseconds=1)).astimezone(terms.zone).date()
    out = []
    while period.start <= last:
        out.append(period)
        period = cycle_containing(period.end, terms.anchor_day)
    return out


async def data_usage(uow: UnitOfWork, company_id: int, account_ids: Iterable[int],
                     start: datetime, end: datetime, granularity: Granularity
                     ) -> dict[int, list[Bucket]]:
    """Each account's buckets that overlap ``[start, end)`` (checked with
    :func:`span_problem` first), empty ones included, oldest first. BILLING_PERIOD buckets
    are the periods usage was credited to, and the periods by the account's anchor day where
    none was."""
    terms = await account_terms(uow, company_id, account_ids)
    if not terms:
        return {}
    s, ids = uow.session, sorted(terms)
    if granularity == Granularity.HOUR:
        hours = _hours(start, end)
        rows = {(r.account_id, r.hour): r for r in await s.scalars(select(UsageHourly).where(
            among(s, UsageHourly.account_id, ids), UsageHourly.hour >= hours[0][0],
            UsageHourly.hour < hours[-1][1]))}
        return {a: [Bucket(lo, hi, Counters.of(rows.get((a, lo)))) for lo, hi in hours]
                for a in ids}
    zone_terms = next(iter(terms.values()))  # one company: one time zone
    if granularity == Granularity.DAY:
        days = _days(start, end, zone_terms)
        rows = {(r.account_id, r.day): r for r in await s.scalars(select(UsageDaily).where(
            among(s, UsageDaily.account_id, ids), UsageDaily.day >= days[0],
            UsageDaily.day <= days[-1]))}
        return {a: [_local_bucket(d, d + timedelta(days=1), terms[a], rows.get((a, d)))
                    for d in days] for a in ids}
    first = start.astimezone(zone_terms.zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone_terms.zone).date()
    stored: dict[int, list[UsagePeriod]] = {}
    for row in await s.scalars(select(UsagePeriod).where(
            among(s, UsagePeriod.account_id, ids), UsagePeriod.period_start <= last,
            UsagePeriod.period_end > first).order_by(UsagePeriod.period_start)):
        stored.setdefault(row.account_id, []).append(row)
    return {a: _period_buckets(stored.get(a, []), _periods(start, end, terms[a]), terms[a])
            for a in ids}


def _local_bucket(first: date, end: date, terms: Terms, row: Any | None) -> Bucket:
    zone = terms.zone.key
    return Bucket(start_of_day(first, zone), start_of_day(end, zone), Counters.of(row))


def _period_buckets(stored: Sequence[UsagePeriod], computed: Sequence[Period],
                    terms: Terms) -> list[Bucket]:
    """The stored periods, and the computed ones no stored period overlaps, by start."""
    spans = [(row.period_start, row.period_end, row) for row in stored]
    spans += [(p.start, p.end, None) for p in computed
              if not any(row.period_start < p.end and p.start < row.period_end
                         for row in stored)]
    return [_local_bucket(lo, hi, terms, row) for lo, hi, row in sorted(
        spans, key=lambda span: span[0])]


@dataclass(frozen=True)
class CurrentUsage:
    """An account's billing period containing today, against its allowance. The byte
    figures of the allowance are None without a (capping, active) policy."""

    period_start: date
    period_end: date
    policy_id: int | None
    cap_bytes: int | None
    top_up_bytes: int
    rollover_bytes: int
    allowance_bytes: int | None
    counters: Counters
    throttled: bool

    @property
    def remaining_bytes(self) -> int | None:
        if self.allowance_bytes is None:
            return None
        return max(self.allowance_bytes - self.counters.billable, 0)

    @property
    def percent_used(self) -> Decimal | None:
        """Billable usage as a percentage of the allowance, cut (not rounded) to 2 places:
        99.999 shows as 99.99, not as a full 100."""
        if not self.allowance_bytes:
            return None
        return (Decimal(self.counters.billable * 100) / self.allowance_bytes).quantize(
            Decimal("0.01"), rounding=ROUND_DOWN)


async def current_usage(uow: UnitOfWork, company_id: int, account_ids: Iterable[int]
                        ) -> dict[int, CurrentUsage]:
    """Where each account's current period stands (zeros before any usage)."""
    terms = await account_terms(uow, company_id, account_ids)
    if not terms:
        return {}
    s, ids = uow.session, sorted(terms)
    now = uow.clock.now()
    periods = {a: cycle_containing(now.astimezone(t.zone).date(), t.anchor_day)
               for a, t in terms.items()}
    rows = {(r.account_id, r.period_start): r for r in await s.scalars(
        select(UsagePeriod).where(among(s, UsagePeriod.account_id, ids),
                                  UsagePeriod.period_start.in_(
                                      {p.start for p in periods.values()})))}
    policies = {p.id: p for p in await s.scalars(select(UsagePolicy).where(
        UsagePolicy.id.in_({t.policy_id for t in terms.values()} - {None})))}
    top_ups = await caps.top_up_bytes(uow, ids)
    grants = await caps.rollovers(uow, ids)
    out = {}
    for account_id, period in periods.items():
        row = rows.get((account_id, period.start))
        policy = policies.get(terms[account_id].policy_id or 0)
        capping = policy is not None and policy.active and policy.cap_gb is not None
        top_up = top_ups.get((account_id, period.start), 0)
        usable = caps.usable_in(grants.get(account_id, []), period.start)
        out[account_id] = CurrentUsage(
            period.start, period.end, terms[account_id].policy_id,
            policy.cap_gb * caps.GB if capping and policy else None, top_up,
            sum(g.granted_bytes - g.used_bytes for g in usable),
            caps.allowance(policy, top_up, usable) if capping and policy else None,
            Counters.of(row), bool(row and row.throttled))
    return out
