"""Every credit reaches the open invoices, oldest first: removal credits that make a credit
note, manual credits, write-offs, voids. Worked by hand on the billing setup's figures: fibre
is 60.00 a month plus Illinois' 6.25% (63.75), TV 20.00 untaxed, billed in advance on the
2nd; a removal on Nov 17 credits 15 of November's 30 days (30.00, tax 1.875 rounded half up:
1.88, so 31.88)."""

from __future__ import annotations

from typing import Any

from ispcore.workers import registry
from tests.accounts.factories import MUTATIONS, _mutation
from tests.billing.collect_support import add_method, stripe_card
from tests.billing.factories import (
    account_view,
    add,
    at,
    billing_setup,
    customer,
    events_of,
    ok,
    refused,
    run_billing,
)
from tests.billing.test_delinquency import delinquent_after, state, sweep
from tests.billing.test_ledger_and_invoices import books

CREDIT_FIELDS = """id kind amount { amount } unapplied { amount } voidedAt invoice { id }
  transaction { id kind amount { amount } } allocations { amount { amount } invoice { id } }"""
CREDITS = f"""query($id: ID!) {{ credits(filter: {{accountId: {{eq: $id}}}},
  orderBy: [{{field: ID}}]) {{ edges {{ node {{ {CREDIT_FIELDS} }} }} }} }}"""
MUTATIONS["writeOffInvoice"] = _mutation("writeOffInvoice", "WriteOffInvoiceInput", "credit",
                                         CREDIT_FIELDS)


def by_number(view: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(view["invoices"], key=lambda i: i["number"])


def dues(view: dict[str, Any]) -> list[str]:
    return [i["remainingDue"]["amount"] for i in by_number(view)]


async def removed_mid_month(api: Any, runtime: Any, clock: Any, billing: Any,
                            **extra: Any) -> tuple[str, str]:
    """An account billed fibre on Nov 2 (63.75, unpaid), fibre removed on Nov 17, billed
    again on Dec 2: (account id, fibre's account service id)."""
    account = await customer(api, billing, **extra)
    fibre = await add(api, billing, account, billing.fibre)
    await run_billing(api, runtime, billing)
    clock.set(at("2026-11-17"))
    await ok(api, billing.token, "removeServiceFromAccount",
             {"accountServiceId": fibre["id"]})
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    return account, fibre["id"]


async def tv_billed_twice(api: Any, runtime: Any, clock: Any, billing: Any) -> str:
    """An account with TV billed on Nov 2 and Dec 2: two invoices of 20.00, unpaid."""
    account = await customer(api, billing)
    await add(api, billing, account, billing.tv)
    await run_billing(api, runtime, billing)
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    return account


async def credits_of(api: Any, billing: Any, account: str) -> list[dict[str, Any]]:
    data = await api.data(CREDITS, {"id": account}, billing.token)
    return [e["node"] for e in data["credits"]["edges"]]


async def test_a_removal_credit_note_pays_the_older_invoice(api: Any, runtime: Any,
                                                            clock: Any) -> None:
    billing = await billing_setup(api)
    account, _fibre = await removed_mid_month(api, runtime, clock, billing)
    view = await account_view(api, billing, account)
    first, note = by_number(view)
    assert (note["kind"], note["total"]["amount"], note["remainingDue"]["amount"]) == (
        "CREDIT_NOTE", "-31.88", "0.00")
    # A credit note bills no service: no period the account did not have.
    assert (note["periodStart"], note["periodEnd"], note["billDate"]) == (
        None, None, "2026-12-02")
    assert (first["kind"], first["amountPaid"]["amount"], first["remainingDue"]["amount"]) == (
        "INVOICE", "31.88", "31.87")
    assert books(view) == ("31.87", "31.87", "0.00")
    [credit] = await credits_of(api, billing, account)
    assert (credit["kind"], credit["amount"]["amount"], credit["unapplied"]["amount"],
            credit["invoice"]["id"]) == ("CREDIT_NOTE", "31.88", "0.00", note["id"])
    assert [(a["amount"]["amount"], a["invoice"]["id"]) for a in credit["allocations"]] == [
        ("31.88", first["id"])]
    # Paying what is owed leaves nothing due and nothing in credit.
    await ok(api, billing.token, "createPayment",
             {"accountId": account, "amount": "31.87", "method": "CASH"})
    view = await account_view(api, billing, account)
    assert (dues(view), books(view)) == (["0.00", "0.00"], ("0.00", "0.00", "0.00"))


async def test_nothing_owed_is_never_delinquent(api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    await delinquent_after(api, billing)
    account, _fibre = await removed_mid_month(api, runtime, clock, billing)
    await ok(api, billing.token, "createPayment",
             {"accountId": account, "amount": "31.87", "method": "CASH"})
    clock.set(at("2027-01-20"))  # the Nov 2 invoice is more than 30 days overdue
    assert await sweep(api, billing) == (0, 0, 0)
    assert (await state(api, billing, account))["delinquency"] is None


async def test_a_credit_note_clears_a_delinquency_it_pays_off(api: Any, runtime: Any,
                                                              clock: Any) -> None:
    billing = await billing_setup(api)
    await delinquent_after(api, billing, days=5)
    account = await customer(api, billing)
    tv = await add(api, billing, account, billing.tv)
    await run_billing(api, runtime, billing)  # 20.00 due Nov 16, 7 days' grace
    await ok(api, billing.token, "createPayment",
             {"accountId": account, "amount": "10.00", "method": "CASH"})
    clock.set(at("2026-11-25"))
    assert await sweep(api, billing) == (1, 0, 0)  # 10.00 overdue by more than 7 days
    # TV removed from Nov 25: 7 of 30 days back (4.67), billed on Dec 2 as a credit note;
    # with 5.33 credited by hand, nothing is owed any more.
    await ok(api, billing.token, "removeServiceFromAccount", {"accountServiceId": tv["id"]})
    await ok(api, billing.token, "createManualTransaction", {
        "accountId": account, "type": "CREDIT", "amount": "5.33", "glCodeId": billing.fees,
        "description": "Goodwill"})
    assert (await state(api, billing, account))["delinquency"] is not None
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    view = await account_view(api, billing, account)
    assert (dues(view), books(view)) == (["0.00", "0.00"], ("0.00", "0.00", "0.00"))
    assert by_number(view)[1]["total"]["amount"] == "-4.67"
    assert (await state(api, billing, account))["delinquency"] is None
    [cleared] = await events_of(api, billing.token, "account.delinquency_cleared")
    assert cleared["entityId"] == account


async def test_credit_beyond_what_is_owed_waits_for_the_next_invoice(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    fibre = await add(api, billing, account, billing.fibre)
    await run_billing(api, runtime, billing)
    await ok(api, billing.token, "createPayment",
             {"accountId": account, "amount": "63.75", "method": "CASH"})
    clock.set(at("2026-11-17"))
    await ok(api, billing.token, "removeServiceFromAccount", {"accountServiceId": fibre["id"]})
    await add(api, billing, account, billing.tv, startDate="2026-12-02")
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    view = await account_view(api, billing, account)
    # TV's 20.00 less the 31.88 removal credit: a credit note of 11.88, all of it unapplied.
    _paid, note = by_number(view)
    assert (note["kind"], note["total"]["amount"]) == ("CREDIT_NOTE", "-11.88")
    assert books(view) == ("-11.88", "0.00", "11.88")
    clock.set(at("2027-01-02"))
    await run_billing(api, runtime, billing)
    view = await account_view(api, billing, account)
    newest = by_number(view)[-1]
    assert (newest["total"]["amount"], newest["amountPaid"]["amount"],
            newest["remainingDue"]["amount"]) == ("20.00", "11.88", "8.12")
    assert books(view) == ("8.12", "8.12", "0.00")


async def test_autopay_charges_only_what_credits_left_owing(
        api: Any, runtime: Any, clock: Any, stripe: Any) -> None:
    """Stripe is the fake of its API (the one outside service that cannot run here)."""
    billing = await billing_setup(api)
    account, _fibre = await removed_mid_month(api, runtime, clock, billing)
    pm = stripe.card("pm_1PkQCredit", customer="cus_Credit")
    await add_method(api, billing, stripe_card(account, pm, autopay=True))
    assert (await registry.run_job(runtime, "payments.autopay"))["completed"] == 1
    view = await account_view(api, billing, account)
    payments = (await api.data("""query($id: ID!) { payments(filter: {accountId: {eq: $id}})
      { edges { node { amount { amount } unapplied { amount } } } } }""",
                               {"id": account}, billing.token))["payments"]["edges"]
    assert [(p["node"]["amount"]["amount"], p["node"]["unapplied"]["amount"])
            for p in payments] == [("31.87", "0.00")]
    assert books(view) == ("0.00", "0.00", "0.00")


async def test_a_manual_credit_pays_the_oldest_invoices_first_and_its_void_takes_it_back(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await tv_billed_twice(api, runtime, clock, billing)
    credit = await ok(api, billing.token, "createManualTransaction", {
        "accountId": account, "type": "CREDIT", "amount": "25.00", "glCodeId": billing.fees,
        "description": "Outage"})
    view = await account_view(api, billing, account)
    assert (dues(view), books(view)) == (["0.00", "15.00"], ("15.00", "15.00", "0.00"))
    [row] = await credits_of(api, billing, account)
    assert (row["kind"], row["transaction"]["id"]) == ("MANUAL", credit["id"])
    await ok(api, billing.token, "voidTransaction", {"id": credit["id"], "reason": "Mistake"})
    view = await account_view(api, billing, account)
    assert (dues(view), books(view)) == (["20.00", "20.00"], ("40.00", "40.00", "0.00"))
    [row] = await credits_of(api, billing, account)
    assert (row["unapplied"]["amount"], row["voidedAt"] is not None) == ("0.00", True)


async def test_a_write_off_pays_its_invoice_and_only_it(api: Any, runtime: Any,
                                                        clock: Any) -> None:
    billing = await billing_setup(api)
    account = await tv_billed_twice(api, runtime, clock, billing)
    _older, newer = by_number(await account_view(api, billing, account))
    written = await ok(api, billing.token, "writeOffInvoice", {
        "invoiceId": newer["id"], "glCodeId": billing.fees, "reason": "Customer moved away"})
    assert (written["kind"], written["amount"]["amount"], written["invoice"]["id"]) == (
        "WRITE_OFF", "20.00", newer["id"])
    view = await account_view(api, billing, account)
    assert (dues(view), books(view)) == (["20.00", "0.00"], ("20.00", "20.00", "0.00"))
    entry = written["transaction"]
    assert (entry["kind"], entry["amount"]["amount"]) == ("WRITE_OFF", "-20.00")
    # Nothing left to write off; a void gives back nothing of it as credit.
    assert await refused(api, billing.token, "writeOffInvoice", {
        "invoiceId": newer["id"], "glCodeId": billing.fees, "reason": "Again"}) == [
        ("invoiceId", "INVALID")]
    await ok(api, billing.token, "voidInvoice", {"id": newer["id"], "reason": "Billed twice"})
    view = await account_view(api, billing, account)
    assert (dues(view), books(view)) == (["20.00", "0.00"], ("20.00", "20.00", "0.00"))
    [written] = await credits_of(api, billing, account)
    assert written["voidedAt"] is not None
    assert await refused(api, billing.token, "voidTransaction",
                         {"id": entry["id"], "reason": "Undo"}) == [("id", "INVALID")]


async def test_voiding_a_write_off_makes_the_invoice_owed_again(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    await add(api, billing, account, billing.tv)
    await run_billing(api, runtime, billing)
    [invoice] = (await account_view(api, billing, account))["invoices"]
    assert await refused(api, billing.token, "writeOffInvoice", {
        "invoiceId": invoice["id"], "glCodeId": billing.fees, "reason": " "}) == [
        ("reason", "REQUIRED")]
    written = await ok(api, billing.token, "writeOffInvoice", {
        "invoiceId": invoice["id"], "glCodeId": billing.fees, "reason": "Bad debt"})
    assert books(await account_view(api, billing, account)) == ("0.00", "0.00", "0.00")
    await ok(api, billing.token, "voidTransaction",
             {"id": written["transaction"]["id"], "reason": "Customer paid after all"})
    view = await account_view(api, billing, account)
    assert (dues(view), books(view)) == (["20.00"], ("20.00", "20.00", "0.00"))
    [event] = await events_of(api, billing.token, "invoice.written_off")
    assert (event["payload"]["amount"], event["payload"]["reason"]) == ("20.00", "Bad debt")


async def test_voiding_a_credit_note_takes_its_credit_back(api: Any, runtime: Any,
                                                           clock: Any) -> None:
    billing = await billing_setup(api)
    account, _fibre = await removed_mid_month(api, runtime, clock, billing)
    _first, note = by_number(await account_view(api, billing, account))
    await ok(api, billing.token, "voidInvoice", {"id": note["id"], "reason": "Removed by error"})
    view = await account_view(api, billing, account)
    assert (dues(view), books(view)) == (["63.75", "0.00"], ("63.75", "63.75", "0.00"))
    [credit] = await credits_of(api, billing, account)
    assert (credit["unapplied"]["amount"], credit["voidedAt"] is not None) == ("0.00", True)


async def test_a_reviewed_credit_note_pays_when_issued(api: Any, runtime: Any,
                                                       clock: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    fibre = await add(api, billing, account, billing.fibre)
    await run_billing(api, runtime, billing)
    await ok(api, billing.token, "updateBillingSettings",
             {"companyId": billing.company, "reviewDrafts": True})
    clock.set(at("2026-11-17"))
    await ok(api, billing.token, "removeServiceFromAccount", {"accountServiceId": fibre["id"]})
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    _first, draft = sorted((await account_view(api, billing, account))["invoices"],
                          key=lambda i: i["status"] != "ISSUED")
    assert (draft["status"], draft["kind"], books(await account_view(api, billing, account))) \
        == ("DRAFT", "CREDIT_NOTE", ("63.75", "63.75", "0.00"))
    await ok(api, billing.token, "issueInvoices", {"ids": [draft["id"]]})
    view = await account_view(api, billing, account)
    assert books(view) == ("31.87", "31.87", "0.00")


async def test_a_quarterly_invoice_shows_the_quarter_it_bills(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    await add(api, billing, account, billing.fibre)
    await add(api, billing, account, billing.quarterly)
    await run_billing(api, runtime, billing)
    [invoice] = (await account_view(api, billing, account))["invoices"]
    assert (invoice["periodStart"], invoice["periodEnd"]) == ("2026-11-02", "2027-02-02")
    assert sorted((li["description"], li["periodEnd"]) for li in invoice["lines"]) == [
        ("Fibre 100", "2026-12-02"), ("Quarterly support", "2027-02-02")]


async def test_a_child_billed_to_its_parent_is_debited_and_credited_on_the_parent(
        api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    parent = await customer(api, billing, name="Parent")
    child = await customer(api, billing, name="Child", parentAccountId=parent,
                           billToParent=True)
    for kind, amount in (("DEBIT", "30.00"), ("CREDIT", "12.50")):
        await ok(api, billing.token, "createManualTransaction", {
            "accountId": child, "type": kind, "amount": amount, "glCodeId": billing.fees,
            "description": f"Child {kind.lower()}"})
    view = await account_view(api, billing, parent)
    [invoice] = view["invoices"]
    assert invoice["lines"][0]["account"]["id"] == child
    assert books(view) == ("17.50", "17.50", "0.00")
    assert books(await account_view(api, billing, child)) == ("0.00", "0.00", "0.00")


async def test_invoices_without_a_period_page_in_every_order(api: Any, runtime: Any,
                                                             clock: Any) -> None:
    """Credit notes and invoices made at once have no period (nor, the latter, a bill date):
    pages ordered by those columns still list every invoice once, nulls last going up."""
    billing = await billing_setup(api)
    account, _fibre = await removed_mid_month(api, runtime, clock, billing)
    await ok(api, billing.token, "createManualTransaction", {
        "accountId": account, "type": "DEBIT", "amount": "7.00", "glCodeId": billing.fees,
        "description": "Truck roll"})
    query = """query($order: [InvoiceOrder!], $after: String) {
      invoices(first: 1, after: $after, orderBy: $order) {
        edges { node { number periodStart billDate } } pageInfo { hasNextPage endCursor } } }"""
    for field in ("PERIOD_START", "BILL_DATE"):
        for direction in ("ASC", "DESC"):
            seen, after = [], None
            while True:
                page = (await api.data(query, {"order": [{"field": field,
                                                          "direction": direction}],
                                               "after": after}, billing.token))["invoices"]
                seen += [e["node"]["number"] for e in page["edges"]]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            numbers = ["INV-000001", "INV-000002", "INV-000003"]
            # INV-000002 (the credit note) has no period; INV-000003 (the debit) neither,
            # and no bill date: nulls come last going up, first going down, ids break ties.
            expected = {("PERIOD_START", "ASC"): numbers,
                        ("PERIOD_START", "DESC"): ["INV-000002", "INV-000003", "INV-000001"],
                        ("BILL_DATE", "ASC"): numbers,
                        ("BILL_DATE", "DESC"): ["INV-000003", "INV-000002", "INV-000001"]}
            assert seen == expected[(field, direction)], (field, direction, seen)
