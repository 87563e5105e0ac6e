"""RADIUS accounting as a usage source, for the tests: an account with a RADIUS login set up
through the API and the built-in server on loopback, Accounting-Requests built with pyrad
(an independent implementation), FreeRADIUS's ``radacct`` rows written the way its stock
queries write them, and the account's usage read back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from pyrad.packet import AcctPacket
from sqlalchemy import select, text

from ispcore.domain.usage.models import UsageHourly, UsagePeriod, UsageRecord
from ispcore.network.radius.codec import dictionary
from ispcore.network.radius.server import RadiusServer
from tests.network.radius_support import Radius, radius_setup
from tests.network.udp import exchange
from tests.peers.radius_support import SECRET
from tests.usage.support import pk_of

GIGAWORD = 2**32


@dataclass
class Metered:
    radius: Radius
    server: RadiusServer

    @property
    def account_pk(self) -> int:
        return pk_of(self.radius.account)


@pytest.fixture
async def login(api: Any, vault_key: str) -> Radius:
    """Pat's fibre service with the RADIUS login ``pat``, NAS 127.0.0.1."""
    return await radius_setup(api, secret=SECRET)


@pytest.fixture
async def metered(runtime: Any, login: Radius) -> AsyncIterator[Metered]:
    """The login, and the built-in server answering on loopback."""
    server = RadiusServer(runtime, host="127.0.0.1", auth_port=0, acct_port=0,
                          refresh_seconds=0.2)
    await server.start()
    yield Metered(login, server)
    await server.stop()


def acct(status: str, session: str = "s-1", user: str = "pat", **attributes: Any
         ) -> AcctPacket:
    """An Accounting-Request; attribute names with underscores (``Acct_Input_Octets``)."""
    return AcctPacket(secret=SECRET.encode(), dict=dictionary(), User_Name=user,
                      Acct_Status_Type=status, Acct_Session_Id=session, **attributes)


def interim(session_time: int, input_octets: int, output_octets: int, *,
            status: str = "Interim-Update", session: str = "s-1", user: str = "pat",
            **more: Any) -> AcctPacket:
    """A report of cumulative counters, split into octets and gigawords as a NAS does."""
    return acct(status, session, user, Acct_Session_Time=session_time,
                Acct_Input_Octets=input_octets % GIGAWORD,
                Acct_Input_Gigawords=input_octets // GIGAWORD,
                Acct_Output_Octets=output_octets % GIGAWORD,
                Acct_Output_Gigawords=output_octets // GIGAWORD, **more)


async def send(server: RadiusServer, packet: AcctPacket) -> None:
    """Send and wait for the Accounting-Response (sent once the batch committed)."""
    raw = await exchange(server.acct_port, packet.RequestPacket(), wait=5)
    assert raw is not None, "no Accounting-Response"
    assert packet.VerifyReply(packet.CreateReply(packet=raw), raw)


async def in_turn(server: RadiusServer, clock: Any, *packets: AcctPacket,
                  every: timedelta = timedelta(minutes=5)) -> None:
    """Send ``packets`` one after the other, ``every`` apart on the clock."""
    for n, packet in enumerate(packets):
        if n:
            clock.advance(every)
        await send(server, packet)


@dataclass
class Used:
    """An account's usage as the rollups hold it: download (in) and upload (out)."""

    download: int
    upload: int
    hourly: dict[datetime, tuple[int, int]]
    records: int


async def used(runtime: Any, account_id: int) -> Used:
    async with runtime.db.session() as s:
        periods = (await s.scalars(select(UsagePeriod)
                                   .where(UsagePeriod.account_id == account_id))).all()
        hours = (await s.scalars(select(UsageHourly)
                                 .where(UsageHourly.account_id == account_id))).all()
        records = (await s.scalars(select(UsageRecord)
                                   .where(UsageRecord.account_id == account_id))).all()
    return Used(sum(p.billable_in + p.free_in for p in periods),
                sum(p.billable_out + p.free_out for p in periods),
                {h.hour: (h.billable_in + h.free_in, h.billable_out + h.free_out)
                 for h in hours}, len(records))


# --- FreeRADIUS's radacct, as its stock queries.conf writes it --------------------------------


def _time(runtime: Any, moment: datetime) -> str:
    """A time as the dialect's stock queries write it: TO_TIMESTAMP(epoch) on PostgreSQL, the
    bare epoch number on SQLite."""
    seconds = int(moment.timestamp())
    return str(seconds) if runtime.db.is_sqlite else f"TO_TIMESTAMP({seconds})"


def _octets(runtime: Any, count: int) -> str:
    """A counter as the stock queries fold Acct-*-Gigawords into Acct-*-Octets."""
    high, low = divmod(count, GIGAWORD)
    if runtime.db.is_sqlite:
        return f"{high} << 32 | {low}"
    return f"(('{high}'::bigint << 32) + '{low}'::bigint)"


async def _insert(runtime: Any, unique_id: str, username: str, started: datetime,
                  updated: datetime, stopped: datetime | None, session_time: int,
                  input_octets: int, output_octets: int) -> None:
    stop = "NULL" if stopped is None else _time(runtime, stopped)
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO radacct (acctsessionid, acctuniqueid, username, nasipaddress, "
            "acctstarttime, acctupdatetime, acctstoptime, acctsessiontime, acctinputoctets, "
            f"acctoutputoctets) VALUES (:sid, :uid, :user, '127.0.0.1', "
            f"{_time(runtime, started)}, {_time(runtime, updated)}, {stop}, :st, :i, :o)"),
            {"sid": unique_id[:8], "uid": unique_id, "user": username, "st": session_time,
             "i": input_octets, "o": output_octets})


async def radacct_start(runtime: Any, unique_id: str, username: str, at: datetime) -> None:
    """The start query's insert."""
    await _insert(runtime, unique_id, username, at, at, None, 0, 0, 0)


async def radacct_report(runtime: Any, unique_id: str, at: datetime, session_time: int,
                         input_octets: int, output_octets: int, *, stop: bool = False,
                         open_only: bool = True) -> int:
    """The interim-update (or stop) query: counters from octets and gigawords, the update
    time (and the stop time). ``open_only``: PostgreSQL's first query, which leaves stopped
    sessions alone (SQLite's interim query has no such condition). Returns rows changed."""
    t = _time(runtime, at)
    stopping = f", acctstoptime = {t}, acctterminatecause = 'User-Request'" if stop else ""
    async with runtime.db.engine.begin() as conn:
        result = await conn.execute(text(
            f"UPDATE radacct SET acctupdatetime = {t}, acctsessiontime = {session_time}, "
            f"acctinputoctets = {_octets(runtime, input_octets)}, "
            f"acctoutputoctets = {_octets(runtime, output_octets)}{stopping} "
            "WHERE acctuniqueid = :uid" + (" AND acctstoptime IS NULL" if open_only else "")),
            {"uid": unique_id})
        return result.rowcount


async def radacct_stopped(runtime: Any, unique_id: str, username: str, at: datetime,
                          session_time: int, input_octets: int, output_octets: int) -> None:
    """The stop query's insert: a session first seen at its Stop, started session_time
    before it."""
    await _insert(runtime, unique_id, username, at - timedelta(seconds=session_time), at, at,
                  session_time, input_octets, output_octets)
