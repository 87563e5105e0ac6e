"""Buying data top-ups through the API: the one-time service on the next invoice, the
allowance of the current period grown by it (less overage, the throttle lifted), idempotent
retries, and what is refused (changing nothing)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.billing.models import AccountService
from ispcore.domain.usage.models import UsageTopUp
from tests.accounts.factories import MUTATIONS, _mutation
from tests.billing.factories import at, events_of, money, ok, refused, run_billing
from tests.network import radius_support  # noqa: F401  (registers createRadiusGroup)
from tests.usage.billing_support import capped, invoices, period, top_up_service, usage_lines, use
from tests.usage.support import GB, Usage, attach_policy, pk_of, usage_setup

TOP_UP_FIELDS = """id gigabytes periodStart purchasedAt account { id }
  accountService { id startDate service { name } }"""
MUTATIONS["purchaseDataTopUp"] = _mutation("purchaseDataTopUp", "PurchaseDataTopUpInput",
                                           "topUp", TOP_UP_FIELDS)


async def throttling(api: Any, runtime: Any, usage: Usage) -> None:
    """The 500 GB policy, throttling over the allowance."""
    group = await ok(api, usage.billing.token, "createRadiusGroup", {
        "companyId": usage.billing.company, "name": "Throttled",
        "attributes": [{"attribute": "Mikrotik-Rate-Limit", "value": "1M/1M"}]})
    await capped(runtime, usage, throttle_radius_group_id=pk_of(group["id"]))


async def throttled_in_november(api: Any, runtime: Any, clock: Any, gigabytes: float
                                ) -> tuple[Usage, str]:
    """A throttling account billed through November, that used ``gigabytes`` in it by the
    20th; and a 50 GB top-up service at $10.00."""
    usage = await usage_setup(api)
    await throttling(api, runtime, usage)
    top_up = await top_up_service(runtime, usage)
    await run_billing(api, runtime, usage.billing)
    clock.set(at("2026-11-20"))
    await use(runtime, usage, "2026-11-10", gigabytes)
    return usage, top_up


async def counts(runtime: Any) -> tuple[int, int]:
    """(account services, top-ups) in the database."""
    async with runtime.db.session() as s:
        return (await s.scalar(select(func.count()).select_from(AccountService)),
                await s.scalar(select(func.count()).select_from(UsageTopUp)))


async def test_a_top_up_is_billed_next_grows_the_allowance_and_lifts_the_throttle(
        api: Any, runtime: Any, clock: Any) -> None:
    usage, top_up = await throttled_in_november(api, runtime, clock, 520)
    assert (await period(runtime, usage.account_pk, "2026-11-01")).throttled
    bought = await ok(api, usage.billing.token, "purchaseDataTopUp", {
        "accountId": usage.account, "serviceId": top_up, "idempotencyKey": "buy-1"})
    assert (bought["gigabytes"], bought["periodStart"], bought["account"]["id"],
            bought["accountService"]["service"]["name"],
            bought["accountService"]["startDate"]) == (
        50, "2026-11-01", usage.account, "Data top-up 50 GB", "2026-11-20")
    assert not (await period(runtime, usage.account_pk, "2026-11-01")).throttled
    [event] = await events_of(api, usage.billing.token, "usage.top_up_purchased")
    assert (event["payload"]["gigabytes"], event["payload"]["period_end"]) == (50, "2026-12-01")
    assert (event["entityType"], event["entityId"]) == ("UsageTopUp", bought["id"])
    node = await api.data("query($id: ID!) { node(id: $id) { ... on UsageTopUp { gigabytes } } }",
                          {"id": bought["id"]}, usage.billing.token)
    assert node["node"] == {"gigabytes": 50}
    assert len(await events_of(api, usage.billing.token, "usage.throttle_lifted")) == 1
    clock.set(at("2026-12-01"))
    await run_billing(api, runtime, usage.billing)
    december, *_ = await invoices(api, usage.billing, usage.account)
    assert usage_lines(december) == []
    assert [(li["kind"], li["description"], money(li["amount"]), money(li["tax"]))
            for li in december["lines"] if li["kind"] == "ONE_TIME"] == [
        ("ONE_TIME", "Data top-up 50 GB", Decimal("10.00"), Decimal("0.63"))]
    [shown] = december["dataUsage"]
    assert (shown["billable"], shown["allowance"], shown["overageBlocks"]) == (
        520 * GB, 550 * GB, 0)


async def test_a_top_up_too_small_leaves_the_throttle_and_lowers_the_overage(
        api: Any, runtime: Any, clock: Any) -> None:
    usage, top_up = await throttled_in_november(api, runtime, clock, 600)
    await ok(api, usage.billing.token, "purchaseDataTopUp",
             {"accountId": usage.account, "serviceId": top_up})
    assert (await period(runtime, usage.account_pk, "2026-11-01")).throttled
    assert await events_of(api, usage.billing.token, "usage.throttle_lifted") == []
    clock.set(at("2026-12-01"))
    await run_billing(api, runtime, usage.billing)
    december, *_ = await invoices(api, usage.billing, usage.account)
    assert [li["description"] for li in usage_lines(december)] == [
        "Data overage 1\u201330 Nov: 5 \u00d7 10 GB over 550 GB"]


async def test_a_retried_purchase_buys_once(api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage)
    top_up = await top_up_service(runtime, usage)
    other = await top_up_service(runtime, usage, gigabytes=100, name="Data top-up 100 GB")
    input = {"accountId": usage.account, "serviceId": top_up, "idempotencyKey": "buy-7"}
    first = await ok(api, usage.billing.token, "purchaseDataTopUp", input)
    before = await counts(runtime)
    again = await ok(api, usage.billing.token, "purchaseDataTopUp", input)
    assert again == first
    assert await counts(runtime) == before
    assert await refused(api, usage.billing.token, "purchaseDataTopUp",
                         {**input, "serviceId": other}) == [
        ("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]
    assert await counts(runtime) == before


async def test_what_is_not_a_top_up_or_has_no_cap_to_top_up_is_refused(
        api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    billing = usage.billing
    top_up = await top_up_service(runtime, usage)
    before = await counts(runtime)
    # No policy on the data service yet: no allowance to grow.
    assert await refused(api, billing.token, "purchaseDataTopUp", {
        "accountId": usage.account, "serviceId": top_up}) == [("accountId", "INVALID")]
    await attach_policy(runtime, usage, cap_gb=None)
    assert await refused(api, billing.token, "purchaseDataTopUp", {
        "accountId": usage.account, "serviceId": top_up}) == [("accountId", "INVALID")]
    await capped(runtime, usage, name="Capped")
    retired = await top_up_service(runtime, usage, name="Old top-up", active=False)
    # One-time without gigabytes; recurring; a top-up no longer sold.
    for service in (billing.install, billing.tv, retired):
        assert await refused(api, billing.token, "purchaseDataTopUp", {
            "accountId": usage.account, "serviceId": service}) == [("serviceId", "INVALID")]
    assert await refused(api, billing.token, "purchaseDataTopUp", {
        "accountId": usage.account, "serviceId": usage.account}) == [("serviceId", "INVALID")]
    assert await counts(runtime) == before
    assert await events_of(api, billing.token, "usage.top_up_purchased") == []


async def test_buying_a_top_up_needs_billing_write(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage)
    top_up = await top_up_service(runtime, usage)
    _user, token = await api.user_with_token("viewer@example.com",
                                             permissions=["billing:read"])
    body = await api.gql(MUTATIONS["purchaseDataTopUp"][0], {"input": {
        "accountId": usage.account, "serviceId": top_up}}, token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
