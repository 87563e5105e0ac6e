"""Services and packages on accounts: adding, removing, changing quantity and price, now or
on a later day through scheduled events, with the input refused."""

from __future__ import annotations

from typing import Any

from ispcore.workers.registry import run_job
from tests.accounts.factories import company_setup
from tests.billing.factories import (
    account_view,
    add,
    at,
    billing_setup,
    customer,
    ok,
    refused,
    run_billing,
)

PENDING = """{ pendingCharges { totalCount } accountServices { totalCount }
  scheduledEvents { totalCount } }"""


async def test_adding_a_service_with_a_price_override_and_a_start_date(api: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    row = await add(api, billing, account, billing.fibre, quantity=2, priceOverride="55.50",
                    startDate="2026-11-05")
    assert (row["quantity"], row["priceOverride"], row["startDate"], row["billedUntil"]) == (
        2, {"amount": "55.50"}, "2026-11-05", None)
    assert row["service"]["name"] == "Fibre 100"


async def test_bad_additions_are_refused(api: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    before = await api.data(PENDING, None, billing.token)
    assert await refused(api, billing.token, "addServiceToAccount",
                         {"accountId": account, "serviceId": billing.tv,
                          "startDate": "2026-10-01"}) == [("startDate", "INVALID")]
    assert await refused(api, billing.token, "addServiceToAccount",
                         {"accountId": account, "serviceId": billing.tv, "quantity": 0}) == [
        ("quantity", "INVALID")]
    assert await refused(api, billing.token, "addServiceToAccount",
                         {"accountId": account, "serviceId": billing.tv,
                          "priceOverride": "1.234"}) == [("priceOverride", "INVALID")]
    other = await company_setup(api, billing.token, name="Other ISP")
    gl = await ok(api, billing.token, "createGlCode",
                  {"companyId": other.company, "code": "1", "name": "x"})
    foreign = await ok(api, billing.token, "createService",
                       {"companyId": other.company, "name": "Theirs", "kind": "RECURRING",
                        "price": "1", "glCodeId": gl["id"]})
    assert await refused(api, billing.token, "addServiceToAccount",
                         {"accountId": account, "serviceId": foreign["id"]}) == [
        ("serviceId", "INVALID")]
    await ok(api, billing.token, "updateService", {"id": billing.tv, "active": False})
    assert await refused(api, billing.token, "addServiceToAccount",
                         {"accountId": account, "serviceId": billing.tv}) == [
        ("serviceId", "INVALID")]
    assert await api.data(PENDING, None, billing.token) == before


async def test_removing_twice_is_refused(api: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    row = await add(api, billing, account, billing.tv)
    removed = await ok(api, billing.token, "removeServiceFromAccount",
                       {"accountServiceId": row["id"]})
    assert removed["accountService"]["endDate"] == "2026-11-02"
    assert await refused(api, billing.token, "removeServiceFromAccount",
                         {"accountServiceId": row["id"]}) == [("accountServiceId", "INVALID")]


async def test_later_changes_are_scheduled_and_run_on_their_day(api: Any, runtime: Any,
                                                                clock: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    row = await add(api, billing, account, billing.fibre)
    await run_billing(api, runtime, billing)
    price = await ok(api, billing.token, "changeAccountServicePrice",
                     {"accountServiceId": row["id"], "priceOverride": "45",
                      "date": "2026-11-17"})
    assert price["scheduledEvent"]["action"] == "CHANGE_SERVICE_PRICE"
    assert price["accountService"]["priceOverride"] is None
    removal = await ok(api, billing.token, "removeServiceFromAccount",
                       {"accountServiceId": row["id"], "date": "2026-11-27"})
    assert (removal["scheduledEvent"]["action"], removal["scheduledEvent"]["runOn"]) == (
        "REMOVE_SERVICE", "2026-11-27")
    clock.set(at("2026-11-17"))
    await run_job(runtime, "accounts.scheduled_events")
    clock.set(at("2026-11-27"))
    await run_job(runtime, "accounts.scheduled_events")
    view = await account_view(api, billing, account)
    [service] = view["services"]
    assert (service["priceOverride"], service["endDate"]) == ({"amount": "45.00"},
                                                              "2026-11-27")
    assert [(c["description"], c["amount"]["amount"], c["periodStart"], c["periodEnd"])
            for c in view["pendingCharges"]] == [
        ("Credit: Fibre 100", "-30.00", "2026-11-17", "2026-12-02"),
        ("Charge: Fibre 100", "15.00", "2026-11-17", "2026-11-27")]
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    latest = (await account_view(api, billing, account))["invoices"][0]
    # 60 for the month, less 15 days at 60, plus 10 days at 45: 60 - 30 + 15.
    assert latest["subtotal"] == {"amount": "-15.00"}
    assert latest["remainingDue"] == {"amount": "0.00"}


async def test_packages_put_their_services_on_the_account(api: Any, runtime: Any,
                                                          clock: Any) -> None:
    billing = await billing_setup(api)
    fixed = await ok(api, billing.token, "createPackage",
                     {"companyId": billing.company, "name": "Bundle", "pricing": "FIXED",
                      "price": "70", "glCodeId": billing.revenue,
                      "services": [{"serviceId": billing.fibre},
                                   {"serviceId": billing.tv, "quantity": 2}]})
    summed = await ok(api, billing.token, "createPackage",
                      {"companyId": billing.company, "name": "Pick two", "pricing": "SUM",
                       "services": [{"serviceId": billing.fibre}, {"serviceId": billing.tv}]})
    account = await customer(api, billing)
    bundle = await ok(api, billing.token, "addPackageToAccount",
                      {"accountId": account, "packageId": fixed["id"]})
    assert sorted((m["service"]["name"], m["quantity"]) for m in bundle["members"]) == [
        ("Fibre 100", 1), ("TV", 2)]
    other = await customer(api, billing, name="Other")
    await ok(api, billing.token, "addPackageToAccount",
             {"accountId": other, "packageId": summed["id"], "quantity": 2})
    await run_billing(api, runtime, billing)
    [invoice] = (await account_view(api, billing, account))["invoices"]
    assert [(li["description"], li["amount"]["amount"]) for li in invoice["lines"]] == [
        ("Bundle", "70.00")]
    [summed_invoice] = (await account_view(api, billing, other))["invoices"]
    assert sorted((li["description"], li["quantity"], li["amount"]["amount"])
                  for li in summed_invoice["lines"]) == [("Fibre 100", 2, "120.00"),
                                                         ("TV", 2, "40.00")]
    member = bundle["members"][0]["id"]
    assert await refused(api, billing.token, "removeServiceFromAccount",
                         {"accountServiceId": member}) == [("accountServiceId", "INVALID")]
    clock.set(at("2026-11-17"))
    await ok(api, billing.token, "removeServiceFromAccount", {"accountServiceId": bundle["id"]})
    view = await account_view(api, billing, account)
    assert {s["endDate"] for s in view["services"]} == {"2026-11-17"}
    assert [(c["description"], c["amount"]["amount"]) for c in view["pendingCharges"]] == [
        ("Credit: Bundle", "-35.00")]


async def test_a_change_waits_for_a_billing_batch_holding_the_account(
        api: Any, runtime: Any) -> None:
    """A run's batch locks its accounts while it bills them; a change to one of their
    services waits and then sees where billing stands (it is not overwritten)."""
    import asyncio

    from sqlalchemy import text

    from tests.accounts.account_queries import pk_of
    from tests.billing.factories import MUTATIONS

    billing = await billing_setup(api)
    account = await customer(api, billing)
    row = await add(api, billing, account, billing.tv)
    query, _ = MUTATIONS["removeServiceFromAccount"]
    async with runtime.db.engine.connect() as holder:
        transaction = await holder.begin()
        await holder.execute(text("UPDATE accounts SET updated_at = updated_at WHERE id = :id"),
                             {"id": pk_of(account)})
        removal = asyncio.create_task(api.data(query, {"input": {
            "accountServiceId": row["id"]}}, billing.token))
        await asyncio.sleep(0.5)
        assert not removal.done()
        await transaction.commit()
    payload = (await removal)["removeServiceFromAccount"]
    assert payload["errors"] == [] and payload["accountService"]["endDate"] == "2026-11-02"


async def test_reactivation_resumes_children_and_keeps_unbilled_one_time_charges(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    parent = await customer(api, billing, name="Landlord")
    child = await customer(api, billing, name="Unit 1", parentAccountId=parent,
                           billToParent=True)
    await add(api, billing, child, billing.tv)
    await run_billing(api, runtime, billing)
    await ok(api, billing.token, "changeAccountStatus",
             {"accountId": parent, "accountStatusId": billing.setup.suspended,
              "reason": "Unpaid"})
    await add(api, billing, parent, billing.install)
    clock.set(at("2027-01-20"))
    await ok(api, billing.token, "changeAccountStatus",
             {"accountId": parent, "accountStatusId": billing.setup.active,
              "reason": "Paid up"})
    await run_billing(api, runtime, billing)
    latest = (await account_view(api, billing, parent))["invoices"][0]
    assert sorted((li["description"], li["periodStart"], li["amount"]["amount"])
                  for li in latest["lines"]) == [
        ("Installation", None, "99.00"), ("TV", "2027-01-20", "8.39")]
