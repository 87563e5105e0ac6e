"""Traffic no account could be credited with (``usage_unattributed``): added per company,
source, address and hour, and summed over a time range for the ``unattributedUsage`` query.
The NetFlow collector and the Preseem pull write it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from ispcore.domain.common.errors import DomainError
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage.models import UnattributedUsage


@dataclass(frozen=True, slots=True)
class Unattributed:
    """Bytes of one address ('' for transit) in one UTC hour."""

    address: str
    hour: datetime
    bytes_in: int
    bytes_out: int
    records: int


async def add_unattributed(uow: UnitOfWork, company_id: int, source: str,
                           rows: Sequence[Unattributed]) -> None:
    """Add ``rows`` to the company's totals (rows of the same address and hour add up)."""
    if not rows:
        return
    table = UnattributedUsage.__table__
    dialect = postgresql if uow.session.bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["company_id", "source", "address", "hour"],
        set_={c: table.c[c] + statement.excluded[c]
              for c in ("bytes_in", "bytes_out", "records")})
    summed: dict[tuple[str, datetime], list[int]] = {}
    for row in rows:
        sums = summed.setdefault((row.address, row.hour), [0, 0, 0])
        sums[0] += row.bytes_in
        sums[1] += row.bytes_out
        sums[2] += row.records
    await uow.session.execute(statement, [
        {"company_id": company_id, "source": source, "address": address, "hour": hour,
         "bytes_in": i, "bytes_out": o, "records": n}
        for (address, hour), (i, o, n) in sorted(summed.items())])


@dataclass(frozen=True, slots=True)
class UnattributedTotal:
    source: str
    address: str
    bytes_in: int
    bytes_out: int
    records: int


async def unattributed_totals(uow: UnitOfWork, company_id: int, start: datetime,
                              end: datetime, *, source: str | None = None, limit: int = 100
                              ) -> list[UnattributedTotal]:
    """Totals per source and address over the hours starting in [start, end), the largest
    first."""
    if end <= start:
        raise DomainError("The range ends before it starts.", field="to")
    u = UnattributedUsage
    total = func.sum(u.bytes_in + u.bytes_out)
    statement = (
        select(u.source, u.address, func.sum(u.bytes_in), func.sum(u.bytes_out),
               func.sum(u.records))
        .where(u.company_id == company_id, u.hour >= start, u.hour < end)
        .group_by(u.source, u.address)
        .order_by(total.desc(), u.source, u.address)
        .limit(limit))
    if source is not None:
        statement = statement.where(u.source == source)
    return [UnattributedTotal(s, a, int(i), int(o), int(n))
            for s, a, i, o, n in await uow.session.execute(statement)]
