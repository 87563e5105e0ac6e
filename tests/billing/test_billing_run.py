"""Billing runs through the API: accounts billed month after month, proration of changes,
taxes and discounts, vacation, child accounts, idempotency, failures, and the events."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ispcore.domain.billing import runs
from tests.billing.factories import (
    account_view,
    add,
    at,
    billing_setup,
    customer,
    events_of,
    money,
    ok,
    run_billing,
)


def amounts(invoice: dict[str, Any]) -> list[tuple[str, str, Decimal, Decimal]]:
    return [(li["kind"], li["description"], money(li["amount"]), money(li["tax"]))
            for li in invoice["lines"]]


async def test_an_account_is_billed_month_after_month(api: Any, runtime: Any, clock: Any
                                                      ) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    await add(api, billing, account, billing.fibre)
    await add(api, billing, account, billing.tv)
    await add(api, billing, account, billing.install)

    first = await run_billing(api, runtime, billing)
    assert (first["status"], first["accountsBilled"], first["invoicesCreated"]) == (
        "COMPLETED", 1, 1)
    view = await account_view(api, billing, account)
    [invoice] = view["invoices"]
    assert invoice["number"] == "INV-000001"
    assert (invoice["periodStart"], invoice["periodEnd"]) == ("2026-11-02", "2026-12-02")
    assert (invoice["issuedOn"], invoice["dueOn"]) == ("2026-11-02", "2026-11-16")
    assert amounts(invoice) == [
        ("SERVICE", "Fibre 100", Decimal("60.00"), Decimal("3.75")),
        ("SERVICE", "TV", Decimal("20.00"), Decimal("0.00")),
        ("ONE_TIME", "Installation", Decimal("99.00"), Decimal("6.19"))]
    assert money(invoice["total"]) == Decimal("188.94")
    assert money(invoice["total"]) == sum(money(li["total"]) for li in invoice["lines"])
    assert view["nextBillDate"] == "2026-12-02"
    assert view["balance"] == {"amount": "188.94", "currency": "USD"}
    ledger = sorted((e["kind"], e["glCode"]["code"], money(e["amount"]))
                    for e in view["transactions"])
    assert ledger == [("INVOICE", "4000", Decimal("80.00")),
                      ("INVOICE", "4100", Decimal("99.00")),
                      ("TAX", "2200", Decimal("9.94"))]

    totals = []
    for day in ("2026-12-02", "2027-01-02", "2027-02-02", "2027-03-02"):
        clock.set(at(day))
        run = await run_billing(api, runtime, billing)
        assert run["invoicesCreated"] == 1
        view = await account_view(api, billing, account)
        totals.append(money(view["invoices"][0]["total"]))
    assert totals == [Decimal("83.75")] * 4
    assert [i["periodStart"] for i in view["invoices"]] == [
        "2027-03-02", "2027-02-02", "2027-01-02", "2026-12-02", "2026-11-02"]
    assert view["nextBillDate"] == "2027-04-02"
    assert money(view["balance"]) == Decimal("188.94") + 4 * Decimal("83.75")
    assert money(view["balance"]) == sum(money(e["amount"]) for e in view["transactions"])


async def test_billing_twice_or_after_a_crash_bills_each_account_once(
        api: Any, runtime: Any, system_uow: Any) -> None:
    billing = await billing_setup(api)
    accounts = [await customer(api, billing, name=f"Customer {i}") for i in range(5)]
    for account in accounts:
        await add(api, billing, account, billing.fibre)
    first = await run_billing(api, runtime, billing)
    again = await run_billing(api, runtime, billing)
    assert (first["invoicesCreated"], again["invoicesCreated"]) == (5, 0)
    # A run killed after its first batch: re-running it bills the rest, once.
    more = [await customer(api, billing, name=f"Late {i}", activation="2026-11-02")
            for i in range(3)]
    for account in more:
        await add(api, billing, account, billing.tv)
    run_id = (await ok(api, billing.token, "runBilling", {"companyId": billing.company}))["id"]
    await runtime.jobs.drain()
    from tests.accounts.account_queries import pk_of

    await runs.execute(lambda: system_uow("billing.run"), pk_of(run_id), batch_size=1)
    for account in accounts + more:
        assert len((await account_view(api, billing, account))["invoices"]) == 1


async def test_an_account_that_cannot_be_billed_is_recorded_and_the_rest_are_billed(
        api: Any, runtime: Any, monkeypatch: Any) -> None:
    billing = await billing_setup(api)
    good = await customer(api, billing, name="Good")
    bad = await customer(api, billing, name="Bad")
    for account in (good, bad):
        await add(api, billing, account, billing.fibre)
    from tests.accounts.account_queries import pk_of

    real_bill = runs.bill

    def flaky(plan: Any) -> Any:
        if plan.account_id == pk_of(bad):
            raise ValueError("corrupt plan")
        return real_bill(plan)

    monkeypatch.setattr(runs, "bill", flaky)
    run = await run_billing(api, runtime, billing)
    assert (run["accountsBilled"], run["invoicesCreated"], run["accountsFailed"]) == (1, 1, 1)
    assert run["failures"] == [{"reason": "ValueError: corrupt plan", "account": {"id": bad}}]
    assert (await account_view(api, billing, bad))["invoices"] == []
    monkeypatch.setattr(runs, "bill", real_bill)
    retry = await run_billing(api, runtime, billing)
    assert retry["invoicesCreated"] == 1


async def test_inactive_accounts_are_not_billed_and_resume_without_the_days_away(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    await add(api, billing, account, billing.tv)
    await run_billing(api, runtime, billing)
    await ok(api, billing.token, "changeAccountStatus",
             {"accountId": account, "accountStatusId": billing.setup.suspended,
              "reason": "Unpaid"})
    clock.set(at("2026-12-02"))
    assert (await run_billing(api, runtime, billing))["invoicesCreated"] == 0
    clock.set(at("2027-01-20"))
    await ok(api, billing.token, "changeAccountStatus",
             {"accountId": account, "accountStatusId": billing.setup.active,
              "reason": "Paid up"})
    view = await account_view(api, billing, account)
    assert view["nextBillDate"] == "2027-01-20"
    await run_billing(api, runtime, billing)
    view = await account_view(api, billing, account)
    latest = view["invoices"][0]
    # Billing resumes on the 20th for the rest of its cycle (to 2 Feb): 13 of 31 days.
    assert (latest["periodStart"], latest["periodEnd"]) == ("2027-01-20", "2027-02-02")
    assert amounts(latest) == [("PRORATED", "TV", Decimal("8.39"), Decimal("0.00"))]


async def test_a_run_catches_up_on_missed_cycles(api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    await add(api, billing, account, billing.tv)
    await run_billing(api, runtime, billing)
    clock.set(at("2027-02-10"))
    run = await run_billing(api, runtime, billing)
    assert run["invoicesCreated"] == 3
    view = await account_view(api, billing, account)
    assert [i["periodStart"] for i in view["invoices"]] == [
        "2027-02-02", "2027-01-02", "2026-12-02", "2026-11-02"]
    assert view["nextBillDate"] == "2027-03-02"


async def test_removal_and_quantity_changes_are_prorated_on_the_next_invoice(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    fibre = await add(api, billing, account, billing.fibre)
    tv = await add(api, billing, account, billing.tv)
    await run_billing(api, runtime, billing)          # billed through 2 Dec
    clock.set(at("2026-11-22"))                        # 10 of 30 days left
    await ok(api, billing.token, "removeServiceFromAccount", {"accountServiceId": fibre["id"]})
    await ok(api, billing.token, "changeAccountServiceQuantity",
             {"accountServiceId": tv["id"], "quantity": 3})
    view = await account_view(api, billing, account)
    # Days billed ahead are credited at the old terms; the run bills them again at the new.
    assert sorted((c["description"], c["amount"]["amount"]) for c in view["pendingCharges"]) == [
        ("Credit: Fibre 100", "-20.00"), ("Credit: TV", "-6.67")]
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    view = await account_view(api, billing, account)
    latest = view["invoices"][0]
    assert sorted(amounts(latest)) == sorted([
        ("ADJUSTMENT", "Credit: Fibre 100", Decimal("-20.00"), Decimal("-1.25")),
        ("ADJUSTMENT", "Credit: TV", Decimal("-6.67"), Decimal("0.00")),
        ("PRORATED", "TV", Decimal("20.00"), Decimal("0.00")),
        ("SERVICE", "TV", Decimal("60.00"), Decimal("0.00"))])
    assert money(latest["total"]) == Decimal("52.08")
    assert view["pendingCharges"] == []


async def test_taxes_follow_the_address_and_exemptions(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    await ok(api, billing.token, "createTaxRate",
             {"companyId": billing.company, "name": "Federal USF", "rate": "1.5",
              "country": "US", "glCodeId": billing.taxes})
    await ok(api, billing.token, "createTaxRate",
             {"companyId": billing.company, "name": "Texas", "rate": "6.25", "country": "US",
              "subdivision": "TX", "glCodeId": billing.taxes})
    account = await customer(api, billing)
    exempt = await customer(api, billing, name="Church")
    for each in (account, exempt):
        await add(api, billing, each, billing.fibre)
    await ok(api, billing.token, "createTaxExemption",
             {"accountId": exempt, "taxRateId": billing.state_tax, "reason": "Non-profit"})
    await run_billing(api, runtime, billing)
    [invoice] = (await account_view(api, billing, account))["invoices"]
    assert sorted((t["taxRate"]["name"], t["amount"]["amount"])
                  for t in invoice["lines"][0]["taxes"]) == [
        ("Federal USF", "0.90"), ("Illinois", "3.75")]
    [exempt_invoice] = (await account_view(api, billing, exempt))["invoices"]
    assert [(t["taxRate"]["name"]) for t in exempt_invoice["lines"][0]["taxes"]] == [
        "Federal USF"]


async def test_discounts_apply_for_their_cycles(api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    half = await ok(api, billing.token, "createDiscount",
                    {"companyId": billing.company, "name": "Half-price fibre",
                     "kind": "PERCENT", "percent": "50", "appliesTo": "SERVICE",
                     "serviceId": billing.fibre, "glCodeId": billing.discounts})
    account = await customer(api, billing)
    await add(api, billing, account, billing.fibre)
    await ok(api, billing.token, "giveAccountDiscount",
             {"accountId": account, "discountId": half["id"], "cycles": 2})
    for day in ("2026-11-02", "2026-12-02", "2027-01-02"):
        clock.set(at(day))
        await run_billing(api, runtime, billing)
    view = await account_view(api, billing, account)
    oldest_first = view["invoices"][::-1]
    assert [(money(i["discountTotal"]), money(i["taxTotal"]), money(i["total"]))
            for i in oldest_first] == [
        (Decimal("30.00"), Decimal("1.88"), Decimal("31.88")),
        (Decimal("30.00"), Decimal("1.88"), Decimal("31.88")),
        (Decimal("0.00"), Decimal("3.75"), Decimal("63.75"))]
    assert oldest_first[0]["lines"][0]["discounts"] == [
        {"name": "Half-price fibre", "amount": {"amount": "30.00"}}]
    credits = [e for e in view["transactions"] if e["kind"] == "DISCOUNT"]
    assert [(e["glCode"]["code"], e["amount"]["amount"]) for e in credits] == [
        ("4900", "-30.00"), ("4900", "-30.00")]


async def test_child_accounts_billed_to_their_parent_appear_on_its_invoice(
        api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    parent = await customer(api, billing, name="Landlord")
    child = await customer(api, billing, name="Unit 4", parentAccountId=parent,
                           billToParent=True)
    await add(api, billing, parent, billing.tv)
    await add(api, billing, child, billing.fibre)
    run = await run_billing(api, runtime, billing)
    assert run["invoicesCreated"] == 1
    parent_view = await account_view(api, billing, parent)
    [invoice] = parent_view["invoices"]
    assert sorted((li["description"], li["account"]["id"]) for li in invoice["lines"]) == [
        ("Fibre 100", child), ("TV", parent)]
    child_view = await account_view(api, billing, child)
    assert child_view["invoices"] == [] and child_view["nextBillDate"] == "2026-12-02"


async def test_vacation_mode_bills_nothing_or_the_vacation_price(api: Any, runtime: Any
                                                                 ) -> None:
    billing = await billing_setup(api, vacationBilling="VACATION_PRICE")
    await ok(api, billing.token, "updateService", {"id": billing.fibre, "vacationPrice": "5"})
    account = await customer(api, billing)
    await add(api, billing, account, billing.fibre)
    await add(api, billing, account, billing.tv)
    await ok(api, billing.token, "addAccountVacation",
             {"accountId": account, "startsOn": "2026-11-17", "endsOn": "2027-01-31"})
    await run_billing(api, runtime, billing)
    [invoice] = (await account_view(api, billing, account))["invoices"]
    # 15 of 30 days at the full price, 15 on vacation: fibre at 5.00, TV (no vacation price)
    # at nothing.
    assert [(li["kind"], li["description"], money(li["amount"])) for li in invoice["lines"]] == [
        ("PRORATED", "Fibre 100", Decimal("30.00")), ("VACATION", "Fibre 100", Decimal("2.50")),
        ("PRORATED", "TV", Decimal("10.00"))]


async def test_fixed_day_billing_prorates_the_first_cycle_and_multi_month_and_expiring(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api, billingMode="FIXED_DAY", billDay=1)
    clock.set(at("2026-11-10"))
    account = await customer(api, billing, activation="2026-11-10")
    await add(api, billing, account, billing.tv)
    await add(api, billing, account, billing.quarterly)
    await add(api, billing, account, billing.promo)
    await run_billing(api, runtime, billing)
    view = await account_view(api, billing, account)
    assert view["billing"]["billingMode"] == "FIXED_DAY" and view["nextBillDate"] == "2026-12-01"
    [first] = view["invoices"]
    assert amounts(first) == [
        ("PRORATED", "TV", Decimal("14.00"), Decimal("0.00")),
        # 83 of the 92 days of November to January.
        ("PRORATED", "Quarterly support", Decimal("135.33"), Decimal("8.46")),
        ("PRORATED", "Router rental", Decimal("7.00"), Decimal("0.44"))]
    descriptions = []
    for day in ("2026-12-01", "2027-01-01", "2027-02-01", "2027-03-01"):
        clock.set(at(day))
        await run_billing(api, runtime, billing)
        latest = (await account_view(api, billing, account))["invoices"][0]
        descriptions.append(sorted(li["description"] for li in latest["lines"]))
    assert descriptions == [["Router rental", "TV"], ["TV"], ["Quarterly support", "TV"],
                            ["TV"]]


async def test_billing_events_are_raised(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    await add(api, billing, account, billing.tv)
    await run_billing(api, runtime, billing)
    [issued] = await events_of(api, billing.token, "invoice.issued")
    assert issued["payload"]["total"] == "20.00" and issued["entityType"] == "Invoice"
    [changed] = await events_of(api, billing.token, "account.balance_changed")
    assert changed["payload"] == {"balance": "20.00", "currency": "USD"}
    [completed] = await events_of(api, billing.token, "billing_run.completed")
    assert completed["payload"]["invoices_created"] == 1


async def test_the_bill_day_is_the_companys_local_day_across_daylight_saving(
        api: Any, runtime: Any, clock: Any) -> None:
    from datetime import UTC, datetime

    billing = await billing_setup(api)
    clock.set(datetime(2027, 3, 1, 18, 0, tzinfo=UTC))
    account = await customer(api, billing, activation="2027-02-14")
    await add(api, billing, account, billing.tv, startDate="2027-02-14")
    await run_billing(api, runtime, billing)                 # February's cycle
    # Daylight saving starts on 14 March 2027 in Chicago at 02:00 local (08:00 UTC).
    clock.set(datetime(2027, 3, 14, 5, 59, tzinfo=UTC))      # 23:59 on the 13th, CST
    early = await run_billing(api, runtime, billing)
    assert (early["runOn"], early["invoicesCreated"]) == ("2027-03-13", 0)
    clock.set(datetime(2027, 3, 14, 6, 0, tzinfo=UTC))       # 00:00 on the 14th, CST
    on_time = await run_billing(api, runtime, billing)
    assert (on_time["runOn"], on_time["invoicesCreated"]) == ("2027-03-14", 1)
    clock.set(datetime(2027, 4, 14, 4, 59, tzinfo=UTC))      # 23:59 on the 13th, CDT
    assert (await run_billing(api, runtime, billing))["invoicesCreated"] == 0
    clock.set(datetime(2027, 4, 14, 5, 0, tzinfo=UTC))       # 00:00 on the 14th, CDT
    assert (await run_billing(api, runtime, billing))["invoicesCreated"] == 1
    latest = (await account_view(api, billing, account))["invoices"][0]
    assert (latest["periodStart"], latest["periodEnd"]) == ("2027-04-14", "2027-05-14")


async def test_a_run_for_a_day_not_yet_come_is_refused(api: Any) -> None:
    from tests.billing.factories import refused

    billing = await billing_setup(api)
    assert await refused(api, billing.token, "runBilling",
                         {"companyId": billing.company, "date": "2026-11-03"}) == [
        ("date", "INVALID")]


async def test_the_daily_job_starts_one_run_per_company_and_day(api: Any, runtime: Any,
                                                                clock: Any) -> None:
    from ispcore.workers.registry import run_job
    from tests.billing.factories import RUNS

    billing = await billing_setup(api)
    account = await customer(api, billing)
    await add(api, billing, account, billing.tv)
    started = await run_job(runtime, "billing.daily")
    assert len(started) == 1
    assert await run_job(runtime, "billing.daily") == []
    await runtime.jobs.drain()
    runs_now = (await api.data(RUNS, {"companyId": billing.company}, billing.token))
    [run] = [e["node"] for e in runs_now["billingRuns"]["edges"]]
    assert (run["runOn"], run["status"], run["invoicesCreated"]) == ("2026-11-02",
                                                                     "COMPLETED", 1)
    clock.set(at("2026-11-03"))
    assert len(await run_job(runtime, "billing.daily")) == 1


async def test_credits_return_what_was_charged_net_of_discounts_at_the_old_price(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    half = await ok(api, billing.token, "createDiscount",
                    {"companyId": billing.company, "name": "Half off", "kind": "PERCENT",
                     "percent": "50", "appliesTo": "SERVICE", "serviceId": billing.fibre,
                     "glCodeId": billing.discounts})
    account = await customer(api, billing)
    fibre = await add(api, billing, account, billing.fibre)
    tv = await add(api, billing, account, billing.tv)
    await ok(api, billing.token, "giveAccountDiscount",
             {"accountId": account, "discountId": half["id"], "cycles": 1})
    await run_billing(api, runtime, billing)            # fibre 60 - 30, TV 20, to 2 Dec
    await ok(api, billing.token, "updateService", {"id": billing.tv, "price": "50"})
    clock.set(at("2026-11-22"))                          # 10 of 30 days left
    for row in (fibre, tv):
        await ok(api, billing.token, "removeServiceFromAccount",
                 {"accountServiceId": row["id"]})
    view = await account_view(api, billing, account)
    assert sorted((c["description"], c["amount"]["amount"])
                  for c in view["pendingCharges"]) == [
        ("Credit: Fibre 100", "-20.00"), ("Credit: TV", "-6.67"),
        ("Discount returned: Half off", "10.00")]
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    latest = (await account_view(api, billing, account))["invoices"][0]
    # A third of what was paid for each comes back: 10.00 of fibre's net 30 (its tax taken
    # per line: -1.25 on the credit, +0.63 on the discount returned), 6.67 of TV's 20 (its
    # new price of 50 does not count).
    assert (latest["subtotal"]["amount"], latest["taxTotal"]["amount"],
            latest["total"]["amount"]) == ("-16.67", "-0.62", "-17.29")


async def test_a_vacation_over_days_already_billed_is_credited_and_billed_again(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    await add(api, billing, account, billing.tv)
    await run_billing(api, runtime, billing)            # TV billed 2 Nov to 2 Dec
    clock.set(at("2026-11-10"))
    vacation = await ok(api, billing.token, "addAccountVacation",
                        {"accountId": account, "startsOn": "2026-11-17",
                         "endsOn": "2026-12-31"})
    view = await account_view(api, billing, account)
    assert [(c["description"], c["amount"]["amount"], c["periodStart"])
            for c in view["pendingCharges"]] == [("Credit: TV", "-10.00", "2026-11-17")]
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    latest = (await account_view(api, billing, account))["invoices"][0]
    # The 15 vacation days of November credited; of the cycle to 2 January only 1 January
    # (after the vacation) is billed: 1 day of 31.
    assert sorted((li["kind"], li["amount"]["amount"]) for li in latest["lines"]) == [
        ("ADJUSTMENT", "-10.00"), ("PRORATED", "0.65")]
    # Called off after all: what was charged from 17 November is taken back, to be billed
    # again in full.
    await ok(api, billing.token, "removeAccountVacation", {"id": vacation["id"]})
    pending = (await account_view(api, billing, account))["pendingCharges"]
    assert sum(money(c["amount"]) for c in pending) == Decimal("-0.65")
    clock.set(at("2027-01-02"))
    await run_billing(api, runtime, billing)
    latest = (await account_view(api, billing, account))["invoices"][0]
    assert money(latest["total"]) == Decimal("-0.65") + Decimal("10.00") + 2 * Decimal("20.00")


def test_overlapping_runs_leave_the_garbage_collector_as_they_found_it() -> None:
    import gc

    before = gc.get_threshold()
    first, second = runs._collect_less(), runs._collect_less()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] >= 50_000
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before


async def test_a_run_is_completed_when_its_invoices_are_whatever_its_events_are_doing(
        api: Any, runtime: Any, clock: Any, tiny_pool_runtime: Any) -> None:
    """A process whose pool has two connections: event handlers stuck on a backlog (three
    dispatch jobs, as a burst of commits enqueues them) and the run's job. The run still
    completes, with its own events still waiting. (On SQLite, whose one writer a handler
    stuck in its transaction would hold from everyone, the handler fails until released
    instead: its events wait for the next dispatch.)"""
    import asyncio

    from sqlalchemy import func, select

    from ispcore.domain.billing.models import BillingRun, Invoice
    from ispcore.domain.companies.models import Company
    from ispcore.domain.events import service as events
    from ispcore.domain.identity.actor import SYSTEM
    from ispcore.workers.registry import run_job

    billing = await billing_setup(api)
    for i in range(3):
        await add(api, billing, await customer(api, billing, name=f"Customer {i}"),
                  billing.fibre)
    await runtime.jobs.drain()
    entered, release, handled = asyncio.Event(), asyncio.Event(), []

    async def stuck(uow: Any, batch: list[Any]) -> None:
        await uow.session.scalar(select(func.count()).select_from(Invoice))
        entered.set()
        if runtime.db.is_sqlite and not release.is_set():
            raise RuntimeError("the handler's partner is down")
        await release.wait()
        handled.extend(e.type for e in batch)

    events.register_handler("test.stuck", {"test.backlog", "invoice.issued"}, stuck)
    tiny = tiny_pool_runtime
    try:
        async with tiny.unit_of_work(SYSTEM, action="test") as uow:
            events.record_event(uow, "test.backlog", company_id=None)
        for n in range(2):
            await tiny.jobs.enqueue(events.DISPATCH_JOB, job_id=f"{events.DISPATCH_JOB}:{n}")
        await entered.wait()
        async with runtime.unit_of_work(SYSTEM, action="test") as uow:
            run = BillingRun(company_id=await uow.session.scalar(select(Company.id)),
                             run_on=clock.now().date(), status=runs.RunStatus.QUEUED,
                             created_at=clock.now())
            uow.session.add(run)
        await tiny.jobs.enqueue(runs.RUN_JOB, run_id=run.id)
        status = None
        for _ in range(400):  # a bound, not a timing: the run finishes long before
            await asyncio.sleep(0.05)
            async with runtime.db.session() as session:
                status, invoices = (await session.execute(
                    select(BillingRun.status, BillingRun.invoices_created)
                    .where(BillingRun.id == run.id))).one()
            if status == runs.RunStatus.COMPLETED:
                break
        assert (status, invoices) == (runs.RunStatus.COMPLETED, 3)
        assert handled == []  # the backlog and the run's own events still wait
        release.set()
        await tiny.jobs.drain()
        await run_job(tiny, events.DISPATCH_JOB)  # for those that failed meanwhile
    finally:
        release.set()
        await tiny.jobs.drain()
        events.unregister_handler("test.stuck")
    assert sorted(handled) == ["invoice.issued"] * 3 + ["test.backlog"]
