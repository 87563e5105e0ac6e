"""Root fields for usage-based billing policies and free periods, and the account's data usage
fields (read for a whole page of accounts at once through loaders)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage import policies, queries
from ispcore.resolvers.billing import listing
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.schema import usage as s
from ispcore.schema.accounts import IdInput
from ispcore.schema.billing import GlCode
from ispcore.schema.companies import Company
from ispcore.schema.nodes import global_id
from ispcore.schema.radius import RadiusGroup
from ispcore.schema.usage import (
    CurrentDataUsage,
    DataUsage,
    UsageBucket,
    UsageFreePeriod,
    UsagePolicy,
    UsageTotals,
)

READ, CONFIGURE = "usage:read", "usage:configure"
IDS = {"company_id": Company, "overage_gl_code_id": GlCode,
       "throttle_radius_group_id": RadiusGroup, "policy_id": UsagePolicy}
#: Update inputs may set these to null (no cap, no overage, no throttle).
NULLABLE = ("cap_gb", "overage_block_gb", "overage_block_price", "overage_gl_code_id",
            "throttle_radius_group_id")


async def _create_policy(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"usage_policy": await policies.create_policy(uow, values_of(data, IDS))}


async def _update_policy(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True, nullable=NULLABLE)
    return {"usage_policy": await policies.update_policy(uow, pk(data.id, UsagePolicy), values)}


async def _delete_policy(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"deleted_id": global_id(await policies.delete_policy(uow, pk(data.id,
                                                                         UsagePolicy)))}


async def _create_period(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"usage_free_period": await policies.create_free_period(uow, values_of(data, IDS))}


async def _update_period(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    values = values_of(data, IDS, update=True)
    return {"usage_free_period": await policies.update_free_period(
        uow, pk(data.id, UsageFreePeriod), values)}


async def _delete_period(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    row = await policies.delete_free_period(uow, pk(data.id, UsageFreePeriod))
    return {"deleted_id": global_id(row)}


# --- the account's usage fields ----------------------------------------------------------------

Load = Callable[[UnitOfWork, int, list[int]], Awaitable[dict[int, Any]]]


def _by_company(info: Info, action: str, load: Load
                ) -> Callable[[Sequence[tuple[int, int]]], Awaitable[list[Any]]]:
    """A loader function over (company id, account id) keys: one ``load`` per company."""

    async def load_keys(keys: Sequence[tuple[int, int]]) -> list[Any]:
        companies: dict[int, list[int]] = {}
        for company_id, account_id in keys:
            companies.setdefault(company_id, []).append(account_id)
        found: dict[int, Any] = {}
        async with info.context.unit_of_work(action) as uow:
            for company_id, account_ids in companies.items():
                found.update(await load(uow, company_id, account_ids))
        return [found.get(account_id) for _, account_id in keys]

    return load_keys


def _counters(cls: type, c: queries.Counters, **more: Any) -> Any:
    return cls(billable_in=c.billable_in, billable_out=c.billable_out, free_in=c.free_in,
               free_out=c.free_out, billable=c.billable, free=c.free, total=c.total, **more)


async def data_usage(info: Info, account: Any, start: datetime, end: datetime,
                     granularity: queries.Granularity) -> DataUsage | None:
    """``account.dataUsage``: null without usage:read; a range too long is an error."""
    if not info.context.actor.can(READ):
        return None
    granularity = queries.Granularity(granularity.value)
    problem = queries.span_problem(start, end, granularity)
    if problem:
        raise GraphQLError(problem, extensions={"code": "BAD_USER_INPUT"})

    async def load(uow: UnitOfWork, company_id: int, ids: list[int]) -> dict[int, Any]:
        return await queries.data_usage(uow, company_id, ids, start, end, granularity)

    name = f"dataUsage:{start.isoformat()}:{end.isoformat()}:{granularity}"
    buckets = await info.context.loaders.batch(name, _by_company(info, "dataUsage", load)).load(
        (account.company_id, account.pk))
    if buckets is None:
        return None
    total = sum((b.counters for b in buckets), queries.Counters())
    return DataUsage(granularity=granularity,
                     buckets=[_counters(UsageBucket, b.counters, start=b.start, end=b.end)
                              for b in buckets],
                     totals=_counters(UsageTotals, total))


async def current_data_usage(info: Info, account: Any) -> CurrentDataUsage | None:
    """``account.currentDataUsage``: null without usage:read."""
    if not info.context.actor.can(READ):
        return None
    loader = info.context.loaders.batch("currentDataUsage", _by_company(
        info, "currentDataUsage", queries.current_usage))
    now = await loader.load((account.company_id, account.pk))
    if now is None:
        return None
    return CurrentDataUsage(
        period_start=now.period_start, period_end=now.period_end, cap_bytes=now.cap_bytes,
        top_up_bytes=now.top_up_bytes, rollover_bytes=now.rollover_bytes,
        allowance_bytes=now.allowance_bytes, billable_bytes=now.counters.billable,
        free_bytes=now.counters.free, remaining_bytes=now.remaining_bytes,
        percent_used=now.percent_used, throttled=now.throttled, policy_id=now.policy_id)


@strawberry.type
class UsageQuery:
    usage_policies = listing(UsagePolicy, s.POLICY_LISTING, (UsagePolicy.model.name,),
                             "Usage-based billing policies.", permission=READ)
    usage_free_periods = listing(UsageFreePeriod, s.FREE_PERIOD_LISTING, (),
                                 "Free periods of usage policies (filter by policyId and "
                                 "weekday).", permission=READ)


@strawberry.type
class UsageMutation:
    create_usage_policy = command(
        _create_policy, input_type=s.CreateUsagePolicyInput, permission=CONFIGURE,
        payload=payload_type("CreateUsagePolicy", "usage_policy", UsagePolicy),
        description="Create a usage-based billing policy.")
    update_usage_policy = command(
        _update_policy, input_type=s.UpdateUsagePolicyInput, permission=CONFIGURE,
        payload=payload_type("UpdateUsagePolicy", "usage_policy", UsagePolicy),
        description="Change a policy; a new cap or throttle group applies to its accounts at "
                    "once (throttled or restored, with CoA to live sessions).")
    delete_usage_policy = command(
        _delete_policy, input_type=IdInput, permission=CONFIGURE,
        payload=payload_type("DeleteUsagePolicy", "deleted_id", UsagePolicy),
        description="Delete a policy no service uses (its free periods go with it).")
    create_usage_free_period = command(
        _create_period, input_type=s.CreateUsageFreePeriodInput, permission=CONFIGURE,
        payload=payload_type("CreateUsageFreePeriod", "usage_free_period", UsageFreePeriod),
        description="Add a free period to a policy (no overlap with its others that day).")
    update_usage_free_period = command(
        _update_period, input_type=s.UpdateUsageFreePeriodInput, permission=CONFIGURE,
        payload=payload_type("UpdateUsageFreePeriod", "usage_free_period", UsageFreePeriod),
        description="Change a free period; usage credited from now on is split by it.")
    delete_usage_free_period = command(
        _delete_period, input_type=IdInput, permission=CONFIGURE,
        payload=payload_type("DeleteUsageFreePeriod", "deleted_id", UsageFreePeriod),
        description="Delete a free period.")
