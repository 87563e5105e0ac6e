"""Message categories, templates and saved messages: named rows of a company, created, changed
and deleted with the same checks, events and audit. Templates and saved messages are checked
as templates (:mod:`ispcore.domain.messaging.templates`) when saved."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ispcore.domain.common.errors import Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import (
    check_owned,
    company_of,
    ensure_unused,
    load,
    optional_text,
    required_text,
    snapshot,
)
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.messaging import templates
from ispcore.domain.messaging.content_models import (
    MassMessage,
    MessageCategory,
    MessageTemplate,
    MessageTrigger,
    SavedMessage,
)
from ispcore.domain.messaging.models import Channel
from ispcore.domain.messaging.variables import EventType

Clean = Callable[[UnitOfWork, Validator, Any, dict[str, Any], Any], Awaitable[None]]
CONTENT = ("subject", "body_text", "body_html")


@dataclass(frozen=True)
class Kind:
    model: type
    what: str
    event_prefix: str
    clean: Clean
    used_by: tuple[tuple[Any, str, str], ...] = ()


def _merged(values: dict[str, Any], row: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """The fields as they will be: the row's, overridden by ``values``."""
    return {k: values[k] if k in values else getattr(row, k, None) for k in keys}


async def _clean_category(uow: UnitOfWork, v: Validator, company: Any, values: dict[str, Any],
                          row: Any) -> None:
    optional_text(values, "description")


async def _clean_template(uow: UnitOfWork, v: Validator, company: Any, values: dict[str, Any],
                          row: Any) -> None:
    if values.get("event_type") is not None:
        values["event_type"] = EventType(values["event_type"]).value
    if row is not None and "event_type" in values and values["event_type"] != row.event_type:
        await ensure_unused(uow, row.id, ((MessageTrigger, "template_id", "trigger"),),
                            what="template", instead=" Make another template instead.")
    merged = _merged(values, row, (*CONTENT, "event_type"))
    templates.check_content(v, merged, merged["event_type"])


async def _clean_saved(uow: UnitOfWork, v: Validator, company: Any, values: dict[str, Any],
                       row: Any) -> None:
    await check_owned(uow, v, values, "category_id", MessageCategory, what="message category",
                      company_id=company.id)
    merged = _merged(values, row, (*CONTENT, "channel"))
    templates.check_content(v, merged, None, sms=merged["channel"] == Channel.SMS)


CATEGORY = Kind(MessageCategory, "message category", "message_category", _clean_category,
                used_by=((MessageTrigger, "category_id", "trigger"),))
TEMPLATE = Kind(MessageTemplate, "message template", "message_template", _clean_template,
                used_by=((MessageTrigger, "template_id", "trigger"),))
SAVED_MESSAGE = Kind(SavedMessage, "saved message", "saved_message", _clean_saved,
                     used_by=((MassMessage, "saved_message_id", "mass message"),))


async def _clean(uow: UnitOfWork, kind: Kind, company: Any, values: dict[str, Any],
                 row: Any) -> dict[str, Any]:
    v = Validator()
    if row is None or "name" in values:
        required_text(v, values, "name", f"A {kind.what} needs a name.")
    await kind.clean(uow, v, company, values, row)
    v.fit_columns(kind.model, values)
    v.raise_if_any()
    if "name" in values:
        await ensure_name_free(uow.session, kind.model, values["name"], what=kind.what,
                               company_id=company.id, exclude_id=getattr(row, "id", None))
    return values


async def create(uow: UnitOfWork, kind: Kind, values: dict[str, Any]) -> Any:
    company = await company_of(uow, values.pop("company_id"))
    data = await _clean(uow, kind, company, values, None)
    now = uow.clock.now()
    row = kind.model(company_id=company.id, **data, created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    record_event(uow, f"{kind.event_prefix}.created", company_id=company.id, entity=row,
                 payload=snapshot(row, ("name",)))
    return row


async def update(uow: UnitOfWork, kind: Kind, pk: int, values: dict[str, Any]) -> Any:
    row = await load(uow, kind.model, pk, field="id", what=kind.what)
    company = await company_of(uow, row.company_id)
    data = await _clean(uow, kind, company, values, row)
    for key, value in data.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, f"{kind.event_prefix}.updated", company_id=row.company_id, entity=row,
                 payload={"changed": sorted(data)})
    return row


async def remove(uow: UnitOfWork, kind: Kind, pk: int) -> Any:
    row = await load(uow, kind.model, pk, field="id", what=kind.what)
    await ensure_unused(uow, row.id, kind.used_by, what=kind.what)
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, f"{kind.event_prefix}.deleted", company_id=row.company_id,
                 payload={"id": pk, "name": row.name})
    return row


