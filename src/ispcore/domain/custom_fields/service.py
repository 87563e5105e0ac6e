"""Custom field definitions, and validating and storing their values on entities."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, func, select

from ispcore.domain.common.errors import DomainError, Duplicate, ErrorCode, InUse, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import company_of, load, required_text, snapshot
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.custom_fields.models import CustomField, CustomFieldValue
from ispcore.domain.events.service import record_event


class EntityType(StrEnum):
    ACCOUNT = "ACCOUNT"
    CONTACT = "CONTACT"
    SERVICEABLE_ADDRESS = "SERVICEABLE_ADDRESS"


class DataType(StrEnum):
    TEXT = "TEXT"
    NUMBER = "NUMBER"
    DATE = "DATE"
    BOOLEAN = "BOOLEAN"
    SELECT = "SELECT"


FIELDS = ("name", "entity_type", "data_type", "options", "required", "unique")
MAX_TEXT = 1000
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- definitions -----------------------------------------------------------------------

def _clean_definition(values: dict[str, Any], data_type: str) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "name", "A custom field needs a name.")
    if "options" in out:
        options = [o.strip() for o in out["options"] or []]
        if any(not o for o in options):
            v.add("options", "Options cannot be blank.")
        elif len({o.casefold() for o in options}) != len(options):
            v.add("options", "Options must differ from each other.")
        elif any(len(o) > 200 for o in options):
            v.add("options", "Options have at most 200 characters.")
        out["options"] = options
    if data_type == DataType.SELECT and not out.get("options", values.get("_current_options")):
        v.add("options", "A SELECT field needs at least one option.", ErrorCode.REQUIRED)
    if data_type != DataType.SELECT and out.get("options"):
        v.add("options", "Only SELECT fields have options.")
    if data_type == DataType.BOOLEAN and out.get("unique"):
        v.add("unique", "A true/false field cannot be unique.")
    out.pop("_current_options", None)
    v.fit_columns(CustomField, out)
    v.raise_if_any()
    return out


async def create_custom_field(uow: UnitOfWork, values: dict[str, Any]) -> CustomField:
    company = await company_of(uow, values.pop("company_id"))
    data = _clean_definition(values, values["data_type"])
    await _ensure_name_free(uow, company.id, data["entity_type"], data["name"])
    now = uow.clock.now()
    field = CustomField(company_id=company.id, **{"options": [], **data}, created_at=now,
                        updated_at=now)
    uow.session.add(field)
    await uow.session.flush()
    record_event(uow, "custom_field.created", company_id=company.id, entity=field,
                 payload=snapshot(field, FIELDS))
    return field


async def update_custom_field(uow: UnitOfWork, pk: int, changes: dict[str, Any]
                              ) -> CustomField:
    """Name, options, required and unique may change; the type and entity may not (values
    would stop meaning what they meant). Removing an option still in use is refused, as is
    making a field unique while two entities share a value."""
    field = await load(uow, CustomField, pk, field="id", what="custom field")
    data = _clean_definition({**changes, "_current_options": field.options}, field.data_type)
    if "name" in data:
        await _ensure_name_free(uow, field.company_id, field.entity_type, data["name"],
                                exclude_id=field.id)
    if "options" in data:
        removed = set(field.options) - set(data["options"])
        used = await uow.session.scalar(select(func.count()).where(
            CustomFieldValue.custom_field_id == field.id,
            CustomFieldValue.text_value.in_(removed))) if removed else 0
        if used:
            raise InUse(f"{used} value(s) still use the options being removed.",
                        field="options")
    if data.get("unique") and not field.unique:
        await _ensure_values_distinct(uow, field)
    for key, value in data.items():
        setattr(field, key, value)
    field.updated_at = uow.clock.now()
    await uow.session.flush()
    if "unique" in data:
        await _refresh_unique_keys(uow, field)
    record_event(uow, "custom_field.updated", company_id=field.company_id, entity=field,
                 payload={"changed": sorted(data)})
    return field


async def delete_custom_field(uow: UnitOfWork, pk: int) -> CustomField:
    """Deletes the definition and every value of it."""
    field = await load(uow, CustomField, pk, field="id", what="custom field")
    await uow.session.execute(delete(CustomFieldValue).where(
        CustomFieldValue.custom_field_id == field.id))
    await uow.session.delete(field)
    await uow.session.flush()
    record_event(uow, "custom_field.deleted", company_id=field.company_id,
                 payload={"id": pk, "name": field.name})
    return field


async def _ensure_name_free(uow: UnitOfWork, company_id: int, entity_type: str, name: str,
                            exclude_id: int | None = None) -> None:
    await ensure_name_free(uow.session, CustomField, name, exclude_id=exclude_id,
                           what=f"{entity_type.lower()} custom field", company_id=company_id,
                           entity_type=entity_type)


async def _ensure_values_distinct(uow: UnitOfWork, field: CustomField) -> None:
    rows = await uow.session.scalars(select(CustomFieldValue).where(
        CustomFieldValue.custom_field_id == field.id))
    seen: set[str] = set()
    for row in rows:
        key = _canonical(field.data_type, _stored(row))
        if key in seen:
            raise DomainError(f"Two entities share the value {key!r}; make them differ "
                              "before making the field unique.", field="unique")
        seen.add(key)


async def _refresh_unique_keys(uow: UnitOfWork, field: CustomField) -> None:
    rows = await uow.session.scalars(select(CustomFieldValue).where(
        CustomFieldValue.custom_field_id == field.id))
    for row in rows:
        row.unique_key = _canonical(field.data_type, _stored(row)) if field.unique else None
    await uow.session.flush()


# --- values --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValueInput:
    custom_field_id: int
    value: Any


def _parse(field: CustomField, raw: Any) -> Any:
    """The typed value of ``raw`` (JSON as sent) for ``field``, or a ``ValueError``."""
    kind = field.data_type
    if kind == DataType.TEXT:
        if not isinstance(raw, str) or not raw.strip():
            raise ValueError("expects non-blank text")
        if len(raw) > MAX_TEXT:
            raise ValueError(f"takes at most {MAX_TEXT} characters")
        return raw.strip()
    if kind == DataType.NUMBER:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise ValueError("expects a number")
        try:
            number = float(raw)  # a huge integer overflows
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise ValueError("expects a finite number")
        return number
    if kind == DataType.DATE:
        if isinstance(raw, str) and ISO_DATE.match(raw):
            try:
                return date.fromisoformat(raw)
            except ValueError:
                pass
        raise ValueError("expects a date written YYYY-MM-DD")
    if kind == DataType.BOOLEAN:
        if not isinstance(raw, bool):
            raise ValueError("expects true or false")
        return raw
    if raw not in field.options:
        raise ValueError(f"expects one of {', '.join(field.options)}")
    return raw


COLUMN = {DataType.TEXT: "text_value", DataType.SELECT: "text_value",
          DataType.NUMBER: "number_value", DataType.DATE: "date_value",
          DataType.BOOLEAN: "boolean_value"}


def _stored(row: CustomFieldValue) -> Any:
    for column in ("text_value", "number_value", "date_value", "boolean_value"):
        value = getattr(row, column)
        if value is not None:
            return value
    return None


def _canonical(data_type: str, value: Any) -> str:
    if data_type == DataType.TEXT:
        return " ".join(str(value).casefold().split())
    if data_type == DataType.NUMBER:
        return repr(float(value))
    return value.isoformat() if isinstance(value, date) else str(value)


def json_value(row: CustomFieldValue) -> Any:
    """A stored value as the API shows it (dates as ISO text, whole numbers as integers)."""
    value = _stored(row)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


async def apply_values(uow: UnitOfWork, entity_type: EntityType, entity_id: int,
                       company_id: int, inputs: list[ValueInput] | None, *,
                       creating: bool) -> None:
    """Validate and store ``inputs`` on one entity, in the caller's transaction.

    A null value removes it. On creation every required field of the entity type must be
    given; later a required value may change but not be removed. Errors name
    ``custom_fields`` and the field, and nothing is written.
    """
    inputs = inputs or []
    v = Validator()
    defined = {f.id: f for f in await uow.session.scalars(select(CustomField).where(
        CustomField.company_id == company_id, CustomField.entity_type == entity_type))}
    given: dict[int, Any] = {}
    for item in inputs:
        field = defined.get(item.custom_field_id)
        if field is None:
            v.add("custom_fields", f"Custom field {item.custom_field_id} is not a "
                  f"{entity_type.lower()} field of this company.", ErrorCode.NOT_FOUND)
            continue
        if field.id in given:
            v.add("custom_fields", f"{field.name!r} is given twice.")
            continue
        if item.value is None:
            given[field.id] = None
            if field.required:
                v.add("custom_fields", f"{field.name!r} is required.", ErrorCode.REQUIRED)
            continue
        try:
            given[field.id] = _parse(field, item.value)
        except ValueError as exc:
            v.add("custom_fields", f"{field.name!r} {exc}; got {item.value!r}.")
    if creating:
        for field in defined.values():
            if field.required and field.id not in given:
                v.add("custom_fields", f"{field.name!r} is required.", ErrorCode.REQUIRED)
    v.raise_if_any()
    existing = {row.custom_field_id: row for row in await uow.session.scalars(
        select(CustomFieldValue).where(CustomFieldValue.entity_type == entity_type,
                                       CustomFieldValue.entity_id == entity_id))}
    for field_id, value in given.items():
        field = defined[field_id]
        row = existing.get(field_id)
        if value is None:
            if row is not None:
                await uow.session.delete(row)
            continue
        unique_key = _canonical(field.data_type, value) if field.unique else None
        if unique_key is not None:
            await _ensure_value_free(uow, field, unique_key, entity_id)
        if row is None:
            row = CustomFieldValue(company_id=company_id, custom_field_id=field_id,
                                   entity_type=entity_type, entity_id=entity_id)
            uow.session.add(row)
        for column in ("text_value", "number_value", "date_value", "boolean_value"):
            setattr(row, column, value if column == COLUMN[DataType(field.data_type)] else None)
        row.unique_key = unique_key
    await uow.session.flush()


async def _ensure_value_free(uow: UnitOfWork, field: CustomField, key: str, entity_id: int
                             ) -> None:
    taken = await uow.session.scalar(select(CustomFieldValue.entity_id).where(
        CustomFieldValue.custom_field_id == field.id, CustomFieldValue.unique_key == key,
        CustomFieldValue.entity_id != entity_id))
    if taken is not None:
        raise Duplicate(f"{field.name!r} must be unique; another "
                        f"{field.entity_type.lower()} already has that value.",
                        field="custom_fields")


async def remove_values(uow: UnitOfWork, entity_type: EntityType, entity_ids: list[int]
                        ) -> None:
    """Forget the values of deleted entities (values name their entity without a foreign
    key, since one table serves every entity type)."""
    if not entity_ids:
        return
    await uow.session.execute(delete(CustomFieldValue).where(
        CustomFieldValue.entity_type == entity_type, CustomFieldValue.entity_id.in_(entity_ids)))
