"""An account's data usage through the API: buckets per UTC hour, per day of the company's
calendar and per billing period, across the end of daylight saving time in Chicago (1 Nov
2026 has 25 hours) and a billing period boundary; the current period against cap, top-ups
and rollover; and a page of accounts costs the same statements whatever its size."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.usage.models import UsageRollover, UsageTopUp
from tests.billing.factories import add, customer
from tests.support import count_statements
from tests.usage.support import GB, Usage, attach_policy, feed, usage_setup

COUNTERS = "billableIn billableOut freeIn freeOut billable free total"
DATA_USAGE = f"""query($id: ID!, $from: DateTime!, $to: DateTime!,
  $granularity: UsageGranularity!) {{ account(id: $id) {{
  dataUsage(from: $from, to: $to, granularity: $granularity) {{ granularity
    buckets {{ start end {COUNTERS} }} totals {{ {COUNTERS} }} }} }} }}"""
CURRENT_FIELDS = """periodStart periodEnd capBytes topUpBytes rolloverBytes allowanceBytes
  billableBytes freeBytes remainingBytes percentUsed throttled policy { name }"""
CURRENT = f"""query($id: ID!) {{ account(id: $id) {{ currentDataUsage {{ {CURRENT_FIELDS} }}
  }} }}"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def counters(billable: tuple[int, int] = (0, 0), free: tuple[int, int] = (0, 0)
             ) -> dict[str, int]:
    return {"billableIn": billable[0], "billableOut": billable[1], "freeIn": free[0],
            "freeOut": free[1], "billable": sum(billable), "free": sum(free),
            "total": sum(billable) + sum(free)}


async def around_the_change(api: Any, runtime: Any) -> Usage:
    """Chicago, billed on the 1st; Sunday 00:00-02:00 is free (on 1 Nov 2026 that is three
    hours: 01:00-02:00 happens twice when clocks go back)."""
    usage = await usage_setup(api)
    await attach_policy(runtime, usage, free=((7, 0, 120),))
    await feed(runtime, usage,
               # Saturday 31 Oct 23:00-24:00 CDT: the last hour of October's period.
               ("a", utc(2026, 11, 1, 4), utc(2026, 11, 1, 5), 1000, 100),
               # Both 01:00-02:00 of Sunday 1 Nov (CDT, then CST): free.
               ("b", utc(2026, 11, 1, 6), utc(2026, 11, 1, 8), 2000, 200),
               # Sunday 23:30 to Monday 00:30 CST: half on each day.
               ("c", utc(2026, 11, 2, 5, 30), utc(2026, 11, 2, 6, 30), 600, 60),
               ("d", utc(2026, 11, 2, 14), utc(2026, 11, 2, 14, 30), 50, 5))
    return usage


async def data_usage(api: Any, usage: Usage, start: str, end: str, granularity: str,
                     token: str | None = None) -> Any:
    return (await api.data(DATA_USAGE, {"id": usage.account, "from": start, "to": end,
                                        "granularity": granularity},
                           token or usage.billing.token))["account"]["dataUsage"]


async def test_hours_are_utc_hours_touching_the_range(api: Any, runtime: Any) -> None:
    usage = await around_the_change(api, runtime)
    hours = await data_usage(api, usage, "2026-11-01T04:30:00Z", "2026-11-01T08:00:00Z",
                             "HOUR")
    assert hours["granularity"] == "HOUR"
    assert [(b["start"], b["end"]) for b in hours["buckets"]] == [
        (f"2026-11-01T0{h}:00:00+00:00", f"2026-11-01T0{h + 1}:00:00+00:00")
        for h in (4, 5, 6, 7)]
    assert [{k: v for k, v in b.items() if k not in ("start", "end")}
            for b in hours["buckets"]] == [counters((1000, 100)), counters(),
                                           counters(free=(1000, 100)),
                                           counters(free=(1000, 100))]
    assert hours["totals"] == counters((1000, 100), (2000, 200))


async def test_days_are_local_days_and_the_one_clocks_go_back_has_25_hours(
        api: Any, runtime: Any) -> None:
    usage = await around_the_change(api, runtime)
    days = await data_usage(api, usage, "2026-10-31T12:00:00-05:00",
                            "2026-11-02T12:00:00-06:00", "DAY")
    assert [(b["start"], b["end"]) for b in days["buckets"]] == [
        ("2026-10-31T00:00:00-05:00", "2026-11-01T00:00:00-05:00"),
        ("2026-11-01T00:00:00-05:00", "2026-11-02T00:00:00-06:00"),
        ("2026-11-02T00:00:00-06:00", "2026-11-03T00:00:00-06:00")]
    assert [{k: v for k, v in b.items() if k not in ("start", "end")}
            for b in days["buckets"]] == [counters((1000, 100)),
                                          counters((300, 30), (2000, 200)),
                                          counters((350, 35))]
    assert days["totals"] == counters((1650, 165), (2000, 200))


async def test_billing_periods_include_empty_ones_and_split_at_the_boundary(
        api: Any, runtime: Any) -> None:
    usage = await around_the_change(api, runtime)
    periods = await data_usage(api, usage, "2026-09-15T00:00:00Z", "2026-11-15T00:00:00Z",
                               "BILLING_PERIOD")
    assert [(b["start"], b["end"]) for b in periods["buckets"]] == [
        ("2026-09-01T00:00:00-05:00", "2026-10-01T00:00:00-05:00"),
        ("2026-10-01T00:00:00-05:00", "2026-11-01T00:00:00-05:00"),
        ("2026-11-01T00:00:00-05:00", "2026-12-01T00:00:00-06:00")]
    assert [{k: v for k, v in b.items() if k not in ("start", "end")}
            for b in periods["buckets"]] == [counters(), counters((1000, 100)),
                                             counters((650, 65), (2000, 200))]
    assert periods["totals"] == counters((1650, 165), (2000, 200))


async def test_ranges_that_cannot_be_answered_are_clear_errors(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    for start, end, granularity, message in (
            ("2026-11-02T00:00:00Z", "2026-11-02T00:00:00Z", "HOUR", "after `from`"),
            ("2026-11-02T00:00:00Z", "2026-11-01T00:00:00Z", "DAY", "after `from`"),
            ("2026-10-01T00:00:00Z", "2026-11-12T00:00:00Z", "HOUR", "at most 1,000 hours"),
            ("2023-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "DAY", "at most 1,000 days")):
        body = await api.gql(DATA_USAGE, {"id": usage.account, "from": start, "to": end,
                                          "granularity": granularity}, usage.billing.token)
        [error] = body["errors"]
        assert message in error["message"] and error["extensions"]["code"] == \
            "BAD_USER_INPUT", error
    # An instant without its offset is refused by the DateTime scalar itself.
    body = await api.gql(DATA_USAGE, {"id": usage.account, "from": "2026-11-01T00:00:00",
                                      "to": "2026-11-02T00:00:00Z", "granularity": "DAY"},
                         usage.billing.token)
    assert "UTC offset" in body["errors"][0]["message"]


async def test_without_usage_read_the_fields_are_null(api: Any, runtime: Any) -> None:
    usage = await around_the_change(api, runtime)
    _, clerk = await api.user_with_token("clerk@example.com",
                                         permissions=["accounts:read", "billing:read"])
    assert await data_usage(api, usage, "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z",
                            "HOUR", token=clerk) is None
    assert (await api.data(CURRENT, {"id": usage.account}, clerk))["account"] == {
        "currentDataUsage": None}


async def grant(runtime: Any, usage: Usage, *rows: Any) -> None:
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        for row in rows:
            row.company_id, row.account_id = usage.company_pk, usage.account_pk
            uow.session.add(row)


async def test_the_current_period_against_cap_top_ups_and_rollover(
        api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    await attach_policy(runtime, usage, cap_gb=10, notify_percents=[])
    now = runtime.clock.now()
    await feed(runtime, usage, ("a", utc(2026, 11, 2, 14), utc(2026, 11, 2, 14, 30),
                                10 * GB, 2 * GB))
    await grant(runtime, usage,
                UsageTopUp(period_start=date(2026, 11, 1), gigabytes=5, purchased_at=now),
                UsageTopUp(period_start=date(2026, 10, 1), gigabytes=1, purchased_at=now),
                # October's leftover, partly drawn already: 2 GB usable.
                UsageRollover(from_period_start=date(2026, 10, 1),
                              expires_on=date(2027, 1, 1), granted_bytes=3 * GB,
                              used_bytes=GB),
                # September's has expired (usable in periods starting before 1 Nov).
                UsageRollover(from_period_start=date(2026, 9, 1),
                              expires_on=date(2026, 11, 1), granted_bytes=4 * GB),
                # August's is used up.
                UsageRollover(from_period_start=date(2026, 8, 1),
                              expires_on=date(2027, 1, 1), granted_bytes=GB,
                              used_bytes=GB))
    current = (await api.data(CURRENT, {"id": usage.account}, usage.billing.token))[
        "account"]["currentDataUsage"]
    assert current == {
        "periodStart": "2026-11-01", "periodEnd": "2026-12-01", "capBytes": 10 * GB,
        "topUpBytes": 5 * GB, "rolloverBytes": 2 * GB, "allowanceBytes": 17 * GB,
        "billableBytes": 12 * GB, "freeBytes": 0, "remainingBytes": 5 * GB,
        "percentUsed": "70.58", "throttled": False, "policy": {"name": "500 GB"}}


async def test_a_period_without_usage_answers_with_zeros(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    await attach_policy(runtime, usage, cap_gb=10)
    # Another customer on the same service, billed on the 15th, nothing used yet.
    other = await customer(api, usage.billing, activation="2026-10-15", name="Quiet")
    await add(api, usage.billing, other, usage.billing.fibre, startDate="2026-10-15")
    current = (await api.data(CURRENT, {"id": other}, usage.billing.token))["account"][
        "currentDataUsage"]
    assert current == {
        "periodStart": "2026-10-15", "periodEnd": "2026-11-15", "capBytes": 10 * GB,
        "topUpBytes": 0, "rolloverBytes": 0, "allowanceBytes": 10 * GB, "billableBytes": 0,
        "freeBytes": 0, "remainingBytes": 10 * GB, "percentUsed": "0.00",
        "throttled": False, "policy": {"name": "500 GB"}}


async def test_without_a_policy_usage_is_tracked_but_nothing_is_allowed(
        api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    await feed(runtime, usage, ("a", utc(2026, 11, 2, 14), utc(2026, 11, 2, 15), 7, 3))
    current = (await api.data(CURRENT, {"id": usage.account}, usage.billing.token))[
        "account"]["currentDataUsage"]
    assert current == {
        "periodStart": "2026-11-01", "periodEnd": "2026-12-01", "capBytes": None,
        "topUpBytes": 0, "rolloverBytes": 0, "allowanceBytes": None, "billableBytes": 10,
        "freeBytes": 0, "remainingBytes": None, "percentUsed": None, "throttled": False,
        "policy": None}
    # An inactive policy allows nothing either (its free periods still split usage).
    await attach_policy(runtime, usage, cap_gb=10, active=False)
    current = (await api.data(CURRENT, {"id": usage.account}, usage.billing.token))[
        "account"]["currentDataUsage"]
    assert (current["capBytes"], current["allowanceBytes"], current["policy"]) == (
        None, None, {"name": "500 GB"})


PAGE = f"""query($company: ID!, $first: Int!) {{ accounts(first: $first,
  filter: {{companyId: {{eq: $company}}}}, orderBy: [{{field: NAME}}]) {{ edges {{ node {{
  name currentDataUsage {{ {CURRENT_FIELDS} }}
  dataUsage(from: "2026-11-01T00:00:00Z", to: "2026-11-03T00:00:00Z", granularity: DAY) {{
    buckets {{ start billable }} totals {{ total }} }} }} }} }} }}"""


async def test_a_page_of_accounts_costs_the_same_statements_whatever_its_size(
        api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    await attach_policy(runtime, usage, cap_gb=10)
    accounts = [usage.account]
    for n in range(5):
        account = await customer(api, usage.billing, activation="2026-10-01", name=f"C{n}")
        await add(api, usage.billing, account, usage.billing.fibre, startDate="2026-10-01")
        accounts.append(account)
    for n, account in enumerate(accounts):
        await feed(runtime, Usage(usage.billing, account),
                   (f"r{n}", utc(2026, 11, 2, 14), utc(2026, 11, 2, 15), GB * (n + 1), 0))
    seen: dict[int, int] = {}
    for first in (2, 6):
        with count_statements(runtime) as statements:
            data = await api.data(PAGE, {"company": usage.billing.company, "first": first},
                                  usage.billing.token)
        nodes = [edge["node"] for edge in data["accounts"]["edges"]]
        assert len(nodes) == first
        assert all(n["currentDataUsage"]["policy"] == {"name": "500 GB"}
                   and n["currentDataUsage"]["billableBytes"] == n["dataUsage"]["totals"][
                       "total"] > 0 and len(n["dataUsage"]["buckets"]) == 3 for n in nodes)
        seen[first] = len(statements)
    assert seen[2] == seen[6], seen
