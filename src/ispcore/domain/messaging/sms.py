"""Sending an SMS through a provider. The send job knows only :class:`SmsProvider`; which one a
company uses is its SMS settings' ``provider``."""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

log = logging.getLogger(__name__)


class SmsFailed(Exception):
    """The provider did not take the message. ``transient``: worth retrying later (rate
    limited, provider down, no answer); otherwise refused for good (a bad number)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


class SmsProvider(Protocol):
    async def send(self, *, to: str, from_number: str, body: str) -> str:
        """Hand one text to the provider; return the provider's id for it, or raise
        :class:`SmsFailed`."""
        ...


class LogOnlySmsProvider:
    """Writes each text to the log and calls it sent: for development and demos, or a company
    that has no SMS provider yet but wants the sent log."""

    async def send(self, *, to: str, from_number: str, body: str) -> str:
        provider_id = f"log-{uuid.uuid4().hex}"
        log.info("sms (log only) %s from %s to %s: %s", provider_id, from_number, to, body)
        return provider_id
