"""Payments through the API: the mutations, a customer with invoices, reading payments."""

from __future__ import annotations

from typing import Any

from tests.accounts.factories import MUTATIONS, _mutation, ok
from tests.billing.factories import Billing, add, at, customer, run_billing

ALLOCATION_FIELDS = "amount { amount } invoice { id number }"
PAYMENT_FIELDS = f"""id method status currency reference receivedAt receivedOn
  amount {{ amount currency }} unapplied {{ amount }} refunded {{ amount }}
  failureReason reversedAt reversalReason account {{ id }}
  allocations {{ {ALLOCATION_FIELDS} }} refunds {{ amount {{ amount }} reason }}
  transactions {{ kind amount {{ amount }} glCode {{ code }} }}"""

MUTATIONS.update({
    "createPayment": _mutation("createPayment", "CreatePaymentInput", "payment",
                               PAYMENT_FIELDS),
    "refundPayment": _mutation("refundPayment", "RefundPaymentInput", "refund",
                               "id amount { amount } reason payment { id status refunded "
                               "{ amount } unapplied { amount } }"),
    "reversePayment": _mutation("reversePayment", "ReversePaymentInput", "payment",
                                PAYMENT_FIELDS),
    "updatePaymentSettings": _mutation(
        "updatePaymentSettings", "UpdatePaymentSettingsInput", "paymentSettings",
        "id returnedPaymentFee { amount } paymentGlCode { code } feeGlCode { code } "
        "achOffsetAccountSet achCompanyName"),
    "updateCompany": _mutation("updateCompany", "UpdateCompanyInput", "company",
                               "id active"),
})

PAYMENT = f"""query($id: ID!) {{ payment(id: $id) {{ {PAYMENT_FIELDS} }} }}"""
PAYMENTS = """query($accountId: ID!) { payments(filter: {accountId: {eq: $accountId}},
  orderBy: [{field: ID}]) { totalCount edges { node { id status amount { amount } } } } }"""


def pay(account: str, amount: str, **fields: Any) -> dict[str, Any]:
    return {"accountId": account, "amount": amount, "method": "CHECK", **fields}


async def invoiced_customer(api: Any, runtime: Any, clock: Any, billing: Billing,
                            months: int = 2, **fields: Any) -> str:
    """An account with fibre (63.75 a month with tax), billed ``months`` times from
    2026-11-02, due 14 days after each bill date by default."""
    account = await customer(api, billing, **fields)
    await add(api, billing, account, billing.fibre)
    for month in range(months):
        day = f"2026-{11 + month:02d}-02" if month < 2 else f"2027-{month - 1:02d}-02"
        clock.set(at(day))
        await run_billing(api, runtime, billing)
    return account


async def payment_of(api: Any, billing: Billing, pk: str) -> dict[str, Any]:
    return (await api.data(PAYMENT, {"id": pk}, billing.token))["payment"]


async def record(api: Any, billing: Billing, account: str, amount: str, **fields: Any
                 ) -> dict[str, Any]:
    return await ok(api, billing.token, "createPayment", pay(account, amount, **fields))
