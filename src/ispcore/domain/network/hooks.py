"""Where other areas' changes reach the network: RADIUS answers are compiled again in the
same transaction when an account's status, a data service or a service's speeds change, and
an account that stops being active has its addresses scheduled for release."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, true

from ispcore.domain.accounts import service as accounts
from ispcore.domain.accounts import settings as account_settings
from ispcore.domain.accounts.models import Account, AccountStatus
from ispcore.domain.billing import account_services, catalogue
from ispcore.domain.billing.models import AccountService, Service
from ispcore.domain.common.errors import InUse
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network import compile, release
from ispcore.domain.network.models import IpAssignment, RadiusCredential

SPEEDS = {"download_kbps", "upload_kbps"}
#: What a status means for network access.
ACCESS_FLAGS = {"counts_as_active", "is_delinquent", "is_lead"}


async def _accounts_moved(uow: UnitOfWork, moved: list[Account]) -> None:
    await compile.compile_accounts(uow, [a.id for a in moved])


async def _service_updated(uow: UnitOfWork, row: Any, changed: set[str]) -> None:
    if isinstance(row, Service) and changed & SPEEDS:
        await compile.compile_services(uow, [row.id])


async def _service_ended(uow: UnitOfWork, row: AccountService) -> None:
    await compile.compile_accounts(uow, [row.account_id])


async def _status_redefined(uow: UnitOfWork, status: AccountStatus, changed: set[str]) -> None:
    if changed & ACCESS_FLAGS:
        await compile.compile_accounts(uow, await uow.session.scalars(
            select(Account.id).where(Account.account_status_id == status.id)))


async def _keep_networked_accounts(uow: UnitOfWork, account: Account) -> None:
    """An account with RADIUS logins or address history stays: its history answers who
    held an address, and its logins must be removed (disconnecting sessions) first."""
    for model, label, live in (
            (RadiusCredential, "RADIUS login", RadiusCredential.removed_at.is_(None)),
            (IpAssignment, "IP address assignment (history kept)", true())):
        count = await uow.session.scalar(select(func.count()).select_from(model).where(
            model.account_id == account.id, live))
        if count:
            raise InUse(f"The account has {count} {label}(s); remove the logins and make it "
                        "inactive instead of deleting it.", field="id")


def register() -> None:
    for hooks, hook in ((accounts.ACCOUNT_STATUS_HOOKS, release.on_status_changed),
                        (accounts.ACCOUNTS_MOVED_HOOKS, _accounts_moved),
                        (catalogue.UPDATED_HOOKS, _service_updated),
                        (account_services.ENDED_HOOKS, _service_ended),
                        (account_settings.STATUS_UPDATED_HOOKS, _status_redefined),
                        (accounts.ACCOUNT_DELETE_CHECKS, _keep_networked_accounts)):
        if hook not in hooks:
            hooks.append(hook)


register()
