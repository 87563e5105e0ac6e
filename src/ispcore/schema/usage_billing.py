"""Usage on invoices and data top-ups: what an invoice shows of its accounts' data usage
(billable apart from free), and the top-ups bought."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import relay
from strawberry.types import Info

from ispcore.domain.usage import models as m
from ispcore.schema.accounts import Account
from ispcore.schema.billing import AccountService
from ispcore.schema.nodes import ModelNode, model_node, related
from ispcore.schema.relations import One, relation
from ispcore.schema.scalars import BigInt

READ = "billing:read"


@strawberry.type(description="Gigabytes bought for one period of an account's data cap (a "
                 "one-time top-up service, billed on the next invoice).")
@model_node(m.UsageTopUp, read_permission=READ)
class UsageTopUp(ModelNode):
    gigabytes: BigInt = strawberry.field(description="Added to the period's allowance "
                                         "(1 GB = 10^9 bytes); never rolled over.")
    period_start: date = strawberry.field(description="The first day of the period it is for.")
    purchased_at: datetime
    company_id: strawberry.Private[int]
    account_id: strawberry.Private[int]
    account_service_id: strawberry.Private[int | None]

    account: Account | None = relation(One("Account", "account_id"))
    account_service: AccountService | None = relation(
        One("AccountService", "account_service_id"),
        description="The one-time service that bills it.")


@strawberry.type(description="One account's data usage in a period that ended on the "
                 "invoice's bill date, in bytes (in: downloaded by the customer, out: "
                 "uploaded). Free usage (in the policy's free periods) is shown apart and "
                 "never billed. Totals are the period's as they stand: usage arriving late is "
                 "billed as a correction on a later invoice.")
class InvoiceDataUsage:
    period_start: date
    period_end: date = strawberry.field(description="Exclusive.")
    billable_in: BigInt
    billable_out: BigInt
    billable: BigInt = strawberry.field(description="Counts toward the allowance.")
    free_in: BigInt
    free_out: BigInt
    free: BigInt
    allowance: BigInt | None = strawberry.field(description="Bytes the period included (cap, "
                                                "top-ups and rollover drawn) as settled; "
                                                "null without a cap.")
    overage_blocks: int = strawberry.field(description="Blocks of overage billed for it.")
    account_id: strawberry.Private[int]

    @strawberry.field(description="The account (a child account's, on its parent's invoice).")
    async def account(self, info: Info) -> Account | None:
        return await related(info, Account, self.account_id)


@strawberry.input
class PurchaseDataTopUpInput:
    account_id: relay.GlobalID
    service_id: relay.GlobalID = strawberry.field(description="An active one-time service "
                                                  "with top-up gigabytes.")
    idempotency_key: str | None = strawberry.field(
        default=None, description="Retrying with the same key returns the first result.")
