"""Messaging content jobs: the trigger handler on events, invoice reminders before the due
date, and mass messages in batches."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ispcore.domain.events.service import register_handler
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.messaging import mass, triggers
from ispcore.workers.registry import CRON, CronEntry, job

if TYPE_CHECKING:
    from ispcore.runtime import Runtime

DUE_REMINDERS_JOB = "messaging.due_reminders"

register_handler(triggers.HANDLER, triggers.HANDLED_EVENTS, triggers.handle_events)


@job(DUE_REMINDERS_JOB)
async def send_due_reminders(runtime: Runtime) -> int:
    """Hourly (companies' days start at different hours): queue the reminders of
    ``invoice.due_soon`` triggers; each is queued once."""
    async with runtime.unit_of_work(SYSTEM, action=DUE_REMINDERS_JOB) as uow:
        return await triggers.send_due_reminders(uow)


@job(mass.SEND_JOB)
async def send_mass_message(runtime: Runtime, mass_message_id: int) -> None:
    """Queue a mass message's messages, a batch per transaction, recording progress."""
    await mass.send_all(lambda: runtime.unit_of_work(SYSTEM, action=mass.SEND_JOB),
                        mass_message_id)


CRON.append(CronEntry(DUE_REMINDERS_JOB, second=40, minutes=frozenset({25})))
