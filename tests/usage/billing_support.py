"""Helpers the usage billing tests share: a capped policy with overage pricing, a day's usage,
reading invoices, usage periods, rollover grants and top-up services."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from ispcore.domain.billing.models import PendingCharge, Service
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.usage.models import UsagePeriod, UsageRollover
from tests.billing.factories import INVOICE_FIELDS, Billing, add, at, customer, run_billing
from tests.usage.support import GB, Usage, attach_policy, feed, pk_of

DATA_USAGE = """accountId: account { id } periodStart periodEnd billableIn billableOut billable
  freeIn freeOut free allowance overageBlocks"""
INVOICES = f"""query($id: ID!) {{ account(id: $id) {{ invoices {{ {INVOICE_FIELDS}
  billDate dataUsage {{ {DATA_USAGE} }} }} }} }}"""


async def capped(runtime: Any, usage: Usage, **values: Any) -> int:
    """A 500 GB policy billing $5.00 per started 10 GB over it (taxable, on the revenue
    ledger code), on the Fibre service."""
    return await attach_policy(runtime, usage, **{
        "cap_gb": 500, "overage_block_gb": 10, "overage_block_price_minor": 500,
        "overage_gl_code_id": pk_of(usage.billing.revenue), "overage_taxable": True,
        **values})


async def use(runtime: Any, usage: Usage, day: str, gigabytes: float, *, key: str = "",
              hour: int = 12) -> None:
    """``gigabytes`` downloaded (90%) and uploaded (10%) over ten hours from ``hour`` UTC on
    ``day`` (daytime in Chicago)."""
    start = datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)
    total = int(gigabytes * GB)
    down = total * 9 // 10
    await feed(runtime, usage, (key or f"{usage.account_pk}-{day}-{hour}-{gigabytes}", start,
                                start.replace(hour=hour + 10), down, total - down))


async def bill(api: Any, runtime: Any, clock: Any, usage: Usage, day: str | None = None
               ) -> None:
    """Run billing for the usage's company (at noon UTC on ``day``, if given)."""
    if day is not None:
        clock.set(at(day))
    await run_billing(api, runtime, usage.billing)


async def bill_november(api: Any, runtime: Any, clock: Any, usage: Usage, gigabytes: float,
                        *, user: Usage | None = None) -> None:
    """Bill October and November (on 2 November: in advance), use ``gigabytes`` on 10
    November (on ``user``'s account, the usage's by default), bill on 1 December."""
    await bill(api, runtime, clock, usage)
    clock.set(at("2026-11-20"))
    await use(runtime, user or usage, "2026-11-10", gigabytes)
    await bill(api, runtime, clock, usage, "2026-12-01")


async def on_fibre(api: Any, billing: Billing, name: str, **fields: Any) -> str:
    """An account active since 1 October with the Fibre service."""
    account = await customer(api, billing, name=name, activation="2026-10-01", **fields)
    await add(api, billing, account, billing.fibre, startDate="2026-10-01")
    return account


async def child_of(api: Any, usage: Usage) -> str:
    """A child account billed to the usage's account, on Fibre."""
    return await on_fibre(api, usage.billing, "Unit 4", parentAccountId=usage.account,
                          billToParent=True)


async def invoices(api: Any, billing: Billing, account: str) -> list[dict[str, Any]]:
    """The account's invoices, newest first, with their data usage."""
    return (await api.data(INVOICES, {"id": account}, billing.token))["account"]["invoices"]


def usage_lines(invoice: dict[str, Any]) -> list[dict[str, Any]]:
    return [line for line in invoice["lines"] if line["kind"] == "USAGE"]


async def period(runtime: Any, account_pk: int, start: str) -> UsagePeriod:
    async with runtime.db.session() as s:
        return await s.scalar(select(UsagePeriod).where(
            UsagePeriod.account_id == account_pk,
            UsagePeriod.period_start == date.fromisoformat(start)))


async def grants(runtime: Any, account_pk: int) -> list[tuple[str, str, float, float]]:
    """(from period, expires on, GB granted, GB used) of each rollover grant, oldest first."""
    async with runtime.db.session() as s:
        rows = await s.scalars(select(UsageRollover).where(
            UsageRollover.account_id == account_pk).order_by(UsageRollover.from_period_start))
        return [(g.from_period_start.isoformat(), g.expires_on.isoformat(),
                 g.granted_bytes / GB, g.used_bytes / GB) for g in rows]


async def usage_charges(runtime: Any, account_pk: int) -> list[PendingCharge]:
    async with runtime.db.session() as s:
        return list(await s.scalars(select(PendingCharge).where(
            PendingCharge.account_id == account_pk,
            PendingCharge.usage_period_id.is_not(None)).order_by(PendingCharge.id)))


async def top_up_service(runtime: Any, usage: Usage, *, gigabytes: int = 50,
                         price_minor: int = 1000, name: str = "Data top-up 50 GB",
                         active: bool = True) -> str:
    """A one-time top-up service (made in the database: ``topupGb`` is not in the API yet)."""
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        now = uow.clock.now()
        service = Service(company_id=usage.company_pk, name=name, kind="ONE_TIME",
                          price_minor=price_minor, taxable=True,
                          gl_code_id=pk_of(usage.billing.revenue), topup_gb=gigabytes,
                          active=active, created_at=now, updated_at=now)
        uow.session.add(service)
        await uow.session.flush()
        pk = service.id
    from ispcore.schema.nodes import encode_global_id

    return encode_global_id("Service", pk)

