"""Usage types: usage-based billing policies and their free periods, an account's data usage
in buckets and its current period against the allowance. Byte counts are ``BigInt``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import UNSET, relay
from strawberry.types import Info

from ispcore.domain.usage import models as m
from ispcore.domain.usage.policies import Weekday as DomainWeekday
from ispcore.domain.usage.policies import time_of
from ispcore.domain.usage.queries import Granularity
from ispcore.schema.companies import Company
from ispcore.schema.filtering import BooleanFilter, IdOf, IntFilter, StringFilter, listing_inputs
from ispcore.schema.money import Money, optional_money
from ispcore.schema.nodes import ModelNode, model_node, related
from ispcore.schema.relations import Many, One, relation
from ispcore.schema.scalars import BigInt

if TYPE_CHECKING:
    from ispcore.schema.billing import GlCode
    from ispcore.schema.radius import RadiusGroup

READ = "usage:read"
BILLING = "ispcore.schema.billing"
RADIUS = "ispcore.schema.radius"

Weekday = strawberry.enum(DomainWeekday, description="A day of the week.")
UsageGranularity = strawberry.enum(
    Granularity, name="UsageGranularity", description="HOUR: UTC hours; DAY: days of the "
    "company's calendar; BILLING_PERIOD: the account's billing periods.")


@strawberry.type(description="Usage-based billing: a cap per billing period and what happens "
                 "over it (overage billed per block, a throttle group until the next period), "
                 "thresholds that notify, free periods and rollover. Attached to data "
                 "services.")
@model_node(m.UsagePolicy, read_permission=READ)
class UsagePolicy(ModelNode):
    name: str
    description: str
    cap_gb: int | None = strawberry.field(description="Billable GB (10^9 bytes) a period "
                                          "includes; null: no cap, usage is only tracked.")
    overage_block_gb: int | None = strawberry.field(description="Overage is billed per "
                                                    "started block of this many GB.")
    overage_taxable: bool
    notify_percents: list[int] = strawberry.field(description="Percentages of the allowance "
                                                  "that raise usage.threshold_reached, once "
                                                  "each per period.")
    rollover_months: int = strawberry.field(description="Unused allowance stays usable for "
                                            "this many following periods (0: none).")
    active: bool = strawberry.field(description="An inactive policy has no allowance: it "
                                    "notifies and throttles no one (usage is still tracked "
                                    "and split by its free periods).")
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    overage_block_price_minor: strawberry.Private[int | None]
    overage_gl_code_id: strawberry.Private[int | None]
    throttle_radius_group_id: strawberry.Private[int | None]

    overage_block_price: Money | None = optional_money("overage_block_price_minor",
                                                       description="The price of a block.")
    overage_gl_code: Annotated[GlCode, strawberry.lazy(BILLING)] | None = relation(
        One("GlCode", "overage_gl_code_id"))
    throttle_radius_group: Annotated[RadiusGroup, strawberry.lazy(RADIUS)] | None = relation(
        One("RadiusGroup", "throttle_radius_group_id"),
        description="Over the allowance, RADIUS answers with this group until the next period "
        "(null without network:read, or no throttle).")
    free_periods: list[UsageFreePeriod] | None = relation(
        Many("UsageFreePeriod", "policy_id", order_by=("weekday", "start_minute")),
        description="By day and time.")
    company: Company | None = relation(One("Company", "company_id"))


@strawberry.type(description="Times of one day of the week, in the company's time zone, when "
                 "usage is free: recorded as free, never counted toward the cap.")
@model_node(m.UsageFreePeriod, read_permission=READ)
class UsageFreePeriod(ModelNode):
    weekday: Weekday
    created_at: datetime
    updated_at: datetime
    company_id: strawberry.Private[int]
    policy_id: strawberry.Private[int]
    start_minute: strawberry.Private[int]
    end_minute: strawberry.Private[int]

    @strawberry.field(description="HH:MM, 24-hour clock.")
    def start_time(self) -> str:
        return time_of(self.start_minute)

    @strawberry.field(description="HH:MM, exclusive; 24:00 is the end of the day.")
    def end_time(self) -> str:
        return time_of(self.end_minute)

    policy: UsagePolicy | None = relation(One("UsagePolicy", "policy_id"))


@strawberry.type
class UsageCountersFields:
    """The counters buckets and totals share (not a type of its own in the schema)."""

    billable_in: BigInt = strawberry.field(description="Downloaded, counting toward the cap.")
    billable_out: BigInt = strawberry.field(description="Uploaded, counting toward the cap.")
    free_in: BigInt = strawberry.field(description="Downloaded in free periods.")
    free_out: BigInt = strawberry.field(description="Uploaded in free periods.")
    billable: BigInt = strawberry.field(description="billableIn + billableOut.")
    free: BigInt = strawberry.field(description="freeIn + freeOut.")
    total: BigInt = strawberry.field(description="billable + free.")


@strawberry.type(description="Usage from start up to end.")
class UsageBucket(UsageCountersFields):
    start: datetime
    end: datetime


@strawberry.type(description="Usage summed over every bucket.")
class UsageTotals(UsageCountersFields):
    pass


@strawberry.type(description="An account's usage in buckets, oldest first (buckets with no "
                 "usage included).")
class DataUsage:
    granularity: UsageGranularity
    buckets: list[UsageBucket]
    totals: UsageTotals


@strawberry.type(description="An account's billing period containing today against its "
                 "allowance (cap + top-ups + rollover). Allowance figures are null without "
                 "a capping, active policy.")
class CurrentDataUsage:
    period_start: date
    period_end: date = strawberry.field(description="Exclusive: the day the next starts.")
    cap_bytes: BigInt | None
    top_up_bytes: BigInt = strawberry.field(description="Bought for this period.")
    rollover_bytes: BigInt = strawberry.field(description="Left over from earlier periods, "
                                              "usable in this one.")
    allowance_bytes: BigInt | None
    billable_bytes: BigInt
    free_bytes: BigInt
    remaining_bytes: BigInt | None = strawberry.field(description="Allowance left (0 over it).")
    percent_used: Decimal | None = strawberry.field(description="Billable usage as a "
                                                    "percentage of the allowance, e.g. 82.5.")
    throttled: bool = strawberry.field(description="Over the allowance: RADIUS answers with "
                                       "the policy's throttle group.")
    policy_id: strawberry.Private[int | None]

    @strawberry.field(description="The policy of the account's data service.")
    async def policy(self, info: Info) -> UsagePolicy | None:
        return await related(info, UsagePolicy, self.policy_id)


@strawberry.input(description="Operators on a day of the week.")
class WeekdayFilter:
    eq: Weekday | None = UNSET
    in_: list[Weekday] | None = strawberry.field(name="in", default=UNSET)


POLICY_LISTING = listing_inputs(
    "UsagePolicy", {"id": IdOf("UsagePolicy"), "company_id": IdOf("Company"),
                    "name": StringFilter, "cap_gb": IntFilter, "active": BooleanFilter},
    order_by=["name", "created_at"])
FREE_PERIOD_LISTING = listing_inputs(
    "UsageFreePeriod", {"id": IdOf("UsageFreePeriod"), "company_id": IdOf("Company"),
                        "policy_id": IdOf("UsagePolicy"), "weekday": WeekdayFilter},
    order_by=["weekday", "start_minute", "created_at"])


def stated_currency(default: object) -> Any:
    return strawberry.field(default=default, description="The currency of the amounts, if "
                            "stated: must be the company's (amounts are never converted).")


@strawberry.input(description="Overage: both overageBlockGb and overageBlockPrice (and the "
                  "code it posts to), or neither.")
class CreateUsagePolicyInput:
    company_id: relay.GlobalID
    name: str
    description: str | None = UNSET
    cap_gb: int | None = strawberry.field(default=UNSET, description="Null: no cap.")
    overage_block_gb: int | None = UNSET
    overage_block_price: Decimal | None = UNSET
    overage_gl_code_id: relay.GlobalID | None = UNSET
    overage_taxable: bool = True
    throttle_radius_group_id: relay.GlobalID | None = strawberry.field(
        default=UNSET, description="A RADIUS group of the company.")
    notify_percents: list[int] = strawberry.field(default_factory=list,
                                                  description="1 to 1000, each once.")
    rollover_months: int = strawberry.field(default=0, description="0 to 12.")
    active: bool = True
    currency: str | None = stated_currency(None)


@strawberry.input(description="Omitted fields stay; null removes the cap, the overage or the "
                  "throttle.")
class UpdateUsagePolicyInput:
    id: relay.GlobalID
    name: str | None = UNSET
    description: str | None = UNSET
    cap_gb: int | None = UNSET
    overage_block_gb: int | None = UNSET
    overage_block_price: Decimal | None = UNSET
    overage_gl_code_id: relay.GlobalID | None = UNSET
    overage_taxable: bool | None = UNSET
    throttle_radius_group_id: relay.GlobalID | None = UNSET
    notify_percents: list[int] | None = UNSET
    rollover_months: int | None = UNSET
    active: bool | None = UNSET
    currency: str | None = stated_currency(UNSET)


@strawberry.input(description="Free usage on one day of the week; 23:00 to 05:00 is two "
                  "periods, 23:00-24:00 and 00:00-05:00 of the next day.")
class CreateUsageFreePeriodInput:
    policy_id: relay.GlobalID
    weekday: Weekday
    start_time: str = strawberry.field(description="HH:MM, 00:00 to 23:59.")
    end_time: str = strawberry.field(description="HH:MM, exclusive, after the start; 24:00 is "
                                     "the end of the day.")


@strawberry.input(description="Omitted fields stay.")
class UpdateUsageFreePeriodInput:
    id: relay.GlobalID
    policy_id: relay.GlobalID | None = UNSET
    weekday: Weekday | None = UNSET
    start_time: str | None = UNSET
    end_time: str | None = UNSET
