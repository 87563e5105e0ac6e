"""Payments: allocation oldest first, credit kept and applied to the next invoice, refunds,
reversals with fees, voids giving money back, and every way a payment is refused."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from tests.accounts.factories import new_account
from tests.billing.factories import (
    account_view,
    at,
    billing_setup,
    events_of,
    money,
    ok,
    refused,
    run_billing,
)
from tests.billing.payment_support import (
    PAYMENTS,
    invoiced_customer,
    pay,
    payment_of,
    record,
)

TRACE = """query($id: ID!) { invoice(id: $id) { payments { amount { amount }
  payment { id } } } }"""


def owed(view: dict[str, Any]) -> list[str]:
    """Each invoice's remaining due, oldest first."""
    ordered = sorted(view["invoices"], key=lambda i: (i["issuedOn"], i["number"]))
    return [i["remainingDue"]["amount"] for i in ordered]


async def test_a_payment_pays_the_oldest_invoices_first_and_keeps_the_rest_as_credit(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing)
    assert owed(await account_view(api, billing, account)) == ["63.75", "63.75"]

    first = await record(api, billing, account, "100", reference="Cheque 1041")
    assert (first["status"], first["amount"], first["unapplied"]["amount"]) == (
        "COMPLETED", {"amount": "100.00", "currency": "USD"}, "0.00")
    assert [a["amount"]["amount"] for a in first["allocations"]] == ["63.75", "36.25"]
    assert [(t["kind"], t["amount"]["amount"], t["glCode"]["code"])
            for t in first["transactions"]] == [("PAYMENT", "-100.00", "PAYMENTS")]
    view = await account_view(api, billing, account)
    assert owed(view) == ["0.00", "27.50"]
    assert view["balance"]["amount"] == "27.50"
    newest = max(view["invoices"], key=lambda i: i["periodStart"])
    traced = (await api.data(TRACE, {"id": newest["id"]}, billing.token))["invoice"]
    assert [(p["amount"]["amount"], p["payment"]["id"]) for p in traced["payments"]] == [
        ("36.25", first["id"])]
    assert [t["payment"]["id"] for t in view["transactions"] if t["kind"] == "PAYMENT"] == [
        first["id"]]

    second = await record(api, billing, account, "50.00")
    assert second["unapplied"]["amount"] == "22.50"
    view = await account_view(api, billing, account)
    assert (owed(view), view["balance"]["amount"]) == (["0.00", "0.00"], "-22.50")

    # The credit goes to the next invoice as soon as it is issued.
    clock.set(at("2027-01-02"))
    await run_billing(api, runtime, billing)
    view = await account_view(api, billing, account)
    assert owed(view) == ["0.00", "0.00", "41.25"]
    assert (await payment_of(api, billing, second["id"]))["unapplied"]["amount"] == "0.00"
    assert view["balance"]["amount"] == "41.25"

    received = await events_of(api, billing.token, "payment.received")
    assert [(e["payload"]["amount"], e["payload"]["credit"], len(e["payload"]["invoices"]))
            for e in received] == [("100.00", "0.00", 2), ("50.00", "22.50", 1)]


async def test_refunds_take_money_back_off_the_newest_invoice_first(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing)
    payment = await record(api, billing, account, "140.00")  # 127.50 on invoices, 12.50 credit
    assert payment["unapplied"]["amount"] == "12.50"

    part = await ok(api, billing.token, "refundPayment",
                    {"id": payment["id"], "amount": "20", "reason": "Overpaid"})
    assert (part["amount"]["amount"], part["payment"]["refunded"]["amount"],
            part["payment"]["unapplied"]["amount"]) == ("20.00", "20.00", "0.00")
    view = await account_view(api, billing, account)
    assert owed(view) == ["0.00", "7.50"]  # the credit first, then the newest invoice
    assert view["balance"]["amount"] == "7.50"

    assert await refused(api, billing.token, "refundPayment",
                         {"id": payment["id"], "amount": "120.01"}) == [("amount", "INVALID")]
    rest = await ok(api, billing.token, "refundPayment", {"id": payment["id"]})
    assert rest["amount"]["amount"] == "120.00"
    view = await account_view(api, billing, account)
    assert (owed(view), view["balance"]["amount"]) == (["63.75", "63.75"], "127.50")
    assert await refused(api, billing.token, "refundPayment",
                         {"id": payment["id"], "amount": "0.01"}) == [("amount", "INVALID")]
    stored = await payment_of(api, billing, payment["id"])
    assert [t["kind"] for t in stored["transactions"]] == ["PAYMENT", "REFUND", "REFUND"]
    assert [r["amount"]["amount"] for r in stored["refunds"]] == ["20.00", "120.00"]
    refunds = await events_of(api, billing.token, "payment.refunded")
    assert [e["payload"]["refunded"] for e in refunds] == ["20.00", "140.00"]


async def test_a_bounced_cheque_is_reversed_with_a_fee(api: Any, runtime: Any, clock: Any
                                                       ) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing)
    settings = await ok(api, billing.token, "updatePaymentSettings",
                        {"companyId": billing.company, "returnedPaymentFee": "25"})
    assert settings["returnedPaymentFee"]["amount"] == "25.00"
    payment = await record(api, billing, account, "127.50")
    assert owed(await account_view(api, billing, account)) == ["0.00", "0.00"]

    assert await refused(api, billing.token, "reversePayment",
                         {"id": payment["id"], "reason": " "}) == [("reason", "REQUIRED")]
    reversed_ = await ok(api, billing.token, "reversePayment",
                         {"id": payment["id"], "reason": "NSF", "chargeFee": True})
    assert (reversed_["status"], reversed_["reversalReason"]) == ("REVERSED", "NSF")
    assert [(t["kind"], t["amount"]["amount"], t["glCode"]["code"])
            for t in reversed_["transactions"]] == [
        ("PAYMENT", "-127.50", "PAYMENTS"), ("PAYMENT_REVERSAL", "127.50", "PAYMENTS"),
        ("FEE", "25.00", "FEES")]
    view = await account_view(api, billing, account)
    # The fee is invoiced at once, so all the account owes is on invoices.
    assert (owed(view), view["balance"]["amount"]) == (["63.75", "63.75", "25.00"], "152.50")
    fee = max(view["invoices"], key=lambda i: i["number"])
    assert ([li["description"] for li in fee["lines"]], fee["billDate"]) == (
        ["Returned payment fee"], None)
    # A reversed payment is neither reversed again nor refunded.
    assert await refused(api, billing.token, "reversePayment",
                         {"id": payment["id"], "reason": "again"}) == [("id", "INVALID")]
    assert await refused(api, billing.token, "refundPayment",
                         {"id": payment["id"]}) == [("id", "INVALID")]
    failed = await events_of(api, billing.token, "payment.failed")
    assert [(e["payload"]["reason"], e["payload"]["fee"]) for e in failed] == [("NSF", "25.00")]


async def test_voiding_a_paid_invoice_moves_its_money_to_the_other_invoices(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing)
    await record(api, billing, account, "63.75")
    view = await account_view(api, billing, account)
    first = min(view["invoices"], key=lambda i: i["periodStart"])
    await ok(api, billing.token, "voidInvoice", {"id": first["id"], "reason": "Billed twice"})
    view = await account_view(api, billing, account)
    assert owed(view) == ["0.00", "0.00"]  # the void owes nothing; the money paid the other
    assert view["balance"]["amount"] == "0.00"


async def test_a_payment_replayed_with_its_key_is_recorded_once(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    firsts = [await record(api, billing, account, "10.00", idempotencyKey="lockbox-7781")
              for _ in range(3)]
    assert len({p["id"] for p in firsts}) == 1
    listed = (await api.data(PAYMENTS, {"accountId": account}, billing.token))["payments"]
    assert listed["totalCount"] == 1
    assert (await account_view(api, billing, account))["balance"]["amount"] == "53.75"
    # The same key for another payment is refused, and changes nothing.
    assert await refused(api, billing.token, "createPayment",
                         pay(account, "11.00", idempotencyKey="lockbox-7781")) == [
        ("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]
    assert (await account_view(api, billing, account))["balance"]["amount"] == "53.75"


async def test_bad_payments_are_refused_and_change_nothing(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    for amount, field in (("0", "amount"), ("-5.00", "amount"), ("10.001", "amount")):
        assert await refused(api, billing.token, "createPayment", pay(account, amount)) == [
            (field, "INVALID")]
    assert await refused(api, billing.token, "createPayment",
                         pay(account, "5", currency="EUR")) == [("currency", "INVALID")]
    assert await refused(api, billing.token, "createPayment",
                         pay(account, "5", receivedAt="2026-11-03T12:00:00+00:00")) == [
        ("receivedAt", "INVALID")]
    assert await refused(api, billing.token, "createPayment",
                         pay(account, "5", reference="x" * 201)) == [("reference", "INVALID")]
    await ok(api, billing.token, "updateCompany", {"id": billing.company, "active": False})
    assert await refused(api, billing.token, "createPayment", pay(account, "5")) == [
        ("accountId", "FORBIDDEN")]
    listed = (await api.data(PAYMENTS, {"accountId": account}, billing.token))["payments"]
    assert listed["totalCount"] == 0
    assert (await account_view(api, billing, account))["balance"]["amount"] == "63.75"


CARD = "4111 1111 1111 1111"


async def test_a_card_number_in_any_field_is_refused_and_never_stored_or_logged(
        api: Any, runtime: Any, clock: Any, caplog: Any) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    caplog.set_level(logging.DEBUG)
    query = """mutation($input: CreatePaymentInput!) { createPayment(input: $input) {
      payment { id } errors { field code } } }"""
    for fields in ({"reference": f"card {CARD}"}, {"idempotencyKey": CARD.replace(" ", "")},
                   {"reference": "5500-0000-0000-0004"}):
        body = await api.gql(query, {"input": pay(account, "5", **fields)}, billing.token)
        assert body.get("data") is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["CARD_NUMBER_REFUSED"]
        assert "1111" not in body["errors"][0]["message"]
    as_number = """mutation($input: UpdateAccountInput!) { updateAccount(input: $input) {
      errors { field } } }"""
    body = await api.gql(as_number, {"input": {"id": account, "customFields": [
        {"customFieldId": account, "value": int(CARD.replace(" ", ""))}]}}, billing.token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["CARD_NUMBER_REFUSED"]
    inline = f"""mutation {{ createNote(input: {{accountId: "{account}",
      body: "paid with {CARD}"}}) {{ errors {{ field }} }} }}"""
    body = await api.gql(inline, None, billing.token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["CARD_NUMBER_REFUSED"]
    # Nothing was stored anywhere, and nothing logged the number.
    listed = (await api.data(PAYMENTS, {"accountId": account}, billing.token))["payments"]
    assert listed["totalCount"] == 0
    digits = CARD.replace(" ", "")
    async with runtime.db.engine.connect() as conn:
        from sqlalchemy import text

        for table in ("events", "audit_log_entries", "idempotency_keys", "notes"):
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            assert not any(digits in str(row) or CARD in str(row) for row in rows), table
    assert not any(digits in r.getMessage() or CARD in r.getMessage() for r in caplog.records)
    # Numbers that only look long are fine: a 16-digit reference failing the Luhn check.
    assert (await record(api, billing, account, "5", reference="4111111111111112"))[
        "reference"] == "4111111111111112"


async def test_who_may_take_payments(api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    _user, reader = await api.user_with_token("reader@example.com",
                                              permissions=["billing:read"])
    body = await api.gql("""mutation($input: CreatePaymentInput!) { createPayment(input: $input)
      { payment { id } } }""", {"input": pay(account, "5")}, reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert money((await account_view(api, billing, account))["balance"]) == 63.75


async def test_two_refunds_at_once_never_give_back_more_than_was_paid(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await invoiced_customer(api, runtime, clock, billing, months=1)
    payment = await record(api, billing, account, "100.00")
    query = """mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
      refund { id } errors { field code } } }"""
    answers = await asyncio.gather(*(
        api.data(query, {"input": {"id": payment["id"], "amount": "60"}}, billing.token)
        for _ in range(2)))
    outcomes = sorted(bool(a["refundPayment"]["refund"]) for a in answers)
    assert outcomes == [False, True]
    stored = await payment_of(api, billing, payment["id"])
    assert (stored["refunded"]["amount"], len(stored["refunds"])) == ("60.00", 1)
    assert (await account_view(api, billing, account))["balance"]["amount"] == "23.75"


async def test_a_child_billed_to_its_parent_is_paid_through_the_parent(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    parent = await invoiced_customer(api, runtime, clock, billing, months=1)
    child = (await new_account(api, billing.setup, name="Kid", parentAccountId=parent,
                               billToParent=True))["id"]
    assert await refused(api, billing.token, "createPayment", pay(child, "10")) == [
        ("accountId", "INVALID")]
    assert (await record(api, billing, parent, "10"))["status"] == "COMPLETED"
