"""MANUAL: cards and bank accounts charged by staff on an outside terminal. Recording the
charge is staff's confirmation that the terminal approved it, so it succeeds at once, with
the terminal's reference or one made from the payment's key (the same one every time)."""

from __future__ import annotations

from ispcore.domain.billing.processors.base import Charge, Outcome, Result


def reference_of(charge: Charge) -> str:
    return charge.reference or f"MANUAL-{charge.key[:12].upper()}"


class ManualProcessor:
    name = "MANUAL"

    async def charge(self, charge: Charge) -> Result:
        return Result(Outcome.SUCCEEDED, reference_of(charge))

    async def status(self, charge: Charge, reference: str | None) -> Result:
        # Staff confirmed it when they recorded it: what is recorded is what happened.
        return Result(Outcome.SUCCEEDED, reference or reference_of(charge))

    async def refund(self, reference: str, amount_minor: int, key: str) -> Result:
        return Result(Outcome.SUCCEEDED, f"MANUAL-REFUND-{key[:12].upper()}")
