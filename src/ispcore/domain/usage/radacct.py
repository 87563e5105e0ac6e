"""FreeRADIUS's ``radacct`` as a usage source, for ISPs running FreeRADIUS on this database.

The ``usage.collect_radacct`` job reads the sessions changed since it last looked (open
ones, and the others whose last time is recent), credits what their cumulative
``acctinputoctets`` / ``acctoutputoctets`` add to what ``usage_radacct_progress`` says was
counted (:mod:`ispcore.domain.usage.radius_usage`), over the time between the two reports,
and records the new progress in the same transaction. A session whose stop was counted
credits nothing more. ``username`` is mapped to an account by the one rule
(:mod:`~ispcore.domain.usage.attribution`), the session being the record: the login that
held it when the session started, else the first to take it during the session; sessions
of no login are counted, not credited.

FreeRADIUS's stock queries write timestamps on PostgreSQL and Unix epoch numbers on SQLite
(where ispcore itself writes ISO text): times are read as epoch seconds on both."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, func, or_, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from ispcore.db import bulk_insert, bulk_update
from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network.models import FreeradiusAccounting, RadiusCredential
from ispcore.domain.usage import attribution
from ispcore.domain.usage.attribution import Holding
from ispcore.domain.usage.ingest import MAX_AGE, Source
from ispcore.domain.usage.models import RadacctProgress
from ispcore.domain.usage.radius_usage import (
    Report,
    Tally,
    credit_reports,
    credited_keys,
    serialise,
    session_key,
    step,
)

COLLECT_JOB = "usage.collect_radacct"
BATCH = 1000
#: Stopped sessions whose last time is up to this much older than the newest one counted are
#: looked at again: NAS clocks (Event-Timestamp) differ, and rows commit out of order.
SLACK = timedelta(hours=1)


def epoch(column: Any, dialect: str) -> ColumnElement[float]:
    """``column``'s seconds since 1970, however FreeRADIUS or ispcore wrote it."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", column), Float)
    return type_coerce(case((func.typeof(column).in_(("integer", "real")), column),
                            else_=cast(func.strftime("%s", column), Integer)), Float)


def _latest(dialect: str, *columns: Any) -> ColumnElement[float]:
    """The latest of several time columns (nulls ignored; 0 when all are null)."""
    times = [func.coalesce(epoch(c, dialect), 0) for c in columns]
    return type_coerce(func.greatest(*times) if dialect == "postgresql" else func.max(*times),
                       Float)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


async def collect(open_uow: Callable[[], UnitOfWork]) -> dict[str, int]:
    """Count every changed session, a batch per transaction. Safe to run twice: a second
    run finds nothing new."""
    tally, since, after, rows = Tally(), None, 0, 0
    while True:
        async with open_uow() as uow:
            await serialise(uow, COLLECT_JOB)
            if since is None:
                since = await _since(uow)
            batch = await _changed(uow, since, after)
            await _count(uow, batch, tally)
        rows += len(batch)
        if len(batch) < BATCH:
            return {"sessions": rows, **tally.as_dict()}
        after = batch[-1].radacctid


async def _since(uow: UnitOfWork) -> float:
    """Stopped sessions last changed before this (epoch seconds) were counted already: the
    newest time counted (never past the clock) less :data:`SLACK`; on the first run, the
    oldest usage ingest takes."""
    now = uow.clock.now()
    newest = await uow.session.scalar(select(func.max(RadacctProgress.counted_until)))
    return ((now - MAX_AGE) if newest is None else (min(newest, now) - SLACK)).timestamp()


async def _changed(uow: UnitOfWork, since: float, after: int) -> Sequence[Any]:
    """Up to :data:`BATCH` sessions after ``after`` whose counters or time moved past their
    progress, open or last changed since ``since``, without a counted stop."""
    dialect = uow.session.bind.dialect.name
    r, p = FreeradiusAccounting, RadacctProgress
    octets_in = func.coalesce(r.acctinputoctets, 0)
    octets_out = func.coalesce(r.acctoutputoctets, 0)
    latest = _latest(dialect, r.acctstarttime, r.acctupdatetime, r.acctstoptime)
    until = epoch(p.counted_until, dialect)
    moved = or_(octets_in != p.counted_in, octets_out != p.counted_out, latest > until)
    return (await uow.session.execute(
        select(r.radacctid, r.username, octets_in.label("input_octets"),
               octets_out.label("output_octets"),
               epoch(r.acctstarttime, dialect).label("started"), latest.label("latest"),
               p.id.label("progress_id"), p.counted_in, p.counted_out, until.label("until"))
        .outerjoin(p, p.radacct_id == r.radacctid)
        .where(r.radacctid > after, or_(r.acctstoptime.is_(None), latest >= since),
               or_(p.id.is_(None), and_(moved, or_(r.acctstoptime.is_(None),
                                                    until < epoch(r.acctstoptime, dialect)))))
        .order_by(r.radacctid).limit(BATCH))).all()


async def _holders(uow: UnitOfWork, names: set[str]) -> dict[str, list[Holding]]:
    found: dict[str, list[Holding]] = {}
    for row in await uow.session.execute(
            select(RadiusCredential.username, RadiusCredential.company_id,
                   RadiusCredential.account_id, RadiusCredential.created_at,
                   RadiusCredential.removed_at, RadiusCredential.id)
            .where(RadiusCredential.username.in_(sorted(names)))):
        found.setdefault(row.username, []).append(Holding(*row[1:]))
    return found


def _owner(holdings: list[Holding], row: Any) -> Holding | None:
    """Whose the session is: the one rule, the session being the record (from its start
    to its latest report)."""
    start = _at(row.started or row.latest)
    found = attribution.holder(holdings, start, max(start, _at(row.latest)))
    return found if isinstance(found, Holding) else None


async def _count(uow: UnitOfWork, batch: Sequence[Any], tally: Tally) -> None:
    holders = await _holders(uow, {row.username for row in batch if row.username})
    owners = {row.radacctid: _owner(holders.get(row.username or "", []), row)
              for row in batch}
    keys: dict[int, list[str]] = {}
    for row in batch:
        owner = owners[row.radacctid]
        if owner is not None:
            keys.setdefault(owner.company_id, []).append(
                session_key(row.radacctid, row.input_octets, row.output_octets))
    credited = await credited_keys(uow, Source.RADACCT, keys)
    reports, new, moved = [], [], []
    for row in batch:
        known = row.progress_id is not None
        reported = (row.input_octets, row.output_octets)
        key = session_key(row.radacctid, *reported)
        found = step((row.counted_in, row.counted_out) if known else (0, 0), reported,
                     replayed=key in credited, older=known and row.latest < row.until)
        if found.ignored is not None:
            tally.not_credited[found.ignored] += 1
            continue
        tally.resets += found.reset
        owner = owners[row.radacctid]
        if found.input_octets or found.output_octets:
            if owner is None:
                tally.not_credited["unknown_user"] += 1
            else:
                start = row.until if known else (row.started or row.latest)
                reports.append(Report(owner.company_id, owner.account_id, key, _at(start),
                                      _at(row.latest), found.input_octets,
                                      found.output_octets))
        progress = {"counted_in": reported[0], "counted_out": reported[1],
                    "counted_until": _at(row.latest)}
        if known:
            moved.append({"id": row.progress_id, **progress})
        else:
            new.append({"radacct_id": row.radacctid, **progress})
    await credit_reports(uow, Source.RADACCT, reports, tally)
    await bulk_insert(uow.session, RadacctProgress, new)
    await bulk_update(uow.session, RadacctProgress, moved)
