"""Accounting-Request records and their storage as ``radius_sessions`` rows.

Packets are written in batches (whatever arrived while the previous batch was being
committed); each is acknowledged only after its batch commits. Retransmissions do not
duplicate rows: a session is one row per (NAS, Acct-Session-Id, User-Name)."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ispcore.domain.network.models import RadiusSession
from ispcore.network.radius import wire
from ispcore.network.radius.codec import value_names

log = logging.getLogger(__name__)

START, STOP, INTERIM = 1, 2, 3
ACCOUNTING_ON, ACCOUNTING_OFF = 7, 8

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
    account_id: int | None
    credential_id: int | None
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
                  None, None, None, None, "NAS-Reboot")


def record(parsed: wire.Parsed, nas_id: int, company_id: int, user: Any) -> Record | None:
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
    mine = user is not None and user.company_id == company_id
    framed = parsed.first(_FRAMED_IP)
    cause = integer(_TERMINATE_CAUSE)
    return Record(
        status=status, nas_id=nas_id, company_id=company_id,
        username=_text(parsed, wire.USER_NAME) or "", session_id=session_id or "",
        account_id=user.account_id if mine else None,
        credential_id=user.credential_id if mine else None,
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


async def store(db: Any, records: list[Record], now: datetime) -> None:
    """Apply ``records`` in order in one transaction. A unique violation (another server
    created the same session meanwhile) retries the batch, which then finds the row."""
    for attempt in range(3):
        try:
            async with db.session() as session, session.begin():
                found = (await session.scalars(select(RadiusSession).where(
                    RadiusSession.nas_id.in_({r.nas_id for r in records}),
                    RadiusSession.acct_session_id.in_({r.session_id for r in records})))).all()
                rows = {(s.nas_id, s.acct_session_id, s.username): s for s in found}
                for r in records:
                    if r.status in (ACCOUNTING_ON, ACCOUNTING_OFF):
                        await _close_all(session, r.nas_id, now)
                        continue
                    row = rows.get(r.key)
                    if row is None:
                        rows[r.key] = row = _new(r, now)
                        session.add(row)
                    _update(row, r, now)
            return
        except IntegrityError:
            if attempt == 2:
                raise
            log.info("accounting batch met a session created meanwhile; retrying")


async def _close_all(session: Any, nas_id: int, now: datetime) -> None:
    """The NAS restarted: every session it had open ended (no later CoA is aimed at them)."""
    await session.flush()
    await session.execute(
        update(RadiusSession)
        .where(RadiusSession.nas_id == nas_id, RadiusSession.stopped_at.is_(None))
        .values(stopped_at=now, updated_at=now, terminate_cause="NAS-Reboot")
        .execution_options(synchronize_session="fetch"))


def _new(r: Record, now: datetime) -> RadiusSession:
    """A session first seen through an Interim or a Stop started ``session_time`` ago."""
    started = now - timedelta(seconds=0 if r.status == START else r.session_time or 0)
    return RadiusSession(
        company_id=r.company_id, nas_id=r.nas_id, account_id=r.account_id,
        credential_id=r.credential_id, username=r.username, acct_session_id=r.session_id,
        framed_ip_address=r.framed_ip, nas_port_id=r.nas_port_id,
        calling_station_id=r.calling_station_id, started_at=started, updated_at=now,
        session_time=0, input_octets=0, output_octets=0, input_packets=0, output_packets=0,
        interim_count=0)


def _update(row: RadiusSession, r: Record, now: datetime) -> None:
    if row.stopped_at is not None or r.status == START:
        return  # a late packet of an ended session, or a Start seen again
    for column in _COUNTERS:
        value = getattr(r, column)
        if value is not None:
            setattr(row, column, value)
    row.framed_ip_address = r.framed_ip or row.framed_ip_address
    row.updated_at = now
    if r.status == INTERIM:
        row.interim_count += 1
    else:
        row.stopped_at = now
        row.terminate_cause = r.terminate_cause
