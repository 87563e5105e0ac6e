"""Usage from RADIUS accounting: a session's cumulative counters (the built-in server's
``radius_sessions``, FreeRADIUS's ``radacct``) become usage as the difference between what a
report says and what was counted before, credited through :func:`ingest.credit`.

Counters are the NAS's: Input-Octets came from the customer (their upload, ``bytes_out``),
Output-Octets went to them (``bytes_in``). A report below what was counted is either a copy
of an earlier report (a replay: its counters were credited before, under the same key; or
older than the counted one) and is ignored, or the NAS restarted the session's counters
(a reset): the new counters are then the usage. A session's sample is keyed
``<session>:<input>:<output>``: the same cumulative counters never count twice."""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select, text

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.usage.ingest import Sample, Source, credit, problem
from ispcore.domain.usage.models import UsageRecord

log = logging.getLogger(__name__)


def session_key(session_id: int, input_octets: int, output_octets: int) -> str:
    return f"{session_id}:{input_octets}:{output_octets}"


@dataclass(frozen=True, slots=True)
class Step:
    """What one report adds to a session's counted octets (the NAS's point of view), or
    why it adds nothing (``ignored``: ``replayed`` or ``late``)."""

    input_octets: int = 0
    output_octets: int = 0
    reset: bool = False
    ignored: str | None = None


def step(counted: tuple[int, int], reported: tuple[int, int], *, replayed: bool,
         older: bool) -> Step:
    """The usage a report of cumulative ``reported`` (input, output) octets adds to
    ``counted``. ``replayed``: these counters were credited before; ``older``: the report
    is older than the one counted (lower session time, earlier time)."""
    if reported == counted:
        return Step()
    if replayed:
        return Step(ignored="replayed")
    if reported[0] < counted[0] or reported[1] < counted[1]:
        if older:
            return Step(ignored="late")
        return Step(reported[0], reported[1], reset=True)
    return Step(reported[0] - counted[0], reported[1] - counted[1])


@dataclass(frozen=True, slots=True)
class Report:
    """Usage of one session between two reports, to credit to ``account_id``."""

    company_id: int
    account_id: int
    key: str
    start: datetime
    end: datetime
    input_octets: int
    output_octets: int


@dataclass
class Tally:
    """What became of the reports of a batch: ``credited`` samples, ``duplicates`` (already
    stored), and the ones not credited per reason (``replayed``, ``late``, ``unknown_user``,
    and the codes of :func:`ingest.problem`)."""

    credited: int = 0
    duplicates: int = 0
    resets: int = 0
    not_credited: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.credited += other.credited
        self.duplicates += other.duplicates
        self.resets += other.resets
        self.not_credited.update(other.not_credited)

    def as_dict(self) -> dict[str, int]:
        return {"credited": self.credited, "duplicates": self.duplicates,
                "resets": self.resets, **self.not_credited}


async def credit_reports(uow: UnitOfWork, source: Source, reports: Iterable[Report],
                         tally: Tally) -> None:
    """Credit ``reports`` with usage; those :func:`ingest.problem` refuses are counted in
    ``tally`` (and logged), not credited."""
    now = uow.clock.now()
    samples: dict[int, list[Sample]] = defaultdict(list)
    for r in reports:
        if not r.input_octets and not r.output_octets:
            continue
        why = problem(r.start, r.end, r.output_octets, r.input_octets, now)
        if why is not None:
            tally.not_credited[why] += 1
            log.warning("%s usage of account %d refused (%s): %s, %d in / %d out octets over "
                        "%s - %s", source, r.account_id, why, r.key, r.input_octets,
                        r.output_octets, r.start.isoformat(), r.end.isoformat())
            continue
        samples[r.company_id].append(Sample(r.account_id, r.key, r.start, r.end,
                                            bytes_in=r.output_octets,
                                            bytes_out=r.input_octets))
    for company_id, batch in sorted(samples.items()):
        result = await credit(uow, company_id, source, batch)
        tally.credited += result.new
        tally.duplicates += result.duplicates


async def credited_keys(uow: UnitOfWork, source: Source,
                        keys: Mapping[int, Iterable[str]]) -> set[str]:
    """Those of ``keys`` (per company) already stored as usage of ``source``."""
    s = uow.session
    found: set[str] = set()
    for company_id, company_keys in keys.items():
        wanted = sorted(set(company_keys))
        for lo in range(0, len(wanted), 1000):
            found.update(await s.scalars(select(UsageRecord.source_key).where(
                UsageRecord.company_id == company_id, UsageRecord.source == str(source),
                UsageRecord.source_key.in_(wanted[lo:lo + 1000]))))
    return found


async def serialise(uow: UnitOfWork, name: str) -> None:
    """Hold the lock ``name`` until commit. Whatever counts a source's sessions takes it
    first, so two transactions never count from the same baseline: an advisory lock on
    PostgreSQL; on SQLite the database's write lock, taken by a no-op write (a transaction
    that reads and then writes fails if another wrote in between)."""
    s = uow.session
    if s.bind.dialect.name == "sqlite":
        await s.execute(text("UPDATE usage_records SET id = id WHERE 0"))
        return
    await s.execute(select(func.pg_advisory_xact_lock(func.hashtext(name))))
