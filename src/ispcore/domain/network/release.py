"""Giving back the addresses of accounts that stop being active: held for the company's
``release_hold_days`` (the customer may come back and keep them), then released by the
``network.release_addresses`` job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_events
from ispcore.domain.network import compile
from ispcore.domain.network.models import IpAssignment
from ispcore.domain.network.settings import network_settings

DISCONNECT_REASON = "account disconnected"


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
    await compile.compile_accounts(uow, [account_id for *_, account_id in released
                                         if account_id is not None])
    return len(released)
