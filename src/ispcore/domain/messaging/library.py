"""Message categories, templates and saved messages: named rows of a company, created, changed
and deleted by the catalogue's rules (:mod:`ispcore.domain.billing.catalogue`: unique names,
events, audit, refusal while in use). Templates and saved messages are checked as templates
(:mod:`ispcore.domain.messaging.templates`) when saved."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ispcore.domain.billing.catalogue import Kind, create, remove, update
from ispcore.domain.common.errors import Validator
from ispcore.domain.common.records import (
    check_owned,
    ensure_unused,
    required_text,
)
from ispcore.domain.common.unit_of_work import UnitOfWork
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

CONTENT = ("subject", "body_text", "body_html")
__all__ = ["CATEGORY", "SAVED_MESSAGE", "TEMPLATE", "create", "remove", "update"]


def _merged(values: dict[str, Any], row: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """The fields as they will be: the row's, overridden by ``values``."""
    return {k: values[k] if k in values else getattr(row, k, None) for k in keys}


def _checked(kind: type, check: Callable[..., Awaitable[None]]) -> Any:
    """A catalogue clean function: the name, ``check``'s own rules, the column lengths."""

    async def clean(uow: UnitOfWork, company: Any, values: dict[str, Any], row: Any
                    ) -> dict[str, Any]:
        v = Validator()
        if row is None or "name" in values:
            required_text(v, values, "name", "A name is required.")
        await check(uow, v, company, values, row)
        v.fit_columns(kind, values)
        v.raise_if_any()
        return values

    return clean


async def _clean_category(uow: UnitOfWork, v: Validator, company: Any, values: dict[str, Any],
                          row: Any) -> None:
    if "description" in values:
        values["description"] = (values["description"] or "").strip()


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


CATEGORY = Kind(MessageCategory, "message category", "message_category",
                _checked(MessageCategory, _clean_category),
                used_by=((MessageTrigger, "category_id", "trigger"),))
TEMPLATE = Kind(MessageTemplate, "message template", "message_template",
                _checked(MessageTemplate, _clean_template),
                used_by=((MessageTrigger, "template_id", "trigger"),))
SAVED_MESSAGE = Kind(SavedMessage, "saved message", "saved_message",
                     _checked(SavedMessage, _clean_saved),
                     used_by=((MassMessage, "saved_message_id", "mass message"),))
