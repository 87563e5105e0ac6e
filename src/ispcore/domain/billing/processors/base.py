"""What every payment processor adapter offers, and what it answers.

An adapter never raises for a charge's outcome: a decline is ``FAILED``; a timeout, a lost
connection or a server error is ``UNKNOWN`` (the charge may or may not have been made, so the
reconciler asks again later under the same key; never charge again on a timeout)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    #: Accepted, not yet settled (a bank debit in flight): ask again later.
    PENDING = "PENDING"
    #: No answer (timeout, transport error, server error): ask again later.
    UNKNOWN = "UNKNOWN"


class ProcessorName(StrEnum):
    #: Staff run the charge on an outside terminal and confirm it.
    MANUAL = "MANUAL"
    STRIPE = "STRIPE"
    #: In-house ACH: a NACHA file collects the debit later; no processor is called.
    ACH = "ACH"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    #: The processor's id of the charge or refund, when it gave one.
    reference: str | None = None
    #: Why it failed (or why the outcome is unknown), for staff and the customer.
    message: str | None = None


@dataclass(frozen=True)
class Charge:
    """One charge, as plain values read from the database before the processor is called
    (no session is held while the processor answers)."""

    payment_id: int
    amount_minor: int
    currency: str
    #: The payment's ``processor_key``: the processor's idempotency key for this charge.
    key: str
    token: str
    customer: str | None
    created_at: datetime
    #: What staff typed for a manual charge (the terminal's receipt number).
    reference: str | None = None


class Processor(Protocol):
    name: str

    async def charge(self, charge: Charge) -> Result:
        """Collect ``charge``; sending it again with the same key charges once."""
        ...

    async def status(self, charge: Charge, reference: str | None) -> Result:
        """What became of ``charge`` (``reference``: the processor's id, if it was heard)."""
        ...

    async def refund(self, reference: str, amount_minor: int, key: str) -> Result:
        """Give back ``amount_minor`` of the charge ``reference``; ``key`` makes a retry
        safe."""
        ...
