"""One asyncio SNMP client for v2c and v3: GET, GETBULK walks, GETNEXT walks.

v2c goes through :mod:`ber` over a connected datagram endpoint (request ids matched, the same
id resent on retry so a late first answer still counts). v3 (USM authentication and privacy)
goes through pysnmp 7's asyncio API with ``lookupMib=False``. Both yield the same
``(oid text, typed value)`` pairs and raise the same errors (:mod:`errors`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any, Protocol

from ispcore.domain.monitoring.credentials import SnmpCredentials
from ispcore.network.snmp import ber
from ispcore.network.snmp import values as v
from ispcore.network.snmp.errors import (
    SnmpError,
    SnmpProtocolError,
    SnmpTimeout,
)

Row = tuple[str, v.SnmpValue]

ERROR_STATUS = ("noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr",
                "noAccess", "wrongType", "wrongLength", "wrongEncoding", "wrongValue",
                "noCreation", "inconsistentValue", "resourceUnavailable", "commitFailed",
                "undoFailed", "authorizationError", "notWritable", "inconsistentName")
TOO_BIG = 1


def status_error(status: int, index: int, keys: Sequence[ber.OidKey]) -> SnmpError:
    name = ERROR_STATUS[status] if 0 <= status < len(ERROR_STATUS) else f"status {status}"
    where = f" at {ber.oid_text(keys[index - 1])}" if 0 < index <= len(keys) else ""
    return SnmpError(f"agent error {name}{where}", status=status, index=index)


class Session(Protocol):
    """One request, one response: what the v2c codec and the pysnmp path both do."""

    async def request(self, pdu_type: int, keys: Sequence[ber.OidKey], a: int,
                      b: int) -> list[ber.VarBind]: ...

    def close(self) -> None: ...


class _V2cEndpoint(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.pending: dict[int, asyncio.Future[ber.Message]] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            msg = ber.decode_message(data)
        except SnmpProtocolError as exc:
            # The socket is connected: only the device talks to it. Garbage fails what waits.
            self._fail(SnmpProtocolError(f"undecodable reply: {exc}"))
            return
        fut = self.pending.get(msg.request_id)
        if fut is not None and not fut.done():  # else a late answer to a finished request
            fut.set_result(msg)

    def error_received(self, exc: Exception) -> None:
        """ICMP port unreachable and friends: the retry timer decides; nothing to do."""

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(SnmpError("SNMP socket closed"))

    def _fail(self, exc: SnmpError) -> None:
        for fut in self.pending.values():
            if not fut.done():
                fut.set_exception(exc)


class V2cSession:
    """SNMP v2c with the hand-written codec."""

    def __init__(self, address: str, port: int, community: str, timeout: float,
                 retries: int) -> None:
        self.target = (address, port)
        self.community = community.encode()
        self._head = ber.message_head(ber.V2C, self.community)
        self.timeout = timeout
        self.retries = retries
        self._endpoint: _V2cEndpoint | None = None
        self._next_id = random.randrange(1, 2**30)

    async def _open(self) -> _V2cEndpoint:
        if self._endpoint is None:
            loop = asyncio.get_running_loop()
            try:
                _, endpoint = await loop.create_datagram_endpoint(
                    _V2cEndpoint, remote_addr=self.target)
            except OSError as exc:
                raise SnmpError(f"cannot reach {self.target[0]}: {exc}") from None
            self._endpoint = endpoint
        return self._endpoint

    async def request(self, pdu_type: int, keys: Sequence[ber.OidKey], a: int,
                      b: int) -> list[ber.VarBind]:
        endpoint = self._endpoint or await self._open()
        request_id = self._next_id
        self._next_id = request_id + 1 if request_id < 2**31 - 1 else 1
        packet = ber.encode_request(self._head, pdu_type, request_id, a, b, keys)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[ber.Message] = loop.create_future()
        transport = endpoint.transport
        assert transport is not None
        left = [self.retries]
        timer = [None]

        def expire() -> None:
            if fut.done():
                return
            if left[0] > 0:
                left[0] -= 1
                transport.sendto(packet)
                timer[0] = loop.call_later(self.timeout, expire)
            else:
                fut.set_exception(SnmpTimeout(
                    f"no answer from {self.target[0]}:{self.target[1]} "
                    f"({self.retries + 1} tries of {self.timeout:g}s)"))

        endpoint.pending[request_id] = fut
        transport.sendto(packet)
        timer[0] = loop.call_later(self.timeout, expire)
        try:
            msg = await fut
        finally:
            timer[0].cancel()  # type: ignore[attr-defined]
            del endpoint.pending[request_id]
        if msg.pdu_type != ber.RESPONSE or msg.community != self.community:
            raise SnmpProtocolError("reply is not a Response to our request")
        if msg.error_status:
            raise status_error(msg.error_status, msg.error_index, keys)
        return msg.varbinds

    def close(self) -> None:
        if self._endpoint is not None and self._endpoint.transport is not None:
            self._endpoint.transport.close()
        self._endpoint = None


class SnmpClient:
    """``SnmpClient(address, credentials, timeout, retries)``; use as ``async with``.
    Timeout is per try, in seconds."""

    def __init__(self, address: str, credentials: SnmpCredentials, timeout: float = 2.0,
                 retries: int = 1) -> None:
        self.address = address
        self.credentials = credentials
        if credentials.version == "V3":
            from ispcore.network.snmp.v3 import V3Session

            self._session: Session = V3Session(address, credentials, timeout, retries)
        elif credentials.version == "V2C":
            self._session = V2cSession(address, credentials.port, credentials.community,
                                       timeout, retries)
        else:
            raise ValueError(f"no SNMP version for {credentials.version!r}")

    async def __aenter__(self) -> SnmpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    async def get(self, oids: Sequence[str]) -> list[Row]:
        """One GET of all ``oids`` (split in halves if the agent says tooBig). A missing OID
        comes back as ``noSuchObject``/``noSuchInstance``, not as an error."""
        keys = [ber.oid_key(o) for o in oids]
        return [(text, value) for _, text, value in await self._get(keys)]

    async def _get(self, keys: list[ber.OidKey]) -> list[ber.VarBind]:
        try:
            varbinds = await self._session.request(ber.GET, keys, 0, 0)
        except SnmpError as exc:
            if exc.status == TOO_BIG and len(keys) > 1:
                half = len(keys) // 2
                return await self._get(keys[:half]) + await self._get(keys[half:])
            raise
        if len(varbinds) != len(keys) or any(
                got != want for (got, _, _), want in zip(varbinds, keys, strict=True)):
            raise SnmpProtocolError("GET reply does not match the requested OIDs")
        return varbinds

    async def walk(self, oid: str, max_repetitions: int = 25,
                   limit: int | None = None) -> list[Row]:
        """Every row under ``oid`` with GETBULK (up to ``limit`` rows)."""
        return await self._walk(oid, ber.GETBULK, max_repetitions, limit)

    async def walk_getnext(self, oid: str, limit: int | None = None) -> list[Row]:
        """The same walk one GETNEXT per row (for comparison, and very old agents)."""
        return await self._walk(oid, ber.GETNEXT, 0, limit)

    async def _walk(self, oid: str, pdu_type: int, reps: int, limit: int | None) -> list[Row]:
        base = ber.oid_key(oid)
        rows: list[Row] = []
        append = rows.append
        end = v.END_OF_MIB_VIEW
        last = base
        request = self._session.request
        while True:
            varbinds = await request(pdu_type, (last,), 0, reps)
            if not varbinds:
                raise SnmpProtocolError("empty reply to a walk request")
            for key, text, value in varbinds:
                if value is end or not key.startswith(base):
                    return rows
                if key <= last:
                    raise SnmpProtocolError(f"agent returned a non-increasing OID {text}")
                append((text, value))
                last = key
                if limit is not None and len(rows) >= limit:
                    return rows
