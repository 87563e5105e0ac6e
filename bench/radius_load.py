"""An Access-Request load generator for ``radius_auth.py``, run as its own process (pinned to
another core than the server under test).

Packets are made before the clock starts: PAP Access-Requests for users ``user00000`` … with
password ``pw-<user>``, a fresh Request Authenticator each (so no server answers from a
duplicate cache) and a Message-Authenticator. Two phases:

  max     a closed loop with WINDOW requests outstanding for SECONDS: replies per second.
  paced   an open loop at RATE requests/s for SECONDS: latency p50/p99 of the replies.

Ids are reused every 256 requests, each time with the next pool packet made with that id, so
no (id, authenticator) pair ever repeats: a phase that has sent the whole pool stops there
(``pool_spent`` says it did, and the rate is over the time until its last reply; make
``--pool`` larger than the requests of the run to fill SECONDS). A request with no reply after
1 s counts as lost and its id is reused.

Prints one JSON line: {"rate": …, "sent": …, "lost": …, "accepts": …, "rejects": …,
"pool_spent": …, "cpu_s": …} (the generator's
own CPU time in the phase) and, paced, "p50_ms" and "p99_ms".

Run:  .venv/bin/python bench/radius_load.py --port 1812 --secret S [--rate R] [--cpu 1]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import struct
import time
from typing import Any

ACCESS_REQUEST, ACCEPT, REJECT = 1, 2, 3
USER_NAME, USER_PASSWORD, NAS_IP, MESSAGE_AUTHENTICATOR = 1, 2, 4, 80


def _attr(kind: int, value: bytes) -> bytes:
    return bytes((kind, len(value) + 2)) + value


def hide_password(password: bytes, secret: bytes, authenticator: bytes) -> bytes:
    padded = password + b"\0" * (-len(password) % 16 or 0)
    padded = padded or b"\0" * 16
    out, last = b"", authenticator
    for i in range(0, len(padded), 16):
        key = hashlib.md5(secret + last).digest()
        last = bytes(a ^ b for a, b in zip(padded[i:i + 16], key, strict=True))
        out += last
    return out


def access_request(ident: int, user: str, password: str, secret: bytes) -> bytes:
    authenticator = os.urandom(16)
    attrs = (_attr(USER_NAME, user.encode())
             + _attr(USER_PASSWORD, hide_password(password.encode(), secret, authenticator))
             + _attr(NAS_IP, socket.inet_aton("127.0.0.1"))
             + _attr(MESSAGE_AUTHENTICATOR, b"\0" * 16))
    length = 20 + len(attrs)
    packet = struct.pack("!BBH", ACCESS_REQUEST, ident, length) + authenticator + attrs
    mac = hmac.new(secret, packet, hashlib.md5).digest()
    return packet[:-16] + mac


class Client(asyncio.DatagramProtocol):
    """Counts replies by code and times them by id. In the closed loop each reply sends the
    next request at once, from the callback (no queue, no task per request)."""

    def __init__(self) -> None:
        self.sent_at: dict[int, float] = {}
        self.latencies: list[float] = []
        self.codes = {ACCEPT: 0, REJECT: 0}
        self.sent = 0
        self.transport: asyncio.DatagramTransport | None = None
        self.pool: list[bytes] = []
        self.per_id: list[int] = [0] * 256  # the next use of each id in the pool
        self.closed = False  # closed loop: send the next request on each reply
        self.spent = False  # every pool packet was sent: sending again would repeat one
        self.last_reply_at = 0.0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def send(self, ident: int) -> None:
        assert self.transport is not None
        if self.sent >= len(self.pool):
            self.spent = True
            return
        # The id is signed by the Message-Authenticator: take the next pool packet made
        # with it (the pool holds len(pool)/256 packets per id).
        use = self.per_id[ident]
        self.per_id[ident] = use + 1
        self.sent_at[ident] = time.perf_counter()
        self.transport.sendto(self.pool[(use * 256 + ident) % len(self.pool)])
        self.sent += 1

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) < 20:
            return
        sent = self.sent_at.pop(data[1], None)
        if sent is None:
            return
        self.last_reply_at = time.perf_counter()
        self.latencies.append(self.last_reply_at - sent)
        self.codes[data[0]] = self.codes.get(data[0], 0) + 1
        if self.closed:
            # The next free id, not this one: ids are reused every 256 requests, not every
            # WINDOW, so a server's duplicate cache sees distinct (id, authenticator) pairs.
            self.send(self.next_id())

    def next_id(self) -> int:
        ident = self.rotor
        while ident in self.sent_at:
            ident = (ident + 1) % 256
        self.rotor = (ident + 1) % 256
        return ident

    rotor = 0

    @property
    def replies(self) -> int:
        return sum(self.codes.values())


def packets(count: int, users: int, secret: bytes) -> list[bytes]:
    """``count`` rounded up to a multiple of 256: packet ``k`` has id ``k % 256``."""
    count = -(-count // 256) * 256
    out = []
    for i in range(count):
        user = f"user{(i * 7919) % users:05d}"
        out.append(access_request(i % 256, user, f"pw-{user}", secret))
    return out


LOST_AFTER = 1.0  # seconds without a reply: the request is counted lost and its id reused


def _reap(client: Client, now: float) -> int:
    lost = [i for i, at in client.sent_at.items() if now - at > LOST_AFTER]
    for ident in lost:
        del client.sent_at[ident]
    return len(lost)


async def closed_loop(client: Client, window: int, seconds: float) -> tuple[float, int]:
    """WINDOW requests in flight for SECONDS (or until the pool is spent and answered):
    replies per second, and the requests lost."""
    client.closed = True
    lost = 0
    start = time.perf_counter()
    for _ in range(window):
        client.send(client.next_id())
    deadline = start + seconds
    while (now := time.perf_counter()) < deadline and not (client.spent and not client.sent_at):
        await asyncio.sleep(min(0.01 if client.spent else 0.1, deadline - now))
        reaped = _reap(client, time.perf_counter())
        lost += reaped
        for _ in range(reaped):  # keep the window full
            client.send(client.next_id())
    replies = client.replies
    elapsed = (client.last_reply_at if client.spent else time.perf_counter()) - start
    client.closed = False
    return replies / elapsed, lost


async def paced(client: Client, rate: float, seconds: float) -> int:
    """RATE requests/s for SECONDS (open loop), then 0.5 s for the last replies. Returns the
    requests sent."""
    interval = 1.0 / rate
    start = time.perf_counter()
    n = 0
    while (now := time.perf_counter()) < start + seconds and not client.spent:
        due = start + n * interval
        if due > now:
            await asyncio.sleep(due - now)
        client.send(n % 256)
        n += 1
    await asyncio.sleep(0.5)
    return n


async def main(args: argparse.Namespace) -> None:
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    secret = args.secret.encode()
    pool = packets(args.pool, args.users, secret)
    loop = asyncio.get_running_loop()
    _, client = await loop.create_datagram_endpoint(Client, remote_addr=(args.host, args.port))
    client.pool = pool
    transport = client.transport
    assert transport is not None
    transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    cpu0 = time.process_time()
    if args.rate:
        sent = await paced(client, args.rate, args.seconds)
        lat = sorted(client.latencies)
        result: dict[str, Any] = {
            "rate": len(lat) / args.seconds, "sent": sent, "lost": sent - len(lat),
            "p50_ms": lat[len(lat) // 2] * 1000 if lat else None,
            "p99_ms": lat[int(len(lat) * 0.99)] * 1000 if lat else None}
    else:
        rate, lost = await closed_loop(client, args.window, args.seconds)
        result = {"rate": rate, "sent": client.sent, "lost": lost}
    result |= {"accepts": client.codes.get(ACCEPT, 0), "rejects": client.codes.get(REJECT, 0),
               "pool_spent": client.spent,
               "cpu_s": time.process_time() - cpu0}
    transport.close()
    print(json.dumps(result))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--pool", type=int, default=120_000)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--cpu", type=int)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop",
                        help="the generator's event loop (uvloop: more requests per CPU)")
    parsed = parser.parse_args()
    if parsed.loop == "uvloop":
        import uvloop

        uvloop.run(main(parsed))
    else:
        asyncio.run(main(parsed))
