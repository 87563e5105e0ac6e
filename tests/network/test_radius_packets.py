"""Raw datagrams at the RADIUS server: broken packets are dropped and counted, the server
keeps answering, replies verify with pyrad (an independent implementation)."""

from __future__ import annotations

import os
import struct

import pytest
from pyrad.packet import AccessAccept, AccessReject, AcctPacket, AuthPacket, Packet
from sqlalchemy import select

from ispcore.domain.companies.models import Company
from ispcore.domain.network.models import NasClient, RadiusSession
from ispcore.network.radius.codec import dictionary
from tests.network.udp import exchange, exchanges
from tests.peers.radius_support import SECRET, stamped


def access_request(user: str = "alice", password: str = "wonderland-7", *,
                   signed: bool = True, secret: str = SECRET) -> AuthPacket:
    packet = AuthPacket(secret=secret.encode(), dict=dictionary(), User_Name=user)
    packet["User-Password"] = packet.PwCrypt(password)
    if signed:
        packet.add_message_authenticator()
    return packet


async def answered(radius, packet: AuthPacket) -> Packet:
    raw = await exchange(radius.auth_port, packet.RequestPacket())
    assert raw is not None, "no answer"
    reply = packet.CreateReply(packet=raw)
    assert packet.VerifyReply(reply, raw, enforce_ma=True)
    assert raw[20] == 80, "Message-Authenticator comes first"
    return reply


async def test_accept_and_reject_verify_with_pyrad(radius):
    accept = await answered(radius, access_request())
    assert accept.code == AccessAccept
    assert accept["Mikrotik-Rate-Limit"] == ["10M/20M"]
    assert accept["Mikrotik-Address-List"] == ["customers"]
    reject = await answered(radius, access_request(password="nope"))
    assert reject.code == AccessReject


def _request_with(attributes: bytes) -> bytes:
    return struct.pack("!BBH", 1, 7, 20 + len(attributes)) + os.urandom(16) + attributes


def _bad_ma() -> bytes:
    raw = bytearray(access_request().RequestPacket())
    at = raw.index(b"\x50\x12") + 2
    raw[at] ^= 0xFF
    return bytes(raw)


def _lying_length() -> bytes:
    raw = bytearray(access_request().RequestPacket())
    raw[2:4] = struct.pack("!H", len(raw) + 10)
    return bytes(raw)


BAD = {
    "truncated": (lambda: access_request().RequestPacket()[:15], "short"),
    "length field lies": (_lying_length, "bad_length"),
    "attribute length 0": (lambda: _request_with(b"\x01\x00alice"), "bad_attribute"),
    "attribute length 1": (lambda: _request_with(b"\x01\x01alice"), "bad_attribute"),
    "attribute overruns": (lambda: _request_with(b"\x01\x09alice"), "bad_attribute"),
    "zero-length vendor attribute": (lambda: _request_with(b"\x1a\x02"), "bad_attribute"),
    "vendor id without data": (lambda: _request_with(b"\x1a\x06\x00\x00\x3a\x8c"),
                               "bad_attribute"),
    "unknown code": (lambda: struct.pack("!BBH", 99, 1, 20) + bytes(16), "unknown_code"),
    "garbage": (lambda: b"\xfe" * 64, "bad_length"),
    "wrong Message-Authenticator": (_bad_ma, "bad_message_authenticator"),
    "no Message-Authenticator": (lambda: access_request(signed=False).RequestPacket(),
                                 "no_message_authenticator"),
    "another secret": (lambda: access_request(secret="not-the-secret").RequestPacket(),
                       "bad_message_authenticator"),
    "an Access-Accept": (lambda: struct.pack("!BBH", 2, 1, 20) + bytes(16),
                         "unexpected_code"),
}


@pytest.mark.parametrize("case", list(BAD))
async def test_a_bad_packet_is_dropped_and_counted(radius, case):
    make, reason = BAD[case]
    assert await exchange(radius.auth_port, make(), wait=0.1) is None
    assert radius.counters.dropped == {reason: 1}
    assert (await answered(radius, access_request())).code == AccessAccept  # still alive


async def test_a_retransmission_gets_the_same_reply(radius):
    first, again = await exchanges(radius.auth_port, access_request().RequestPacket(), 2)
    assert first == again
    assert (radius.counters.accepted, radius.counters.duplicates) == (1, 1)


async def test_accounting_with_a_bad_authenticator_is_dropped(radius):
    packet = AcctPacket(secret=b"not-the-secret", dict=dictionary(), User_Name="alice",
                        Acct_Status_Type="Start", Acct_Session_Id="s-1")
    assert await exchange(radius.acct_port, packet.RequestPacket(), wait=0.1) is None
    assert radius.counters.dropped == {"bad_authenticator": 1}
    good = AcctPacket(secret=SECRET.encode(), dict=dictionary(), User_Name="alice",
                      Acct_Status_Type="Accounting-On")
    raw = await exchange(radius.acct_port, good.RequestPacket())
    assert raw is not None and good.VerifyReply(good.CreateReply(packet=raw), raw)


async def test_accounting_interim_of_an_unknown_session_creates_it_once(runtime, radius):
    def interim() -> AcctPacket:
        return AcctPacket(secret=SECRET.encode(), dict=dictionary(), User_Name="alice",
                          Acct_Status_Type="Interim-Update", Acct_Session_Id="s-9",
                          Acct_Session_Time=120, Acct_Output_Octets=10)

    for _ in range(2):
        packet = interim()
        raw = await exchange(radius.acct_port, packet.RequestPacket())
        assert raw is not None and packet.VerifyReply(packet.CreateReply(packet=raw), raw)
    async with runtime.db.session() as session:
        rows = (await session.scalars(select(RadiusSession))).all()
    assert len(rows) == 1
    assert rows[0].interim_count == 2 and rows[0].output_octets == 10
    assert (runtime.clock.now() - rows[0].started_at).total_seconds() == 120


async def test_a_nas_answers_only_users_of_its_company(runtime, radius):
    async with runtime.db.session() as session, session.begin():
        other = Company(name="Other ISP", currency="USD", time_zone="UTC", **stamped(runtime))
        session.add(other)
        await session.flush()
        nas = await session.get(NasClient, radius.cache.nas["127.0.0.1"].id)
        nas.company_id = other.id
    await radius.refresh(nas=True)
    assert (await answered(radius, access_request())).code == AccessReject
