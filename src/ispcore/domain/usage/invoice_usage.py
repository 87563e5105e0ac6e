"""The data usage an invoice shows: the usage periods of its account and of every account
with lines on it (child accounts billed to it) that ended on its bill date. Two queries for
any number of invoices."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from ispcore.db import among
from ispcore.domain.billing.models import InvoiceLine
from ispcore.domain.usage.models import UsagePeriod


@dataclass(frozen=True, slots=True)
class InvoiceUsage:
    """One account's usage period on an invoice: billable and free bytes, each downloaded
    (in) and uploaded (out), the allowance fixed when it was settled (None: no cap, or not
    settled) and the overage blocks billed for it."""

    account_id: int
    period_start: date
    period_end: date
    billable_in: int
    billable_out: int
    free_in: int
    free_out: int
    allowance: int | None
    overage_blocks: int

    @property
    def billable(self) -> int:
        return self.billable_in + self.billable_out

    @property
    def free(self) -> int:
        return self.free_in + self.free_out


async def usage_of_invoices(on: Any, invoices: Sequence[tuple[int, int, date | None]]
                            ) -> dict[int, list[InvoiceUsage]]:
    """The usage of each (invoice id, its account id, its bill date), read ``on`` a session
    or a connection; its own account first, then by account id. An invoice with no bill
    date (made at once, for a fee or a manual debit) shows none."""
    if not invoices:
        return {}
    ids = [invoice_id for invoice_id, _account, _day in invoices]
    accounts: dict[int, set[int]] = {i: {a} for i, a, _day in invoices}
    for invoice_id, account_id in await on.execute(
            select(InvoiceLine.invoice_id, InvoiceLine.account_id).distinct()
            .where(among(on, InvoiceLine.invoice_id, ids))):
        accounts[invoice_id].add(account_id)
    everyone = sorted({a for found in accounts.values() for a in found})
    days = sorted({day for _i, _a, day in invoices if day is not None})
    p = UsagePeriod
    periods: dict[tuple[int, date], list[InvoiceUsage]] = defaultdict(list)
    for r in await on.execute(
            select(p.account_id, p.period_start, p.period_end, p.billable_in, p.billable_out,
                   p.free_in, p.free_out, p.allowance_bytes, p.overage_blocks)
            .where(among(on, p.account_id, everyone), p.period_end.in_(days))
            .order_by(p.account_id, p.period_start)):
        periods[(r.account_id, r.period_end)].append(InvoiceUsage(*r))
    out = {}
    for invoice_id, own, day in invoices:
        order = [own, *sorted(accounts[invoice_id] - {own})]
        out[invoice_id] = [usage for a in order for usage in periods.get((a, day), [])]
    return out
