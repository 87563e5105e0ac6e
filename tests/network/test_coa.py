"""The CoA/Disconnect client against a NAS stand-in on loopback that checks each request
with pyrad and answers ACK, NAK (Error-Cause 503), nothing, or with another secret."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pyrad.packet import CoANAK, CoAPacket, DisconnectNAK, DisconnectRequest

from ispcore.network.radius.coa import send_change
from ispcore.network.radius.codec import dictionary

SECRET = "coa-secret"
SESSION = [("User-Name", "alice"), ("Acct-Session-Id", "81a0002f")]


class Nas(asyncio.DatagramProtocol):
    def __init__(self, answer: str, secret: str = SECRET) -> None:
        self.answer, self.secret = answer, secret.encode()
        self.seen: list[bytes] = []
        self.requests: list[CoAPacket] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.seen.append(data)
        request = CoAPacket(packet=data, secret=SECRET.encode(), dict=dictionary())
        assert request.VerifyCoARequest()
        assert request.message_authenticator and request.verify_message_authenticator()
        self.requests.append(request)
        if self.answer == "silent":
            return
        reply = request.CreateReply()
        reply.secret = self.secret
        if self.answer == "nak":
            reply.code = DisconnectNAK if request.code == DisconnectRequest else CoANAK
            reply["Error-Cause"] = "Session-Context-Not-Found"
        reply.add_message_authenticator()
        self.transport.sendto(reply.ReplyPacket(), addr)


@pytest.fixture
async def nas_at() -> Any:
    transports = []

    async def listen(answer: str, secret: str = SECRET) -> tuple[Nas, int]:
        transport, nas = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: Nas(answer, secret), local_addr=("127.0.0.1", 0))
        transports.append(transport)
        return nas, transport.get_extra_info("sockname")[1]

    yield listen
    for transport in transports:
        transport.close()


async def test_coa_ack_carries_the_attributes(nas_at):
    nas, port = await nas_at("ack")
    outcome = await send_change("127.0.0.1", port, SECRET, "COA",
                                [*SESSION, ("Mikrotik-Rate-Limit", "5M/5M")],
                                timeout=1.0, retries=2)
    assert (outcome.status, outcome.attempts) == ("ACK", 1)
    request = nas.requests[0]
    assert request.code == 43
    assert request["Mikrotik-Rate-Limit"] == ["5M/5M"]
    assert request["Acct-Session-Id"] == ["81a0002f"]


async def test_disconnect_nak_reports_the_error_cause(nas_at):
    nas, port = await nas_at("nak")
    outcome = await send_change("127.0.0.1", port, SECRET, "DISCONNECT", SESSION,
                                timeout=1.0, retries=2)
    assert (outcome.status, outcome.error_cause) == ("NAK", 503)
    assert nas.requests[0].code == DisconnectRequest


async def test_an_unanswered_request_is_retransmitted_unchanged_then_times_out(nas_at):
    nas, port = await nas_at("silent")
    outcome = await send_change("127.0.0.1", port, SECRET, "COA", SESSION, timeout=0.1,
                                retries=2)
    assert (outcome.status, outcome.attempts) == ("TIMEOUT", 3)
    assert len(nas.seen) == 3 and len(set(nas.seen)) == 1


async def test_a_reply_signed_with_another_secret_is_not_believed(nas_at):
    nas, port = await nas_at("ack", secret="someone-else")
    outcome = await send_change("127.0.0.1", port, SECRET, "COA", SESSION, timeout=0.1,
                                retries=1)
    assert outcome.status == "ERROR"
    assert "did not verify" in outcome.message
    assert len(nas.seen) == 2


async def test_an_attribute_the_dictionary_lacks_is_an_error():
    outcome = await send_change("127.0.0.1", 9, SECRET, "COA", [("No-Such-Thing", "1")],
                                timeout=0.1, retries=0)
    assert outcome.status == "ERROR" and "No-Such-Thing" in outcome.message
