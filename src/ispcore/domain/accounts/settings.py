"""The per-company lists staff configure once: account types, statuses, groups and phone
number types. Each has a name unique within its company; one set of rules serves them all."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.accounts.models import (
    Account,
    AccountGroup,
    AccountStatus,
    AccountStatusChange,
    AccountType,
    ContactPhoneNumber,
    PhoneNumberType,
)
from ispcore.domain.common.errors import DomainError, Validator
from ispcore.domain.common.models import ensure_name_free
from ispcore.domain.common.records import (
    company_of,
    ensure_unused,
    load,
    required_text,
    snapshot,
)
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Setting:
    """How one kind of setting is named, validated and protected from deletion."""

    model: type
    what: str
    event_prefix: str
    fields: tuple[str, ...]
    #: (model, column, label) of rows that keep this setting from being deleted.
    used_by: tuple[tuple[type, str, str], ...] = ()


ACCOUNT_TYPE = Setting(AccountType, "account type", "account_type", ("name", "description"),
                       used_by=((Account, "account_type_id", "account"),))
ACCOUNT_STATUS = Setting(
    AccountStatus, "account status", "account_status",
    ("name", "counts_as_active", "is_delinquent", "is_lead", "is_disconnect_default", "color"),
    used_by=((Account, "account_status_id", "account"),
             (AccountStatusChange, "to_status_id", "status history line"),
             (AccountStatusChange, "from_status_id", "status history line")))
ACCOUNT_GROUP = Setting(AccountGroup, "account group", "account_group", ("name", "description"))
PHONE_NUMBER_TYPE = Setting(PhoneNumberType, "phone number type", "phone_number_type",
                            ("name", "can_receive_sms"),
                            used_by=((ContactPhoneNumber, "phone_number_type_id",
                                      "phone number"),))


def _clean(setting: Setting, values: dict[str, Any], current: Any = None) -> dict[str, Any]:
    v = Validator()
    out = dict(values)
    required_text(v, out, "name", f"A {setting.what} needs a name.")
    if out.get("description") is not None:
        out["description"] = out["description"].strip()
    if "color" in out and not COLOR.match(out["color"] or ""):
        v.add("color", "A colour is written #RRGGBB, e.g. #1f8b4c.")
    if setting is ACCOUNT_STATUS:
        merged = {k: getattr(current, k) for k in setting.fields} if current else {}
        merged.update({k: val for k, val in out.items() if val is not None})
        if merged.get("is_lead") and merged.get("counts_as_active"):
            v.add("is_lead", "A lead status cannot count as active: leads are not customers "
                  "yet.")
        if merged.get("is_disconnect_default") and (merged.get("counts_as_active")
                                                     or merged.get("is_lead")):
            v.add("is_disconnect_default", "The disconnect status must be an inactive, "
                  "non-lead status.")
    v.fit_columns(setting.model, out)
    v.raise_if_any()
    return out


async def create_setting(uow: UnitOfWork, setting: Setting, values: dict[str, Any]) -> Any:
    company = await company_of(uow, values.pop("company_id"))
    data = _clean(setting, values)
    await ensure_name_free(uow.session, setting.model, data["name"], what=setting.what,
                           company_id=company.id)
    now = uow.clock.now()
    row = setting.model(company_id=company.id, **data, created_at=now, updated_at=now)
    if data.get("is_disconnect_default"):
        await _clear_disconnect_default(uow, company.id)
    uow.session.add(row)
    await uow.session.flush()
    record_event(uow, f"{setting.event_prefix}.created", company_id=company.id, entity=row,
                 payload=snapshot(row, setting.fields))
    return row


#: Called after an account status's definition changes, with the row and the changed fields
#: (the network recompiles its accounts' RADIUS answers when what the status means changes).
STATUS_UPDATED_HOOKS: list[Callable[[UnitOfWork, Any, set[str]], Awaitable[None]]] = []


async def update_setting(uow: UnitOfWork, setting: Setting, pk: int, changes: dict[str, Any]
                         ) -> Any:
    row = await load(uow, setting.model, pk, field="id", what=setting.what)
    data = _clean(setting, changes, current=row)
    if "name" in data:
        await ensure_name_free(uow.session, setting.model, data["name"], what=setting.what,
                               company_id=row.company_id, exclude_id=row.id)
    if setting is ACCOUNT_STATUS:
        await _check_status_change(uow, row, data)
    if data.get("is_disconnect_default") and not row.is_disconnect_default:
        await _clear_disconnect_default(uow, row.company_id)
    for key, value in data.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, f"{setting.event_prefix}.updated", company_id=row.company_id,
                 entity=row, payload={"changed": sorted(data)})
    if setting is ACCOUNT_STATUS:
        for hook in STATUS_UPDATED_HOOKS:
            await hook(uow, row, set(data))
    return row


async def delete_setting(uow: UnitOfWork, setting: Setting, pk: int) -> Any:
    row = await load(uow, setting.model, pk, field="id", what=setting.what)
    await ensure_unused(uow, row.id, setting.used_by, what=setting.what)
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, f"{setting.event_prefix}.deleted", company_id=row.company_id,
                 payload={"id": pk, "name": row.name})
    return row


async def _clear_disconnect_default(uow: UnitOfWork, company_id: int) -> None:
    """Only one status per company is the disconnect default: naming a new one demotes the
    old (through the ORM, so the change is audited)."""
    current = await uow.session.scalars(select(AccountStatus).where(
        AccountStatus.company_id == company_id, AccountStatus.is_disconnect_default))
    for status in current:
        status.is_disconnect_default = False
    await uow.session.flush()


async def _check_status_change(uow: UnitOfWork, status: AccountStatus, data: dict[str, Any]
                               ) -> None:
    """A status in use keeps its meaning as a lead status: flipping it would turn customers
    into leads (or leads into customers) without a conversion on record."""
    if "is_lead" in data and data["is_lead"] != status.is_lead:
        used = await uow.session.scalar(select(func.count()).select_from(Account).where(
            Account.account_status_id == status.id))
        if used:
            raise DomainError(f"{used} account(s) have this status; a status in use cannot "
                              "become or stop being a lead status.", field="is_lead")


async def disconnect_status(uow: UnitOfWork, company_id: int) -> AccountStatus | None:
    return await uow.session.scalar(select(AccountStatus).where(
        AccountStatus.company_id == company_id, AccountStatus.is_disconnect_default))

