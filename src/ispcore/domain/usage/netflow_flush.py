"""Writing one batch of the NetFlow collector in one transaction: usage of the addresses
accounts held is credited through the one ingest path, traffic nobody held (and transit)
goes to ``usage_unattributed``, and the exporters' counters are added to.

A batch is retried as it was after a failed commit: its samples' keys (collector run,
batch number, exporter, address, interval) are the same, so a retry of a batch whose commit
did go through credits nothing new; that is how it is recognised, and it then writes
nothing else either."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from ispcore.db import among
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage.ingest import Sample, Source, credit, problem
from ispcore.domain.usage.models import NetflowExporter
from ispcore.domain.usage.unattributed import Unattributed, add_unattributed


@dataclass(frozen=True, slots=True)
class FlushEntry:
    """One exporter's bytes for one address ('' for transit) in one interval, and the
    account that held the address then (None: nobody, or transit)."""

    exporter_id: int
    address: str
    start: datetime
    end: datetime
    bytes_in: int
    bytes_out: int
    records: int
    account_id: int | None


@dataclass
class ExporterCounts:
    """What an exporter's counters gain: datagrams, flow records, refusals per reason, and
    whether it was heard from (``last_seen_at`` becomes the flush's time)."""

    datagrams: int = 0
    flows: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def __bool__(self) -> bool:
        return bool(self.datagrams or self.flows or +self.rejected)


@dataclass
class Applied:
    credited: int = 0
    credited_bytes: int = 0
    unattributed: int = 0
    unattributed_bytes: int = 0
    #: Entries refused by the validity check, per exporter and reason.
    rejected: dict[int, Counter[str]] = field(default_factory=dict)
    #: The batch had been written already (a retry after a commit that went through).
    already: bool = False


def sample_key(prefix: str, entry: FlushEntry) -> str:
    return f"{prefix}:{entry.exporter_id}:{entry.address}:{int(entry.start.timestamp())}"


async def apply_batch(uow: UnitOfWork, company_id: int, key_prefix: str,
                      entries: list[FlushEntry], counts: dict[int, ExporterCounts]
                      ) -> Applied:
    """Write one batch; ``key_prefix`` names it (``<run>:<batch number>``)."""
    now = uow.clock.now()
    out = Applied()
    samples: list[Sample] = []
    unattributed: list[Unattributed] = []
    for entry in entries:
        code = problem(entry.start, entry.end, entry.bytes_in, entry.bytes_out, now)
        if code is not None:
            out.rejected.setdefault(entry.exporter_id, Counter())[code] += 1
        elif entry.account_id is None:
            unattributed.append(Unattributed(
                entry.address, entry.start.replace(minute=0, second=0, microsecond=0),
                entry.bytes_in, entry.bytes_out, entry.records))
            out.unattributed_bytes += entry.bytes_in + entry.bytes_out
        else:
            samples.append(Sample(entry.account_id, sample_key(key_prefix, entry),
                                  entry.start, entry.end, entry.bytes_in, entry.bytes_out))
            out.credited_bytes += entry.bytes_in + entry.bytes_out
    if samples:
        credited = await credit(uow, company_id, Source.NETFLOW, samples)
        if credited.new == 0:
            return Applied(already=True)
        out.credited = credited.new
    await add_unattributed(uow, company_id, Source.NETFLOW, unattributed)
    out.unattributed = len(unattributed)
    await _add_counts(uow, counts, out.rejected, now)
    return out


async def _add_counts(uow: UnitOfWork, counts: dict[int, ExporterCounts],
                      refused: dict[int, Counter[str]], now: datetime) -> None:
    ids = sorted(set(counts) | set(refused))
    if not ids:
        return
    session = uow.session
    current = dict((await session.execute(
        select(NetflowExporter.id, NetflowExporter.rejected)
        .where(among(session, NetflowExporter.id, ids)).with_for_update())).all())
    e = NetflowExporter
    for exporter_id, rejected in current.items():
        count = counts.get(exporter_id) or ExporterCounts()
        merged = Counter(rejected or {})
        merged.update(count.rejected)
        merged.update(refused.get(exporter_id, Counter()))
        values = {"datagrams": e.datagrams + count.datagrams, "flows": e.flows + count.flows,
                  "rejected": dict(sorted(merged.items()))}
        if count.datagrams:
            values["last_seen_at"] = now
        await session.execute(update(e).where(e.id == exporter_id).values(**values))
