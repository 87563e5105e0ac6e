"""An account's allowance in a period and what crossing it does: notification thresholds
(``usage.threshold_reached``, once per threshold and period) and the throttle (RADIUS answers
with the policy's throttle group until the next period).

The allowance of a period is the policy's cap, plus the top-ups bought for it, plus the
rollover still unused from earlier periods that has not expired."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select

from ispcore.db import among
from ispcore.domain.common.unit_of_work import UnitOfWork
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


async def check(uow: UnitOfWork, periods: Sequence[UsagePeriod], terms: dict[int, Any]) -> None:
    """Raise the thresholds ``periods`` crossed and throttle those over their allowance.
    Only periods not settled yet are checked (late usage of a billed period notifies no
    one: the customer cannot act on it any more)."""
    open_periods = [p for p in periods if p.settled_at is None
                    and terms[p.account_id].policy_id is not None]
    if not open_periods:
        return
    s = uow.session
    policies = {p.id: p for p in await s.scalars(select(UsagePolicy).where(
        UsagePolicy.id.in_({terms[p.account_id].policy_id for p in open_periods})))}
    account_ids = [p.account_id for p in open_periods]
    top_ups = await top_up_bytes(uow, account_ids)
    grants = await rollovers(uow, account_ids)
    newly_throttled: list[int] = []
    for period in open_periods:
        policy = policies[terms[period.account_id].policy_id]
        if not policy.active:
            continue
        limit = allowance(policy, top_ups.get((period.account_id, period.period_start), 0),
                          usable_in(grants.get(period.account_id, []), period.period_start))
        if not limit:
            continue
        bytes_used = used(period)
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
        if (bytes_used > limit and policy.throttle_radius_group_id is not None
                and not period.throttled):
            period.throttled = True
            newly_throttled.append(period.account_id)
            record_event(uow, "usage.throttled", company_id=period.company_id, entity=period,
                         payload={"account_id": period.account_id, "used_bytes": bytes_used,
                                  "allowance_bytes": limit,
                                  "period_end": period.period_end.isoformat()})
    if newly_throttled:
        from ispcore.domain.network.compile import compile_accounts

        await s.flush()
        await compile_accounts(uow, newly_throttled)


async def recheck(uow: UnitOfWork, account_id: int) -> None:
    """Lift the throttle of the account's current period when its usage is back within its
    allowance (after a top-up): RADIUS answers are compiled again."""
    from ispcore.domain.accounts.models import Account
    from ispcore.domain.usage.ingest import account_terms, period_of

    s = uow.session
    account = await s.get_one(Account, account_id)
    terms = (await account_terms(uow, account.company_id, [account_id]))[account_id]
    today = uow.clock.now().astimezone(terms.zone).date()
    start, _end = period_of(today, terms.anchor_day)
    period = await s.scalar(select(UsagePeriod).where(
        UsagePeriod.account_id == account_id, UsagePeriod.period_start == start))
    if period is None or not period.throttled or terms.policy_id is None:
        return
    policy = await s.get_one(UsagePolicy, terms.policy_id)
    limit = allowance(policy, (await top_up_bytes(uow, [account_id])).get((account_id, start), 0),
                      usable_in((await rollovers(uow, [account_id])).get(account_id, []), start))
    if limit is not None and used(period) > limit:
        return
    period.throttled = False
    record_event(uow, "usage.unthrottled", company_id=period.company_id, entity=period,
                 payload={"account_id": account_id, "used_bytes": used(period),
                          "allowance_bytes": limit, "period_end": period.period_end.isoformat()})
    from ispcore.domain.network.compile import compile_accounts

    await s.flush()
    await compile_accounts(uow, [account_id])
