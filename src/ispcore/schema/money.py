"""Money as the API shows it: an exact decimal amount and its currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info


@strawberry.type(description="An exact amount (a decimal string, never a float) in a currency.")
class Money:
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217 code of the company.")


async def currency_of(info: Info, company_id: int) -> str:
    from ispcore.schema.companies import Company

    company = await info.context.loaders.nodes(Company).load(company_id)
    return company.currency


async def as_money(info: Info, minor: int, company_id: int) -> Money:
    from ispcore.domain.billing.money import from_minor

    currency = await currency_of(info, company_id)
    return Money(amount=from_minor(minor, currency), currency=currency)


def money(attribute: str, *, description: str | None = None) -> Any:
    """A ``Money!`` field from the node's integer minor units in ``attribute``."""

    async def resolve(root: Any, info: Info) -> Money:
        return await as_money(info, getattr(root, attribute), root.company_id)

    return strawberry.field(resolver=resolve, description=description)


def optional_money(attribute: str, *, description: str | None = None) -> Any:
    """A ``Money`` field (null when ``attribute`` is)."""

    async def resolve(root: Any, info: Info) -> Money | None:
        minor = getattr(root, attribute)
        return None if minor is None else await as_money(info, minor, root.company_id)

    return strawberry.field(resolver=resolve, description=description)
