"""Delinquency through the API: the sweep moves overdue accounts to the delinquent status and
back when they pay, exclusions, settings that are refused, late fees once per invoice, and
the printed invoice fee on paper accounts' invoices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ispcore.domain.billing import delinquency
from tests.accounts.account_queries import pk_of
from tests.accounts.factories import MUTATIONS, _mutation, company_setup
from tests.billing.factories import (
    Billing,
    account_view,
    add,
    at,
    billing_setup,
    customer,
    events_of,
    money,
    ok,
    refused,
    run_billing,
)
from tests.billing.payment_support import record

SETTINGS_FIELDS = """enabled daysOverdue lateFeeKind lateFeeDays lateFeePercent
  minimumOverdue { amount } lateFeeAmount { amount } paperInvoiceFee { amount }
  delinquentStatus { id } feeGlCode { id }"""
EXCLUSION_FIELDS = "id until reason account { id } accountGroup { id }"
MUTATIONS.update({
    "updateDelinquencySettings": _mutation(
        "updateDelinquencySettings", "UpdateDelinquencySettingsInput", "delinquencySettings",
        SETTINGS_FIELDS),
    "createDelinquencyExclusion": _mutation(
        "createDelinquencyExclusion", "CreateDelinquencyExclusionInput",
        "delinquencyExclusion", EXCLUSION_FIELDS),
    "updateDelinquencyExclusion": _mutation(
        "updateDelinquencyExclusion", "UpdateDelinquencyExclusionInput",
        "delinquencyExclusion", EXCLUSION_FIELDS),
    "deleteDelinquencyExclusion": _mutation("deleteDelinquencyExclusion", "IdInput",
                                            "deletedId", ""),
    "runDelinquencySweep": _mutation("runDelinquencySweep", "RunDelinquencySweepInput", None,
                                     "madeDelinquent cleared lateFees"),
    "createAccountGroup": _mutation("createAccountGroup", "CreateAccountGroupInput",
                                    "accountGroup", "id name"),
})

STATE = """query($id: ID!) { account(id: $id) { id accountStatus { id name }
  statusHistory { kind fromStatus { id } toStatus { id } reason }
  delinquency { since overdue { amount } previousStatus { id } delinquentStatus { id }
    invoice { id number } }
  pendingCharges { description amount { amount } }
  invoices { id number lines { kind description amount { amount } tax { amount } } } } }"""
SETTINGS = f"""query($id: ID!) {{ delinquencySettings(companyId: $id) {{ {SETTINGS_FIELDS} }}
  }}"""
DELINQUENT = """query($id: ID!) { delinquentAccounts(filter: {companyId: {eq: $id}}) {
  totalCount edges { node { account { id } since } } } }"""
LATE_FEES = """query($id: ID!) { lateFees(filter: {companyId: {eq: $id}}) {
  totalCount edges { node { amount { amount } invoice { number } account { id } } } } }"""


async def rules(api: Any, billing: Billing, **values: Any) -> dict[str, Any]:
    return await ok(api, billing.token, "updateDelinquencySettings",
                    {"companyId": billing.company, **values})


async def delinquent_after(api: Any, billing: Billing, days: int = 30, **values: Any) -> None:
    await rules(api, billing, enabled=True, daysOverdue=days,
                delinquentStatusId=billing.setup.delinquent, **values)


async def sweep(api: Any, billing: Billing) -> tuple[int, int, int]:
    out = await ok(api, billing.token, "runDelinquencySweep", {"companyId": billing.company})
    return out["madeDelinquent"], out["cleared"], out["lateFees"]


async def state(api: Any, billing: Billing, account: str) -> dict[str, Any]:
    return (await api.data(STATE, {"id": account}, billing.token))["account"]


async def billed(api: Any, runtime: Any, billing: Billing, name: str = "Jane Doe") -> str:
    """An account with fibre billed on 2026-11-02: 63.75 due on 2026-11-16."""
    account = await customer(api, billing, name=name)
    await add(api, billing, account, billing.fibre)
    await run_billing(api, runtime, billing)
    return account


async def test_an_overdue_account_becomes_delinquent_once(api: Any, runtime: Any,
                                                          clock: Any) -> None:
    billing = await billing_setup(api)
    late = await billed(api, runtime, billing, "Late")
    await delinquent_after(api, billing)
    clock.set(at("2026-12-16"))  # 30 days after the due date: not more than 30 yet
    assert await sweep(api, billing) == (0, 0, 0)
    clock.set(at("2026-12-10"))
    fresh = await customer(api, billing, name="Fresh", activation="2026-12-10")
    await add(api, billing, fresh, billing.fibre)
    await run_billing(api, runtime, billing)  # due 2026-12-24

    clock.set(at("2026-12-17"))
    assert await sweep(api, billing) == (1, 0, 0)
    view = await state(api, billing, late)
    assert view["accountStatus"]["id"] == billing.setup.delinquent
    assert view["statusHistory"][-1] == {
        "kind": "DELINQUENT", "fromStatus": {"id": billing.setup.active},
        "toStatus": {"id": billing.setup.delinquent},
        "reason": "Invoices overdue by more than 30 days"}
    invoice = next(i for i in view["invoices"] if i["number"] == "INV-000001")
    assert view["delinquency"] == {
        "since": "2026-12-17", "overdue": {"amount": "63.75"},
        "previousStatus": {"id": billing.setup.active},
        "delinquentStatus": {"id": billing.setup.delinquent},
        "invoice": {"id": invoice["id"], "number": "INV-000001"}}
    assert (await state(api, billing, fresh))["delinquency"] is None
    [event] = await events_of(api, billing.token, "account.delinquent")
    assert event["entityId"] == late
    assert event["payload"]["overdue"] == "63.75"
    assert event["payload"]["invoice_ids"] == [pk_of(invoice["id"])]
    assert event["payload"]["previous_status_id"] == pk_of(billing.setup.active)
    changed = await events_of(api, billing.token, "account.status_changed")
    assert [e["payload"]["kind"] for e in changed] == ["DELINQUENT"]

    assert await sweep(api, billing) == (0, 0, 0)
    clock.set(at("2026-12-18"))
    assert await sweep(api, billing) == (0, 0, 0)
    assert len(await events_of(api, billing.token, "account.delinquent")) == 1
    listing = (await api.data(DELINQUENT, {"id": billing.company}, billing.token))
    assert listing["delinquentAccounts"]["totalCount"] == 1


async def test_paying_clears_the_delinquency_and_restores_the_status(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await billed(api, runtime, billing)
    moved = await billed(api, runtime, billing, "Moved by staff")
    await delinquent_after(api, billing)
    clock.set(at("2026-12-20"))
    assert await sweep(api, billing) == (2, 0, 0)
    await ok(api, billing.token, "changeAccountStatus",
             {"accountId": moved, "accountStatusId": billing.setup.suspended,
              "reason": "Arranged by phone"})

    await record(api, billing, account, "60.00")  # partly: still overdue
    assert (await state(api, billing, account))["delinquency"] is not None
    await record(api, billing, account, "3.75")
    view = await state(api, billing, account)
    assert view["delinquency"] is None
    assert view["accountStatus"]["id"] == billing.setup.active
    assert view["statusHistory"][-1]["kind"] == "DELINQUENCY_CLEARED"
    await record(api, billing, moved, "63.75")
    view = await state(api, billing, moved)
    assert (view["delinquency"], view["accountStatus"]["id"]) == (None, billing.setup.suspended)
    cleared = await events_of(api, billing.token, "account.delinquency_cleared")
    assert [(e["entityId"], e["payload"]["status_restored"]) for e in cleared] == [
        (account, True), (moved, False)]
    assert await sweep(api, billing) == (0, 0, 0)


async def test_review_accounts_clears_only_accounts_that_paid(
        api: Any, runtime: Any, clock: Any, system_uow: Any) -> None:
    billing = await billing_setup(api)
    account = await billed(api, runtime, billing)
    await delinquent_after(api, billing)
    clock.set(at("2026-12-20"))
    await sweep(api, billing)
    company_id = pk_of(billing.company)
    async with system_uow() as uow:
        await delinquency.review_accounts(uow, company_id, [pk_of(account)])
    assert (await state(api, billing, account))["delinquency"] is not None
    # A void is real domain code too: the invoice is no longer owed.
    invoice = (await state(api, billing, account))["invoices"][0]["id"]
    await ok(api, billing.token, "voidInvoice", {"id": invoice, "reason": "Billed in error"})
    async with system_uow() as uow:
        await delinquency.review_accounts(uow, company_id, [pk_of(account)])
    view = await state(api, billing, account)
    assert (view["delinquency"], view["accountStatus"]["id"]) == (None, billing.setup.active)


async def test_excluded_accounts_and_groups_are_left_alone_until_the_exclusion_ends(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    group = (await ok(api, billing.token, "createAccountGroup",
                      {"companyId": billing.company, "name": "Schools"}))["id"]
    alone = await billed(api, runtime, billing, "Excluded")
    school = await customer(api, billing, name="School", accountGroupIds=[group])
    await add(api, billing, school, billing.fibre)
    await run_billing(api, runtime, billing)
    expiring = await billed(api, runtime, billing, "Was excluded")
    await delinquent_after(api, billing, lateFeeKind="FIXED", lateFeeAmount="5.00",
                           feeGlCodeId=billing.fees)
    await ok(api, billing.token, "createDelinquencyExclusion",
             {"accountId": alone, "reason": "Hardship"})
    by_group = await ok(api, billing.token, "createDelinquencyExclusion",
                        {"accountGroupId": group, "until": "2026-12-25",
                         "reason": "Paid by the district"})
    assert by_group["accountGroup"] == {"id": group}
    clock.set(at("2026-12-19"))
    await ok(api, billing.token, "createDelinquencyExclusion",
             {"accountId": expiring, "until": "2026-12-19", "reason": "Promise to pay"})
    assert await refused(api, billing.token, "createDelinquencyExclusion",
                         {"accountId": alone, "accountGroupId": group, "reason": "x"}) == [
        ("accountId", "REQUIRED")]
    assert await refused(api, billing.token, "createDelinquencyExclusion",
                         {"accountId": alone, "until": "2026-12-18", "reason": "x"}) == [
        ("until", "INVALID")]

    clock.set(at("2026-12-20"))
    assert await sweep(api, billing) == (1, 0, 1)
    assert (await state(api, billing, expiring))["delinquency"] is not None
    for account in (alone, school):
        view = await state(api, billing, account)
        assert (view["delinquency"], view["pendingCharges"]) == (None, [])
    clock.set(at("2026-12-26"))
    assert await sweep(api, billing) == (1, 0, 1)
    assert (await state(api, billing, school))["delinquency"] is not None
    assert (await state(api, billing, alone))["delinquency"] is None


async def test_invalid_settings_are_refused_and_change_nothing(api: Any) -> None:
    billing = await billing_setup(api)
    other = await company_setup(api, billing.token, name="Other ISP")
    foreign_gl = (await ok(api, billing.token, "createGlCode",
                           {"companyId": other.company, "code": "4100", "name": "Fees"}))["id"]
    before = (await api.data(SETTINGS, {"id": billing.company}, billing.token))
    cases = [
        ({"enabled": True, "delinquentStatusId": other.delinquent},
         [("delinquentStatusId", "INVALID")]),
        ({"enabled": True, "delinquentStatusId": billing.setup.active},
         [("delinquentStatusId", "INVALID")]),
        ({"enabled": True}, [("delinquentStatusId", "REQUIRED")]),
        ({"daysOverdue": -1}, [("daysOverdue", "INVALID")]),
        ({"lateFeeKind": "PERCENT", "lateFeePercent": "100.5", "feeGlCodeId": billing.fees},
         [("lateFeePercent", "INVALID")]),
        ({"lateFeeKind": "PERCENT", "lateFeePercent": "1.23456", "feeGlCodeId": billing.fees},
         [("lateFeePercent", "INVALID")]),
        ({"lateFeeKind": "FIXED", "lateFeeAmount": "5.001", "feeGlCodeId": billing.fees},
         [("lateFeeAmount", "INVALID")]),
        ({"lateFeeKind": "FIXED", "lateFeeAmount": "5.00"}, [("feeGlCodeId", "REQUIRED")]),
        ({"paperInvoiceFee": "-1.00", "feeGlCodeId": billing.fees},
         [("paperInvoiceFee", "INVALID")]),
        ({"lateFeeDays": 400, "daysOverdue": 10, "feeGlCodeId": foreign_gl},
         [("lateFeeDays", "INVALID"), ("feeGlCodeId", "INVALID")]),
    ]
    for values, errors in cases:
        got = await refused(api, billing.token, "updateDelinquencySettings",
                            {"companyId": billing.company, **values})
        assert sorted(got) == sorted(errors), values
    assert (await api.data(SETTINGS, {"id": billing.company}, billing.token)) == before
    assert before["delinquencySettings"]["enabled"] is False


async def test_a_fixed_late_fee_is_charged_once_and_billed_on_the_next_invoice(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await billed(api, runtime, billing)
    settings = await rules(api, billing, lateFeeKind="FIXED", lateFeeAmount="5.00",
                           lateFeeDays=10, feeGlCodeId=billing.fees)
    assert (settings["lateFeeAmount"], settings["lateFeePercent"]) == ({"amount": "5.00"},
                                                                        None)
    clock.set(at("2026-11-26"))  # 10 days late: not more than 10
    assert await sweep(api, billing) == (0, 0, 0)
    clock.set(at("2026-11-27"))
    assert await sweep(api, billing) == (0, 0, 1)
    assert await sweep(api, billing) == (0, 0, 0)
    clock.set(at("2026-11-30"))
    assert await sweep(api, billing) == (0, 0, 0)
    view = await state(api, billing, account)
    assert view["pendingCharges"] == [{"description": "Late fee for invoice INV-000001",
                                       "amount": {"amount": "5.00"}}]
    assert view["delinquency"] is None  # delinquency is off
    [event] = await events_of(api, billing.token, "account.late_fee_charged")
    assert event["payload"]["amount"] == "5.00"

    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    view = await account_view(api, billing, account)
    lines = [(li["description"], money(li["amount"]), money(li["tax"]))
             for li in view["invoices"][0]["lines"]]
    assert lines == [("Fibre 100", Decimal("60.00"), Decimal("3.75")),
                     ("Late fee for invoice INV-000001", Decimal("5.00"), Decimal("0.00"))]
    assert view["pendingCharges"] == []
    fees = (await api.data(LATE_FEES, {"id": billing.company}, billing.token))["lateFees"]
    assert fees["totalCount"] == 1
    assert fees["edges"][0]["node"]["invoice"] == {"number": "INV-000001"}
    clock.set(at("2026-12-05"))
    assert await sweep(api, billing) == (0, 0, 0)


async def test_a_percent_late_fee_is_a_share_of_what_is_left_to_pay(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await billed(api, runtime, billing)
    await record(api, billing, account, "13.75")  # 50.00 left
    await rules(api, billing, lateFeeKind="PERCENT", lateFeePercent="1.5",
                feeGlCodeId=billing.fees)
    clock.set(at("2026-11-24"))  # grace: 7 days after the due date
    assert await sweep(api, billing) == (0, 0, 1)
    view = await state(api, billing, account)
    assert view["pendingCharges"] == [{"description": "Late fee for invoice INV-000001",
                                       "amount": {"amount": "0.75"}}]
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    newest = (await state(api, billing, account))["invoices"][0]
    assert newest["lines"][-1]["amount"] == {"amount": "0.75"}


async def test_voiding_an_invoice_drops_its_waiting_late_fee(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await billed(api, runtime, billing)
    await rules(api, billing, lateFeeKind="FIXED", lateFeeAmount="5.00", lateFeeDays=10,
                feeGlCodeId=billing.fees)
    clock.set(at("2026-11-27"))
    assert await sweep(api, billing) == (0, 0, 1)
    [invoice] = (await state(api, billing, account))["invoices"]
    await ok(api, billing.token, "voidInvoice", {"id": invoice["id"], "reason": "Wrong plan"})
    assert (await state(api, billing, account))["pendingCharges"] == []
    fees = (await api.data(LATE_FEES, {"id": billing.company}, billing.token))["lateFees"]
    assert fees["totalCount"] == 0
    assert await sweep(api, billing) == (0, 0, 0)


async def test_paper_invoices_carry_the_printed_invoice_fee(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    await rules(api, billing, paperInvoiceFee="2.50", feeGlCodeId=billing.fees)
    paper = await customer(api, billing, name="Paper")
    email = await customer(api, billing, name="Email")
    idle = await customer(api, billing, name="Nothing to bill")
    for account in (paper, email):
        await add(api, billing, account, billing.tv)
    for account in (paper, idle):
        billing_row = await ok(api, billing.token, "updateAccountBilling",
                               {"accountId": account, "paperInvoices": True})
        assert billing_row["id"]
    run = await run_billing(api, runtime, billing)
    assert run["invoicesCreated"] == 2

    def lines(view: dict[str, Any]) -> list[tuple[str, str, Decimal]]:
        return [(li["kind"], li["description"], money(li["amount"]))
                for li in view["invoices"][0]["lines"]]

    assert lines(await account_view(api, billing, paper)) == [
        ("SERVICE", "TV", Decimal("20.00")),
        ("MANUAL", "Printed invoice fee", Decimal("2.50"))]
    assert lines(await account_view(api, billing, email)) == [
        ("SERVICE", "TV", Decimal("20.00"))]
    assert (await account_view(api, billing, idle))["invoices"] == []
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    assert lines(await account_view(api, billing, paper))[-1][2] == Decimal("2.50")
