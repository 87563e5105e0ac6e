"""Payment processor adapters (see ``base``) and the one way to get one by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.billing.processors.base import (
    Charge,
    Outcome,
    Processor,
    ProcessorName,
    Result,
)
from ispcore.domain.billing.processors.manual import ManualProcessor
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.integrations.stripe import StripeProcessor

if TYPE_CHECKING:
    from ispcore.config import Settings
    from ispcore.domain.common.clock import Clock

__all__ = ["Charge", "Outcome", "Processor", "ProcessorName", "Result", "get", "stripe"]


def stripe(settings: Settings, clock: Clock, *, field: str = "processor") -> StripeProcessor:
    if not settings.stripe_api_key:
        raise DomainError("Stripe is not set up on this server (ISPCORE_STRIPE_API_KEY).",
                          field=field, code=ErrorCode.PROCESSOR_UNAVAILABLE)
    return StripeProcessor(settings.stripe_api_key, settings.stripe_api_base,
                           settings.processor_timeout_seconds, clock,
                           allow_private=settings.webhooks_allow_private)


def get(name: str, settings: Settings, clock: Clock, *, field: str = "processor"
        ) -> Processor:
    """The adapter for processor ``name`` as this server is configured."""
    if name == ProcessorName.MANUAL:
        return ManualProcessor()
    if name == ProcessorName.STRIPE:
        return stripe(settings, clock, field=field)
    raise DomainError(f"Payments through {name} are not sent to a processor.", field=field)
