"""Methods on file and charges through the API: the mutations, a fake Stripe, fixtures."""

from __future__ import annotations

from typing import Any

from tests.accounts.factories import MUTATIONS, _mutation, ok
from tests.billing.factories import Billing
from tests.billing.payment_support import PAYMENT_FIELDS

METHOD_FIELDS = """id kind processor token processorCustomer holderName brand lastFour
  expiryMonth expiryYear bankAccountType routingNumber isDefault autopay active
  account { id }"""
CHARGE_FIELDS = f"{PAYMENT_FIELDS} processor processorReference paymentMethod {{ id }}"

MUTATIONS.update({
    "addPaymentMethod": _mutation("addPaymentMethod", "AddPaymentMethodInput",
                                  "paymentMethod", METHOD_FIELDS),
    "updatePaymentMethod": _mutation("updatePaymentMethod", "UpdatePaymentMethodInput",
                                     "paymentMethod", METHOD_FIELDS),
    "removePaymentMethod": _mutation("removePaymentMethod", "IdInput", "paymentMethod",
                                     METHOD_FIELDS),
    "chargePaymentMethod": _mutation("chargePaymentMethod", "ChargePaymentMethodInput",
                                     "payment", CHARGE_FIELDS),
    "reconcilePayments": _mutation("reconcilePayments", "ReconcilePaymentsInput", None,
                                   "checked completed failed unsettled"),
})

METHODS = f"""query($accountId: ID!) {{ paymentMethods(filter: {{accountId: {{eq: $accountId}}}},
  orderBy: [{{field: ID}}]) {{ totalCount edges {{ node {{ {METHOD_FIELDS} }} }} }} }}"""
ACCOUNT_METHODS = f"""query($id: ID!) {{ account(id: $id) {{
  paymentMethods {{ {METHOD_FIELDS} }} }} }}"""
CHARGES = f"""query($accountId: ID!) {{ payments(filter: {{accountId: {{eq: $accountId}}}},
  orderBy: [{{field: ID}}]) {{ totalCount edges {{ node {{ {CHARGE_FIELDS} }} }} }} }}"""


def manual_card(account: str, **fields: Any) -> dict[str, Any]:
    return {"accountId": account, "kind": "CARD", "processor": "MANUAL", "brand": "Visa",
            "lastFour": "1881", "expiryMonth": 9, "expiryYear": 2028,
            "holderName": "Jane Doe", **fields}


def stripe_card(account: str, pm: str, **fields: Any) -> dict[str, Any]:
    return {"accountId": account, "kind": "CARD", "processor": "STRIPE", "token": pm,
            **fields}


def bank_account(account: str, **fields: Any) -> dict[str, Any]:
    return {"accountId": account, "kind": "BANK_ACCOUNT", "processor": "ACH",
            "routingNumber": "011000015", "accountNumber": "000123456789",
            "holderName": "Jane Doe", **fields}


async def add_method(api: Any, billing: Billing, input: dict[str, Any]) -> dict[str, Any]:
    return await ok(api, billing.token, "addPaymentMethod", input)


async def charge(api: Any, billing: Billing, method: str, amount: str, **fields: Any
                 ) -> dict[str, Any]:
    return await ok(api, billing.token, "chargePaymentMethod",
                    {"paymentMethodId": method, "amount": amount, **fields})


async def payments_of(api: Any, billing: Billing, account: str) -> list[dict[str, Any]]:
    body = await api.data(CHARGES, {"accountId": account}, billing.token)
    return [e["node"] for e in body["payments"]["edges"]]
