"""Root fields for notes, tasks, call logs, scheduled events and custom fields."""

from typing import Any

import strawberry
from strawberry.types import Info

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.custom_fields import service as custom_fields
from ispcore.domain.notes import service
from ispcore.domain.notes.models import Note as NoteModel
from ispcore.domain.notes.models import Task as TaskModel
from ispcore.domain.scheduling import service as scheduling
from ispcore.resolvers.commands import command, payload_type, pk, values_of
from ispcore.resolvers.connections import list_nodes
from ispcore.schema import custom_fields as cf
from ispcore.schema import records as s
from ispcore.schema.accounts import Account, AccountStatus, Contact, IdInput
from ispcore.schema.addresses import ServiceableAddress
from ispcore.schema.companies import Company
from ispcore.schema.custom_fields import CustomField
from ispcore.schema.identity import User
from ispcore.schema.nodes import Connection, global_id
from ispcore.schema.permissions import requires
from ispcore.schema.records import CallLog, Note, ScheduledEvent, Task

SUBJECT_IDS = {"account_id": Account, "serviceable_address_id": ServiceableAddress,
               "assignee_user_id": User, "contact_id": Contact}


def _crud(name: str, node: Any, create: Any, update: Any, delete: Any, *, permission: str,
          create_input: Any, update_input: Any, nullable: tuple[str, ...] = ()) -> tuple:
    """create/update/delete commands for an entity whose service takes plain values."""
    field = name[0].lower() + name[1:]
    field = "".join("_" + c.lower() if c.isupper() else c for c in field)

    async def run_create(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        return {field: await create(uow, values_of(data, {**SUBJECT_IDS,
                                                          "company_id": Company}))}

    async def run_update(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        values = values_of(data, SUBJECT_IDS, update=True, nullable=nullable)
        return {field: await update(uow, pk(data.id, node), values)}

    async def run_delete(uow: UnitOfWork, data: Any) -> dict[str, Any]:
        return {"deleted_id": global_id(await delete(uow, pk(data.id, node)))}

    return (
        command(run_create, input_type=create_input, permission=permission,
                payload=payload_type(f"Create{name}", field, node),
                description=f"Create a {field.replace('_', ' ')}."),
        command(run_update, input_type=update_input, permission=permission,
                payload=payload_type(f"Update{name}", field, node),
                description=f"Change a {field.replace('_', ' ')}; omitted fields stay."),
        command(run_delete, input_type=IdInput, permission=permission,
                payload=payload_type(f"Delete{name}", "deleted_id", node),
                description=f"Delete a {field.replace('_', ' ')}."),
    )


async def _complete_task(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"task": await service.complete_task(uow, pk(data.id, Task), data.completed)}


async def _schedule(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    status_id = (pk(data.account_status_id, AccountStatus, "account_status_id")
                 if data.account_status_id is not None else None)
    event = await scheduling.schedule(
        uow, pk(data.account_id, Account, "account_id"), data.action, data.run_on,
        {"reason": data.reason, "account_status_id": status_id})
    return {"scheduled_event": event}


async def _cancel(uow: UnitOfWork, data: Any) -> dict[str, Any]:
    return {"scheduled_event": await scheduling.cancel(uow, pk(data.id, ScheduledEvent))}


@strawberry.type
class RecordQuery:
    @strawberry.field(extensions=requires("notes:read"))
    async def notes(self, info: Info, first: int | None = None, after: str | None = None,
                    filter: s.NOTE_LISTING.filter | None = None,
                    order_by: list[s.NOTE_LISTING.order] | None = None) -> Connection[Note]:
        return await list_nodes(info, Note, s.NOTE_LISTING, first=first, after=after,
                                filter=filter, order_by=order_by, search=(NoteModel.body,))

    @strawberry.field(extensions=requires("notes:read"))
    async def tasks(self, info: Info, first: int | None = None, after: str | None = None,
                    filter: s.TASK_LISTING.filter | None = None,
                    order_by: list[s.TASK_LISTING.order] | None = None) -> Connection[Task]:
        return await list_nodes(info, Task, s.TASK_LISTING, first=first, after=after,
                                filter=filter, order_by=order_by,
                                search=(TaskModel.title, TaskModel.description))

    @strawberry.field(extensions=requires("notes:read"))
    async def call_logs(self, info: Info, first: int | None = None, after: str | None = None,
                        filter: s.CALL_LOG_LISTING.filter | None = None,
                        order_by: list[s.CALL_LOG_LISTING.order] | None = None
                        ) -> Connection[CallLog]:
        return await list_nodes(info, CallLog, s.CALL_LOG_LISTING, first=first, after=after,
                                filter=filter, order_by=order_by,
                                search=(CallLog.model.notes,))

    @strawberry.field(extensions=requires("scheduled_events:read"))
    async def scheduled_events(self, info: Info, first: int | None = None,
                               after: str | None = None,
                               filter: s.SCHEDULED_EVENT_LISTING.filter | None = None,
                               order_by: list[s.SCHEDULED_EVENT_LISTING.order] | None = None
                               ) -> Connection[ScheduledEvent]:
        return await list_nodes(info, ScheduledEvent, s.SCHEDULED_EVENT_LISTING, first=first,
                                after=after, filter=filter, order_by=order_by,
                                search=(ScheduledEvent.model.action,))

    @strawberry.field(extensions=requires("accounts:read"))
    async def custom_fields(self, info: Info, first: int | None = None,
                            after: str | None = None,
                            filter: cf.CUSTOM_FIELD_LISTING.filter | None = None,
                            order_by: list[cf.CUSTOM_FIELD_LISTING.order] | None = None
                            ) -> Connection[CustomField]:
        return await list_nodes(info, CustomField, cf.CUSTOM_FIELD_LISTING, first=first,
                                after=after, filter=filter, order_by=order_by,
                                search=(CustomField.model.name,))


_notes = _crud("Note", Note, service.create_note, service.update_note, service.delete_note,
               permission="notes:write", create_input=s.CreateNoteInput,
               update_input=s.UpdateNoteInput)
_tasks = _crud("Task", Task, service.create_task, service.update_task, service.delete_task,
               permission="notes:write", create_input=s.CreateTaskInput,
               update_input=s.UpdateTaskInput, nullable=("assignee_user_id", "due_at"))
_calls = _crud("CallLog", CallLog, service.create_call_log, service.update_call_log,
               service.delete_call_log, permission="notes:write",
               create_input=s.CreateCallLogInput, update_input=s.UpdateCallLogInput,
               nullable=("contact_id",))
_fields = _crud("CustomField", CustomField, custom_fields.create_custom_field,
                custom_fields.update_custom_field, custom_fields.delete_custom_field,
                permission="accounts:configure", create_input=cf.CreateCustomFieldInput,
                update_input=cf.UpdateCustomFieldInput)


@strawberry.type
class RecordMutation:
    create_note, update_note, delete_note = _notes
    create_task, update_task, delete_task = _tasks
    create_call_log, update_call_log, delete_call_log = _calls
    create_custom_field, update_custom_field, delete_custom_field = _fields
    complete_task = command(
        _complete_task, input_type=s.CompleteTaskInput, permission="notes:write",
        payload=payload_type("CompleteTask", "task", Task),
        description="Mark a task done, or (completed: false) open again.")
    schedule_account_event = command(
        _schedule, input_type=s.ScheduleAccountEventInput, permission="scheduled_events:write",
        payload=payload_type("ScheduleAccountEvent", "scheduled_event", ScheduledEvent),
        description="Schedule a status change or disconnection for a day.")
    cancel_scheduled_event = command(
        _cancel, input_type=IdInput, permission="scheduled_events:write",
        payload=payload_type("CancelScheduledEvent", "scheduled_event", ScheduledEvent),
        description="Cancel a pending scheduled event.")
