"""A company's network settings, and giving back the addresses of accounts that stop being
active: held for ``release_hold_days`` (the customer may come back and keep them), then
released by the ``network.release_addresses`` job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from ispcore.domain.accounts import service as accounts
from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.common.errors import Validator
from ispcore.domain.common.records import company_of, company_row
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event, record_events
from ispcore.domain.network.models import IpAssignment, NetworkSettings

DISCONNECT_REASON = "account disconnected"
MAX_HOLD_DAYS = 3650

DEFAULTS: dict[str, Any] = {
    "release_on_disconnect": True, "release_hold_days": 30,
    "delinquent_action": "REJECT", "suspended_action": "REJECT",
    "delinquent_address_list": "ispcore-delinquent",
    "suspended_address_list": "ispcore-suspended",
}


async def network_settings(uow: UnitOfWork, company_id: int, *, create: bool = True
                           ) -> NetworkSettings:
    return await company_row(uow, NetworkSettings, company_id, DEFAULTS, create=create)


async def update_network_settings(uow: UnitOfWork, company_id: int, values: dict[str, Any]
                                  ) -> NetworkSettings:
    company = await company_of(uow, company_id)
    v = Validator()
    days = values.get("release_hold_days")
    if days is not None and not 0 <= days <= MAX_HOLD_DAYS:
        v.add("release_hold_days", f"Between 0 and {MAX_HOLD_DAYS} days.")
    v.raise_if_any()
    row = await network_settings(uow, company.id)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    record_event(uow, "network_settings.updated", company_id=company.id, entity=row,
                 payload={"changed": sorted(values)})
    return row


async def on_status_changed(uow: UnitOfWork, account: Account, previous: AccountStatus,
                            status: AccountStatus) -> None:
    """An account that stops counting as active has its held addresses scheduled for
    release; one that becomes active again keeps them."""
    if previous.counts_as_active == status.counts_as_active:
        return
    held = (IpAssignment.account_id == account.id) & IpAssignment.released_at.is_(None)
    if status.counts_as_active:
        await uow.session.execute(update(IpAssignment).where(
            held, IpAssignment.release_after.is_not(None)).values(release_after=None))
        return
    settings = await network_settings(uow, account.company_id, create=False)
    if settings.release_on_disconnect:
        due = uow.clock.now() + timedelta(days=settings.release_hold_days)
        await uow.session.execute(update(IpAssignment).where(held).values(release_after=due))


accounts.ACCOUNT_STATUS_HOOKS.append(on_status_changed)


async def release_due(uow: UnitOfWork) -> int:
    """Release every held assignment whose hold has run out, in one statement."""
    now = uow.clock.now()
    released = (await uow.session.execute(
        update(IpAssignment)
        .where(IpAssignment.released_at.is_(None), IpAssignment.release_after <= now)
        .values(released_at=now, release_after=None, release_reason=DISCONNECT_REASON)
        .returning(IpAssignment.id, IpAssignment.company_id, IpAssignment.address,
                   IpAssignment.account_id))).all()
    await record_events(uow, [
        {"type": "ip_assignment.released", "company_id": company_id,
         "entity_type": "IpAssignment", "entity_id": pk,
         "payload": {"address": address, "account_id": account_id,
                     "reason": DISCONNECT_REASON}}
        for pk, company_id, address, account_id in released])
    return len(released)
