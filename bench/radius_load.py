"""An Access-Request load generator for ``radius_auth.py``, run as its own process (pinned to
another core than the server under test).

Packets are made before the clock starts: PAP Access-Requests for users ``user00000`` … with
password ``pw-<user>``, a fresh Request Authenticator each (so no server answers from a
duplicate cache) and a Message-Authenticator. Two phases:

  max     a closed loop with WINDOW requests outstanding for SECONDS: replies per second.
  paced   an open loop at RATE requests/s for SECONDS: latency p50/p99 of the replies.

Prints one JSON line: {"rate": …, "accepts": …, "rejects": …, "lost": …, "p50_ms": …,
"p99_ms": …}.
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
    def __init__(self) -> None:
        self.sent_at: dict[int, float] = {}
        self.latencies: list[float] = []
        self.codes = {ACCEPT: 0, REJECT: 0}
        self.freed: asyncio.Queue[int] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) < 20:
            return
        sent = self.sent_at.pop(data[1], None)
        if sent is None:
            return
        self.latencies.append(time.perf_counter() - sent)
        self.codes[data[0]] = self.codes.get(data[0], 0) + 1
        self.freed.put_nowait(data[1])


def packets(count: int, users: int, secret: bytes) -> list[bytes]:
    out = []
    for i in range(count):
        user = f"user{(i * 7919) % users:05d}"
        out.append(access_request(i % 256, user, f"pw-{user}", secret))
    return out


async def closed_loop(transport: asyncio.DatagramTransport, client: Client, pool: list[bytes],
                      window: int, seconds: float) -> float:
    for ident in range(window):
        client.freed.put_nowait(ident)
    start = time.perf_counter()
    sent = 0
    deadline = start + seconds
    while time.perf_counter() < deadline:
        try:
            ident = await asyncio.wait_for(client.freed.get(), 1.0)
        except TimeoutError:
            client.sent_at.clear()  # lost replies: reuse their ids
            for spare in range(window):
                client.freed.put_nowait(spare)
            continue
        # The id is signed by the Message-Authenticator: take a pool packet made with it.
        packet = pool_for_id(pool, sent, ident)
        client.sent_at[ident] = time.perf_counter()
        transport.sendto(packet)
        sent += 1
    elapsed = time.perf_counter() - start
    return sum(client.codes.values()) / elapsed


def pool_for_id(pool: list[bytes], n: int, ident: int) -> bytes:
    """A pool packet made with id ``ident`` (the pool cycles ids 0..255)."""
    base = (n // 256) * 256
    return pool[(base + ident) % len(pool)]


async def paced(transport: asyncio.DatagramTransport, client: Client, pool: list[bytes],
                rate: float, seconds: float) -> None:
    interval = 1.0 / rate
    start = time.perf_counter()
    n = 0
    while (now := time.perf_counter()) < start + seconds:
        due = start + n * interval
        if due > now:
            await asyncio.sleep(due - now)
        ident = n % 256
        client.sent_at[ident] = time.perf_counter()
        transport.sendto(pool[n % len(pool)])
        n += 1
    await asyncio.sleep(0.5)


async def main(args: argparse.Namespace) -> None:
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    secret = args.secret.encode()
    pool = packets(args.pool, args.users, secret)
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        Client, remote_addr=(args.host, args.port))
    if args.rate:
        await paced(transport, client, pool, args.rate, args.seconds)
        lat = sorted(client.latencies)
        result = {"rate": len(lat) / args.seconds,
                  "p50_ms": lat[len(lat) // 2] * 1000 if lat else None,
                  "p99_ms": lat[int(len(lat) * 0.99)] * 1000 if lat else None}
    else:
        result = {"rate": await closed_loop(transport, client, pool, args.window,
                                            args.seconds)}
    result |= {"accepts": client.codes.get(ACCEPT, 0), "rejects": client.codes.get(REJECT, 0)}
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
    asyncio.run(main(parser.parse_args()))
