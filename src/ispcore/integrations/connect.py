"""Connections to outside servers, every one through the SSRF guard
(``domain/common/outbound.py``): httpx clients for the HTTP APIs (Preseem, Twilio, Stripe) and
TCP sockets for SMTP. The guard runs when a connection is opened, on what the host name
resolves to at that moment, and the connection goes to the address it checked; TLS still
verifies the certificate against the name."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from ispcore.domain.common import outbound


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with the guard in front of every TCP connection."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        address = await outbound.check_host(host, allow_private=self.allow_private)
        return await self._inner.connect_tcp(address, port, timeout=timeout,
                                             local_address=local_address,
                                             socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109
                                  socket_options: Iterable[Any] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise outbound.RefusedAddress("Outbound connections go over TCP only.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool that connects through :class:`GuardedBackend`. No proxy
    is taken from the environment: the guard checks the server itself."""

    def __init__(self, *, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        # httpx builds its pool without a way to name the backend: this one is the same
        # pool (httpx's default limits) with the guarded backend.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False), max_connections=100,
            max_keepalive_connections=20, keepalive_expiry=5.0,
            network_backend=GuardedBackend(allow_private=allow_private))


def http_client(*, allow_private: bool, **options: Any) -> httpx.AsyncClient:
    """An httpx client whose every connection passes the guard (``options``: timeout, auth,
    …). A refused address raises :class:`~ispcore.domain.common.outbound.RefusedAddress`."""
    return httpx.AsyncClient(transport=GuardedTransport(allow_private=allow_private),
                             trust_env=False, **options)


async def tcp_socket(host: str, port: int, *, allow_private: bool) -> socket.socket:
    """A TCP socket connected to the checked address of ``host`` (the caller owns it and
    bounds the time, name resolution included)."""
    address = await outbound.check_host(host, allow_private=allow_private, field="host")
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock
