"""What the server answers from, held in memory: NAS clients by source address and users
by name with their reply already encoded. Refreshed from the compiled tables by revision."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ispcore.domain.common import vault
from ispcore.domain.common.errors import DomainError
from ispcore.domain.network.models import (
    NasClient,
    RadiusCredential,
    RadiusGroupAttribute,
    RadiusReply,
)
from ispcore.domain.network.nas import NAS_SECRET
from ispcore.domain.network.replies import Item, merge
from ispcore.network.radius.codec import Encoder

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class Nas:
    id: int
    company_id: int
    secret: bytes


@dataclass(slots=True, frozen=True)
class User:
    credential_id: int
    account_id: int
    company_id: int
    password: bytes
    accept: bool
    #: The reply items, encoded and concatenated.
    reply: bytes


class RadiusCache:
    def __init__(self, db: Any, vault_key: str | None) -> None:
        self._db = db
        self._vault_key = vault_key
        self._encode = Encoder()
        self.nas: dict[str, Nas] = {}
        self.users: dict[bytes, User] = {}
        self._names: dict[int, bytes] = {}  # credential id -> the name it is cached under
        #: The highest credential revision loaded; -1 before the first load.
        self.revision = -1

    async def load_nas(self) -> None:
        async with self._db.read_rows() as conn:
            rows = (await conn.execute(
                select(NasClient.id, NasClient.company_id, NasClient.address,
                       NasClient.secret_sealed).where(NasClient.active))).all()
        loaded = {}
        for pk, company_id, address, sealed in rows:
            try:
                secret = vault.unseal(self._vault_key, sealed, field="secret", what=NAS_SECRET)
            except DomainError as exc:
                log.error("NAS %s (%s): its secret does not open: %s", pk, address,
                          exc.errors[0].message)
                continue
            loaded[address] = Nas(pk, company_id, secret.encode())
        self.nas = loaded

    async def load_users(self) -> int:
        """Everything on the first call, then the credentials compiled since (removed ones
        included, to drop them). Returns how many credentials were read."""
        async with self._db.engine.connect() as conn:
            if not self._db.is_sqlite:  # one snapshot for the three statements
                await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                credentials, replies, groups = await self._read(conn, self.revision)
        for row in credentials:
            self._apply(row, replies.get(row.id, ()), groups.get(row.effective_group_id, ()))
            self.revision = max(self.revision, row.revision)
        return len(credentials)

    async def _read(self, conn: AsyncConnection, since: int) -> tuple[
            list[Any], dict[int, list[Item]], dict[int, list[Item]]]:
        cred = RadiusCredential
        changed = cred.revision > since
        if since < 0:
            changed = changed & cred.removed_at.is_(None)
        credentials = (await conn.execute(
            select(cred.id, cred.username, cred.password, cred.access, cred.effective_group_id,
                   cred.account_id, cred.company_id, cred.revision, cred.removed_at)
            .where(changed).order_by(cred.revision))).all()
        if not credentials:
            return [], {}, {}
        live = changed & cred.removed_at.is_(None)
        reply = RadiusReply
        replies: dict[int, list[Item]] = defaultdict(list)
        for pk, attribute, op, value in await conn.execute(
                select(reply.credential_id, reply.attribute, reply.op, reply.value)
                .join(cred, cred.id == reply.credential_id).where(live)
                .order_by(reply.credential_id, reply.position)):
            replies[pk].append((attribute, op, value))
        ga = RadiusGroupAttribute
        groups: dict[int, list[Item]] = defaultdict(list)
        for pk, attribute, op, value in await conn.execute(
                select(ga.group_id, ga.attribute, ga.op, ga.value)
                .where(ga.templated.is_(False),
                       ga.group_id.in_(select(cred.effective_group_id).where(live)))
                .order_by(ga.group_id, ga.position)):
            groups[pk].append((attribute, op, value))
        return credentials, replies, groups

    def _apply(self, row: Any, user_items: Any, group_items: Any) -> None:
        name = row.username.encode()
        previous = self._names.pop(row.id, None)
        cached = self.users.get(previous) if previous is not None else None
        if cached is not None and cached.credential_id == row.id:
            del self.users[previous]
        if row.removed_at is not None:
            return
        encoded = (self._encode(attribute, value)
                   for attribute, value in merge(user_items, group_items))
        self.users[name] = User(row.id, row.account_id, row.company_id, row.password.encode(),
                                row.access == "ACCEPT", b"".join(e for e in encoded if e))
        self._names[row.id] = name
