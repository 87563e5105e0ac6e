"""What the NetFlow collector loads from the database: the exporters, and per company its
address space (its supernets: every subnet lies in one) and the assignment history (who
held which address or prefix when), as plain rows it keeps in memory."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from ispcore.db import among
from ispcore.domain.network.addressing import from_key
from ispcore.domain.network.models import IpAssignment, Supernet
from ispcore.domain.usage.attribution import Holding
from ispcore.domain.usage.models import NetflowExporter


@dataclass(frozen=True, slots=True)
class ExporterRow:
    id: int
    company_id: int
    name: str
    address: str
    sampling_rate: int | None
    active: bool


async def exporters(conn: AsyncConnection) -> list[ExporterRow]:
    e = NetflowExporter
    rows = await conn.execute(select(e.id, e.company_id, e.name, e.address, e.sampling_rate,
                                     e.active).order_by(e.id))
    return [ExporterRow(*row) for row in rows]


async def address_space(conn: AsyncConnection, company_ids: Iterable[int]
                        ) -> dict[int, list[tuple[int, int, int]]]:
    """Each company's supernets as (family, first address, last address)."""
    out: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for company_id, family, first, last in await conn.execute(
            select(Supernet.company_id, Supernet.family, Supernet.first_key,
                   Supernet.last_key)
            .where(among(conn, Supernet.company_id, sorted(set(company_ids))))):
        out[company_id].append((family, from_key(first), from_key(last)))
    return out


#: (family, first address, prefix length, the holding)
Held = tuple[int, int, int, Holding]


async def assignments(conn: AsyncConnection, company_ids: Iterable[int], since: datetime
                      ) -> dict[int, list[Held]]:
    """Each company's assignments to accounts held at some moment after ``since``."""
    a = IpAssignment
    out: dict[int, list[Held]] = defaultdict(list)
    for company_id, family, first, length, since_at, until, account_id, pk in (
            await conn.execute(
                select(a.company_id, a.family, a.first_key, a.prefix_length, a.assigned_at,
                       a.released_at, a.account_id, a.id)
                .where(among(conn, a.company_id, sorted(set(company_ids))),
                       a.account_id.is_not(None),
                       or_(a.released_at.is_(None), a.released_at > since)))):
        out[company_id].append((family, from_key(first), length,
                                Holding(company_id, account_id, since_at, until, pk)))
    return out
