"""Notes and tasks on an account or a serviceable address, and call logs on accounts."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import nh3

from ispcore.domain.accounts.models import Account, Contact
from ispcore.domain.addresses.models import ServiceableAddress
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.records import load, required_text
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.identity.models import User
from ispcore.domain.notes.models import CallLog, Note, Task

MAX_BODY = 100_000


class Priority(StrEnum):
    LOW = "LOW"
    NORMAL = "NORMAL"
    HIGH = "HIGH"
    URGENT = "URGENT"


class Direction(StrEnum):
    INBOUND = "INBOUND"
    OUTBOUND = "OUTBOUND"


def rich_text(v: Validator, field: str, html: str | None, *, required: bool) -> str:
    """The rich text editor's HTML with scripts, handlers and unknown tags removed."""
    if html is not None and len(html) > MAX_BODY:
        v.add(field, f"At most {MAX_BODY} characters.")
        return ""
    cleaned = nh3.clean(html or "").strip()
    pictured = "<img" in cleaned  # a screenshot alone is a note too
    if required and not nh3.clean(cleaned, tags=set()).strip() and not pictured:
        v.add(field, "Write something.", ErrorCode.REQUIRED)
    return cleaned


async def _subject(uow: UnitOfWork, values: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The company and subject columns of a new note or task: exactly one of an account or a
    serviceable address."""
    account_id = values.pop("account_id", None)
    address_id = values.pop("serviceable_address_id", None)
    if account_id is None and address_id is None:
        raise DomainError("Give either an account or a serviceable address.",
                          field="account_id", code=ErrorCode.REQUIRED)
    if account_id is not None and address_id is not None:
        raise DomainError("Give an account or a serviceable address, not both.",
                          field="account_id")
    if account_id is not None:
        account = await load(uow, Account, account_id, field="account_id", what="account")
        return account.company_id, {"account_id": account.id}
    address = await load(uow, ServiceableAddress, address_id, field="serviceable_address_id",
                         what="serviceable address")
    return address.company_id, {"serviceable_address_id": address.id}


def _subject_payload(row: Any) -> dict[str, Any]:
    return {"account_id": row.account_id, "serviceable_address_id": row.serviceable_address_id}


async def _changed(uow: UnitOfWork, row: Any, data: dict[str, Any], event: str) -> Any:
    for key, value in data.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, event, company_id=row.company_id, entity=row,
                 payload={**_subject_payload(row), "changed": sorted(data)})
    return row


async def _deleted(uow: UnitOfWork, row: Any, event: str) -> Any:
    payload = {"id": row.id, **_subject_payload(row)}
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, event, company_id=row.company_id, payload=payload)
    return row


# --- notes -------------------------------------------------------------------------------

def _clean_note(values: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    if "body" in out or creating:
        out["body"] = rich_text(v, "body", out.get("body"), required=True)
    v.raise_if_any()
    return out


async def create_note(uow: UnitOfWork, values: dict[str, Any]) -> Note:
    company_id, subject = await _subject(uow, values)
    data = _clean_note(values, creating=True)
    now = uow.clock.now()
    note = Note(company_id=company_id, **subject, **data, author_user_id=uow.actor.user_id,
                created_at=now, updated_at=now)
    uow.session.add(note)
    await uow.session.flush()
    record_event(uow, "note.created", company_id=company_id, entity=note,
                 payload={**_subject_payload(note), "pinned": note.pinned,
                          "priority": note.priority})
    return note


async def update_note(uow: UnitOfWork, pk: int, changes: dict[str, Any]) -> Note:
    note = await load(uow, Note, pk, field="id", what="note")
    return await _changed(uow, note, _clean_note(changes, creating=False), "note.updated")


async def delete_note(uow: UnitOfWork, pk: int) -> Note:
    return await _deleted(uow, await load(uow, Note, pk, field="id", what="note"),
                          "note.deleted")


# --- tasks -------------------------------------------------------------------------------

async def _clean_task(uow: UnitOfWork, values: dict[str, Any]) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "title", "A task needs a title.")
    if "description" in out:
        out["description"] = rich_text(v, "description", out["description"], required=False)
    v.fit_columns(Task, out)
    v.raise_if_any()
    if out.get("assignee_user_id") is not None:
        user = await load(uow, User, out["assignee_user_id"], field="assignee_user_id",
                          what="user")
        if not user.active:
            raise DomainError("That user is deactivated.", field="assignee_user_id")
    return out


async def create_task(uow: UnitOfWork, values: dict[str, Any]) -> Task:
    company_id, subject = await _subject(uow, values)
    data = await _clean_task(uow, values)
    now = uow.clock.now()
    task = Task(company_id=company_id, **subject, **{"description": "", **data},
                created_by_user_id=uow.actor.user_id, created_at=now, updated_at=now)
    uow.session.add(task)
    await uow.session.flush()
    record_event(uow, "task.created", company_id=company_id, entity=task,
                 payload={**_subject_payload(task), "title": task.title,
                          "assignee_user_id": task.assignee_user_id,
                          "due_at": task.due_at.isoformat() if task.due_at else None})
    return task


async def update_task(uow: UnitOfWork, pk: int, changes: dict[str, Any]) -> Task:
    task = await load(uow, Task, pk, field="id", what="task")
    return await _changed(uow, task, await _clean_task(uow, changes), "task.updated")


async def complete_task(uow: UnitOfWork, pk: int, completed: bool) -> Task:
    """Mark a task done (or not done again); completing twice is refused."""
    task = await load(uow, Task, pk, field="id", what="task")
    if completed == (task.completed_at is not None):
        raise DomainError("The task is already " + ("completed." if completed else "open."),
                          field="id")
    data = ({"completed_at": uow.clock.now(), "completed_by_user_id": uow.actor.user_id}
            if completed else {"completed_at": None, "completed_by_user_id": None})
    return await _changed(uow, task, data, "task.completed" if completed else "task.reopened")


async def delete_task(uow: UnitOfWork, pk: int) -> Task:
    return await _deleted(uow, await load(uow, Task, pk, field="id", what="task"),
                          "task.deleted")


# --- call logs ---------------------------------------------------------------------------

async def _clean_call(uow: UnitOfWork, account: Account, values: dict[str, Any]
                      ) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    if out.get("duration_seconds") is not None and not 0 <= out["duration_seconds"] <= 86_400:
        v.add("duration_seconds", "A call lasts between 0 seconds and a day.")
    if "notes" in out:
        out["notes"] = rich_text(v, "notes", out["notes"], required=False)
    if out.get("occurred_at") is not None and out["occurred_at"] > uow.clock.now():
        v.add("occurred_at", "A call log records a call that happened, not a future one.")
    v.raise_if_any()
    if out.get("contact_id") is not None:
        contact = await load(uow, Contact, out["contact_id"], field="contact_id",
                             what="contact")
        if contact.account_id != account.id:
            raise DomainError("That contact is on another account.", field="contact_id")
    return out


async def create_call_log(uow: UnitOfWork, values: dict[str, Any]) -> CallLog:
    account = await load(uow, Account, values.pop("account_id"), field="account_id",
                         what="account")
    data = await _clean_call(uow, account, values)
    now = uow.clock.now()
    call = CallLog(company_id=account.company_id, account_id=account.id,
                   **{"occurred_at": now, "duration_seconds": 0, "notes": "", **data},
                   user_id=uow.actor.user_id, created_at=now, updated_at=now)
    uow.session.add(call)
    await uow.session.flush()
    record_event(uow, "call_log.created", company_id=account.company_id, entity=call,
                 payload={"account_id": account.id, "direction": call.direction,
                          "contact_id": call.contact_id,
                          "duration_seconds": call.duration_seconds})
    return call


async def update_call_log(uow: UnitOfWork, pk: int, changes: dict[str, Any]) -> CallLog:
    call = await load(uow, CallLog, pk, field="id", what="call log")
    account = await uow.session.get_one(Account, call.account_id)
    data = await _clean_call(uow, account, changes)
    for key, value in data.items():
        setattr(call, key, value)
    call.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "call_log.updated", company_id=call.company_id, entity=call,
                 payload={"account_id": call.account_id, "changed": sorted(data)})
    return call


async def delete_call_log(uow: UnitOfWork, pk: int) -> CallLog:
    call = await load(uow, CallLog, pk, field="id", what="call log")
    await uow.session.delete(call)
    await uow.session.flush()
    record_event(uow, "call_log.deleted", company_id=call.company_id,
                 payload={"id": pk, "account_id": call.account_id})
    return call
