"""Usage-based billing policies and their free periods, created, changed and deleted with the
catalogue's checks, events and audit. A policy is attached to data services; what it caps,
bills and throttles is worked out by :mod:`ispcore.domain.usage.caps` and the billing run.

A free period is one day of the week from a start time up to, not including, an end time of
that day, in the company's time zone (as in Sonar: 23:00 to 05:00 is two periods, one on each
day). Periods of one policy on one day do not overlap."""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import IntEnum
from typing import Any

from sqlalchemy import select

from ispcore.domain.billing.models import AccountService, GlCode, Service
from ispcore.domain.billing.money import amount_to_minor, check_stated_currency
from ispcore.domain.common.errors import DomainError, ErrorCode, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import (
    check_owned,
    company_of,
    ensure_unused,
    load,
    lock_row,
    required_text,
    snapshot,
    today_in,
)
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.network.models import RadiusGroup
from ispcore.domain.usage import caps
from ispcore.domain.usage.models import UsageFreePeriod, UsagePolicy

#: Largest cap or overage block, in GB (a petabyte): byte counts stay exact in JSON.
MAX_GB = 1_000_000
MAX_NOTIFY_PERCENT = 1000
MAX_THRESHOLDS = 20
MAX_ROLLOVER_MONTHS = 12
#: Changes that may move accounts over or under their allowance, or to another group.
CAP_FIELDS = {"cap_gb", "active", "throttle_radius_group_id"}


class Weekday(IntEnum):
    """ISO days of the week, as free periods store them."""

    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6
    SUNDAY = 7


# --- policies ----------------------------------------------------------------------------------

def _gigabytes(v: Validator, values: dict[str, Any], key: str) -> None:
    value = values.get(key)
    if value is not None and not 1 <= value <= MAX_GB:
        v.add(key, f"Between 1 and {MAX_GB:,} GB (null: none).")


def _thresholds(v: Validator, values: dict[str, Any]) -> None:
    if "notify_percents" not in values:
        return
    percents = values["notify_percents"] or []
    if len(percents) > MAX_THRESHOLDS:
        v.add("notify_percents", f"At most {MAX_THRESHOLDS} thresholds.")
    elif any(not 1 <= p <= MAX_NOTIFY_PERCENT for p in percents):
        v.add("notify_percents", f"A threshold is 1 to {MAX_NOTIFY_PERCENT} percent.")
    elif len(set(percents)) != len(percents):
        v.add("notify_percents", "A threshold appears once.")
    values["notify_percents"] = sorted(percents)


def _coherent(v: Validator, merged: dict[str, Any]) -> None:
    """Rules between fields, on the policy as it will be."""
    capped = merged.get("cap_gb") is not None
    blocks = merged.get("overage_block_gb") is not None
    priced = merged.get("overage_block_price_minor") is not None
    if blocks != priced:
        v.add("overage_block_price" if blocks else "overage_block_gb",
              "Overage needs both a block size and a block price.", ErrorCode.REQUIRED)
    if blocks or priced:
        if not capped:
            v.add("overage_block_gb", "Only a policy with a cap bills overage.")
        if merged.get("overage_gl_code_id") is None:
            v.add("overage_gl_code_id", "Billed overage posts to a general ledger code.",
                  ErrorCode.REQUIRED)
    elif merged.get("overage_gl_code_id") is not None:
        v.add("overage_gl_code_id", "Only a policy that bills overage has an overage code.")
    if not capped:
        for key, present, what in (
                ("throttle_radius_group_id", merged.get("throttle_radius_group_id"),
                 "throttles"),
                ("notify_percents", merged.get("notify_percents"), "notifies"),
                ("rollover_months", merged.get("rollover_months"), "rolls over")):
            if present:
                v.add(key, f"Only a policy with a cap {what}.")


async def _clean_policy(uow: UnitOfWork, company: Any, values: dict[str, Any],
                        current: UsagePolicy | None) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    check_stated_currency(out, company.currency, v)
    required_text(v, out, "name", "A usage policy needs a name.")
    if "description" in out:
        out["description"] = (out["description"] or "").strip()
    amount_to_minor(out, "overage_block_price", "overage_block_price_minor", company.currency,
                    v)
    _gigabytes(v, out, "cap_gb")
    _gigabytes(v, out, "overage_block_gb")
    _thresholds(v, out)
    if out.get("rollover_months") is not None and not (
            0 <= out["rollover_months"] <= MAX_ROLLOVER_MONTHS):
        v.add("rollover_months", f"0 to {MAX_ROLLOVER_MONTHS} months.")
    await check_owned(uow, v, out, "overage_gl_code_id", GlCode, what="general ledger code",
                      company_id=company.id)
    await check_owned(uow, v, out, "throttle_radius_group_id", RadiusGroup,
                      what="RADIUS group", company_id=company.id)
    merged = {c: getattr(current, c) for c in (
        "cap_gb", "overage_block_gb", "overage_block_price_minor", "overage_gl_code_id",
        "throttle_radius_group_id", "notify_percents", "rollover_months")} if current else {}
    merged.update(out)
    if not v.errors:
        _coherent(v, merged)
    v.fit_columns(UsagePolicy, out)
    v.raise_if_any()
    return out


async def create_policy(uow: UnitOfWork, values: dict[str, Any]) -> UsagePolicy:
    company = await company_of(uow, values.pop("company_id"))
    data = await _clean_policy(uow, company, values, None)
    await ensure_name_free(uow.session, UsagePolicy, data["name"], what="usage policy",
                           company_id=company.id)
    now = uow.clock.now()
    policy = UsagePolicy(company_id=company.id, **data, created_at=now, updated_at=now)
    uow.session.add(policy)
    await uow.session.flush()
    record_event(uow, "usage_policy.created", company_id=company.id, entity=policy,
                 payload=snapshot(policy, ("name", "cap_gb", "overage_block_gb",
                                           "throttle_radius_group_id", "rollover_months",
                                           "active")))
    return policy


async def accounts_on(uow: UnitOfWork, company: Any, service_ids: Iterable[int]) -> list[int]:
    """Accounts that have one of these services today."""
    today = today_in(uow, company)
    return list(await uow.session.scalars(
        select(AccountService.account_id).distinct().where(
            AccountService.service_id.in_(set(service_ids)),
            AccountService.start_date <= today,
            (AccountService.end_date.is_(None)) | (AccountService.end_date > today))))


async def update_policy(uow: UnitOfWork, pk: int, changes: dict[str, Any]) -> UsagePolicy:
    """Change a policy; when its cap, throttle group or activity changes, the accounts on it
    are checked again (throttled or set free at once, CoA to live sessions)."""
    policy = await load(uow, UsagePolicy, pk, field="id", what="usage policy")
    company = await company_of(uow, policy.company_id)
    data = await _clean_policy(uow, company, changes, policy)
    if "name" in data:
        await ensure_name_free(uow.session, UsagePolicy, data["name"], what="usage policy",
                               company_id=policy.company_id, exclude_id=policy.id)
    changed = {k for k, value in data.items() if getattr(policy, k) != value}
    for key, value in data.items():
        setattr(policy, key, value)
    policy.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "usage_policy.updated", company_id=policy.company_id, entity=policy,
                 payload={"changed": sorted(changed)})
    if changed & CAP_FIELDS:
        services = await uow.session.scalars(select(Service.id).where(
            Service.usage_policy_id == policy.id))
        await caps.recheck(uow, await accounts_on(uow, company, services))
    return policy


async def delete_policy(uow: UnitOfWork, pk: int) -> UsagePolicy:
    policy = await load(uow, UsagePolicy, pk, field="id", what="usage policy")
    await ensure_unused(uow, pk, ((Service, "usage_policy_id", "service"),),
                        what="usage policy", instead=" Deactivate it instead.")
    for period in await uow.session.scalars(select(UsageFreePeriod).where(
            UsageFreePeriod.policy_id == pk)):
        await uow.session.delete(period)  # one by one: each deletion is audited
    await uow.session.delete(policy)
    await uow.session.flush()
    record_event(uow, "usage_policy.deleted", company_id=policy.company_id,
                 payload={"id": pk, "name": policy.name})
    return policy


# --- free periods ------------------------------------------------------------------------------

TIME = re.compile(r"^(\d{2}):(\d{2})$")
MINUTES_PER_DAY = 1440


def minute_of(text: str | None, field: str, *, end: bool) -> int:
    """``"HH:MM"`` as minutes past midnight; an end may be ``"24:00"`` (the day's end)."""
    found = TIME.match((text or "").strip())
    hours, minutes = (int(found[1]), int(found[2])) if found else (99, 99)
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise DomainError("A time is HH:MM from 00:00 to 23:59" + (", or 24:00 for the end "
                          "of the day." if end else "."), field=field)
    return hours * 60 + minutes


def time_of(minute: int) -> str:
    """Minutes past midnight as ``"HH:MM"`` (1440 is ``"24:00"``)."""
    return f"{minute // 60:02}:{minute % 60:02}"


def _clean_period(values: dict[str, Any], current: UsageFreePeriod | None) -> dict[str, Any]:
    v = Validator()
    out: dict[str, Any] = {}
    for key, column, end in (("start_time", "start_minute", False),
                             ("end_time", "end_minute", True)):
        if key in values:
            try:
                out[column] = minute_of(values[key], key, end=end)
            except DomainError as exc:
                v.errors.append(exc)
    if "weekday" in values:
        try:
            out["weekday"] = int(Weekday(values["weekday"]))
        except ValueError:
            v.add("weekday", "A day is 1 (Monday) to 7 (Sunday).")
    v.raise_if_any()
    merged = {c: getattr(current, c) for c in ("weekday", "start_minute", "end_minute")
              } if current else {}
    merged.update(out)
    if merged["end_minute"] <= merged["start_minute"]:
        raise DomainError("The end comes after the start, on the same day (the end of the day "
                          "is 24:00).", field="end_time")
    return out


async def _policy_locked(uow: UnitOfWork, pk: int | None, *, company_id: int | None = None
                         ) -> UsagePolicy:
    """The policy, locked until commit: its free periods are checked for overlap and
    written by one transaction at a time."""
    policy = await load(uow, UsagePolicy, pk, field="policy_id", what="usage policy",
                        company_id=company_id)
    locked = await lock_row(uow, UsagePolicy, policy.id)
    assert locked is not None
    return locked


async def _ensure_no_overlap(uow: UnitOfWork, policy_id: int, weekday: int, start: int,
                             end: int, exclude_id: int | None) -> None:
    other = await uow.session.scalar(select(UsageFreePeriod).where(
        UsageFreePeriod.policy_id == policy_id, UsageFreePeriod.weekday == weekday,
        UsageFreePeriod.start_minute < end, UsageFreePeriod.end_minute > start,
        UsageFreePeriod.id != (exclude_id or -1)).limit(1))
    if other is not None:
        raise DomainError(f"It overlaps the policy's free period {time_of(other.start_minute)}"
                          f"-{time_of(other.end_minute)} on {Weekday(weekday).name.title()}.",
                          field="start_time")


async def create_free_period(uow: UnitOfWork, values: dict[str, Any]) -> UsageFreePeriod:
    policy = await _policy_locked(uow, values.get("policy_id"))
    data = _clean_period(values, None)
    await _ensure_no_overlap(uow, policy.id, data["weekday"], data["start_minute"],
                             data["end_minute"], None)
    now = uow.clock.now()
    period = UsageFreePeriod(company_id=policy.company_id, policy_id=policy.id, **data,
                             created_at=now, updated_at=now)
    uow.session.add(period)
    await uow.session.flush()
    record_event(uow, "usage_free_period.created", company_id=policy.company_id,
                 entity=period, payload={"policy_id": policy.id, **_described(period)})
    return period


def _described(period: UsageFreePeriod) -> dict[str, Any]:
    return {"weekday": period.weekday, "start_time": time_of(period.start_minute),
            "end_time": time_of(period.end_minute)}


async def update_free_period(uow: UnitOfWork, pk: int, values: dict[str, Any]
                             ) -> UsageFreePeriod:
    """Change a free period (moving it to another policy of the company too); usage
    credited from now on is split by the new times."""
    period = await load(uow, UsageFreePeriod, pk, field="id", what="free period")
    policy = await _policy_locked(uow, values.get("policy_id", period.policy_id),
                                  company_id=period.company_id)
    data = _clean_period(values, period)
    merged = {**{k: getattr(period, k) for k in ("weekday", "start_minute", "end_minute")},
              **data}
    await _ensure_no_overlap(uow, policy.id, merged["weekday"], merged["start_minute"],
                             merged["end_minute"], period.id)
    changed = sorted(k for k, value in {**data, "policy_id": policy.id}.items()
                     if getattr(period, k) != value)
    for key, value in data.items():
        setattr(period, key, value)
    period.policy_id = policy.id
    period.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "usage_free_period.updated", company_id=period.company_id,
                 entity=period, payload={"changed": changed, **_described(period)})
    return period


async def delete_free_period(uow: UnitOfWork, pk: int) -> UsageFreePeriod:
    period = await load(uow, UsageFreePeriod, pk, field="id", what="free period")
    await _policy_locked(uow, period.policy_id)
    await uow.session.delete(period)
    await uow.session.flush()
    record_event(uow, "usage_free_period.deleted", company_id=period.company_id,
                 payload={"id": pk, "policy_id": period.policy_id, **_described(period)})
    return period
