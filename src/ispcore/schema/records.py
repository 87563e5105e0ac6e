"""Notes, tasks, call logs and scheduled events: the running record kept on accounts."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry import UNSET, relay
from strawberry.scalars import JSON

from ispcore.domain.notes import models as m
from ispcore.domain.notes.service import Direction as DomainDirection
from ispcore.domain.notes.service import Priority as DomainPriority
from ispcore.domain.scheduling.models import ScheduledEvent as ScheduledEventModel
from ispcore.domain.scheduling.service import Status as DomainScheduledStatus
from ispcore.schema.accounts import Account, Contact
from ispcore.schema.addresses import ServiceableAddress
from ispcore.schema.filtering import (
    BooleanFilter,
    DateFilter,
    DateTimeFilter,
    IdOf,
    StringFilter,
    listing_inputs,
)
from ispcore.schema.identity import User
from ispcore.schema.nodes import ModelNode, model_node
from ispcore.schema.relations import One, relation

Priority = strawberry.enum(DomainPriority, name="NotePriority")
Direction = strawberry.enum(DomainDirection, name="CallDirection")
ScheduledEventStatus = strawberry.enum(DomainScheduledStatus, name="ScheduledEventStatus")


SUBJECT_ACCOUNT = One("Account", "account_id")
SUBJECT_ADDRESS = One("ServiceableAddress", "serviceable_address_id")


@strawberry.type(description="A note on an account or address (sanitised rich text).")
@model_node(m.Note, read_permission="notes:read")
class Note(ModelNode):
    body: str = strawberry.field(description="HTML; scripts and unknown markup removed.")
    pinned: bool
    priority: Priority
    created_at: datetime
    updated_at: datetime
    account_id: strawberry.Private[int | None]
    serviceable_address_id: strawberry.Private[int | None]
    author_user_id: strawberry.Private[int | None]
    account: Account | None = relation(SUBJECT_ACCOUNT, description="The subject, if an account.")
    serviceable_address: ServiceableAddress | None = relation(
        SUBJECT_ADDRESS, description="The subject, if an address.")

    author: User | None = relation(One("User", "author_user_id"))


@strawberry.type(description="Something to do about an account or address.")
@model_node(m.Task, read_permission="notes:read")
class Task(ModelNode):
    title: str
    description: str
    due_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    account_id: strawberry.Private[int | None]
    serviceable_address_id: strawberry.Private[int | None]
    assignee_user_id: strawberry.Private[int | None]
    completed_by_user_id: strawberry.Private[int | None]
    created_by_user_id: strawberry.Private[int | None]
    account: Account | None = relation(SUBJECT_ACCOUNT, description="The subject, if an account.")
    serviceable_address: ServiceableAddress | None = relation(
        SUBJECT_ADDRESS, description="The subject, if an address.")

    @strawberry.field
    def completed(self) -> bool:
        return self.completed_at is not None

    assignee: User | None = relation(One("User", "assignee_user_id"))
    completed_by: User | None = relation(One("User", "completed_by_user_id"))


@strawberry.type(description="A phone call with a customer.")
@model_node(m.CallLog, read_permission="notes:read")
class CallLog(ModelNode):
    direction: Direction
    occurred_at: datetime
    duration_seconds: int
    notes: str
    created_at: datetime
    updated_at: datetime
    account_id: strawberry.Private[int]
    contact_id: strawberry.Private[int | None]
    user_id: strawberry.Private[int | None]

    account: Account | None = relation(One("Account", "account_id"))
    contact: Contact | None = relation(One("Contact", "contact_id"))
    user: User | None = relation(One("User", "user_id"),
                                 description="The staff member who logged it.")


@strawberry.type(description="An action on an account on a day in the company's time zone, "
                 "run once by a job.")
@model_node(ScheduledEventModel, read_permission="scheduled_events:read")
class ScheduledEvent(ModelNode):
    action: str = strawberry.field(description="CHANGE_STATUS or DISCONNECT (billing adds "
                                   "service actions).")
    run_on: date
    due_at: datetime = strawberry.field(description="The first instant of runOn locally.")
    parameters: JSON
    status: ScheduledEventStatus
    outcome: str | None = strawberry.field(description="What happened, or why it failed.")
    executed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    account_id: strawberry.Private[int]
    created_by_user_id: strawberry.Private[int | None]

    account: Account | None = relation(One("Account", "account_id"))
    created_by: User | None = relation(One("User", "created_by_user_id"))


_SUBJECT = {"account_id": IdOf("Account"), "serviceable_address_id": IdOf("ServiceableAddress"),
            "company_id": IdOf("Company")}
NOTE_LISTING = listing_inputs(
    "Note", {**_SUBJECT, "pinned": BooleanFilter, "priority": StringFilter,
             "body": StringFilter, "author_user_id": IdOf("User"),
             "created_at": DateTimeFilter}, order_by=["created_at"])
TASK_LISTING = listing_inputs(
    "Task", {**_SUBJECT, "title": StringFilter, "assignee_user_id": IdOf("User"),
             "due_at": DateTimeFilter, "completed_at": DateTimeFilter,
             "created_at": DateTimeFilter}, order_by=["created_at"])
CALL_LOG_LISTING = listing_inputs(
    "CallLog", {"account_id": IdOf("Account"), "company_id": IdOf("Company"),
                "contact_id": IdOf("Contact"), "direction": StringFilter,
                "user_id": IdOf("User"), "occurred_at": DateTimeFilter},
    order_by=["occurred_at"])
SCHEDULED_EVENT_LISTING = listing_inputs(
    "ScheduledEvent", {"account_id": IdOf("Account"), "company_id": IdOf("Company"),
                       "action": StringFilter, "status": StringFilter, "run_on": DateFilter},
    order_by=["run_on", "due_at"])


@strawberry.input(description="About exactly one of an account or a serviceable address.")
class CreateNoteInput:
    body: str = strawberry.field(description="HTML from a rich text editor.")
    account_id: relay.GlobalID | None = None
    serviceable_address_id: relay.GlobalID | None = None
    pinned: bool | None = UNSET
    priority: Priority | None = UNSET


@strawberry.input
class UpdateNoteInput:
    id: relay.GlobalID
    body: str | None = UNSET
    pinned: bool | None = UNSET
    priority: Priority | None = UNSET


@strawberry.input(description="About exactly one of an account or a serviceable address.")
class CreateTaskInput:
    title: str
    account_id: relay.GlobalID | None = None
    serviceable_address_id: relay.GlobalID | None = None
    description: str | None = UNSET
    assignee_user_id: relay.GlobalID | None = UNSET
    due_at: datetime | None = UNSET


@strawberry.input
class UpdateTaskInput:
    id: relay.GlobalID
    title: str | None = UNSET
    description: str | None = UNSET
    assignee_user_id: relay.GlobalID | None = UNSET
    due_at: datetime | None = UNSET


@strawberry.input
class CompleteTaskInput:
    id: relay.GlobalID
    completed: bool = strawberry.field(default=True, description="false reopens the task.")


@strawberry.input
class CreateCallLogInput:
    account_id: relay.GlobalID
    direction: Direction
    contact_id: relay.GlobalID | None = UNSET
    occurred_at: datetime | None = strawberry.field(default=UNSET, description="Now if omitted.")
    duration_seconds: int | None = UNSET
    notes: str | None = UNSET


@strawberry.input
class UpdateCallLogInput:
    id: relay.GlobalID
    direction: Direction | None = UNSET
    contact_id: relay.GlobalID | None = UNSET
    occurred_at: datetime | None = UNSET
    duration_seconds: int | None = UNSET
    notes: str | None = UNSET


@strawberry.input(description="An action on an account on a day (today or later, in the "
                  "company's time zone).")
class ScheduleAccountEventInput:
    account_id: relay.GlobalID
    action: str = strawberry.field(description="CHANGE_STATUS or DISCONNECT.")
    run_on: date
    reason: str
    account_status_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The status to change to (CHANGE_STATUS), or the inactive "
        "status to disconnect to (DISCONNECT, default: the company's).")
