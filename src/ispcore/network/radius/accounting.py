"""Accounting-Request records and their storage as ``radius_sessions`` rows, with the usage
they report credited to the session's account in the same transaction.

Packets are written in batches (whatever arrived while the previous batch was being
committed); each is acknowledged only after its batch commits. A new session belongs to
the login's holder by the one rule (:mod:`~ispcore.domain.usage.attribution`): whoever
held the username when the session started. Retransmissions do not
duplicate rows: a session is one row per (NAS, Acct-Session-Id, User-Name). The usage of a
report is the difference between its cumulative counters and what the session had counted
(:mod:`ispcore.domain.usage.radius_usage`), over the time since the session's last report."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ispcore.domain.common.unit_of_work import UnitOfWork
from ispcore.domain.network.models import RadiusSession
from ispcore.domain.usage import attribution
from ispcore.domain.usage.attribution import Holding
from ispcore.domain.usage.holders import username_holdings
from ispcore.domain.usage.ingest import Source
from ispcore.domain.usage.radius_usage import (
    Report,
    Step,
    Tally,
    credit_reports,
    credited_keys,
    serialise,
    session_key,
    step,
)
from ispcore.network.radius import wire
from ispcore.network.radius.codec import value_names

log = logging.getLogger(__name__)

START, STOP, INTERIM = 1, 2, 3
ACCOUNTING_ON, ACCOUNTING_OFF = 7, 8
#: Accounting batches of every server are written one at a time.
LOCK = "radius.accounting"

_FRAMED_IP = 8
_CALLING_STATION_ID = 31
_INPUT_OCTETS, _OUTPUT_OCTETS, _SESSION_ID, _SESSION_TIME = 42, 43, 44, 46
_INPUT_PACKETS, _OUTPUT_PACKETS, _TERMINATE_CAUSE = 47, 48, 49
_INPUT_GIGAWORDS, _OUTPUT_GIGAWORDS, _NAS_PORT_ID = 52, 53, 87
_TERMINATE_CAUSES = value_names("Acct-Terminate-Cause")
_COUNTERS = ("session_time", "input_octets", "output_octets", "input_packets",
             "output_packets")


@dataclass(slots=True)
class Record:
    status: int
    nas_id: int
    company_id: int
    username: str
    session_id: str
    #: Counters the packet does not carry are None: the session keeps what it had.
    session_time: int | None
    input_octets: int | None
    output_octets: int | None
    input_packets: int | None
    output_packets: int | None
    framed_ip: str | None
    nas_port_id: str | None
    calling_station_id: str | None
    terminate_cause: str | None

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.nas_id, self.session_id, self.username)


def _text(parsed: wire.Parsed, kind: int) -> str | None:
    value = parsed.first(kind)
    return value.decode(errors="replace")[:128] if value is not None else None


def _octets(parsed: wire.Parsed, octets: int, gigawords: int) -> int | None:
    low, high = parsed.integer(octets), parsed.integer(gigawords)
    if low is None and high is None:
        return None
    return (low or 0) + ((high or 0) << 32)


def _nas_restarted(status: int, nas_id: int, company_id: int) -> Record:
    return Record(status, nas_id, company_id, "", "", None, None, None, None, None, None,
                  None, None, "NAS-Reboot")


def record(parsed: wire.Parsed, nas_id: int, company_id: int) -> Record | None:
    """The record of a Start, Interim-Update or Stop, or of an Accounting-On/Off (the NAS
    restarted: its open sessions are over); None for other status types (acknowledged,
    nothing stored). Raises Malformed without a status type or a session id."""
    status = parsed.integer(40)
    session_id = _text(parsed, _SESSION_ID)
    if status is None or (status in (START, STOP, INTERIM) and not session_id):
        raise wire.Malformed("bad_accounting")
    if status in (ACCOUNTING_ON, ACCOUNTING_OFF):
        return _nas_restarted(status, nas_id, company_id)
    if status not in (START, STOP, INTERIM):
        return None
    integer = parsed.integer
    framed = parsed.first(_FRAMED_IP)
    cause = integer(_TERMINATE_CAUSE)
    return Record(
        status=status, nas_id=nas_id, company_id=company_id,
        username=_text(parsed, wire.USER_NAME) or "", session_id=session_id or "",
        session_time=integer(_SESSION_TIME),
        input_octets=_octets(parsed, _INPUT_OCTETS, _INPUT_GIGAWORDS),
        output_octets=_octets(parsed, _OUTPUT_OCTETS, _OUTPUT_GIGAWORDS),
        input_packets=integer(_INPUT_PACKETS),
        output_packets=integer(_OUTPUT_PACKETS),
        framed_ip=str(ipaddress.IPv4Address(framed)) if framed and len(framed) == 4 else None,
        nas_port_id=_text(parsed, _NAS_PORT_ID),
        calling_station_id=_text(parsed, _CALLING_STATION_ID),
        terminate_cause=(_TERMINATE_CAUSES.get(cause, str(cause))
                         if cause is not None else None),
    )


async def store(open_uow: Callable[[], UnitOfWork], records: list[Record]) -> Tally:
    """Apply ``records`` in order in one unit of work, crediting the usage they report in
    the same transaction. A unique violation (another server created the same session
    meanwhile) retries the batch, which then finds the row."""
    for attempt in range(3):
        try:
            async with open_uow() as uow:
                return await _store(uow, records)
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("accounting batch met a session created meanwhile; retrying")
    raise AssertionError("unreachable")


async def _store(uow: UnitOfWork, records: list[Record]) -> Tally:
    session, now = uow.session, uow.clock.now()
    await serialise(uow, LOCK)
    found = (await session.scalars(select(RadiusSession).where(
        RadiusSession.nas_id.in_({r.nas_id for r in records}),
        RadiusSession.acct_session_id.in_({r.session_id for r in records})))).all()
    rows = {(s.nas_id, s.acct_session_id, s.username): s for s in found}
    counting = _Counting(await credited_keys(uow, Source.RADIUS, _reported_keys(records, rows)))
    owners = await _owners(uow, records, rows, now)
    for r in records:
        if r.status in (ACCOUNTING_ON, ACCOUNTING_OFF):
            await _close_all(session, r.nas_id, now)
            continue
        row = rows.get(r.key)
        if row is None:
            rows[r.key] = row = _new(r, now, owners.get(r.key))
            session.add(row)
        # A late packet of an ended session, or a Start seen again, changes nothing.
        if row.stopped_at is None and r.status != START:
            counting.apply(row, r, now)
    await session.flush()
    await credit_reports(uow, Source.RADIUS, counting.reports(), counting.tally)
    return counting.tally


def _reported(row: RadiusSession, r: Record) -> tuple[int, int]:
    """The session's cumulative (input, output) octets after ``r`` (a counter the packet
    does not carry keeps its value)."""
    return (row.input_octets if r.input_octets is None else r.input_octets,
            row.output_octets if r.output_octets is None else r.output_octets)


def _reported_keys(records: list[Record], rows: dict[tuple[int, str, str], RadiusSession]
                   ) -> dict[int, list[str]]:
    """Per company, the usage keys the records of stored sessions would have."""
    keys: dict[int, list[str]] = {}
    for r in records:
        row = rows.get(r.key)
        if row is not None and r.status in (INTERIM, STOP):
            keys.setdefault(r.company_id, []).append(session_key(row.id, *_reported(row, r)))
    return keys


class _Counting:
    """The usage of a batch's records, session by session, in order: each record's
    counters against what the session had counted (``counted_in``, ``counted_out``,
    ``counted_at``), which then moves to the record's."""

    def __init__(self, credited: set[str]) -> None:
        self.credited = credited
        self.tally = Tally()
        self._seen: set[tuple[int, tuple[int, int]]] = set()
        self._pending: list[tuple[RadiusSession, tuple[int, int], datetime, datetime, Step]] = []

    def apply(self, row: RadiusSession, r: Record, now: datetime) -> None:
        reported = _reported(row, r)
        replayed = (id(row), reported) in self._seen or (
            row.id is not None and session_key(row.id, *reported) in self.credited)
        older = r.session_time is not None and r.session_time < row.session_time
        found = step((row.counted_in, row.counted_out), reported, replayed=replayed,
                     older=older)
        if found.ignored is not None:
            self.tally.not_credited[found.ignored] += 1
            if r.status == STOP:  # its counters are an old copy; the session is over
                _stop(row, r, now)
            return
        _update(row, r, now)
        self._seen.add((id(row), reported))
        self.tally.resets += found.reset
        if found.input_octets or found.output_octets:
            if row.account_id is None:
                self.tally.not_credited["unknown_user"] += 1
            else:
                self._pending.append((row, reported, row.counted_at or row.started_at, now,
                                      found))
        row.counted_in, row.counted_out = reported
        row.counted_at = now

    def reports(self) -> list[Report]:
        """The usage found, once the new sessions have their ids."""
        return [Report(row.company_id, row.account_id, session_key(row.id, *reported), start,
                       end, found.input_octets, found.output_octets)
                for row, reported, start, end, found in self._pending
                if row.account_id is not None]


async def _close_all(session: Any, nas_id: int, now: datetime) -> None:
    """The NAS restarted: every session it had open ended (no later CoA is aimed at them)."""
    await session.flush()
    await session.execute(
        update(RadiusSession)
        .where(RadiusSession.nas_id == nas_id, RadiusSession.stopped_at.is_(None))
        .values(stopped_at=now, updated_at=now, terminate_cause="NAS-Reboot")
        .execution_options(synchronize_session="fetch"))


def _started(r: Record, now: datetime) -> datetime:
    """A session first seen through an Interim or a Stop started ``session_time`` ago."""
    return now - timedelta(seconds=0 if r.status == START else r.session_time or 0)


async def _owners(uow: UnitOfWork, records: list[Record],
                  rows: dict[tuple[int, str, str], RadiusSession], now: datetime
                  ) -> dict[tuple[int, str, str], Holding | None]:
    """Whose each new session is: the one rule (:mod:`~ispcore.domain.usage.attribution`)
    over the history of its NAS's company's logins, the session being the record."""
    new = {r.key: r for r in records if r.status in (START, INTERIM, STOP) and r.key not in rows}
    if not new:
        return {}
    starts = {key: _started(r, now) for key, r in new.items()}
    held = await username_holdings(uow, {r.company_id for r in new.values()},
                                   {r.username for r in new.values()}, min(starts.values()),
                                   now)
    owners: dict[tuple[int, str, str], Holding | None] = {}
    for key, r in new.items():
        found = attribution.holder([h for h in held.get(r.username, ())
                                    if h.company_id == r.company_id], starts[key], now)
        owners[key] = found if isinstance(found, Holding) else None
    return owners


def _new(r: Record, now: datetime, owner: Holding | None) -> RadiusSession:
    return RadiusSession(
        company_id=r.company_id, nas_id=r.nas_id,
        account_id=owner.account_id if owner else None,
        credential_id=owner.holding_id if owner else None, username=r.username,
        acct_session_id=r.session_id,
        framed_ip_address=r.framed_ip, nas_port_id=r.nas_port_id,
        calling_station_id=r.calling_station_id, started_at=_started(r, now), updated_at=now,
        session_time=0, input_octets=0, output_octets=0, input_packets=0, output_packets=0,
        interim_count=0, counted_in=0, counted_out=0)


def _update(row: RadiusSession, r: Record, now: datetime) -> None:
    for column in _COUNTERS:
        value = getattr(r, column)
        if value is not None:
            setattr(row, column, value)
    row.framed_ip_address = r.framed_ip or row.framed_ip_address
    row.updated_at = now
    if r.status == INTERIM:
        row.interim_count += 1
    else:
        _stop(row, r, now)


def _stop(row: RadiusSession, r: Record, now: datetime) -> None:
    row.updated_at = now
    row.stopped_at = now
    row.terminate_cause = r.terminate_cause
