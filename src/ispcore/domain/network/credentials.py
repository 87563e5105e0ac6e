"""RADIUS credentials: the PPPoE or hotspot login of an account's data service."""

from __future__ import annotations

import re
import secrets
import string
from typing import Any

from sqlalchemy import select

from ispcore.domain.accounts import service as accounts
from ispcore.domain.billing.models import AccountService, Service
from ispcore.domain.common.errors import DomainError, ErrorCode
from ispcore.domain.common.records import load
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.events.service import record_event
from ispcore.domain.network import compile
from ispcore.domain.network.models import RadiusCredential, RadiusGroup

#: What FreeRADIUS puts into its SQL queries unescaped (others would never match there).
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
#: PAP hides at most 128 bytes; printable ASCII keeps CHAP and every NAS happy.
PASSWORD = re.compile(r"^[\x21-\x7e]{6,128}$")
ALPHABET = string.ascii_lowercase + string.digits


def generated_password() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(16))


async def _generated_username(uow: UnitOfWork, account_id: int) -> str:
    while True:
        name = f"{account_id}-{''.join(secrets.choice(ALPHABET) for _ in range(6))}"
        if not await _taken(uow, name):
            return name


async def _taken(uow: UnitOfWork, username: str, pk: int | None = None) -> bool:
    return bool(await uow.session.scalar(select(RadiusCredential.id).where(
        RadiusCredential.username == username, RadiusCredential.removed_at.is_(None),
        RadiusCredential.id != (pk or 0))))


async def _username(uow: UnitOfWork, value: str, pk: int | None = None) -> str:
    name = (value or "").strip()
    if not USERNAME.match(name):
        raise DomainError("A username is 1 to 128 letters, digits and . _ @ -, starting "
                          "with a letter or digit.", field="username")
    if await _taken(uow, name, pk):
        raise DomainError(f"The username {name} is taken.", field="username",
                          code=ErrorCode.DUPLICATE)
    return name


def _password(value: str) -> str:
    if not PASSWORD.match(value or ""):
        raise DomainError("A password is 6 to 128 printable ASCII characters without spaces.",
                          field="password")
    return value


async def _data_service(uow: UnitOfWork, account_id: int, pk: int) -> AccountService:
    row = await uow.session.get(AccountService, pk)
    if row is None or row.account_id != account_id:
        raise DomainError("No such service on this account.", field="account_service_id",
                          code=ErrorCode.NOT_FOUND)
    service = await uow.session.get(Service, row.service_id) if row.service_id else None
    if service is None or (service.download_kbps is None and service.upload_kbps is None):
        raise DomainError("Choose a data service: a service with download and upload speeds "
                          "(a package's member, not the package).", field="account_service_id")
    if row.end_date is not None:
        raise DomainError("The service has been removed from the account.",
                          field="account_service_id")
    return row


async def create_credential(uow: UnitOfWork, values: dict[str, Any]) -> RadiusCredential:
    account = await accounts.get_account(uow, values["account_id"])
    service = await _data_service(uow, account.id, values["account_service_id"])
    username = (await _username(uow, values["username"]) if values.get("username")
                else await _generated_username(uow, account.id))
    password = _password(values["password"]) if values.get("password") else generated_password()
    group_id = values.get("radius_group_id")
    if group_id is not None:
        await load(uow, RadiusGroup, group_id, field="radius_group_id", what="RADIUS group",
                   company_id=account.company_id)
    now = uow.clock.now()
    row = RadiusCredential(company_id=account.company_id, account_id=account.id,
                           account_service_id=service.id, username=username, password=password,
                           radius_group_id=group_id, access="REJECT", access_state="ACTIVE",
                           revision=0, created_at=now, updated_at=now)
    uow.session.add(row)
    await uow.session.flush()
    await compile.compile_credentials(uow, [row])
    record_event(uow, "radius_credential.created", company_id=row.company_id, entity=row,
                 payload={"account_id": row.account_id, "username": username})
    return row


async def _live(uow: UnitOfWork, pk: int) -> RadiusCredential:
    row = await load(uow, RadiusCredential, pk, field="id", what="RADIUS credential")
    if row.removed_at is not None:
        raise DomainError("The credential has been removed.", field="id",
                          code=ErrorCode.NOT_FOUND)
    return row


async def update_credential(uow: UnitOfWork, pk: int, values: dict[str, Any]
                            ) -> RadiusCredential:
    row = await _live(uow, pk)
    if "username" in values:
        row.username = await _username(uow, values["username"], pk)
    if "password" in values:
        row.password = (_password(values["password"]) if values["password"]
                        else generated_password())
    if "account_service_id" in values:
        row.account_service_id = (await _data_service(
            uow, row.account_id, values["account_service_id"])).id
    if "radius_group_id" in values:
        if values["radius_group_id"] is not None:
            await load(uow, RadiusGroup, values["radius_group_id"], field="radius_group_id",
                       what="RADIUS group", company_id=row.company_id)
        row.radius_group_id = values["radius_group_id"]
    row.updated_at = uow.clock.now()
    await uow.session.flush()
    await compile.compile_credentials(uow, [row])
    record_event(uow, "radius_credential.updated", company_id=row.company_id, entity=row,
                 payload={"account_id": row.account_id, "changed": sorted(values)})
    return row


async def remove_credential(uow: UnitOfWork, pk: int) -> RadiusCredential:
    """Kept (sessions and actions point at it) but no longer answered; live sessions are
    disconnected."""
    row = await _live(uow, pk)
    row.removed_at = row.updated_at = uow.clock.now()
    await uow.session.flush()
    await compile.compile_credentials(uow, [row])
    record_event(uow, "radius_credential.removed", company_id=row.company_id, entity=row,
                 payload={"account_id": row.account_id, "username": row.username})
    return row
