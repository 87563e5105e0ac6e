"""Delinquency exclusions: an account, or every account of a group, kept out of collections
(never made delinquent, no late fees) until a day, inclusive, or indefinitely. An exclusion
does not clear a delinquency already there: that clears when the account pays."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import or_, select

from ispcore.db import among
from ispcore.domain.accounts import service as accounts
from ispcore.domain.accounts.models import AccountGroup, AccountGroupMembership
from ispcore.domain.billing.collections_models import DelinquencyExclusion
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.records import company_of, load, today_in
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event


def _reason(value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise DomainError("Say why the account is excluded.", field="reason",
                          code=ErrorCode.REQUIRED)
    if len(text) > 500:
        raise DomainError("At most 500 characters.", field="reason")
    return text


async def _check_until(uow: UnitOfWork, company_id: int, until: date | None) -> None:
    if until is not None and until < today_in(uow, await company_of(uow, company_id)):
        raise DomainError("An exclusion cannot end before today.", field="until")


async def create_exclusion(uow: UnitOfWork, values: dict[str, Any]) -> DelinquencyExclusion:
    account_id, group_id = values.get("account_id"), values.get("account_group_id")
    if (account_id is None) == (group_id is None):
        raise DomainError("Exclude either an account or an account group.",
                          field="account_id", code=ErrorCode.REQUIRED)
    if account_id is not None:
        company_id = (await accounts.get_account(uow, account_id)).company_id
    else:
        company_id = (await load(uow, AccountGroup, group_id, field="account_group_id",
                                 what="account group")).company_id
    reason = _reason(values.get("reason"))
    await _check_until(uow, company_id, values.get("until"))
    now = uow.clock.now()
    row = DelinquencyExclusion(company_id=company_id, account_id=account_id,
                               account_group_id=group_id, until=values.get("until"),
                               reason=reason, created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    record_event(uow, "delinquency_exclusion.created", company_id=company_id, entity=row,
                 payload={"account_id": account_id, "account_group_id": group_id,
                          "until": row.until.isoformat() if row.until else None})
    return row


async def update_exclusion(uow: UnitOfWork, pk: int, values: dict[str, Any]
                           ) -> DelinquencyExclusion:
    row = await load(uow, DelinquencyExclusion, pk, field="id", what="delinquency exclusion")
    if "until" in values:
        await _check_until(uow, row.company_id, values["until"])
        row.until = values["until"]
    if "reason" in values:
        row.reason = _reason(values["reason"])
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "delinquency_exclusion.updated", company_id=row.company_id, entity=row,
                 payload={"changed": sorted(values)})
    return row


async def delete_exclusion(uow: UnitOfWork, pk: int) -> DelinquencyExclusion:
    row = await load(uow, DelinquencyExclusion, pk, field="id", what="delinquency exclusion")
    await uow.session.delete(row)
    await uow.session.flush()
    record_event(uow, "delinquency_exclusion.deleted", company_id=row.company_id,
                 payload={"id": pk, "account_id": row.account_id,
                          "account_group_id": row.account_group_id})
    return row


async def excluded(uow: UnitOfWork, company_id: int, account_ids: list[int], today: date
                   ) -> set[int]:
    """Which of ``account_ids`` are excluded on ``today``: one query, by account or group."""
    if not account_ids:
        return set()
    e, m = DelinquencyExclusion, AccountGroupMembership
    in_force = [e.company_id == company_id, or_(e.until.is_(None), e.until >= today)]
    direct = select(e.account_id).where(*in_force, among(uow.session, e.account_id,
                                                           account_ids))
    grouped = (select(m.account_id).join(e, e.account_group_id == m.account_group_id)
               .where(*in_force, among(uow.session, m.account_id, account_ids)))
    return set(await uow.session.scalars(direct.union(grouped)))
