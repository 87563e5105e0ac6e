"""Scheduled events: an action on an account on a day in the company's time zone.

Actions are registered by name (``ACTIONS``); the accounts area registers status changes and
disconnection, billing later adds service changes. A job runs each due event exactly once:
claiming it (PENDING -> RUNNING, a conditional update) and acting commit together, so a
second runner finds nothing to claim and a crash half-way leaves it PENDING for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update

from ispcore.domain.accounts import service as accounts
from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.records import company_of, load, start_of_day, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.scheduling.models import ScheduledEvent

log = logging.getLogger(__name__)


class Status(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class Action:
    """``check`` validates and normalises parameters when scheduling (raising
    ``DomainError``); ``run`` acts on the due day and returns the outcome text."""

    check: Callable[[UnitOfWork, Account, dict[str, Any]], Awaitable[dict[str, Any]]]
    run: Callable[[UnitOfWork, ScheduledEvent], Awaitable[str]]


ACTIONS: dict[str, Action] = {}


async def _check_status(uow: UnitOfWork, account: Account, params: dict[str, Any]
                        ) -> dict[str, Any]:
    status = await load(uow, AccountStatus, params.get("account_status_id"),
                        field="account_status_id", what="account status",
                        company_id=account.company_id)
    if status.is_lead:
        raise DomainError(f"{status.name} is a lead status; accounts do not go back to being "
                          "leads.", field="account_status_id")
    if account.disconnected_on is not None:
        raise DomainError("The account is disconnected; it comes back through "
                          "reactivateAccount.", field="account_id")
    reason = (params.get("reason") or "").strip()
    if not reason:
        raise DomainError("Give a reason; it goes on the account's history.", field="reason",
                          code=ErrorCode.REQUIRED)
    return {"account_status_id": status.id, "reason": reason[:500]}


async def _run_status(uow: UnitOfWork, event: ScheduledEvent) -> str:
    p = event.parameters
    await accounts.change_status(uow, event.account_id, p["account_status_id"], p["reason"])
    return "Status changed."


async def _check_disconnect(uow: UnitOfWork, account: Account, params: dict[str, Any]
                            ) -> dict[str, Any]:
    reason = (params.get("reason") or "").strip()
    if not reason:
        raise DomainError("Give a reason; it goes on the account's history.", field="reason",
                          code=ErrorCode.REQUIRED)
    await accounts.check_disconnectable(uow, account)
    status_id = params.get("account_status_id")
    status = await accounts.disconnect_status_for(uow, account, status_id)
    return {"account_status_id": status.id if status_id is not None else None,
            "reason": reason[:500]}


async def _run_disconnect(uow: UnitOfWork, event: ScheduledEvent) -> str:
    p = event.parameters
    await accounts.disconnect_now(uow, event.account_id, reason=p["reason"], on=event.run_on,
                                  status_id=p.get("account_status_id"))
    return "Account disconnected."


ACTIONS["CHANGE_STATUS"] = Action(_check_status, _run_status)
ACTIONS["DISCONNECT"] = Action(_check_disconnect, _run_disconnect)


async def schedule(uow: UnitOfWork, account_id: int, action: str, run_on: date,
                   parameters: dict[str, Any]) -> ScheduledEvent:
    account = await load(uow, Account, account_id, field="account_id", what="account")
    company = await company_of(uow, account.company_id)
    if action not in ACTIONS:
        raise DomainError(f"Unknown action {action!r}.", field="action")
    today = today_in(uow, company)
    if run_on < today:
        raise DomainError(f"{run_on.isoformat()} is in the past (today is {today.isoformat()} "
                          f"in {company.time_zone}).", field="run_on")
    params = await ACTIONS[action].check(uow, account, parameters)
    now = uow.clock.now()
    event = ScheduledEvent(company_id=account.company_id, account_id=account.id, action=action,
                           run_on=run_on,
                           due_at=start_of_day(run_on, company.time_zone).astimezone(UTC),
                           parameters=params, status=Status.PENDING,
                           created_by_user_id=uow.actor.user_id, created_at=now,
                           updated_at=now)
    uow.session.add(event)
    await uow.session.flush()
    record_event(uow, "scheduled_event.created", company_id=account.company_id, entity=event,
                 payload={"account_id": account.id, "action": action,
                          "run_on": run_on.isoformat(), "parameters": params})
    return event


async def cancel(uow: UnitOfWork, pk: int) -> ScheduledEvent:
    event = await load(uow, ScheduledEvent, pk, field="id", what="scheduled event")
    claimed = await _transition(uow, event.id, Status.PENDING, Status.CANCELLED)
    if not claimed:
        raise DomainError(f"The event is {event.status.lower()}; only a pending one can be "
                          "cancelled.", field="id")
    # The conditional update above decides against a concurrent runner; the same change
    # through the ORM then lets the audit log record who cancelled it.
    event.status = Status.CANCELLED
    event.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "scheduled_event.cancelled", company_id=event.company_id, entity=event,
                 payload={"account_id": event.account_id, "action": event.action})
    return event


async def _transition(uow: UnitOfWork, pk: int, from_status: Status, to_status: Status,
                      **values: Any) -> bool:
    result = await uow.session.execute(
        update(ScheduledEvent)
        .where(ScheduledEvent.id == pk, ScheduledEvent.status == from_status)
        .values(status=to_status, updated_at=uow.clock.now(), **values)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


async def due_ids(uow: UnitOfWork, limit: int = 500) -> list[int]:
    return list(await uow.session.scalars(
        select(ScheduledEvent.id)
        .where(ScheduledEvent.status == Status.PENDING,
               ScheduledEvent.due_at <= uow.clock.now())
        .order_by(ScheduledEvent.due_at, ScheduledEvent.id).limit(limit)))


async def run_one(open_uow: Callable[[], UnitOfWork], pk: int) -> Status | None:
    """Run one due event; ``None`` if another runner had it, or if it broke unexpectedly
    (logged; it stays PENDING for the next run and does not hold up the others). A rule that
    says no (the account was already disconnected, say) marks it FAILED with the reason."""
    try:
        async with open_uow() as uow:
            if not await _transition(uow, pk, Status.PENDING, Status.RUNNING):
                return None
            event = await uow.session.get_one(ScheduledEvent, pk)
            outcome = await ACTIONS[event.action].run(uow, event)
            await _finish(uow, event, Status.SUCCEEDED, outcome)
            return Status.SUCCEEDED
    except DomainError as exc:
        async with open_uow() as uow:
            if not await _transition(uow, pk, Status.PENDING, Status.RUNNING):
                return None
            event = await uow.session.get_one(ScheduledEvent, pk)
            await _finish(uow, event, Status.FAILED, exc.message)
            return Status.FAILED
    except Exception:
        log.exception("scheduled event %s failed unexpectedly; it will be retried", pk)
        return None


async def _finish(uow: UnitOfWork, event: ScheduledEvent, status: Status, outcome: str
                  ) -> None:
    await _transition(uow, event.id, Status.RUNNING, status, outcome=outcome[:1000],
                      executed_at=uow.clock.now())
    await uow.session.refresh(event)
    record_event(uow, f"scheduled_event.{status.value.lower()}", company_id=event.company_id,
                 entity=event, payload={"account_id": event.account_id,
                                        "action": event.action, "outcome": outcome})


async def run_due(open_uow: Callable[[], UnitOfWork]) -> dict[str, int]:
    """Run every due event; returns counts by outcome."""
    counts = {s.value: 0 for s in (Status.SUCCEEDED, Status.FAILED)}
    while True:
        async with open_uow() as uow:
            ids = await due_ids(uow)
        ran = 0
        for pk in ids:
            outcome = await run_one(open_uow, pk)
            if outcome is not None:
                counts[outcome.value] += 1
                ran += 1
        if len(ids) < 500 or ran == 0:
            return counts
