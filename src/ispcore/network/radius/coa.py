"""RFC 5176 client: a CoA-Request or Disconnect-Request to a NAS, retransmitted unchanged
until a verified answer comes.

A reply that does not verify with the secret (Response Authenticator, or a
Message-Authenticator it carries) is ignored as if never received, so a forged ACK changes
nothing; when the exchange ends with only such replies the outcome is ERROR, not TIMEOUT,
since the NAS is there and most likely holds another secret."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from ispcore.network.radius import wire
from ispcore.network.radius.codec import Encoder

Status = Literal["ACK", "NAK", "TIMEOUT", "ERROR"]

_CODES = {"COA": (wire.COA_REQUEST, wire.COA_ACK, wire.COA_NAK),
          "DISCONNECT": (wire.DISCONNECT_REQUEST, wire.DISCONNECT_ACK, wire.DISCONNECT_NAK)}


@dataclass(frozen=True)
class Outcome:
    status: Status
    #: The NAK's Error-Cause (RFC 5176 §3.5), e.g. 503 Session Context Not Found.
    error_cause: int | None = None
    message: str = ""
    #: Packets sent (1 + retransmissions).
    attempts: int = 0


@lru_cache
def _encoder() -> Encoder:
    return Encoder()


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self, ident: int, authenticator: bytes, secret: bytes,
                 answers: tuple[int, int]) -> None:
        self.ident, self.authenticator, self.secret = ident, authenticator, secret
        self.answers = answers
        self.reply: asyncio.Future[wire.Parsed] = asyncio.get_running_loop().create_future()
        self.unverified = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            parsed = wire.parse(data)
        except wire.Malformed:
            self.unverified += 1
            return
        if parsed.ident != self.ident or parsed.code not in self.answers:
            return
        if not wire.response_authenticator_ok(self.secret, parsed.data, self.authenticator) or (
                parsed.ma_at >= 0 and not wire.message_authenticator_ok(
                    self.secret, parsed, self.authenticator)):
            self.unverified += 1
            return
        if not self.reply.done():
            self.reply.set_result(parsed)

    def error_received(self, exc: Exception) -> None:
        pass  # e.g. port unreachable: retransmit until the attempts run out


async def send_change(address: str, port: int, secret: str, kind: str,
                      attributes: list[tuple[str, str]], *,
                      timeout: float,  # noqa: ASYNC109 (per attempt, not for the whole call)
                      retries: int) -> Outcome:
    """``attributes`` identify the session (User-Name, Acct-Session-Id, Framed-IP-Address …)
    and, for a CoA, carry the new reply items. ``timeout`` is how long each attempt waits."""
    if kind not in _CODES:
        return Outcome("ERROR", message=f"unknown request kind {kind!r}")
    code, ack, nak = _CODES[kind]
    encoded = []
    for attribute, value in attributes:
        item = _encoder()(attribute, value)
        if item is None:
            return Outcome("ERROR", message=f"attribute {attribute} = {value!r} cannot be sent")
        encoded.append(item)
    key = secret.encode()
    ident = secrets.randbelow(256)
    packet = wire.request(code, ident, key, b"".join(encoded))
    if len(packet) > 4096:
        return Outcome("ERROR", message="the request is larger than 4096 octets")
    loop = asyncio.get_running_loop()
    try:
        transport, exchange = await loop.create_datagram_endpoint(
            lambda: _Exchange(ident, packet[4:20], key, (ack, nak)),
            remote_addr=(address, port))
    except OSError as exc:
        return Outcome("ERROR", message=f"cannot reach {address}:{port}: {exc}")
    try:
        for attempt in range(1, retries + 2):
            transport.sendto(packet)
            with contextlib.suppress(TimeoutError):
                answer = await asyncio.wait_for(asyncio.shield(exchange.reply), timeout)
                if answer.code == ack:
                    return Outcome("ACK", attempts=attempt)
                return Outcome("NAK", error_cause=answer.integer(wire.ERROR_CAUSE),
                               attempts=attempt)
    finally:
        transport.close()
    if exchange.unverified:
        return Outcome("ERROR", attempts=retries + 1, message=(
            f"{exchange.unverified} replies from {address}:{port} did not verify with the "
            "secret"))
    return Outcome("TIMEOUT", attempts=retries + 1,
                   message=f"no answer from {address}:{port} after {retries + 1} attempts")
