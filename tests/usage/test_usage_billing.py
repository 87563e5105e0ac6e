"""Usage on invoices, through billing runs: overage billed per started block on the invoice
after the period (in advance and in arrears), nothing under the cap or for free usage, each
period charged once however often billing runs or crashes, late usage billed once as a
correction, rollover drawn oldest first and expiring, child accounts on their parent's
invoice, and a batch settled in a fixed number of statements."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ispcore.domain.billing import runs
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.usage import billing as usage_billing
from tests.billing.factories import at, money, ok, run_billing
from tests.support import count_statements
from tests.usage.billing_support import (
    bill,
    bill_november,
    capped,
    child_of,
    grants,
    invoices,
    on_fibre,
    period,
    usage_charges,
    usage_lines,
    use,
)
from tests.usage.support import GB, Usage, attach_policy, pk_of, usage_setup


def line_view(line: dict[str, Any]) -> tuple[str, int, Decimal, Decimal, Decimal, str, str]:
    return (line["description"], line["quantity"], money(line["unitPrice"]),
            money(line["amount"]), money(line["tax"]), line["periodStart"], line["periodEnd"])


async def test_overage_is_billed_per_started_block_on_the_invoice_after_the_period(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage)
    billing = usage.billing
    tenth = await ok(api, billing.token, "createDiscount", {
        "companyId": billing.company, "name": "Loyalty", "kind": "PERCENT", "percent": "10",
        "appliesTo": "ACCOUNT", "glCodeId": billing.discounts})
    await ok(api, billing.token, "giveAccountDiscount",
             {"accountId": usage.account, "discountId": tenth["id"]})
    await bill_november(api, runtime, clock, usage, 521.5)  # 3 blocks of 10 GB started
    december, *_ = await invoices(api, usage.billing, usage.account)
    [line] = usage_lines(december)
    assert line_view(line) == ("Data overage 1\u201330 Nov: 3 \u00d7 10 GB over 500 GB", 3,
                               Decimal("5.00"), Decimal("15.00"), Decimal("0.94"),
                               "2026-11-01", "2026-12-01")
    # The whole-bill discount takes 10% off the Fibre line, nothing off usage.
    assert (line["taxable"], line["discounts"]) == (True, [])
    assert [money(li["discount"]) for li in december["lines"]] == [Decimal("6.00"), 0]
    # Fibre 60.00 - 6.00 + 3.38 tax, overage 15.00 + 0.94 tax (6.25%, half up).
    assert money(december["total"]) == Decimal("73.32")
    settled = await period(runtime, usage.account_pk, "2026-11-01")
    assert settled.settled_at is not None and not settled.late
    assert (settled.allowance_bytes, settled.settled_billable, settled.overage_blocks,
            settled.charged_minor) == (500 * GB, 521_500_000_000, 3, 1500)
    [charge] = await usage_charges(runtime, usage.account_pk)
    assert (charge.usage_period_id, charge.gl_code_id) == (settled.id,
                                                           pk_of(usage.billing.revenue))
    # The earlier invoices had nothing to bill for usage.
    assert all(usage_lines(i) == [] for i in (await invoices(api, usage.billing,
                                                             usage.account))[1:])


async def test_usage_within_the_cap_and_free_usage_cost_nothing(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage, free=((3, 0, 1440),))  # Wednesdays are free
    await run_billing(api, runtime, usage.billing)
    clock.set(at("2026-11-20"))
    await use(runtime, usage, "2026-11-10", 500)  # a Tuesday: exactly the cap
    await use(runtime, usage, "2026-11-11", 800)  # a Wednesday: free
    clock.set(at("2026-12-01"))
    await run_billing(api, runtime, usage.billing)
    december, *_ = await invoices(api, usage.billing, usage.account)
    assert usage_lines(december) == []
    assert money(december["total"]) == Decimal("63.75")
    settled = await period(runtime, usage.account_pk, "2026-11-01")
    assert (settled.settled_billable, settled.free_in + settled.free_out,
            settled.overage_blocks, settled.charged_minor) == (500 * GB, 800 * GB, 0, 0)
    assert settled.settled_at is not None


async def test_in_arrears_the_period_just_ended_is_billed_with_its_services(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api, billInAdvance=False)
    await capped(runtime, usage)
    await bill_november(api, runtime, clock, usage, 545)  # October billed at its end first
    november, october = await invoices(api, usage.billing, usage.account)
    assert (november["periodStart"], november["periodEnd"]) == ("2026-11-01", "2026-12-01")
    [line] = usage_lines(november)
    assert line_view(line)[:4] == ("Data overage 1\u201330 Nov: 5 \u00d7 10 GB over 500 GB",
                                   5, Decimal("5.00"), Decimal("25.00"))
    assert usage_lines(october) == []


async def test_billing_again_or_after_a_crash_charges_a_period_once(
        api: Any, runtime: Any, clock: Any, monkeypatch: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage)
    await run_billing(api, runtime, usage.billing)
    clock.set(at("2026-11-20"))
    await use(runtime, usage, "2026-11-10", 510)
    clock.set(at("2026-12-01"))

    async def crash(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("the database went away")

    real = runs.write_bills
    monkeypatch.setattr(runs, "write_bills", crash)
    failed = await run_billing(api, runtime, usage.billing)
    assert (failed["invoicesCreated"], failed["accountsFailed"]) == (0, 1)
    assert (await period(runtime, usage.account_pk, "2026-11-01")).settled_at is None
    assert await usage_charges(runtime, usage.account_pk) == []
    monkeypatch.setattr(runs, "write_bills", real)
    for _ in range(2):
        await run_billing(api, runtime, usage.billing)
    everything = await invoices(api, usage.billing, usage.account)
    assert [len(usage_lines(i)) for i in everything] == [1, 0, 0]
    assert len(await usage_charges(runtime, usage.account_pk)) == 1


async def test_late_usage_is_billed_once_as_a_correction_on_the_next_invoice(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage)
    await bill_november(api, runtime, clock, usage, 515)
    clock.set(at("2026-12-03"))
    await use(runtime, usage, "2026-11-30", 22, hour=6)  # 30 Nov in Chicago, arriving late
    late = await period(runtime, usage.account_pk, "2026-11-01")
    assert late.late and late.charged_minor == 1000
    await use(runtime, usage, "2026-11-30", 22, hour=6)  # the same record again: once
    await bill(api, runtime, clock, usage, "2027-01-01")
    january, december, *_ = await invoices(api, usage.billing, usage.account)
    assert [line_view(li)[:4] for li in usage_lines(december)] == [
        ("Data overage 1\u201330 Nov: 2 \u00d7 10 GB over 500 GB", 2, Decimal("5.00"),
         Decimal("10.00"))]
    [correction] = usage_lines(january)
    assert line_view(correction) == (
        "Late usage 1\u201330 Nov: 4 \u00d7 10 GB over 500 GB (2 billed before)", 2,
        Decimal("5.00"), Decimal("10.00"), Decimal("0.63"), "2026-11-01", "2026-12-01")
    settled = await period(runtime, usage.account_pk, "2026-11-01")
    assert (settled.late, settled.overage_blocks, settled.charged_minor,
            settled.settled_billable) == (False, 4, 2000, 537 * GB)
    await bill(api, runtime, clock, usage, "2027-02-01")
    february, *_ = await invoices(api, usage.billing, usage.account)
    assert usage_lines(february) == []


async def test_late_usage_within_the_allowance_charges_nothing(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage)
    await bill_november(api, runtime, clock, usage, 400)
    clock.set(at("2026-12-03"))
    await use(runtime, usage, "2026-11-30", 90, hour=6)
    await bill(api, runtime, clock, usage, "2027-01-01")
    assert await usage_charges(runtime, usage.account_pk) == []
    settled = await period(runtime, usage.account_pk, "2026-11-01")
    assert (settled.late, settled.settled_billable) == (False, 490 * GB)


async def test_rollover_is_drawn_oldest_first_before_the_cap(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage, rollover_months=2)
    await bill_november(api, runtime, clock, usage, 300)  # October's unused 500 GB rolled
    assert await grants(runtime, usage.account_pk) == [
        ("2026-10-01", "2027-01-01", 500, 300), ("2026-11-01", "2027-02-01", 500, 0)]
    november = await period(runtime, usage.account_pk, "2026-11-01")
    assert november.allowance_bytes == 800 * GB  # the cap and the rollover drawn
    clock.set(at("2026-12-20"))
    await use(runtime, usage, "2026-12-10", 1250)
    await bill(api, runtime, clock, usage, "2027-01-01")
    # December: October's last 200, November's 500, then 500 of its own cap: 50 GB over.
    assert await grants(runtime, usage.account_pk) == [
        ("2026-10-01", "2027-01-01", 500, 500), ("2026-11-01", "2027-02-01", 500, 500)]
    january, *_ = await invoices(api, usage.billing, usage.account)
    assert [line_view(li)[:2] for li in usage_lines(january)] == [
        ("Data overage 1\u201331 Dec: 5 \u00d7 10 GB over 1,200 GB", 5)]


async def test_rollover_expires(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage, rollover_months=1)
    # October's 500 GB are usable in November; November's, unused, in December.
    await bill_november(api, runtime, clock, usage, 0)
    clock.set(at("2026-12-20"))
    await use(runtime, usage, "2026-12-10", 1100)
    await bill(api, runtime, clock, usage, "2027-01-01")
    # October's grant expired unused; December has November's 500 and its own 500.
    assert await grants(runtime, usage.account_pk) == [
        ("2026-10-01", "2026-12-01", 500, 0), ("2026-11-01", "2027-01-01", 500, 500)]
    january, *_ = await invoices(api, usage.billing, usage.account)
    assert [line_view(li)[:2] for li in usage_lines(january)] == [
        ("Data overage 1\u201331 Dec: 10 \u00d7 10 GB over 1,000 GB", 10)]


async def test_late_usage_is_overage_when_later_periods_used_its_rolled_over_cap(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage, rollover_months=1)
    await bill_november(api, runtime, clock, usage, 500)  # October's 500: its own cap unused
    assert (await grants(runtime, usage.account_pk))[1] == ("2026-11-01", "2027-01-01", 500, 0)
    clock.set(at("2026-12-20"))
    await use(runtime, usage, "2026-12-10", 700)  # November's 500, then 200 of its own
    await bill(api, runtime, clock, usage, "2027-01-01")
    assert (await grants(runtime, usage.account_pk))[1] == ("2026-11-01", "2027-01-01", 500,
                                                            500)
    clock.set(at("2027-01-03"))
    # Late November usage: nothing of what November rolled over is left, so it is overage.
    await use(runtime, usage, "2026-11-29", 150, hour=8)
    await bill(api, runtime, clock, usage, "2027-02-01")
    february, january, *_ = await invoices(api, usage.billing, usage.account)
    assert usage_lines(january) == []
    assert [line_view(li)[:2] for li in usage_lines(february)] == [
        ("Late usage 1\u201330 Nov: 15 \u00d7 10 GB over 500 GB (0 billed before)", 15)]


async def test_late_usage_draws_on_unused_rollover_before_being_billed(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage, rollover_months=1)
    await bill_november(api, runtime, clock, usage, 700)  # October's 500, 200 of its own
    assert (await grants(runtime, usage.account_pk))[1] == ("2026-11-01", "2027-01-01", 300, 0)
    clock.set(at("2026-12-02"))
    await use(runtime, usage, "2026-11-29", 320, hour=8)  # 300 of its rollover, 20 over
    await bill(api, runtime, clock, usage, "2027-01-01")
    assert (await grants(runtime, usage.account_pk))[1] == ("2026-11-01", "2027-01-01", 0, 0)
    january, *_ = await invoices(api, usage.billing, usage.account)
    assert [line_view(li)[:2] for li in usage_lines(january)] == [
        ("Late usage 1\u201330 Nov: 2 \u00d7 10 GB over 1,000 GB (0 billed before)", 2)]


async def test_a_child_account_s_overage_is_on_its_parent_s_invoice(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage)
    billing = usage.billing
    child = await child_of(api, usage)
    await bill_november(api, runtime, clock, usage, 505, user=Usage(billing, child))
    december, *_ = await invoices(api, billing, usage.account)
    [line] = usage_lines(december)
    assert (line["account"]["id"], line["description"]) == (
        child, "Data overage 1\u201330 Nov: 1 \u00d7 10 GB over 500 GB")
    assert (await invoices(api, billing, child)) == []


async def test_an_account_without_a_cap_is_settled_without_charges(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await attach_policy(runtime, usage, cap_gb=None)
    await bill_november(api, runtime, clock, usage, 2000)
    settled = await period(runtime, usage.account_pk, "2026-11-01")
    assert settled.settled_at is not None
    assert (settled.allowance_bytes, settled.charged_minor) == (None, 0)
    assert await usage_charges(runtime, usage.account_pk) == []
    assert await grants(runtime, usage.account_pk) == []


async def test_settling_a_batch_costs_the_same_statements_for_more_accounts(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    await capped(runtime, usage, rollover_months=1)
    billing = usage.billing
    accounts = [usage.account]
    for n in range(5):
        accounts.append(await on_fibre(api, billing, f"Customer {n}"))
    await run_billing(api, runtime, billing)
    clock.set(at("2026-11-20"))
    for account in accounts:
        await use(runtime, Usage(billing, account), "2026-11-10", 1100)
    await runtime.jobs.drain()  # event handlers done: only the settling is counted
    clock.set(at("2026-12-01"))
    counts = []
    for group in (accounts[:2], accounts[2:]):
        async with runtime.unit_of_work(SYSTEM, action="test") as uow:
            catalogue = await runs.load_catalogue(uow, usage.company_pk)
            with count_statements(runtime) as seen:
                await usage_billing.settle(uow, catalogue, [pk_of(a) for a in group])
            counts.append(len(seen))
    assert counts[0] == counts[1]
    assert len({c.usage_period_id for a in accounts
                for c in await usage_charges(runtime, pk_of(a))}) == 6
