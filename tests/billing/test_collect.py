"""Charging methods on file: the manual processor end to end, Stripe (against recorded
response shapes, through a fake that keeps Stripe's idempotency), declines, lost answers
and the reconciler, autopay killed half-way and run again: never a second charge."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest

from ispcore.workers import registry
from tests.billing.collect_support import (
    add_method,
    bank_account,
    charge,
    manual_card,
    payments_of,
    stripe_card,
)
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
from tests.billing.payment_support import invoiced_customer
from tests.billing.stripe_shapes import FakeStripe, form_of


def owed(view: dict[str, Any]) -> list[str]:
    return [i["remainingDue"]["amount"]
            for i in sorted(view["invoices"], key=lambda i: (i["issuedOn"], i["number"]))]


async def reconcile(api: Any, billing: Any) -> dict[str, int]:
    result = await ok(api, billing.token, "reconcilePayments", {"companyId": billing.company})
    return {k: v for k, v in result.items() if k != "errors"}


async def test_a_manual_card_is_charged_applied_and_refunded(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing)
    card = await add_method(api, billing, manual_card(account))
    payment = await charge(api, billing, card["id"], "100.00", reference="APPROVAL 40961")
    assert (payment["status"], payment["method"], payment["processor"],
            payment["processorReference"], payment["paymentMethod"]["id"]) == (
        "COMPLETED", "CARD", "MANUAL", "APPROVAL 40961", card["id"])
    assert [a["amount"]["amount"] for a in payment["allocations"]] == ["63.75", "36.25"]
    assert owed(await account_view(api, billing, account)) == ["0.00", "27.50"]
    received = await events_of(api, billing.token, "payment.received")
    assert [e["payload"]["amount"] for e in received] == ["100.00"]

    refund = await ok(api, billing.token, "refundPayment",
                      {"id": payment["id"], "amount": "36.25", "reason": "Overcharged"})
    assert refund["payment"]["refunded"]["amount"] == "36.25"
    assert owed(await account_view(api, billing, account)) == ["0.00", "63.75"]
    # Without a reference from staff, one is made from the payment's key.
    other = await charge(api, billing, card["id"], "5")
    assert other["processorReference"].startswith("MANUAL-")


async def test_a_stripe_charge_is_collected_once_and_refunded_through_stripe(
        api: Any, runtime: Any, clock: Any, stripe: FakeStripe) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    pm = stripe.card("pm_1PkQbWLkdIwHu7ixR2nKc4Ts")
    card = await add_method(api, billing, stripe_card(account, pm))
    firsts = [await charge(api, billing, card["id"], "63.75", idempotencyKey="portal-88")
              for _ in range(2)]
    assert len({p["id"] for p in firsts}) == 1
    payment = firsts[0]
    assert (payment["status"], payment["processor"], payment["amount"]["amount"]) == (
        "COMPLETED", "STRIPE", "63.75")
    assert payment["processorReference"] == stripe.charges[0][1]
    assert len(stripe.charges) == 1
    sent = form_of(next(r for r in stripe.requests if r.method == "POST"))
    assert sent == {"amount": "6375", "currency": "usd", "payment_method": pm,
                    "confirm": "true", "off_session": "true",
                    "metadata[payment_id]": sent["metadata[payment_id]"],
                    "customer": "cus_QbXLkdIwHu7ixA"}
    post = next(r for r in stripe.requests if r.method == "POST")
    assert len(post.headers["Idempotency-Key"]) == 32
    assert owed(await account_view(api, billing, account)) == ["0.00"]

    refund = await ok(api, billing.token, "refundPayment", {"id": payment["id"],
                                                             "amount": "10"})
    assert refund["payment"]["refunded"]["amount"] == "10.00"
    assert [(r["amount"], r["payment_intent"]) for r in stripe.refunds] == [
        (1000, payment["processorReference"])]
    assert (await account_view(api, billing, account))["balance"]["amount"] == "10.00"

    # A refund whose answer is lost is refused and recorded nowhere; the retry is answered
    # from Stripe's first refund, not made again.
    stripe.lose_next_refund_answer = True
    assert await refused(api, billing.token, "refundPayment", {
        "id": payment["id"], "amount": "5"}) == [("id", "PROCESSOR_UNAVAILABLE")]
    assert len(stripe.refunds) == 2
    again = await ok(api, billing.token, "refundPayment", {"id": payment["id"], "amount": "5"})
    assert again["payment"]["refunded"]["amount"] == "15.00"
    assert len(stripe.refunds) == 2
    assert (await account_view(api, billing, account))["balance"]["amount"] == "15.00"


async def test_a_declined_card_fails_and_posts_nothing(
        api: Any, runtime: Any, clock: Any, stripe: FakeStripe) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    pm = stripe.card("pm_1PkQcbLkdIwHu7ixZ0fH6mQs", declines=True)
    card = await add_method(api, billing, stripe_card(account, pm))
    payment = await charge(api, billing, card["id"], "63.75")
    assert (payment["status"], payment["failureReason"], payment["transactions"],
            payment["allocations"]) == (
        "FAILED", "Your card has insufficient funds.", [], [])
    assert payment["processorReference"] == stripe.charges[0][1]
    view = await account_view(api, billing, account)
    assert (owed(view), view["balance"]["amount"]) == (["63.75"], "63.75")
    assert not any(t["kind"] == "PAYMENT" for t in view["transactions"])
    failed = await events_of(api, billing.token, "payment.failed")
    assert [(e["payload"]["reason"], e["payload"]["amount"]) for e in failed] == [
        ("Your card has insufficient funds.", "63.75")]
    assert await events_of(api, billing.token, "payment.received") == []
    # A failed payment is not refunded, and the reconciler leaves it alone.
    assert await refused(api, billing.token, "refundPayment", {"id": payment["id"]}) == [
        ("id", "INVALID")]
    clock.set(clock.now() + timedelta(minutes=5))
    assert (await reconcile(api, billing))["checked"] == 0


async def test_an_answer_lost_in_a_timeout_is_reconciled_without_a_second_charge(
        api: Any, runtime: Any, clock: Any, stripe: FakeStripe) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    card = await add_method(api, billing, stripe_card(account, stripe.card("pm_1PkQa")))

    def lose_answer(n: int) -> None:
        raise httpx.ReadTimeout("timed out")

    stripe.on_charge = lose_answer  # Stripe charged the card; its answer never came back
    payment = await charge(api, billing, card["id"], "63.75")
    assert (payment["status"], payment["processorReference"], payment["transactions"]) == (
        "UNKNOWN", None, [])
    assert payment["failureReason"] == "Stripe did not answer in time."
    assert len(stripe.charges) == 1
    stripe.on_charge = None

    # Young charges are left to the request that sent them.
    assert await reconcile(api, billing) == {"checked": 0, "completed": 0, "failed": 0,
                                             "unsettled": 0}
    clock.set(clock.now() + timedelta(minutes=2))
    assert await reconcile(api, billing) == {"checked": 1, "completed": 1, "failed": 0,
                                             "unsettled": 0}
    settled = (await payments_of(api, billing, account))[0]
    assert (settled["status"], settled["processorReference"], settled["failureReason"]) == (
        "COMPLETED", stripe.charges[0][1], None)
    assert owed(await account_view(api, billing, account)) == ["0.00"]
    # Asked by re-sending the same request under the same key: Stripe replayed its answer.
    posts = [r for r in stripe.requests if r.method == "POST"]
    assert len(posts) == 2 and len({r.headers["Idempotency-Key"] for r in posts}) == 1
    assert len(stripe.charges) == 1 and len(stripe.succeeded) == 1
    assert (await reconcile(api, billing))["checked"] == 0


async def test_a_charge_that_timed_out_before_reaching_stripe_is_made_once_later(
        api: Any, runtime: Any, clock: Any, stripe: FakeStripe) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    card = await add_method(api, billing, stripe_card(account, stripe.card("pm_1PkQb")))

    def never_arrives(n: int) -> None:
        if n == 1:
            raise httpx.ConnectTimeout("connect timed out")

    stripe.before_charge = never_arrives
    payment = await charge(api, billing, card["id"], "20")
    assert (payment["status"], stripe.charges) == ("UNKNOWN", [])
    clock.set(clock.now() + timedelta(minutes=2))
    # Registered as a cron job too; run here as the worker would.
    assert await registry.run_job(runtime, "payments.reconcile") == {
        "checked": 1, "completed": 1, "failed": 0, "unsettled": 0}
    assert len(stripe.charges) == 1
    assert (await payments_of(api, billing, account))[0]["status"] == "COMPLETED"


async def test_an_unknown_charge_past_stripes_key_window_is_found_by_search(
        api: Any, runtime: Any, clock: Any, stripe: FakeStripe) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    card = await add_method(api, billing, stripe_card(account, stripe.card("pm_1PkQc")))
    stripe.before_charge = lambda n: (_ for _ in ()).throw(httpx.ReadError("reset"))
    lost = await charge(api, billing, card["id"], "20")   # never reached Stripe
    stripe.before_charge = None

    def lose_answer(n: int) -> None:
        raise httpx.ReadTimeout("timed out")

    stripe.on_charge = lose_answer
    made = await charge(api, billing, card["id"], "30")  # made, answer lost
    stripe.on_charge = None
    assert [lost["status"], made["status"]] == ["UNKNOWN", "UNKNOWN"]
    clock.set(clock.now() + timedelta(days=2))  # Stripe has forgotten the keys
    assert await reconcile(api, billing) == {"checked": 2, "completed": 1, "failed": 1,
                                             "unsettled": 0}
    assert [r.url.path for r in stripe.requests[-2:]] == ["/v1/payment_intents/search"] * 2
    assert [(p["amount"]["amount"], p["status"]) for p in await payments_of(
        api, billing, account)] == [("20.00", "FAILED"), ("30.00", "COMPLETED")]
    assert len(stripe.charges) == 1


async def test_stripe_down_or_not_set_up(api: Any, runtime: Any, clock: Any,
                                        stripe: FakeStripe, monkeypatch: Any) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    card = await add_method(api, billing, stripe_card(account, stripe.card("pm_1PkQd")))

    def server_error(n: int) -> None:
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.")

    stripe.before_charge = server_error
    payment = await charge(api, billing, card["id"], "10")
    assert payment["status"] == "UNKNOWN"
    stripe.before_charge = None
    monkeypatch.setattr(runtime.settings, "stripe_api_key", None)
    assert await refused(api, billing.token, "chargePaymentMethod", {
        "paymentMethodId": card["id"], "amount": "10"}) == [
        ("paymentMethodId", "PROCESSOR_UNAVAILABLE")]
    clock.set(clock.now() + timedelta(minutes=2))
    assert await reconcile(api, billing) == {"checked": 1, "completed": 0, "failed": 0,
                                             "unsettled": 1}
    assert [p["status"] for p in await payments_of(api, billing, account)] == ["UNKNOWN"]


async def test_bad_charges_are_refused_and_charge_nothing(
        api: Any, runtime: Any, clock: Any, stripe: FakeStripe) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    card = await add_method(api, billing, stripe_card(
        account, stripe.card("pm_1PkQe", exp=(11, 2026))))
    for amount in ("0", "-1", "1.001"):
        assert await refused(api, billing.token, "chargePaymentMethod", {
            "paymentMethodId": card["id"], "amount": amount}) == [("amount", "INVALID")]
    await charge(api, billing, card["id"], "1", idempotencyKey="k-1")
    assert await refused(api, billing.token, "chargePaymentMethod", {
        "paymentMethodId": card["id"], "amount": "2", "idempotencyKey": "k-1"}) == [
        ("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]
    clock.set(at("2026-12-01"))  # the card expired at the end of November
    assert await refused(api, billing.token, "chargePaymentMethod", {
        "paymentMethodId": card["id"], "amount": "1"}) == [("paymentMethodId", "INVALID")]
    await ok(api, billing.token, "removePaymentMethod", {"id": card["id"]})
    assert await refused(api, billing.token, "chargePaymentMethod", {
        "paymentMethodId": card["id"], "amount": "1"}) == [("paymentMethodId", "INVALID")]
    assert len(stripe.charges) == 1


async def test_an_ach_charge_waits_for_a_nacha_file(
        api: Any, runtime: Any, clock: Any, vault_key: str, stripe: FakeStripe) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    bank = await add_method(api, billing, bank_account(account))
    payment = await charge(api, billing, bank["id"], "63.75")
    assert (payment["status"], payment["method"], payment["processor"],
            payment["transactions"]) == ("PENDING", "ACH", "ACH", [])
    clock.set(clock.now() + timedelta(hours=1))
    assert (await reconcile(api, billing))["checked"] == 0
    assert stripe.requests == []


async def test_who_may_charge_and_reconcile(api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    card = await add_method(api, billing, manual_card(account))
    _user, reader = await api.user_with_token("reader@example.com",
                                              permissions=["billing:read"])
    _user, clerk = await api.user_with_token("clerk@example.com",
                                             permissions=["billing:read", "billing:write"])
    charge_query = """mutation($input: ChargePaymentMethodInput!) {
      chargePaymentMethod(input: $input) { payment { status } errors { code } } }"""
    reconcile_query = """mutation($input: ReconcilePaymentsInput!) {
      reconcilePayments(input: $input) { checked } }"""
    charge_input = {"paymentMethodId": card["id"], "amount": "5"}
    body = await api.gql(charge_query, {"input": charge_input}, reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.gql(charge_query, {"input": charge_input}, clerk)
    assert body["data"]["chargePaymentMethod"]["payment"]["status"] == "COMPLETED"
    body = await api.gql(reconcile_query, {"input": {"companyId": billing.company}}, clerk)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert len(await payments_of(api, billing, account)) == 1


# --- autopay --------------------------------------------------------------------------------

async def autopay_customers(api: Any, runtime: Any, clock: Any, billing: Any,
                            stripe: FakeStripe, count: int) -> list[str]:
    """``count`` accounts with fibre, billed on 2026-11-02 (due 11-16), each with a Stripe
    card on autopay."""
    accounts = []
    for n in range(count):
        account = await customer(api, billing, name=f"Autopay {n}")
        await add(api, billing, account, billing.fibre)
        accounts.append(account)
    clock.set(at("2026-11-02"))
    await run_billing(api, runtime, billing)
    for n, account in enumerate(accounts):
        pm = stripe.card(f"pm_1PkQAuto{n}", customer=f"cus_Auto{n}")
        await add_method(api, billing, stripe_card(account, pm, autopay=True))
    return accounts


async def test_autopay_charges_due_invoices_once(
        api: Any, runtime: Any, clock: Any, stripe: FakeStripe) -> None:
    billing = await billing_setup(api)
    accounts = await autopay_customers(api, runtime, clock, billing, stripe, 2)
    clock.set(at("2026-11-15"))  # not due yet
    assert (await registry.run_job(runtime, "payments.autopay"))["charged"] == 0
    clock.set(at("2026-11-16", hour=6))  # 00:00 on the 16th in Chicago: due today
    assert (await registry.run_job(runtime, "payments.autopay"))["completed"] == 2
    assert (await registry.run_job(runtime, "payments.autopay"))["charged"] == 0
    for account in accounts:
        assert owed(await account_view(api, billing, account)) == ["0.00"]
        [payment] = await payments_of(api, billing, account)
        assert (payment["status"], payment["amount"]["amount"]) == ("COMPLETED", "63.75")
    assert len(stripe.charges) == 2


async def test_autopay_killed_half_way_and_run_again_charges_each_invoice_once(
        api: Any, runtime: Any, clock: Any, stripe: FakeStripe) -> None:
    billing = await billing_setup(api)
    accounts = await autopay_customers(api, runtime, clock, billing, stripe, 3)
    clock.set(at("2026-11-16"))

    def killed(n: int) -> None:
        if n == 2:  # the worker dies once Stripe has made the second charge
            raise asyncio.CancelledError

    stripe.on_charge = killed
    with pytest.raises(asyncio.CancelledError):
        await registry.run_job(runtime, "payments.autopay")
    stripe.on_charge = None
    assert len(stripe.charges) == 2
    statuses = [[p["status"] for p in await payments_of(api, billing, a)] for a in accounts]
    assert statuses == [["COMPLETED"], ["PENDING"], []]

    again = await registry.run_job(runtime, "payments.autopay")
    assert (again["charged"], again["completed"]) == (1, 1)  # only the third invoice
    clock.set(clock.now() + timedelta(minutes=2))
    assert await registry.run_job(runtime, "payments.reconcile") == {
        "checked": 1, "completed": 1, "failed": 0, "unsettled": 0}
    assert (await registry.run_job(runtime, "payments.autopay"))["charged"] == 0

    for account in accounts:
        assert owed(await account_view(api, billing, account)) == ["0.00"]
        [payment] = await payments_of(api, billing, account)
        assert (payment["status"], payment["amount"]["amount"]) == ("COMPLETED", "63.75")
    # One charge per invoice at Stripe: three keys, three intents, all succeeded.
    assert len(stripe.charges) == 3
    assert len({key for key, _ in stripe.charges}) == 3
    assert len(stripe.succeeded) == 3
    received = await events_of(api, billing.token, "payment.received")
    assert len(received) == 3


async def test_autopay_skips_what_it_should(
        api: Any, runtime: Any, clock: Any, stripe: FakeStripe, vault_key: str) -> None:
    billing = await billing_setup(api)
    accounts = await autopay_customers(api, runtime, clock, billing, stripe, 3)
    first, second, third = accounts
    # Paid already; autopay switched off; a bank account on autopay (a pending ACH debit).
    await ok(api, billing.token, "createPayment",
             {"accountId": first, "amount": "63.75", "method": "CHECK"})
    [method] = [m for m in (await account_view_methods(api, billing, second))]
    await ok(api, billing.token, "updatePaymentMethod", {"id": method, "autopay": False})
    await add_method(api, billing, bank_account(third, makeDefault=True, autopay=True))
    clock.set(at("2026-11-20"))
    result = await registry.run_job(runtime, "payments.autopay")
    assert (result["charged"], result["unsettled"]) == (1, 1)
    assert [p["status"] for p in await payments_of(api, billing, third)] == ["PENDING"]
    assert [p["method"] for p in await payments_of(api, billing, third)] == ["ACH"]
    assert stripe.charges == []
    assert (await registry.run_job(runtime, "payments.autopay"))["charged"] == 0


async def account_view_methods(api: Any, billing: Any, account: str) -> list[str]:
    from tests.billing.collect_support import ACCOUNT_METHODS

    body = await api.data(ACCOUNT_METHODS, {"id": account}, billing.token)
    return [m["id"] for m in body["account"]["paymentMethods"]]
