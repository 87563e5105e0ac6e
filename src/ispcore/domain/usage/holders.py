"""Who held an IP address or a RADIUS username when a piece of usage happened, for many
names at once (a few queries per batch, never one per name).

Addresses are looked up in the IP assignment history (a held address, or a delegated
prefix containing it; released assignments count for the time they were held), usernames
in the RADIUS credentials (removed ones for the time they were live). Which of them a
record belongs to is :func:`ispcore.domain.usage.attribution.holder`'s rule."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, or_, select

from ispcore.db import among
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network import addressing as a
from ispcore.domain.network.models import IpAssignment, RadiusCredential
from ispcore.domain.usage.attribution import Holding

#: Values per ``IN`` list (SQLite allows 32,766 parameters a statement).
CHUNK = 10_000


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for lo in range(0, len(values), CHUNK):
        yield values[lo:lo + CHUNK]


async def address_holdings(uow: UnitOfWork, company_ids: Collection[int],
                           addresses: Iterable[a.Address], start: datetime, end: datetime
                           ) -> dict[a.Address, list[Holding]]:
    """The assignments of ``company_ids`` containing each address, held at some time in
    ``[start, end]``. One candidate range start per prefix length in use, so the lookup is
    an indexed ``first_key IN (…)`` however long the history."""
    s = uow.session
    companies = sorted(company_ids)
    lengths: dict[int, set[int]] = defaultdict(set)
    for family, length in await s.execute(
            select(IpAssignment.family, IpAssignment.prefix_length).distinct()
            .where(among(s, IpAssignment.company_id, companies))):
        lengths[family].add(length)
    wanted: dict[str, list[a.Address]] = defaultdict(list)
    for address in set(addresses):
        family, value = address.version, int(address)
        for length in lengths.get(family, ()):
            key = a.to_key(value & ~(a.block_size(family, length) - 1))
            wanted[f"{family}:{key}"].append(address)
    found: dict[a.Address, list[Holding]] = defaultdict(list)
    keys = sorted({k.split(":", 1)[1] for k in wanted})
    for chunk in _chunks(keys):
        rows = await s.execute(
            select(IpAssignment.family, IpAssignment.first_key, IpAssignment.last_key,
                   IpAssignment.company_id, IpAssignment.account_id,
                   IpAssignment.assigned_at, IpAssignment.released_at, IpAssignment.id)
            .where(among(s, IpAssignment.first_key, chunk, item_type=String),
                   among(s, IpAssignment.company_id, companies),
                   IpAssignment.account_id.is_not(None), IpAssignment.assigned_at <= end,
                   or_(IpAssignment.released_at.is_(None), IpAssignment.released_at > start)))
        for family, first, last, company, account, since, until, pk in rows:
            top = a.from_key(last)
            for address in wanted.get(f"{family}:{first}", ()):
                if int(address) <= top:
                    found[address].append(Holding(company, account, since, until, pk))
    return found


async def username_holdings(uow: UnitOfWork, company_ids: Collection[int],
                            usernames: Iterable[str], start: datetime, end: datetime
                            ) -> dict[str, list[Holding]]:
    """The credentials of ``company_ids`` with each username, live at some time in
    ``[start, end]``."""
    s = uow.session
    companies = sorted(company_ids)
    found: dict[str, list[Holding]] = defaultdict(list)
    for chunk in _chunks(sorted(set(usernames))):
        rows = await s.execute(
            select(RadiusCredential.username, RadiusCredential.company_id,
                   RadiusCredential.account_id, RadiusCredential.created_at,
                   RadiusCredential.removed_at, RadiusCredential.id)
            .where(among(s, RadiusCredential.username, chunk, item_type=String),
                   among(s, RadiusCredential.company_id, companies),
                   RadiusCredential.created_at <= end,
                   or_(RadiusCredential.removed_at.is_(None),
                       RadiusCredential.removed_at > start)))
        for username, company, account, since, until, pk in rows:
            found[username].append(Holding(company, account, since, until, pk))
    return found
