"""Where other areas' changes reach the network: RADIUS answers are compiled again in the
same transaction when an account's status, a data service or a service's speeds change, and
an account that stops being active has its addresses scheduled for release."""

from __future__ import annotations

from typing import Any

from ispcore.domain.accounts import service as accounts
from ispcore.domain.accounts.models import Account
from ispcore.domain.billing import account_services, catalogue
from ispcore.domain.billing.models import AccountService, Service
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network import compile, release

SPEEDS = {"download_kbps", "upload_kbps"}


async def _accounts_moved(uow: UnitOfWork, moved: list[Account]) -> None:
    await compile.compile_accounts(uow, [a.id for a in moved])


async def _service_updated(uow: UnitOfWork, row: Any, changed: set[str]) -> None:
    if isinstance(row, Service) and changed & SPEEDS:
        await compile.compile_services(uow, [row.id])


async def _service_ended(uow: UnitOfWork, row: AccountService) -> None:
    await compile.compile_accounts(uow, [row.account_id])


def register() -> None:
    for hooks, hook in ((accounts.ACCOUNT_STATUS_HOOKS, release.on_status_changed),
                        (accounts.ACCOUNTS_MOVED_HOOKS, _accounts_moved),
                        (catalogue.UPDATED_HOOKS, _service_updated),
                        (account_services.ENDED_HOOKS, _service_ended)):
        if hook not in hooks:
            hooks.append(hook)


register()
