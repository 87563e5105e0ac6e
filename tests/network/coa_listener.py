"""A NAS stand-in on loopback for CoA and Disconnect requests: it checks each request's
Request Authenticator and Message-Authenticator with its secret (pyrad) and answers ACK,
NAK (Error-Cause 503), nothing, or signs its answer with another secret."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pyrad.packet import CoANAK, CoAPacket, DisconnectNAK, DisconnectRequest

from ispcore.network.radius.codec import dictionary

SECRET = "coa-secret"


class Nas(asyncio.DatagramProtocol):
    def __init__(self, answer: str, secret: str, reply_secret: str) -> None:
        self.answer = answer
        self.secret, self.reply_secret = secret.encode(), reply_secret.encode()
        self.seen: list[bytes] = []
        self.requests: list[CoAPacket] = []

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.seen.append(data)
        request = CoAPacket(packet=data, secret=self.secret, dict=dictionary())
        assert request.VerifyCoARequest()
        assert request.message_authenticator and request.verify_message_authenticator()
        self.requests.append(request)
        if self.answer == "silent":
            return
        reply = request.CreateReply()
        reply.secret = self.reply_secret
        if self.answer == "nak":
            reply.code = DisconnectNAK if request.code == DisconnectRequest else CoANAK
            reply["Error-Cause"] = "Session-Context-Not-Found"
        reply.add_message_authenticator()
        self.transport.sendto(reply.ReplyPacket(), addr)


@pytest.fixture
async def nas_at() -> Any:
    transports = []

    async def listen(answer: str, secret: str = SECRET, reply_secret: str | None = None
                     ) -> tuple[Nas, int]:
        transport, nas = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: Nas(answer, secret, reply_secret or secret), local_addr=("127.0.0.1", 0))
        transports.append(transport)
        return nas, transport.get_extra_info("sockname")[1]

    yield listen
    for transport in transports:
        transport.close()
