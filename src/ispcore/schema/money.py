"""Money as the API shows it: an exact decimal amount and its currency."""

from __future__ import annotations

from decimal import Decimal

import strawberry


@strawberry.type(description="An exact amount (a decimal string, never a float) in a currency.")
class Money:
    amount: Decimal
    currency: str = strawberry.field(description="ISO 4217 code of the company.")
