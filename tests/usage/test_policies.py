"""Usage-based billing policies, their free periods and the services' usage fields through the
API: what they keep, what they refuse (writing nothing), who may do what, and that a free
period made through the API makes usage free at the company's local times."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from ispcore.domain.usage.models import UsagePeriod
from tests.accounts.account_queries import audit_of, events_of, forbidden, gid
from tests.accounts.factories import MUTATIONS, company_setup, ok
from tests.billing.factories import Billing, billing_setup, refused
from tests.usage.policy_support import new_policy, on_fibre, throttle_group
from tests.usage.support import GB, feed, usage_setup

COUNTS = """query($company: ID!) {
  usagePolicies(filter: {companyId: {eq: $company}}) { totalCount }
  usageFreePeriods(filter: {companyId: {eq: $company}}) { totalCount } }"""
POLICIES = """query($filter: UsagePolicyFilter) { usagePolicies(filter: $filter,
  orderBy: [{field: NAME}]) { totalCount edges { node { id name capGb active } } } }"""
PERIODS = """query($filter: UsageFreePeriodFilter) { usageFreePeriods(filter: $filter,
  orderBy: [{field: WEEKDAY}, {field: START_MINUTE}]) {
  edges { node { weekday startTime endTime policy { name } } } } }"""
SERVICE = """query($id: ID!) { node(id: $id) { ... on Service { usagePolicy { name } topupGb
  } } }"""


async def counts(api: Any, billing: Billing) -> tuple[int, int]:
    data = await api.data(COUNTS, {"company": billing.company}, billing.token)
    return data["usagePolicies"]["totalCount"], data["usageFreePeriods"]["totalCount"]


async def other_company(api: Any, billing: Billing) -> dict[str, str]:
    """Another company of the same instance, with a ledger code, a RADIUS group and a
    usage policy of its own."""
    company = (await company_setup(api, billing.token, name="Other ISP")).company
    gl = (await ok(api, billing.token, "createGlCode",
                   {"companyId": company, "code": "4100", "name": "Fees"}))["id"]
    group = (await ok(api, billing.token, "createRadiusGroup",
                      {"companyId": company, "name": "Slow"}))["id"]
    policy = (await ok(api, billing.token, "createUsagePolicy",
                       {"companyId": company, "name": "Theirs", "capGb": 5}))["id"]
    return {"company": company, "gl": gl, "group": group, "policy": policy}


async def full_policy(api: Any, billing: Billing, **more: Any) -> dict[str, Any]:
    return await new_policy(api, billing, "Gold 500", description="  Residential  ",
                            capGb=500, overageBlockGb=50, overageBlockPrice="10.00",
                            overageGlCodeId=billing.fees, overageTaxable=False,
                            throttleRadiusGroupId=await throttle_group(api, billing),
                            notifyPercents=[100, 80, 50], rolloverMonths=2, **more)


async def test_a_policy_is_created_listed_changed_and_deleted(api: Any) -> None:
    billing = await billing_setup(api)
    policy = await full_policy(api, billing, currency="USD")
    assert {k: v for k, v in policy.items() if k not in ("id", "throttleRadiusGroup")} == {
        "name": "Gold 500", "description": "Residential", "capGb": 500, "overageBlockGb": 50,
        "overageBlockPrice": {"amount": "10.00", "currency": "USD"},
        "overageGlCode": {"id": billing.fees, "code": "4100"}, "overageTaxable": False,
        "notifyPercents": [50, 80, 100], "rolloverMonths": 2, "active": True,
        "freePeriods": [], "company": {"id": billing.company}}
    assert policy["throttleRadiusGroup"]["name"] == "Over cap"
    basic = await new_policy(api, billing, "Basic")
    assert (basic["capGb"], basic["overageBlockPrice"], basic["notifyPercents"],
            basic["rolloverMonths"], basic["active"]) == (None, None, [], 0, True)

    listed = (await api.data(POLICIES, {"filter": {"companyId": {"eq": billing.company},
                                                   "capGb": {"isNull": False}}},
                             billing.token))["usagePolicies"]
    assert [e["node"]["name"] for e in listed["edges"]] == ["Gold 500"]

    changed = await ok(api, billing.token, "updateUsagePolicy", {
        "id": policy["id"], "name": "Gold 600", "capGb": 600, "overageBlockGb": None,
        "overageBlockPrice": None, "overageGlCodeId": None, "throttleRadiusGroupId": None})
    assert (changed["name"], changed["capGb"], changed["overageBlockPrice"],
            changed["overageGlCode"], changed["throttleRadiusGroup"]) == (
        "Gold 600", 600, None, None, None)
    [created] = await events_of(api, billing.token, "usage_policy.created", policy["id"])
    assert created["payload"]["cap_gb"] == 500
    [updated] = await events_of(api, billing.token, "usage_policy.updated", policy["id"])
    assert updated["payload"]["changed"] == ["cap_gb", "name", "overage_block_gb",
                                             "overage_block_price_minor",
                                             "overage_gl_code_id", "throttle_radius_group_id"]
    [audited] = await audit_of(api, billing.token, "updateUsagePolicy")
    assert audited["changes"]["cap_gb"] == {"from": 500, "to": 600}

    assert await ok(api, billing.token, "deleteUsagePolicy", {"id": policy["id"]}) == policy[
        "id"]
    assert await counts(api, billing) == (1, 0)
    assert len(await events_of(api, billing.token, "usage_policy.deleted")) == 1


@pytest.mark.parametrize(("fields", "expected"), [
    ({"name": "  "}, [("name", "REQUIRED")]),
    ({"capGb": 0}, [("capGb", "INVALID")]),
    ({"capGb": 1_000_001}, [("capGb", "INVALID")]),
    ({"capGb": 100, "overageBlockGb": 10, "overageGlCodeId": "fees"},
     [("overageBlockPrice", "REQUIRED")]),
    ({"capGb": 100, "overageBlockPrice": "5.00", "overageGlCodeId": "fees"},
     [("overageBlockGb", "REQUIRED")]),
    ({"capGb": 100, "overageBlockGb": 10, "overageBlockPrice": "5.00"},
     [("overageGlCodeId", "REQUIRED")]),
    ({"capGb": 100, "overageBlockGb": 10, "overageBlockPrice": "-1.00",
      "overageGlCodeId": "fees"}, [("overageBlockPrice", "INVALID")]),
    ({"capGb": 100, "overageBlockGb": 10, "overageBlockPrice": "1.005",
      "overageGlCodeId": "fees"}, [("overageBlockPrice", "INVALID")]),
    ({"overageBlockGb": 10, "overageBlockPrice": "5.00", "overageGlCodeId": "fees"},
     [("overageBlockGb", "INVALID")]),
    ({"capGb": 100, "overageGlCodeId": "fees"}, [("overageGlCodeId", "INVALID")]),
    ({"capGb": 100, "notifyPercents": [0]}, [("notifyPercents", "INVALID")]),
    ({"capGb": 100, "notifyPercents": [1001]}, [("notifyPercents", "INVALID")]),
    ({"capGb": 100, "notifyPercents": [80, 90, 80]}, [("notifyPercents", "INVALID")]),
    ({"notifyPercents": [80]}, [("notifyPercents", "INVALID")]),
    ({"capGb": 100, "rolloverMonths": 13}, [("rolloverMonths", "INVALID")]),
    ({"capGb": 100, "rolloverMonths": -1}, [("rolloverMonths", "INVALID")]),
    ({"rolloverMonths": 1}, [("rolloverMonths", "INVALID")]),
    ({"throttleRadiusGroupId": "group"}, [("throttleRadiusGroupId", "INVALID")]),
    ({"capGb": 100, "currency": "EUR"}, [("currency", "INVALID")]),
    ({"name": "gold  500"}, [("name", "DUPLICATE")]),
    ({"capGb": 0, "rolloverMonths": 20}, [("capGb", "INVALID"), ("rolloverMonths", "INVALID")]),
])
async def test_bad_policies_are_refused_and_write_nothing(
        api: Any, fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    billing = await billing_setup(api)
    await new_policy(api, billing, "Gold 500")
    references = {"fees": billing.fees, "group": await throttle_group(api, billing)}
    values = {k: references.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    before = await counts(api, billing)
    assert await refused(api, billing.token, "createUsagePolicy",
                         {"companyId": billing.company, "name": "Silver", **values}) == expected
    assert await counts(api, billing) == before


async def test_what_another_company_owns_cannot_be_named(api: Any) -> None:
    billing = await billing_setup(api)
    other = await other_company(api, billing)
    assert await refused(api, billing.token, "createUsagePolicy", {
        "companyId": billing.company, "name": "X", "capGb": 10,
        "throttleRadiusGroupId": other["group"], "overageBlockGb": 1,
        "overageBlockPrice": "1.00", "overageGlCodeId": other["gl"]}) == [
        ("overageGlCodeId", "INVALID"), ("throttleRadiusGroupId", "INVALID")]
    assert await counts(api, billing) == (0, 0)


async def test_a_change_is_checked_against_the_whole_policy_and_refused_whole(
        api: Any) -> None:
    billing = await billing_setup(api)
    policy = await full_policy(api, billing)
    # Taking the cap away would leave overage, a throttle, thresholds and rollover uncapped.
    errors = await refused(api, billing.token, "updateUsagePolicy",
                           {"id": policy["id"], "capGb": None, "name": "Renamed"})
    assert errors == [("overageBlockGb", "INVALID"), ("throttleRadiusGroupId", "INVALID"),
                      ("notifyPercents", "INVALID"), ("rolloverMonths", "INVALID")]
    assert await refused(api, billing.token, "updateUsagePolicy",
                         {"id": policy["id"], "overageBlockPrice": None}) == [
        ("overageBlockPrice", "REQUIRED")]
    assert await refused(api, billing.token, "updateUsagePolicy",
                         {"id": policy["id"], "rolloverMonths": None}) == [
        ("rolloverMonths", "REQUIRED")]
    listed = await api.data(POLICIES, {"filter": {"id": {"eq": policy["id"]}}}, billing.token)
    assert listed["usagePolicies"]["edges"][0]["node"] == {
        "id": policy["id"], "name": "Gold 500", "capGb": 500, "active": True}


async def test_a_policy_a_service_uses_is_not_deleted(api: Any) -> None:
    billing = await billing_setup(api)
    policy = await new_policy(api, billing, capGb=100)
    await on_fibre(api, billing, policy["id"])
    assert await refused(api, billing.token, "deleteUsagePolicy", {"id": policy["id"]}) == [
        ("id", "IN_USE")]
    assert await counts(api, billing) == (1, 0)
    # Nor its throttle group.
    group = await throttle_group(api, billing, "Slow")
    await ok(api, billing.token, "updateUsagePolicy",
             {"id": policy["id"], "throttleRadiusGroupId": group})
    assert await refused(api, billing.token, "deleteRadiusGroup", {"id": group}) == [
        ("id", "IN_USE")]


async def test_permissions(api: Any) -> None:
    billing = await billing_setup(api)
    policy = await new_policy(api, billing, capGb=100)
    await on_fibre(api, billing, policy["id"])
    _, reader = await api.user_with_token("reader@example.com",
                                          permissions=["usage:read", "billing:read"])
    _, billing_only = await api.user_with_token("clerk@example.com",
                                                permissions=["billing:read"])
    listed = await api.data(POLICIES, {"filter": {}}, reader)
    assert listed["usagePolicies"]["totalCount"] == 1
    assert "usage:configure" in await forbidden(api, reader, "createUsagePolicy", {
        "companyId": billing.company, "name": "Mine"})
    assert "usage:configure" in await forbidden(api, reader, "createUsageFreePeriod", {
        "policyId": policy["id"], "weekday": "MONDAY", "startTime": "00:00",
        "endTime": "06:00"})
    body = await api.gql(POLICIES, {"filter": {}}, billing_only)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # A service shows its policy only to those who may read policies.
    assert (await api.data(SERVICE, {"id": billing.fibre}, reader))["node"] == {
        "usagePolicy": {"name": "500 GB"}, "topupGb": None}
    assert (await api.data(SERVICE, {"id": billing.fibre}, billing_only))["node"] == {
        "usagePolicy": None, "topupGb": None}
    assert await counts(api, billing) == (1, 0)


# --- free periods ------------------------------------------------------------------------------

def period(policy: dict[str, Any], weekday: str, start: str, end: str) -> dict[str, Any]:
    return {"policyId": policy["id"], "weekday": weekday, "startTime": start, "endTime": end}


async def test_free_periods_are_kept_listed_changed_and_deleted(api: Any) -> None:
    billing = await billing_setup(api)
    policy = await new_policy(api, billing, capGb=500)
    other = await new_policy(api, billing, "Other", capGb=100)
    night = await ok(api, billing.token, "createUsageFreePeriod",
                     period(policy, "SUNDAY", "00:00", "06:00"))
    assert (night["weekday"], night["startTime"], night["endTime"], night["policy"]) == (
        "SUNDAY", "00:00", "06:00", {"id": policy["id"], "name": "500 GB"})
    late = await ok(api, billing.token, "createUsageFreePeriod",
                    period(policy, "SATURDAY", "23:00", "24:00"))
    assert late["endTime"] == "24:00"
    # "23:59" is taken as written: the last minute of the day is not free.
    almost = await ok(api, billing.token, "createUsageFreePeriod",
                      period(policy, "SUNDAY", "22:00", "23:59"))
    assert almost["endTime"] == "23:59"
    # Adjacent periods do not overlap; another policy's periods are its own business.
    await ok(api, billing.token, "createUsageFreePeriod", period(policy, "SUNDAY", "06:00",
                                                                 "07:00"))
    await ok(api, billing.token, "createUsageFreePeriod", period(other, "SUNDAY", "01:00",
                                                                 "02:00"))

    shown = (await api.data(POLICIES.replace("active", "active freePeriods { startTime }"),
                            {"filter": {"id": {"eq": policy["id"]}}}, billing.token))
    assert [p["startTime"] for p in shown["usagePolicies"]["edges"][0]["node"][
        "freePeriods"]] == ["23:00", "00:00", "06:00", "22:00"]  # Saturday, then Sunday
    on_sunday = await api.data(PERIODS, {"filter": {"weekday": {"eq": "SUNDAY"},
                                                    "policyId": {"eq": policy["id"]}}},
                               billing.token)
    assert [(p["node"]["startTime"], p["node"]["endTime"]) for p in on_sunday[
        "usageFreePeriods"]["edges"]] == [("00:00", "06:00"), ("06:00", "07:00"),
                                          ("22:00", "23:59")]
    weekend = await api.data(PERIODS, {"filter": {"weekday": {"in": ["SATURDAY", "SUNDAY"]},
                                                  "policyId": {"eq": other["id"]}}},
                             billing.token)
    assert [p["node"]["policy"]["name"] for p in weekend["usageFreePeriods"]["edges"]] == [
        "Other"]

    moved = await ok(api, billing.token, "updateUsageFreePeriod",
                     {"id": night["id"], "weekday": "MONDAY", "endTime": "05:30"})
    assert (moved["weekday"], moved["startTime"], moved["endTime"]) == (
        "MONDAY", "00:00", "05:30")
    [event] = await events_of(api, billing.token, "usage_free_period.updated")
    assert event["payload"] == {"changed": ["end_minute", "weekday"], "weekday": 1,
                                "start_time": "00:00", "end_time": "05:30"}
    transferred = await ok(api, billing.token, "updateUsageFreePeriod",
                           {"id": late["id"], "policyId": other["id"]})
    assert transferred["policy"]["name"] == "Other"
    await ok(api, billing.token, "deleteUsageFreePeriod", {"id": almost["id"]})
    assert await counts(api, billing) == (2, 4)
    # A policy's free periods go with it.
    await ok(api, billing.token, "deleteUsagePolicy", {"id": other["id"]})
    assert await counts(api, billing) == (1, 2)


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("06:00", "06:00", [("endTime", "INVALID")]),
    ("07:00", "06:00", [("endTime", "INVALID")]),
    ("24:00", "24:00", [("startTime", "INVALID")]),
    ("7:00", "08:00", [("startTime", "INVALID")]),
    ("07:00", "12:60", [("endTime", "INVALID")]),
    ("07:00", "25:00", [("endTime", "INVALID")]),
    ("07:00", "24:01", [("endTime", "INVALID")]),
    ("noon", "later", [("startTime", "INVALID"), ("endTime", "INVALID")]),
    ("05:59", "06:01", [("startTime", "INVALID")]),  # overlaps 00:00-06:00
    ("00:00", "24:00", [("startTime", "INVALID")]),
])
async def test_bad_free_periods_are_refused_and_write_nothing(
        api: Any, start: str, end: str, expected: list[tuple[str, str]]) -> None:
    billing = await billing_setup(api)
    policy = await new_policy(api, billing, capGb=500)
    await ok(api, billing.token, "createUsageFreePeriod", period(policy, "SUNDAY", "00:00",
                                                                 "06:00"))
    before = await counts(api, billing)
    assert await refused(api, billing.token, "createUsageFreePeriod",
                         period(policy, "SUNDAY", start, end)) == expected
    assert await counts(api, billing) == before


async def test_a_change_into_an_overlap_or_to_another_company_is_refused(api: Any) -> None:
    billing = await billing_setup(api)
    policy = await new_policy(api, billing, capGb=500)
    foreign = {"id": (await other_company(api, billing))["policy"]}
    await ok(api, billing.token, "createUsageFreePeriod", period(policy, "SUNDAY", "00:00",
                                                                 "06:00"))
    evening = await ok(api, billing.token, "createUsageFreePeriod",
                       period(policy, "MONDAY", "20:00", "23:00"))
    assert await refused(api, billing.token, "updateUsageFreePeriod",
                         {"id": evening["id"], "weekday": "SUNDAY", "startTime": "05:00"}) == [
        ("startTime", "INVALID")]
    assert await refused(api, billing.token, "updateUsageFreePeriod",
                         {"id": evening["id"], "endTime": "19:00"}) == [("endTime", "INVALID")]
    assert await refused(api, billing.token, "updateUsageFreePeriod",
                         {"id": evening["id"], "policyId": foreign["id"]}) == [
        ("policyId", "INVALID")]
    assert await refused(api, billing.token, "updateUsageFreePeriod",
                         {"id": evening["id"], "weekday": None}) == [("weekday", "REQUIRED")]
    on_monday = await api.data(PERIODS, {"filter": {"weekday": {"eq": "MONDAY"}}},
                               billing.token)
    assert [(p["node"]["startTime"], p["node"]["endTime"]) for p in on_monday[
        "usageFreePeriods"]["edges"]] == [("20:00", "23:00")]


async def test_overlapping_periods_sent_at_once_are_not_both_kept(api: Any) -> None:
    """The policy's row is locked while its periods are checked and written."""
    billing = await billing_setup(api)
    policy = await new_policy(api, billing, capGb=500)
    query, _ = MUTATIONS["createUsageFreePeriod"]
    bodies = await asyncio.gather(*(
        api.data(query, {"input": period(policy, "FRIDAY", start, end)}, billing.token)
        for start, end in (("01:00", "03:00"), ("02:00", "04:00"), ("02:30", "05:00"))))
    kept = [b["createUsageFreePeriod"] for b in bodies
            if not b["createUsageFreePeriod"]["errors"]]
    assert len(kept) == 1
    assert await counts(api, billing) == (1, 1)


async def test_a_free_period_made_through_the_api_frees_usage_at_local_times(
        api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    billing = usage.billing
    policy = await new_policy(api, billing, capGb=500)
    await on_fibre(api, billing, policy["id"])
    await ok(api, billing.token, "createUsageFreePeriod", period(policy, "MONDAY", "00:00",
                                                                 "06:00"))
    # Monday 2 Nov, 05:00-07:00 in Chicago (CST, UTC-6): the first hour is free.
    await feed(runtime, usage, ("a", datetime(2026, 11, 2, 11, tzinfo=UTC),
                                datetime(2026, 11, 2, 13, tzinfo=UTC), 2 * GB, 0))
    async with runtime.db.session() as s:
        [row] = await s.scalars(select(UsagePeriod))
        assert (row.free_in, row.billable_in) == (GB, GB)


# --- services --------------------------------------------------------------------------------

async def test_services_take_a_policy_or_a_top_up_size(api: Any) -> None:
    billing = await billing_setup(api)
    policy = await new_policy(api, billing, capGb=100)
    data = await ok(api, billing.token, "createUsageService", {
        "companyId": billing.company, "name": "Fibre 1G", "kind": "DATA", "price": "90.00",
        "glCodeId": billing.revenue, "downloadKbps": 1_000_000, "uploadKbps": 500_000,
        "usagePolicyId": policy["id"]})
    assert data["usagePolicy"] == {"id": policy["id"], "name": "500 GB"}
    top_up = await ok(api, billing.token, "createUsageService", {
        "companyId": billing.company, "name": "50 GB top-up", "kind": "ONE_TIME",
        "price": "10.00", "glCodeId": billing.fees, "topupGb": 50})
    assert (top_up["topupGb"], top_up["usagePolicy"]) == (50, None)
    cleared = await ok(api, billing.token, "updateUsageService",
                       {"id": data["id"], "usagePolicyId": None})
    assert cleared["usagePolicy"] is None
    resized = await ok(api, billing.token, "updateUsageService",
                       {"id": top_up["id"], "topupGb": 100})
    assert resized["topupGb"] == 100


@pytest.mark.parametrize(("kind", "fields", "expected"), [
    ("RECURRING", {"usagePolicyId": "policy"}, [("usagePolicyId", "INVALID")]),
    ("ONE_TIME", {"usagePolicyId": "policy"}, [("usagePolicyId", "INVALID")]),
    ("DATA", {"usagePolicyId": "foreign"}, [("usagePolicyId", "INVALID")]),
    ("DATA", {"usagePolicyId": "missing"}, [("usagePolicyId", "NOT_FOUND")]),
    ("DATA", {"topupGb": 10}, [("topupGb", "INVALID")]),
    ("ONE_TIME", {"topupGb": 0}, [("topupGb", "INVALID")]),
    ("ONE_TIME", {"topupGb": 2_000_000}, [("topupGb", "INVALID")]),
])
async def test_bad_usage_fields_of_services_are_refused(
        api: Any, kind: str, fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    billing = await billing_setup(api)
    policy = await new_policy(api, billing, capGb=100)
    ids = {"policy": policy["id"], "foreign": (await other_company(api, billing))["policy"],
           "missing": gid("UsagePolicy", 999)}
    values = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    count = "{ services { totalCount } }"
    before = (await api.data(count, token=billing.token))["services"]["totalCount"]
    assert await refused(api, billing.token, "createUsageService", {
        "companyId": billing.company, "name": "New", "kind": kind, "price": "1.00",
        "glCodeId": billing.revenue, **values}) == expected
    assert (await api.data(count, token=billing.token))["services"]["totalCount"] == before


async def test_a_service_keeps_its_usage_fields_to_its_kind(api: Any) -> None:
    billing = await billing_setup(api)
    policy = await new_policy(api, billing, capGb=100)
    await on_fibre(api, billing, policy["id"])
    # The install fee is ONE_TIME: no policy; the fibre service is DATA: no top-up size.
    assert await refused(api, billing.token, "updateUsageService",
                         {"id": billing.install, "usagePolicyId": policy["id"]}) == [
        ("usagePolicyId", "INVALID")]
    assert await refused(api, billing.token, "updateUsageService",
                         {"id": billing.fibre, "topupGb": 5}) == [("topupGb", "INVALID")]
    assert (await api.data(SERVICE, {"id": billing.fibre}, billing.token))["node"] == {
        "usagePolicy": {"name": "500 GB"}, "topupGb": None}


async def test_another_policy_on_the_service_splits_new_usage_by_its_free_periods(
        api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    billing = usage.billing
    days = await new_policy(api, billing, "Days free", capGb=500)
    await ok(api, billing.token, "createUsageFreePeriod", period(days, "MONDAY", "00:00",
                                                                 "24:00"))
    nights = await new_policy(api, billing, "Nothing free", capGb=500)
    hour = (datetime(2026, 11, 2, 14, tzinfo=UTC), datetime(2026, 11, 2, 15, tzinfo=UTC))
    await on_fibre(api, billing, days["id"])
    await feed(runtime, usage, ("a", *hour, 100, 0))
    await on_fibre(api, billing, nights["id"])
    await feed(runtime, usage, ("b", *hour, 100, 0))
    async with runtime.db.session() as s:
        [row] = await s.scalars(select(UsagePeriod))
        assert (row.free_in, row.billable_in) == (100, 100)


async def test_a_company_without_policies_lists_none(api: Any) -> None:
    setup = await company_setup(api)
    data = await api.data(POLICIES, {"filter": {"companyId": {"eq": setup.company}}},
                          setup.token)
    assert data["usagePolicies"] == {"totalCount": 0, "edges": []}
