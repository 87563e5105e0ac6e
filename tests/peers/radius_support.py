"""RADIUS test data written straight as rows (a company, an account, a NAS with a sealed
secret, a group, credentials as a compile would leave them) and the server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from ispcore.domain.accounts.models import Account, AccountStatus, AccountType
from ispcore.domain.common import vault
from ispcore.domain.companies.models import Company
from ispcore.domain.network.models import (
    NasClient,
    RadiusCredential,
    RadiusGroup,
    RadiusGroupAttribute,
    RadiusReply,
)
from ispcore.network.radius.server import RadiusServer

SECRET = "testing123"
ALICE_REPLIES = [("Mikrotik-Rate-Limit", ":=", "10M/20M"),
                 ("Framed-IP-Address", "=", "100.64.0.10"),
                 ("Acme-Not-In-Dictionary", "=", "x")]
GROUP_ITEMS = [("Mikrotik-Address-List", "=", "customers", False),
               ("Mikrotik-Rate-Limit", "=", "{download}/{upload}", True),
               ("Mikrotik-Rate-Limit", "=", "1M/1M", False),
               ("Session-Timeout", ":=", "86400", False)]


@dataclass
class Seeded:
    company_id: int
    account_id: int
    nas_id: int
    group_id: int
    credentials: dict[str, int]


def stamped(runtime: Any) -> dict[str, Any]:
    now = runtime.clock.now()
    return {"created_at": now, "updated_at": now}


async def next_revision(session: Any) -> int:
    return (await session.scalar(select(func.max(RadiusCredential.revision))) or 0) + 1


async def add_credential(runtime: Any, seeded: Seeded, username: str, password: str, *,
                         access: str = "ACCEPT",
                         replies: list[tuple[str, str, str]] | None = None) -> int:
    async with runtime.db.session() as session, session.begin():
        credential = RadiusCredential(
            company_id=seeded.company_id, account_id=seeded.account_id, username=username,
            password=password, radius_group_id=seeded.group_id, access=access,
            access_state="ACTIVE" if access == "ACCEPT" else "SUSPENDED",
            effective_group_id=seeded.group_id, revision=await next_revision(session),
            **stamped(runtime))
        session.add(credential)
        await session.flush()
        session.add_all(RadiusReply(credential_id=credential.id, position=n, attribute=a, op=o,
                                    value=v) for n, (a, o, v) in enumerate(replies or []))
    seeded.credentials[username] = credential.id
    return credential.id


async def recompile(runtime: Any, credential_id: int, *,
                    replies: list[tuple[str, str, str]] | None = None,
                    removed: bool = False) -> None:
    """What a compile does to a credential: new replies and the next revision."""
    async with runtime.db.session() as session, session.begin():
        values: dict[str, Any] = {"revision": await next_revision(session)}
        if removed:
            values["removed_at"] = runtime.clock.now()
        await session.execute(update(RadiusCredential)
                              .where(RadiusCredential.id == credential_id).values(**values))
        if replies is not None:
            await session.execute(delete(RadiusReply)
                                  .where(RadiusReply.credential_id == credential_id))
            session.add_all(RadiusReply(credential_id=credential_id, position=n, attribute=a,
                                        op=o, value=v) for n, (a, o, v) in enumerate(replies))


async def seed(runtime: Any, vault_key: str) -> Seeded:
    async with runtime.db.session() as session, session.begin():
        company = Company(name="Acme Fibre", currency="USD", time_zone="America/Denver",
                          **stamped(runtime))
        session.add(company)
        await session.flush()
        kind = AccountType(company_id=company.id, name="Residential", **stamped(runtime))
        status = AccountStatus(company_id=company.id, name="Active", **stamped(runtime))
        group = RadiusGroup(company_id=company.id, name="Residential 100M",
                            **stamped(runtime))
        nas = NasClient(company_id=company.id, name="core-1", address="127.0.0.1",
                        secret_sealed=vault.seal(vault_key, SECRET, field="secret"),
                        kind="MIKROTIK", coa_port=3799, coa_mode="COA", **stamped(runtime))
        session.add_all([kind, status, group, nas])
        await session.flush()
        account = Account(company_id=company.id, name="Jane Customer", account_type_id=kind.id,
                          account_status_id=status.id, **stamped(runtime))
        session.add(account)
        session.add_all(RadiusGroupAttribute(group_id=group.id, position=n, attribute=a, op=o,
                                             value=v, templated=t)
                        for n, (a, o, v, t) in enumerate(GROUP_ITEMS))
        await session.flush()
    seeded = Seeded(company.id, account.id, nas.id, group.id, {})
    await add_credential(runtime, seeded, "alice", "wonderland-7", replies=ALICE_REPLIES)
    await add_credential(runtime, seeded, "mallory", "locked-out-9", access="REJECT")
    return seeded


@pytest.fixture
async def seeded(runtime: Any, vault_key: str) -> Seeded:
    return await seed(runtime, vault_key)


@pytest.fixture
async def radius(runtime: Any, seeded: Seeded) -> AsyncIterator[RadiusServer]:
    server = RadiusServer(runtime, host="127.0.0.1", auth_port=0, acct_port=0,
                          refresh_seconds=0.2)
    await server.start()
    yield server
    await server.stop()


async def until(condition: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the condition did not come true in time")
