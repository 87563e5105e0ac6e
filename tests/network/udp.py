"""Datagrams to a UDP server on loopback, from one socket, and the answers."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


class _Client(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.answers: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.answers.put_nowait(data)


async def exchanges(port: int, data: bytes, times: int, wait: float = 0.3) -> list[bytes]:
    """Send ``data`` ``times`` times (each after the previous answer or ``wait``)."""
    loop = asyncio.get_running_loop()
    transport, client = await loop.create_datagram_endpoint(
        _Client, remote_addr=("127.0.0.1", port))
    answers = []
    try:
        for _ in range(times):
            transport.sendto(data)
            with contextlib.suppress(TimeoutError):
                answers.append(await asyncio.wait_for(client.answers.get(), wait))
    finally:
        transport.close()
    return answers


async def exchange(port: int, data: bytes, wait: float = 0.3) -> bytes | None:
    answers = await exchanges(port, data, 1, wait)
    return answers[0] if answers else None
