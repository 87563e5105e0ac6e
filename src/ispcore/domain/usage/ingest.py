"""Crediting usage to accounts: the one path every source (RADIUS accounting, FreeRADIUS's
``radacct``, NetFlow, Preseem, the API) takes.

:func:`credit` stores each sample as a ``usage_records`` row unless its ``(source, key)`` is
there already (the same data twice counts once), and adds only the new ones to the hourly,
daily and per-period rollups, split into free and billable time by the account's policy, all
in the caller's transaction. The caps are then checked (:mod:`ispcore.domain.usage.caps`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, tuple_
from sqlalchemy.dialects import sqlite

from ispcore.db import among, bulk_upsert
from ispcore.domain.accounts.models import Account
from ispcore.domain.billing.calendar import cycle_containing
from ispcore.domain.billing.catalogue import ServiceKind
from ispcore.domain.billing.models import AccountBilling, AccountService, Service
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company
from ispcore.domain.usage.models import (
    UsageDaily,
    UsageFreePeriod,
    UsageHourly,
    UsagePeriod,
    UsageRecord,
)
from ispcore.domain.usage.split import FreeWindow, split

#: Larger than any link carries in a record's time (800 Gbit/s), and any single record.
MAX_BYTES_PER_SECOND = 100 * 10**9
MAX_RECORD_BYTES = 10**15
#: How far ahead of the clock a record may end (clocks of routers drift).
FUTURE_TOLERANCE = timedelta(minutes=15)
#: How old a record may be: older ones are refused (they cannot be told from replays once
#: their keys are gone, and their periods were billed long ago).
MAX_AGE = timedelta(days=90)


class Source(StrEnum):
    RADIUS = "RADIUS"
    RADACCT = "RADACCT"
    NETFLOW = "NETFLOW"
    PRESEEM = "PRESEEM"
    API = "API"


@dataclass(frozen=True, slots=True)
class Sample:
    """Usage of one account over ``[start, end)`` (timezone-aware): ``bytes_in`` downloaded
    by the customer, ``bytes_out`` uploaded. ``key`` identifies it within its source."""

    account_id: int
    key: str
    start: datetime
    end: datetime
    bytes_in: int
    bytes_out: int


def problem(start: datetime, end: datetime, bytes_in: int, bytes_out: int,
            now: datetime) -> str | None:
    """Why a record cannot be taken (a stable code), or None. Sources refuse (and count)
    such records; the API reports them per record."""
    if start.tzinfo is None or end.tzinfo is None:
        return "naive_time"
    if end < start:
        return "end_before_start"
    if bytes_in < 0 or bytes_out < 0:
        return "negative_bytes"
    seconds = max((end - start).total_seconds(), 1.0)
    if (bytes_in + bytes_out > MAX_RECORD_BYTES
            or max(bytes_in, bytes_out) > MAX_BYTES_PER_SECOND * seconds):
        return "absurd_bytes"
    if end > now + FUTURE_TOLERANCE:
        return "in_future"
    if start < now - MAX_AGE:
        return "too_old"
    return None


@dataclass(frozen=True, slots=True)
class Terms:
    """What splitting an account's usage needs: its company's zone, its billing anchor day
    and its policy's free periods."""

    company_id: int
    zone: ZoneInfo
    anchor_day: int
    policy_id: int | None
    free: tuple[FreeWindow, ...]


@dataclass
class Credited:
    """The outcome of :func:`credit`: how many samples were new and how many were already
    there, and the usage periods the new ones touched."""

    new: int = 0
    duplicates: int = 0
    periods: list[UsagePeriod] = field(default_factory=list)


async def policies_in_force(uow: UnitOfWork, account_ids: Iterable[int], today: date
                            ) -> dict[int, int]:
    """The usage policy id of each of ``account_ids`` that has one on ``today``: that of its
    data service in force (the earliest started, if several)."""
    session = uow.session
    policies: dict[int, int] = {}
    for account_id, policy_id in await session.execute(
            select(AccountService.account_id, Service.usage_policy_id)
            .join(Service, Service.id == AccountService.service_id)
            .where(among(session, AccountService.account_id, sorted(set(account_ids))),
                   Service.kind == ServiceKind.DATA, Service.usage_policy_id.is_not(None),
                   AccountService.start_date <= today,
                   or_(AccountService.end_date.is_(None), AccountService.end_date > today))
            .order_by(AccountService.start_date.desc(), AccountService.id.desc())):
        policies[account_id] = policy_id  # the last written is the earliest started
    return policies


async def account_terms(uow: UnitOfWork, company_id: int, account_ids: Iterable[int]
                        ) -> dict[int, Terms]:
    """The terms of those of ``account_ids`` that belong to the company. An account's policy
    is that of its data service in force today (the earliest started, if several)."""
    session = uow.session
    ids = sorted(set(account_ids))
    rows = (await session.execute(
        select(Account.id, Company.time_zone, AccountBilling.bill_day)
        .join(Company, Company.id == Account.company_id)
        .outerjoin(AccountBilling, AccountBilling.account_id == Account.id)
        .where(Account.company_id == company_id, among(session, Account.id, ids)))).all()
    if not rows:
        return {}
    zone = ZoneInfo(rows[0].time_zone)
    policies = await policies_in_force(uow, ids, uow.clock.now().astimezone(zone).date())
    windows: dict[int, list[FreeWindow]] = defaultdict(list)
    if policies:
        for policy_id, weekday, start, end in await session.execute(
                select(UsageFreePeriod.policy_id, UsageFreePeriod.weekday,
                       UsageFreePeriod.start_minute, UsageFreePeriod.end_minute)
                .where(UsageFreePeriod.policy_id.in_(set(policies.values())))):
            windows[policy_id].append(FreeWindow(weekday, start, end))
    return {r.id: Terms(company_id, zone, r.bill_day or 1, policies.get(r.id),
                        tuple(windows.get(policies.get(r.id, 0), ())))
            for r in rows}


@lru_cache(maxsize=4096)
def period_of(day: date, anchor_day: int) -> tuple[date, date]:
    cycle = cycle_containing(day, anchor_day)
    return cycle.start, cycle.end


async def _insert_new(uow: UnitOfWork, company_id: int, source: str,
                      samples: Sequence[Sample], now: datetime) -> set[str]:
    """Insert the samples whose key is not stored yet; returns the keys inserted."""
    session = uow.session
    if session.bind.dialect.name == "postgresql":
        conn = await session.connection()
        raw = (await conn.get_raw_connection()).driver_connection
        if not raw.is_in_transaction():
            await conn.exec_driver_sql("SELECT 1")
        rows = await raw.fetch(
            "INSERT INTO usage_records (company_id, account_id, source, source_key, "
            "started_at, ended_at, bytes_in, bytes_out, received_at) "
            "SELECT $1, a, $2, k, s, e, i, o, $3 FROM unnest($4::bigint[], $5::text[], "
            "$6::timestamptz[], $7::timestamptz[], $8::bigint[], $9::bigint[]) "
            "AS t(a, k, s, e, i, o) "
            "ON CONFLICT (company_id, source, source_key) DO NOTHING RETURNING source_key",
            company_id, source, now, [s.account_id for s in samples],
            [s.key for s in samples], [s.start for s in samples], [s.end for s in samples],
            [s.bytes_in for s in samples], [s.bytes_out for s in samples])
        return {r[0] for r in rows}
    table = UsageRecord.__table__
    inserted: set[str] = set()
    for lo in range(0, len(samples), 3000):
        values = [{"company_id": company_id, "account_id": s.account_id, "source": source,
                   "source_key": s.key, "started_at": s.start, "ended_at": s.end,
                   "bytes_in": s.bytes_in, "bytes_out": s.bytes_out, "received_at": now}
                  for s in samples[lo:lo + 3000]]
        statement = (sqlite.insert(table).values(values).on_conflict_do_nothing()
                     .returning(table.c.source_key))
        inserted.update(await session.scalars(statement))
    return inserted


_COUNTERS = ("billable_in", "billable_out", "free_in", "free_out")


async def _add(uow: UnitOfWork, model: Any, keys: tuple[str, ...],
               rows: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
    """Upsert ``rows`` into a rollup table: new rows as given, existing ones (same
    ``keys``) get the counters added. ``extra`` sets more columns on existing rows."""
    table = model.__table__
    await bulk_upsert(uow.session, table, rows, keys, update=lambda excluded: {
        **{c: table.c[c] + excluded[c] for c in _COUNTERS}, **(extra or {})})


async def credit(uow: UnitOfWork, company_id: int, source: Source | str,
                 samples: Sequence[Sample], terms: dict[int, Terms] | None = None
                 ) -> Credited:
    """Store ``samples`` (checked by the caller; accounts of ``company_id``) and add the new
    ones to the rollups; ``terms`` may be given when the caller loaded them already."""
    now = uow.clock.now()
    unique: dict[str, Sample] = {}
    for sample in samples:
        unique.setdefault(sample.key, sample)
    if not unique:
        return Credited()
    fresh = list(unique.values())
    inserted = await _insert_new(uow, company_id, str(source), fresh, now)
    result = Credited(new=len(inserted), duplicates=len(samples) - len(inserted))
    if not inserted:
        return result
    if terms is None:
        terms = await account_terms(uow, company_id, {s.account_id for s in fresh})
    hourly: dict[tuple[int, datetime], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    daily: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    periods: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    ends: dict[tuple[int, date], date] = {}
    for sample in fresh:
        if sample.key not in inserted:
            continue
        t = terms[sample.account_id]
        for piece in split(sample.start, sample.end, sample.bytes_in, sample.bytes_out,
                           t.zone, t.free):
            offset = 2 if piece.free else 0
            start, end = period_of(piece.day, t.anchor_day)
            for sums in (hourly[(sample.account_id, piece.hour)],
                         daily[(sample.account_id, piece.day)],
                         periods[(sample.account_id, start)]):
                sums[offset] += piece.bytes_in
                sums[offset + 1] += piece.bytes_out
            ends[(sample.account_id, start)] = end

    def rows(sums: dict[Any, list[int]], column: str, **more: Any) -> list[dict[str, Any]]:
        return [{"company_id": company_id, "account_id": account_id, column: at,
                 **dict(zip(_COUNTERS, counts, strict=True)),
                 **{k: v[(account_id, at)] for k, v in more.items()}}
                for (account_id, at), counts in sorted(sums.items())]

    await _add(uow, UsageHourly, ("account_id", "hour"), rows(hourly, "hour"))
    await _add(uow, UsageDaily, ("account_id", "day"), rows(daily, "day"))
    period_table = UsagePeriod.__table__
    await _add(uow, UsagePeriod, ("account_id", "period_start"),
               [{**row, "notified_percent": 0, "throttled": False, "overage_blocks": 0,
                 "charged_minor": 0, "late": False}
                for row in rows(periods, "period_start", period_end=ends)],
               extra={"late": period_table.c.settled_at.is_not(None)})
    keys = sorted(periods)
    result.periods = list(await uow.session.scalars(
        select(UsagePeriod).where(
            tuple_(UsagePeriod.account_id, UsagePeriod.period_start).in_(keys))
        .execution_options(populate_existing=True)))
    from ispcore.domain.usage import caps

    await caps.check(uow, result.periods, terms)
    return result


def totals_of(rows: Iterable[Any]) -> dict[str, int]:
    """The four counters summed over rollup rows."""
    out = dict.fromkeys(_COUNTERS, 0)
    for row in rows:
        for c in _COUNTERS:
            out[c] += getattr(row, c)
    return out

