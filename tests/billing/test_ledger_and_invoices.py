"""The ledger (manual transactions, voids, balances), draft review, issuing and voiding
invoices, the billing calculator, and who may do what."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.accounts.factories import company_setup
from tests.billing.factories import (
    MUTATIONS,
    QUOTE,
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

COUNTS = """{ transactions { totalCount } invoices { totalCount } events { totalCount } }"""


def manual(account: str, billing: Any, **fields: Any) -> dict[str, Any]:
    return {"accountId": account, "type": "DEBIT", "amount": "25.00",
            "glCodeId": billing.fees, "description": "Truck roll", **fields}


def books(view: dict[str, Any]) -> tuple[str, str, str]:
    """(balance, amount due, unapplied credit) of an account view."""
    return (view["balance"]["amount"], view["amountDue"]["amount"],
            view["unappliedCredit"]["amount"])


async def test_manual_transactions_move_the_balance_and_voids_reverse_them(api: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    fee = await ok(api, billing.token, "createManualTransaction", manual(account, billing))
    assert (fee["kind"], fee["amount"]) == ("MANUAL_DEBIT", {"amount": "25.00",
                                                              "currency": "USD"})
    # A debit is invoiced at once: everything the account owes is on an invoice.
    [invoice] = (await account_view(api, billing, account))["invoices"]
    assert (invoice["id"], invoice["status"], invoice["kind"], invoice["total"]["amount"],
            invoice["billDate"], invoice["periodStart"], invoice["lines"][0]["kind"]) == (
        fee["invoice"]["id"], "ISSUED", "INVOICE", "25.00", None, None, "MANUAL")
    credit = await ok(api, billing.token, "createManualTransaction",
                      manual(account, billing, type="CREDIT", amount="10.5",
                             description="Goodwill"))
    assert credit["amount"]["amount"] == "-10.50"
    # A credit goes to the open invoice at once.
    view = await account_view(api, billing, account)
    assert books(view) == ("14.50", "14.50", "0.00")
    assert view["invoices"][0]["remainingDue"]["amount"] == "14.50"
    reversal = await ok(api, billing.token, "voidTransaction",
                        {"id": fee["id"], "reason": "Waived"})
    assert (reversal["kind"], reversal["amount"]["amount"], reversal["reverses"]["id"]) == (
        "REVERSAL", "-25.00", fee["id"])
    assert reversal["description"] == "Void: Truck roll (Waived)"
    # The debit's invoice is void; the credit it had taken is credit again.
    view = await account_view(api, billing, account)
    assert view["invoices"][0]["status"] == "VOID"
    assert books(view) == ("-10.50", "0.00", "10.50")
    assert await refused(api, billing.token, "voidTransaction",
                         {"id": fee["id"], "reason": "Again"}) == [("id", "INVALID")]
    assert await refused(api, billing.token, "voidTransaction",
                         {"id": reversal["id"], "reason": "Undo the undo"}) == [
        ("id", "INVALID")]
    changes = await events_of(api, billing.token, "account.balance_changed")
    assert [e["payload"]["balance"] for e in changes] == ["25.00", "14.50", "-10.50"]


async def test_a_retried_transaction_posts_once(api: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    first = await ok(api, billing.token, "createManualTransaction",
                     manual(account, billing, idempotencyKey="fee-1"))
    again = await ok(api, billing.token, "createManualTransaction",
                     manual(account, billing, idempotencyKey="fee-1"))
    assert first["id"] == again["id"]
    assert await refused(api, billing.token, "createManualTransaction",
                         manual(account, billing, amount="30", idempotencyKey="fee-1")) == [
        ("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]
    assert (await account_view(api, billing, account))["balance"]["amount"] == "25.00"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"amount": "-5"}, [("amount", "INVALID")]),
    ({"amount": "0"}, [("amount", "INVALID")]),
    ({"amount": "1.001"}, [("amount", "INVALID")]),
    ({"description": " "}, [("description", "REQUIRED")]),
])
async def test_bad_transactions_change_nothing(api: Any, fields: dict[str, Any],
                                               expected: list[tuple[str, str]]) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    before = await api.data(COUNTS, None, billing.token)
    assert await refused(api, billing.token, "createManualTransaction",
                         manual(account, billing, **fields)) == expected
    assert await api.data(COUNTS, None, billing.token) == before


async def test_a_transaction_on_another_companys_code_is_refused(api: Any) -> None:
    billing = await billing_setup(api)
    other = await company_setup(api, billing.token, name="Other ISP")
    gl = await ok(api, billing.token, "createGlCode",
                  {"companyId": other.company, "code": "1", "name": "Theirs"})
    account = await customer(api, billing)
    assert await refused(api, billing.token, "createManualTransaction",
                         manual(account, billing, glCodeId=gl["id"])) == [
        ("glCodeId", "INVALID")]


async def test_drafts_are_reviewed_edited_and_issued(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api, reviewDrafts=True, invoiceNumberFormat="{year}-{number:04}")
    account = await customer(api, billing)
    await add(api, billing, account, billing.fibre)
    await run_billing(api, runtime, billing)
    view = await account_view(api, billing, account)
    [draft] = view["invoices"]
    assert (draft["status"], draft["number"], view["balance"]["amount"]) == (
        "DRAFT", None, "0.00")
    line = draft["lines"][0]["id"]
    edited = await ok(api, billing.token, "updateDraftInvoiceLine",
                      {"id": line, "unitPrice": "50", "description": "Fibre 100 (promo)"})
    assert (edited["lines"][0]["amount"]["amount"], edited["lines"][0]["tax"]["amount"],
            edited["total"]["amount"]) == ("50.00", "3.13", "53.13")
    added = await ok(api, billing.token, "addDraftInvoiceLine",
                     {"invoiceId": draft["id"], "description": "Late fee", "unitPrice": "5",
                      "glCodeId": billing.fees, "taxable": False})
    assert added["total"]["amount"] == "58.13"
    assert await refused(api, billing.token, "updateDraftInvoiceLine",
                         {"id": line, "unitPrice": "1.234"}) == [("unitPrice", "INVALID")]
    [issued] = await ok(api, billing.token, "issueInvoices", {"ids": [draft["id"]]})
    assert (issued["status"], issued["number"], issued["dueOn"]) == (
        "ISSUED", "2026-0001", "2026-11-16")
    assert (await account_view(api, billing, account))["balance"]["amount"] == "58.13"
    assert await refused(api, billing.token, "updateDraftInvoiceLine",
                         {"id": line, "unitPrice": "1"}) == [("id", "INVALID")]
    assert await refused(api, billing.token, "issueInvoices", {"ids": [draft["id"]]}) == [
        ("ids", "INVALID")]
    [event] = await events_of(api, billing.token, "invoice.issued")
    assert event["payload"]["number"] == "2026-0001"


async def test_voiding_an_invoice_reverses_it(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    await add(api, billing, account, billing.fibre)
    await run_billing(api, runtime, billing)
    [invoice] = (await account_view(api, billing, account))["invoices"]
    assert await refused(api, billing.token, "voidInvoice", {"id": invoice["id"],
                                                             "reason": ""}) == [
        ("reason", "REQUIRED")]
    voided = await ok(api, billing.token, "voidInvoice",
                      {"id": invoice["id"], "reason": "Billed in error"})
    assert (voided["status"], voided["remainingDue"]["amount"]) == ("VOID", "0.00")
    view = await account_view(api, billing, account)
    assert view["balance"]["amount"] == "0.00"
    assert sorted(e["kind"] for e in view["transactions"]) == [
        "INVOICE", "REVERSAL", "REVERSAL", "TAX"]
    assert await refused(api, billing.token, "voidInvoice",
                         {"id": invoice["id"], "reason": "Again"}) == [("id", "INVALID")]
    invoice_entry = next(e for e in view["transactions"] if e["kind"] == "INVOICE")
    assert await refused(api, billing.token, "voidTransaction",
                         {"id": invoice_entry["id"], "reason": "x"}) == [("id", "INVALID")]


async def test_the_calculator_shows_the_next_invoice_and_writes_nothing(
        api: Any, runtime: Any, clock: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    fibre = await add(api, billing, account, billing.fibre)
    await run_billing(api, runtime, billing)
    clock.set(at("2026-11-22"))
    before = await api.data(COUNTS, None, billing.token)
    quote = (await api.data(QUOTE, {"input": {
        "accountId": account,
        "changes": [{"kind": "ADD_SERVICE", "serviceId": billing.tv},
                    {"kind": "CHANGE_QUANTITY", "accountServiceId": fibre["id"],
                     "quantity": 2}]}}, billing.token))["billingQuote"]
    assert quote["errors"] == []
    q = quote["quote"]
    # The period is the service the lines bill: TV's first days from Nov 22 included.
    assert (q["periodStart"], q["periodEnd"], q["nextBillDate"]) == (
        "2026-11-22", "2027-01-02", "2027-01-02")
    lines = sorted((li["kind"], li["description"], li["amount"]["amount"]) for li in q["lines"])
    assert lines == sorted([
        ("ADJUSTMENT", "Credit: Fibre 100", "-20.00"),
        ("PRORATED", "Fibre 100", "40.00"), ("SERVICE", "Fibre 100", "120.00"),
        ("PRORATED", "TV", "6.67"), ("SERVICE", "TV", "20.00")])
    assert await api.data(COUNTS, None, billing.token) == before
    # Carried out, the same changes give the same invoice.
    await add(api, billing, account, billing.tv)
    await ok(api, billing.token, "changeAccountServiceQuantity",
             {"accountServiceId": fibre["id"], "quantity": 2})
    clock.set(at("2026-12-02"))
    await run_billing(api, runtime, billing)
    latest = (await account_view(api, billing, account))["invoices"][0]
    assert money(latest["total"]) == Decimal(q["total"]["amount"])
    assert sorted((li["kind"], li["description"], li["amount"]["amount"])
                  for li in latest["lines"]) == lines


async def test_the_calculator_names_bad_input(api: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    missing = "QWNjb3VudDo5OTk5"  # Account:9999
    result = (await api.data(QUOTE, {"input": {"accountId": missing}}, billing.token))[
        "billingQuote"]
    assert [(e["field"], e["code"]) for e in result["errors"]] == [("accountId", "INVALID")]
    result = (await api.data(QUOTE, {"input": {"accountId": account, "changes": [
        {"kind": "REMOVE_SERVICE", "accountServiceId": "QWNjb3VudFNlcnZpY2U6OTk="}]}},
        billing.token))["billingQuote"]
    assert [(e["field"], e["code"]) for e in result["errors"]] == [
        ("changes.0.accountServiceId", "NOT_FOUND")]
    result = (await api.data(QUOTE, {"input": {"accountId": account, "changes": [
        {"kind": "ADD_SERVICE", "serviceId": billing.tv, "quantity": -2}]}},
        billing.token))["billingQuote"]
    assert [(e["field"], e["code"]) for e in result["errors"]] == [
        ("changes.0.quantity", "INVALID")]


async def test_quoting_a_price_back_to_the_catalogue(api: Any, runtime: Any, clock: Any
                                                    ) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    fibre = await add(api, billing, account, billing.fibre, priceOverride="30")
    await run_billing(api, runtime, billing)
    clock.set(at("2026-11-22"))
    quote = (await api.data(QUOTE, {"input": {"accountId": account, "changes": [
        {"kind": "CHANGE_PRICE", "accountServiceId": fibre["id"], "price": None}]}},
        billing.token))["billingQuote"]["quote"]
    # 10 days credited at 30, billed again at the catalogue's 60, and December at 60.
    assert sorted((li["kind"], li["amount"]["amount"]) for li in quote["lines"]) == [
        ("ADJUSTMENT", "-10.00"), ("PRORATED", "20.00"), ("SERVICE", "60.00")]


async def test_billing_needs_its_permissions(api: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    _user, reader = await api.user_with_token("reader@example.com",
                                              permissions=["accounts:read"])
    view = (await api.data("query($id: ID!) { account(id: $id) { balance { amount } "
                           "invoices { id } } }", {"id": account}, reader))["account"]
    assert view == {"balance": None, "invoices": None}
    query, _ = MUTATIONS["runBilling"]
    response = await api.gql(query, {"input": {"companyId": billing.company}}, reader)
    assert response["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_amounts_in_another_currency_are_refused(api: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    assert await refused(api, billing.token, "createManualTransaction",
                         manual(account, billing, currency="EUR")) == [("currency", "INVALID")]
    assert await refused(api, billing.token, "createService",
                         {"companyId": billing.company, "name": "Euro", "kind": "RECURRING",
                          "price": "5", "currency": "EUR", "glCodeId": billing.revenue}) == [
        ("currency", "INVALID")]
    assert await refused(api, billing.token, "addServiceToAccount",
                         {"accountId": account, "serviceId": billing.tv,
                          "priceOverride": "5", "currency": "GBP"}) == [("currency", "INVALID")]
    stated = await ok(api, billing.token, "createManualTransaction",
                      manual(account, billing, currency="usd"))
    assert stated["amount"] == {"amount": "25.00", "currency": "USD"}


async def test_an_account_with_invoices_is_never_deleted(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing, address=False)
    await add(api, billing, account, billing.tv)
    await run_billing(api, runtime, billing)
    assert await refused(api, billing.token, "deleteAccount", {"id": account}) == [
        ("id", "IN_USE")]
    assert len((await account_view(api, billing, account))["invoices"]) == 1
