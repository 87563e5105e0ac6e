"""An account's allowance in a period and what crossing it does: notification thresholds
(``usage.threshold_reached``, once per threshold and period) and the throttle (RADIUS answers
with the policy's throttle group until the next period, or until the allowance grows past
the usage: ``usage.throttled``, ``usage.throttle_lifted``).

The allowance of a period is the policy's cap, plus the top-ups bought for it, plus the
rollover still unused from earlier periods that has not expired."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select

from ispcore.db import among
from ispcore.domain.accounts.models import Account
from ispcore.domain.common.records import local_date
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.companies.models import Company
from ispcore.domain.events.service import record_event
from ispcore.domain.usage.models import UsagePeriod, UsagePolicy, UsageRollover, UsageTopUp

GB = 10**9


def used(period: UsagePeriod) -> int:
    """Billable bytes of the period, both directions: what counts toward the cap."""
    return period.billable_in + period.billable_out


async def top_up_bytes(uow: UnitOfWork, account_ids: Iterable[int]
                       ) -> dict[tuple[int, date], int]:
    """Top-up bytes per (account, period start)."""
    s = uow.session
    rows = await s.execute(
        select(UsageTopUp.account_id, UsageTopUp.period_start, func.sum(UsageTopUp.gigabytes))
        .where(among(s, UsageTopUp.account_id, sorted(set(account_ids))))
        .group_by(UsageTopUp.account_id, UsageTopUp.period_start))
    return {(a, p): int(total) * GB for a, p, total in rows}


async def rollovers(uow: UnitOfWork, account_ids: Iterable[int]) -> dict[int, list[UsageRollover]]:
    """Each account's rollover grants with something left, oldest first."""
    s = uow.session
    out: dict[int, list[UsageRollover]] = {}
    for row in await s.scalars(
            select(UsageRollover)
            .where(among(s, UsageRollover.account_id, sorted(set(account_ids))),
                   UsageRollover.used_bytes < UsageRollover.granted_bytes)
            .order_by(UsageRollover.account_id, UsageRollover.from_period_start)):
        out.setdefault(row.account_id, []).append(row)
    return out


def usable_in(grants: Sequence[UsageRollover], period_start: date) -> list[UsageRollover]:
    """The grants usable in the period starting ``period_start``, oldest first."""
    return [g for g in grants if g.from_period_start < period_start < g.expires_on]


def allowance(policy: UsagePolicy, top_ups: int, grants: Sequence[UsageRollover]) -> int | None:
    """Bytes the period includes (None: the policy has no cap)."""
    if policy.cap_gb is None:
        return None
    return policy.cap_gb * GB + top_ups + sum(g.granted_bytes - g.used_bytes for g in grants)


def _today(uow: UnitOfWork, terms: Any) -> date:
    return uow.clock.now().astimezone(terms.zone).date()


async def check(uow: UnitOfWork, periods: Sequence[UsagePeriod], terms: dict[int, Any]
                ) -> list[int]:
    """Raise the thresholds ``periods`` crossed, throttle those over their allowance and lift
    the throttle of those back under it (a top-up, a larger cap, another policy). Only
    periods not settled yet are checked (late usage of a billed period notifies no one: the
    customer cannot act on it any more), and only a period that has not ended is throttled.
    Accounts whose throttle changed are compiled again (RADIUS answers, CoA) and returned."""
    open_periods = [p for p in periods if p.settled_at is None
                    and (terms[p.account_id].policy_id is not None or p.throttled)]
    if not open_periods:
        return []
    s = uow.session
    policies = {p.id: p for p in await s.scalars(select(UsagePolicy).where(
        UsagePolicy.id.in_({terms[p.account_id].policy_id for p in open_periods} - {None})))}
    account_ids = [p.account_id for p in open_periods]
    top_ups = await top_up_bytes(uow, account_ids)
    grants = await rollovers(uow, account_ids)
    changed: list[int] = []
    for period in open_periods:
        policy = policies.get(terms[period.account_id].policy_id)
        limit = None
        if policy is not None and policy.active:
            limit = allowance(policy, top_ups.get((period.account_id, period.period_start), 0),
                              usable_in(grants.get(period.account_id, []),
                                        period.period_start))
        bytes_used = used(period)
        if limit:
            _announce_thresholds(uow, period, policy, bytes_used, limit)
        over = (limit is not None and bytes_used > limit and policy is not None
                and policy.throttle_radius_group_id is not None
                and period.period_end > _today(uow, terms[period.account_id]))
        if over == period.throttled:
            continue
        period.throttled = over
        changed.append(period.account_id)
        record_event(uow, "usage.throttled" if over else "usage.throttle_lifted",
                     company_id=period.company_id, entity=period,
                     payload={"account_id": period.account_id, "used_bytes": bytes_used,
                              "allowance_bytes": limit,
                              "period_start": period.period_start.isoformat(),
                              "period_end": period.period_end.isoformat()})
    if changed:
        await _compile(uow, changed)
    return changed


def _announce_thresholds(uow: UnitOfWork, period: UsagePeriod, policy: Any, bytes_used: int,
                         limit: int) -> None:
    percent = bytes_used * 100 // limit
    for threshold in sorted(int(t) for t in policy.notify_percents or ()):
        if period.notified_percent < threshold <= percent:
            record_event(uow, "usage.threshold_reached", company_id=period.company_id,
                         entity=period, payload={
                             "account_id": period.account_id, "percent": threshold,
                             "used_bytes": bytes_used, "allowance_bytes": limit,
                             "period_start": period.period_start.isoformat(),
                             "period_end": period.period_end.isoformat()})
            period.notified_percent = threshold


async def _compile(uow: UnitOfWork, account_ids: Iterable[int]) -> None:
    from ispcore.domain.network.compile import compile_accounts

    await uow.session.flush()
    await compile_accounts(uow, account_ids)


async def recheck(uow: UnitOfWork, account_ids: int | Iterable[int]) -> None:
    """Check the open periods of these accounts again after their allowance or policy
    changed (a top-up bought, a policy's cap or throttle group changed, a service given
    another policy): throttle those now over, lift the throttle of those now under it, and
    compile again those still throttled (their throttle group may be another now)."""
    from ispcore.domain.usage.ingest import account_terms

    ids = sorted({account_ids} if isinstance(account_ids, int) else set(account_ids))
    if not ids:
        return
    s = uow.session
    terms: dict[int, Any] = {}
    companies = await s.execute(select(Account.company_id, Account.id)
                                .where(among(s, Account.id, ids)))
    by_company: dict[int, list[int]] = {}
    for company_id, account_id in companies:
        by_company.setdefault(company_id, []).append(account_id)
    for company_id, members in by_company.items():
        terms.update(await account_terms(uow, company_id, members))
    if not terms:
        return
    today = {account_id: _today(uow, t) for account_id, t in terms.items()}
    periods = [p for p in await s.scalars(
        select(UsagePeriod).where(among(s, UsagePeriod.account_id, sorted(terms)),
                                  UsagePeriod.settled_at.is_(None),
                                  UsagePeriod.throttled | (UsagePeriod.period_end
                                                           > min(today.values())))
        .execution_options(populate_existing=True))
        if p.throttled or p.period_start <= today[p.account_id] < p.period_end]
    changed = set(await check(uow, periods, terms))
    still = [p.account_id for p in periods if p.throttled and p.account_id not in changed]
    if still:
        await _compile(uow, still)


async def throttle_groups(uow: UnitOfWork, today: dict[int, date]) -> dict[int, int]:
    """The RADIUS group each account of ``today`` (account id -> its company's date) answers
    with because its current period is throttled: its policy's throttle group (an inactive
    policy, or one without a group, throttles no one)."""
    from ispcore.domain.usage.ingest import policies_in_force

    s = uow.session
    current = [account_id for account_id, start, end in await s.execute(
        select(UsagePeriod.account_id, UsagePeriod.period_start, UsagePeriod.period_end)
        .where(among(s, UsagePeriod.account_id, sorted(today)), UsagePeriod.throttled))
        if start <= today[account_id] < end]
    if not current:
        return {}
    by_day: dict[date, list[int]] = {}
    for account_id in current:
        by_day.setdefault(today[account_id], []).append(account_id)
    policies: dict[int, int] = {}
    for day, members in by_day.items():
        policies.update(await policies_in_force(uow, members, day))
    groups = dict((await s.execute(
        select(UsagePolicy.id, UsagePolicy.throttle_radius_group_id)
        .where(UsagePolicy.id.in_(set(policies.values())), UsagePolicy.active))).all())
    return {account_id: groups[policy_id] for account_id, policy_id in policies.items()
            if groups.get(policy_id) is not None}


async def lift_ended(uow: UnitOfWork) -> int:
    """Lift the throttle of periods that have ended (in their company's calendar) and
    compile their accounts again, so the next period starts at full speed (a CoA tells live
    sessions). Each period is lifted once: it is not throttled any more afterwards."""
    s = uow.session
    ended: list[UsagePeriod] = []
    zones: dict[str, date] = {}
    for period, time_zone in (await s.execute(
            select(UsagePeriod, Company.time_zone)
            .join(Company, Company.id == UsagePeriod.company_id)
            .where(UsagePeriod.throttled))).all():
        if time_zone not in zones:
            zones[time_zone] = local_date(uow.clock.now(), time_zone)
        if period.period_end <= zones[time_zone]:
            ended.append(period)
    for period in ended:
        period.throttled = False
        record_event(uow, "usage.throttle_lifted", company_id=period.company_id,
                     entity=period, payload={"account_id": period.account_id,
                                             "period_start": period.period_start.isoformat(),
                                             "period_end": period.period_end.isoformat()})
    if ended:
        await _compile(uow, [p.account_id for p in ended])
    return len(ended)
