"""Root fields for usage-based billing (buying a data top-up) and the data usage invoices
show, loaded for every invoice of a response at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types import Info

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage import top_ups
from ispcore.domain.usage.invoice_usage import usage_of_invoices
from ispcore.resolvers.commands import command, payload_type, pk
from ispcore.schema.accounts import Account
from ispcore.schema.billing import Service
from ispcore.schema.usage_billing import InvoiceDataUsage, PurchaseDataTopUpInput, UsageTopUp

WRITE = "billing:write"


async def _usage(conn: AsyncConnection, keys: Sequence[tuple[int, int, date]]
                 ) -> list[list[InvoiceDataUsage]]:
    found = await usage_of_invoices(conn, keys)
    return [[InvoiceDataUsage(
        period_start=u.period_start, period_end=u.period_end, billable_in=u.billable_in,
        billable_out=u.billable_out, billable=u.billable, free_in=u.free_in,
        free_out=u.free_out, free=u.free, allowance=u.allowance,
        overage_blocks=u.overage_blocks, account_id=u.account_id)
        for u in found[invoice_id]] for invoice_id, _account, _day in keys]


async def invoice_data_usage(info: Info, invoice: Any) -> list[InvoiceDataUsage]:
    """``invoice.dataUsage``: one query pair for every invoice the response holds."""
    loader = info.context.loaders.keyed("invoice_data_usage", _usage)
    return await loader.load((invoice.pk, invoice.account_id, invoice.bill_date))


async def _purchase(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"top_up": await top_ups.purchase(uow, pk(data.account_id, Account, "account_id"),
                                             pk(data.service_id, Service, "service_id"))}


@strawberry.type
class UsageBillingMutation:
    purchase_data_top_up = command(
        _purchase, input_type=PurchaseDataTopUpInput, permission=WRITE, idempotent=True,
        payload=payload_type("PurchaseDataTopUp", "top_up", UsageTopUp),
        description="Sell an account a data top-up for its current period: the one-time "
        "service goes on its next invoice and its gigabytes on the period's allowance (a "
        "throttle it lifts is lifted).")
