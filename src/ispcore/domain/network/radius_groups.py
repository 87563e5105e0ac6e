"""RADIUS groups: named sets of reply attributes (speeds, address lists, pools) that
credentials answer with. Values may hold placeholders filled from each member's service."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import delete, or_, select

from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import company_of, ensure_unused, load, required_text
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.network import templates
from ispcore.domain.network.models import (
    NetworkSettings,
    RadiusCredential,
    RadiusGroup,
    RadiusGroupAttribute,
)
from ispcore.domain.usage.models import UsagePolicy
from ispcore.network.radius import codec

ATTRIBUTE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,63}$")
#: FreeRADIUS's reply operators: add if absent, replace, always add.
OPERATORS = ("=", ":=", "+=")
MAX_ATTRIBUTES = 50


def _attributes(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if len(items) > MAX_ATTRIBUTES:
        raise DomainError(f"At most {MAX_ATTRIBUTES} attributes.", field="attributes")
    rows = []
    for position, item in enumerate(items):
        field = f"attributes.{position}"
        name = (item.get("attribute") or "").strip()
        if not ATTRIBUTE_NAME.match(name):
            raise DomainError(f"{name!r} is not an attribute name.", field=f"{field}.attribute")
        op = item.get("op") or "="
        if op not in OPERATORS:
            raise DomainError("The operator is =, := or +=.", field=f"{field}.op")
        value = item.get("value") or ""
        if not value or len(value.encode()) > 253:
            raise DomainError("A value is 1 to 253 bytes.", field=f"{field}.value")
        templated = bool(templates.placeholders_in(value, f"{field}.value"))
        if not codec.known(name):
            raise DomainError(f"{name} is not in the RADIUS dictionary.",
                              field=f"{field}.attribute")
        if not templated and not codec.encodes(name, value):
            raise DomainError(f"{value!r} is not a valid {name}.", field=f"{field}.value")
        rows.append({"position": position, "attribute": name, "op": op, "value": value,
                     "templated": templated})
    return rows


async def _set_attributes(uow: UnitOfWork, group: RadiusGroup, rows: list[dict[str, Any]]
                          ) -> None:
    await uow.session.execute(delete(RadiusGroupAttribute)
                              .where(RadiusGroupAttribute.group_id == group.id))
    uow.session.add_all(RadiusGroupAttribute(group_id=group.id, **row) for row in rows)
    await uow.session.flush()


async def create_group(uow: UnitOfWork, values: dict[str, Any]) -> RadiusGroup:
    await company_of(uow, values["company_id"])
    v = Validator()
    required_text(v, values, "name", "Name the group.")
    v.raise_if_any()
    rows = _attributes(values.pop("attributes", None) or [])
    now = uow.clock.now()
    group = RadiusGroup(company_id=values["company_id"], name=values["name"],
                        description=(values.get("description") or "").strip(),
                        created_at=now, updated_at=now)
    await ensure_name_free(uow.session, RadiusGroup, group.name, what="RADIUS group",
                           company_id=group.company_id)
    uow.session.add(group)
    await uow.session.flush()
    await _set_attributes(uow, group, rows)
    record_event(uow, "radius_group.created", company_id=group.company_id, entity=group,
                 payload={"name": group.name})
    return group


async def update_group(uow: UnitOfWork, pk: int, values: dict[str, Any]) -> RadiusGroup:
    group = await load(uow, RadiusGroup, pk, field="id", what="RADIUS group")
    v = Validator()
    required_text(v, values, "name", "Name the group.")
    v.raise_if_any()
    if "name" in values:
        await ensure_name_free(uow.session, RadiusGroup, values["name"], what="RADIUS group",
                               company_id=group.company_id, exclude_id=pk)
        group.name = values["name"]
    if "description" in values:
        group.description = (values["description"] or "").strip()
    if "attributes" in values:
        await _set_attributes(uow, group, _attributes(values["attributes"] or []))
    group.updated_at = uow.clock.now()
    await uow.session.flush()
    from ispcore.domain.network import compile

    if "attributes" in values:
        await compile.compile_group(uow, group.id)
    record_event(uow, "radius_group.updated", company_id=group.company_id, entity=group,
                 payload={"changed": sorted(values)})
    return group


async def delete_group(uow: UnitOfWork, pk: int) -> RadiusGroup:
    group = await load(uow, RadiusGroup, pk, field="id", what="RADIUS group")
    await ensure_unused(uow, pk, ((RadiusCredential, "radius_group_id", "RADIUS credential"),
                                  (UsagePolicy, "throttle_radius_group_id",
                                   "usage policy (as its throttle group)")),
                        what="RADIUS group")
    in_settings = await uow.session.scalar(select(NetworkSettings.id).where(or_(
        NetworkSettings.default_radius_group_id == pk,
        NetworkSettings.delinquent_radius_group_id == pk,
        NetworkSettings.suspended_radius_group_id == pk)))
    if in_settings:
        raise DomainError("The network settings use this group; choose another there first.",
                          field="id", code=ErrorCode.IN_USE)
    await uow.session.delete(group)
    await uow.session.flush()
    record_event(uow, "radius_group.deleted", company_id=group.company_id, entity=group,
                 payload={"name": group.name})
    return group


async def attributes_of(uow: UnitOfWork, group_ids: set[int]
                        ) -> dict[int, list[RadiusGroupAttribute]]:
    out: dict[int, list[RadiusGroupAttribute]] = {pk: [] for pk in group_ids}
    if group_ids:
        rows = await uow.session.scalars(
            select(RadiusGroupAttribute).where(RadiusGroupAttribute.group_id.in_(group_ids))
            .order_by(RadiusGroupAttribute.group_id, RadiusGroupAttribute.position))
        for row in rows:
            out[row.group_id].append(row)
    return out
