"""Alerting rotations: who is told about alerts, at which sites, by schedule (see
``on_call.py``), and the webhook endpoint that is told too."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import check_owned, company_of, load, required_text
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.identity.models import User
from ispcore.domain.monitoring.models import AlertingRotation, RotationShift
from ispcore.domain.monitoring.on_call import DAY, Shift
from ispcore.domain.network.models import NetworkSite
from ispcore.domain.webhooks.models import Webhook

MAX_SHIFTS = 200
MAX_LEVEL = 10
#: Escalation waits at least a minute (the job's period) and at most a week.
MAX_ESCALATE_MINUTES = 7 * DAY


def shift_of(row: RotationShift) -> Shift:
    return Shift(user_id=row.user_id, level=row.level, weekdays=frozenset(row.weekdays),
                 start_minute=row.start_minute, end_minute=row.end_minute)


async def _shifts(uow: UnitOfWork, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    v = Validator()
    if len(items) > MAX_SHIFTS:
        raise DomainError(f"At most {MAX_SHIFTS} shifts.", field="shifts")
    rows = []
    for n, item in enumerate(items):
        field = f"shifts.{n}"
        level, start, end = item.get("level", 1), item.get("start_minute", 0), \
            item.get("end_minute", DAY)
        weekdays = item.get("weekdays") or []
        if not 1 <= level <= MAX_LEVEL:
            v.add(f"{field}.level", f"A level is 1 to {MAX_LEVEL}.")
        if not weekdays or any(not 1 <= d <= 7 for d in weekdays):
            v.add(f"{field}.weekdays", "Name one or more ISO weekdays, 1 (Monday) to 7 "
                                       "(Sunday).")
        if not 0 <= start < DAY:
            v.add(f"{field}.start_minute", "A start is a minute of the day, 0 to 1439.")
        if not 0 < end <= DAY:
            v.add(f"{field}.end_minute", "An end is a minute of the day, 1 to 1440 "
                                         "(midnight); before the start it runs past midnight.")
        user = await uow.session.get(User, item.get("user_id"))
        if user is None or not user.active:
            v.add(f"{field}.user_id", "No such active user.", ErrorCode.NOT_FOUND)
        rows.append({"user_id": item.get("user_id"), "level": level,
                     "weekdays": sorted(set(weekdays)), "start_minute": start,
                     "end_minute": end})
    v.raise_if_any()
    return rows


async def _clean(uow: UnitOfWork, company_id: int, values: dict[str, Any], pk: int | None
                 ) -> dict[str, Any]:
    v = Validator()
    required_text(v, values, "name", "Name the rotation.")
    if "description" in values:
        values["description"] = (values["description"] or "").strip()
    v.fit_columns(AlertingRotation, values)
    minutes = values.get("escalate_after_minutes")
    if minutes is not None and not 1 <= minutes <= MAX_ESCALATE_MINUTES:
        v.add("escalate_after_minutes", f"Escalate after 1 to {MAX_ESCALATE_MINUTES} "
                                        "minutes.")
    await check_owned(uow, v, values, "webhook_id", Webhook, what="webhook",
                      company_id=company_id)
    sites = values.get("network_site_ids")
    if sites is not None:
        values["network_site_ids"] = sorted(set(sites))
        for site in values["network_site_ids"]:
            await check_owned(uow, v, {"network_site_ids": site}, "network_site_ids",
                              NetworkSite, what="network site", company_id=company_id)
    v.raise_if_any()
    if values.get("name"):
        await ensure_name_free(uow.session, AlertingRotation, values["name"],
                               what="alerting rotation", company_id=company_id, exclude_id=pk)
    return values


async def _set_shifts(uow: UnitOfWork, rotation: AlertingRotation,
                      rows: list[dict[str, Any]]) -> None:
    await uow.session.execute(delete(RotationShift)
                              .where(RotationShift.rotation_id == rotation.id))
    uow.session.add_all(RotationShift(company_id=rotation.company_id, rotation_id=rotation.id,
                                      **row) for row in rows)
    await uow.session.flush()


async def create_rotation(uow: UnitOfWork, values: dict[str, Any]) -> AlertingRotation:
    company_id = values.pop("company_id")
    await company_of(uow, company_id)
    shifts = values.pop("shifts", None) or []
    values = await _clean(uow, company_id, values, None)
    rows = await _shifts(uow, shifts)
    now = uow.clock.now()
    values = {k: v for k, v in values.items() if v is not None or k == "webhook_id"}
    rotation = AlertingRotation(company_id=company_id, **values, created_at=now,
                                updated_at=now)
    uow.session.add(rotation)
    await uow.session.flush()
    await _set_shifts(uow, rotation, rows)
    record_event(uow, "alerting_rotation.created", company_id=company_id, entity=rotation,
                 payload={"name": rotation.name})
    return rotation


async def update_rotation(uow: UnitOfWork, pk: int, values: dict[str, Any]
                          ) -> AlertingRotation:
    rotation = await load(uow, AlertingRotation, pk, field="id", what="alerting rotation")
    shifts = values.pop("shifts", None)
    values = await _clean(uow, rotation.company_id, values, pk)
    rows = await _shifts(uow, shifts) if shifts is not None else None
    for key, value in values.items():
        setattr(rotation, key, value)
    if rows is not None:
        await _set_shifts(uow, rotation, rows)
    rotation.updated_at = uow.clock.now()
    await uow.session.flush()
    changed = sorted([*values, *(["shifts"] if rows is not None else [])])
    record_event(uow, "alerting_rotation.updated", company_id=rotation.company_id,
                 entity=rotation, payload={"changed": changed})
    return rotation


async def delete_rotation(uow: UnitOfWork, pk: int) -> AlertingRotation:
    """Alerts it was notifying keep going to the rotations that still cover them."""
    rotation = await load(uow, AlertingRotation, pk, field="id", what="alerting rotation")
    await uow.session.delete(rotation)
    await uow.session.flush()
    record_event(uow, "alerting_rotation.deleted", company_id=rotation.company_id,
                 entity=rotation, payload={"name": rotation.name})
    return rotation


async def shifts_of(uow: UnitOfWork, rotation_ids: list[int]) -> dict[int, list[Shift]]:
    out: dict[int, list[Shift]] = {r: [] for r in rotation_ids}
    if rotation_ids:
        for row in await uow.session.scalars(select(RotationShift).where(
                RotationShift.rotation_id.in_(rotation_ids))):
            out[row.rotation_id].append(shift_of(row))
    return out


async def covering(uow: UnitOfWork, company_id: int, network_site_id: int | None, *,
                   all_sites: bool = False) -> list[AlertingRotation]:
    """The company's active rotations covering a device at ``network_site_id`` (those naming
    no site cover every device), by id; ``all_sites``: every active rotation (poller
    alerts)."""
    rows = await uow.session.scalars(select(AlertingRotation).where(
        AlertingRotation.company_id == company_id, AlertingRotation.active)
        .order_by(AlertingRotation.id))
    return [r for r in rows if all_sites or not r.network_site_ids
            or network_site_id in r.network_site_ids]
