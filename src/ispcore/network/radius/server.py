"""``ispcore radius``: authentication and accounting over UDP, answered from memory.

Access-Requests are handled inside the datagram callback, without a task or a database
query: the attributes that matter are read from the raw bytes (``wire``), the user's reply
is pre-encoded in the cache. Accounting-Requests are queued and acknowledged once their
batch is committed."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.network.compile import RADIUS_CHANNEL
from ispcore.domain.usage.radius_usage import Tally
from ispcore.network.radius import accounting, wire
from ispcore.network.radius.cache import Nas, RadiusCache, User

log = logging.getLogger(__name__)

#: A request seen again within 3 to 6 seconds is a retransmission: the same reply goes back.
DUPLICATE_SECONDS = 3.0
#: NAS clients are few: reloaded every this many refreshes (and on every notification).
NAS_EVERY = 10
STATS_SECONDS = 60.0
BATCH = 500
_IN_FLIGHT = b""  # an accounting request whose batch is not committed yet


@dataclass
class Counters:
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    accounting_stored: int = 0
    accounting_acknowledged: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    #: What became of the usage the accounting reported (credited, not credited and why).
    usage: Tally = field(default_factory=Tally)


class _Endpoint(asyncio.DatagramProtocol):
    def __init__(self, handle: Callable[[bytes, Any], None]) -> None:
        self.datagram_received = handle  # type: ignore[method-assign]

    def error_received(self, exc: Exception) -> None:
        log.debug("RADIUS socket error: %s", exc)


class RadiusServer:
    def __init__(self, runtime: Any, *, host: str | None = None, auth_port: int | None = None,
                 acct_port: int | None = None, refresh_seconds: float | None = None) -> None:
        settings = runtime.settings
        self.runtime = runtime
        self.host = host or settings.radius_host
        self.auth_port = settings.radius_auth_port if auth_port is None else auth_port
        self.acct_port = settings.radius_acct_port if acct_port is None else acct_port
        self.refresh_seconds = refresh_seconds or settings.radius_refresh_seconds
        self.cache = RadiusCache(runtime.db, settings.vault_key)
        self.counters = Counters()
        self._seen: dict[tuple[Any, int, bytes], bytes] = {}
        self._seen_before: dict[tuple[Any, int, bytes], bytes] = {}
        self._rotate_at = 0.0
        self._queue: asyncio.Queue[tuple[accounting.Record, Any, Any, bytes]] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._closing = False
        self._transports: list[asyncio.DatagramTransport] = []
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        await self.cache.load_nas()
        await self.cache.load_users()
        auth = await self._bind(self.auth_port, self._on_auth)
        acct = await self._bind(self.acct_port, self._on_acct)
        self.auth_port = auth.get_extra_info("sockname")[1]
        self.acct_port = acct.get_extra_info("sockname")[1]
        self._auth, self._acct = auth, acct
        self._tasks = [asyncio.create_task(self._refresh_loop()),
                       asyncio.create_task(self._listen()),
                       asyncio.create_task(self._write_accounting())]
        await asyncio.sleep(0)  # the listener subscribes before anything can be published
        log.info("RADIUS listening on %s: auth %d, accounting %d; %d NAS, %d users",
                 self.host, self.auth_port, self.acct_port, len(self.cache.nas),
                 len(self.cache.users))

    async def stop(self) -> None:
        """New packets are ignored; queued accounting is committed and acknowledged first."""
        self._closing = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), 10)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for transport in self._transports:
            transport.close()
        self._log_counters()

    async def serve(self) -> None:
        """Run until SIGTERM or SIGINT."""
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, done.set)
        await self.start()
        await done.wait()
        log.info("RADIUS shutting down")
        await self.stop()

    async def refresh(self, *, nas: bool = False) -> int:
        if nas:
            await self.cache.load_nas()
        return await self.cache.load_users()

    async def _bind(self, port: int, handle: Callable[[bytes, Any], None]) -> Any:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Endpoint(handle), local_addr=(self.host, port))
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._transports.append(transport)
        return transport

    # --- per packet ---------------------------------------------------------------------

    def _drop(self, reason: str) -> None:
        self.counters.dropped[reason] += 1

    def _seen_reply(self, key: tuple[Any, int, bytes]) -> bytes | None:
        now = time.monotonic()
        if now >= self._rotate_at:
            self._seen_before, self._seen = self._seen, {}
            self._rotate_at = now + DUPLICATE_SECONDS
        found = self._seen.get(key)
        return found if found is not None else self._seen_before.get(key)

    def _on_auth(self, data: bytes, addr: Any) -> None:
        self.counters.received += 1
        if self._closing:
            return
        try:
            answer = self._answer_auth(data, addr)
        except wire.Malformed as exc:
            self._drop(exc.args[0])
        except Exception:
            log.exception("RADIUS: an Access-Request from %s failed", addr[0])
            self._drop("error")
        else:
            if answer is not None:
                self._auth.sendto(answer, addr)

    def _answer_auth(self, data: bytes, addr: Any) -> bytes | None:
        nas = self.cache.nas.get(addr[0])
        if nas is None:
            self._drop("unknown_nas")
            return None
        packet = wire.parse(data)
        if packet.code != wire.ACCESS_REQUEST:
            self._drop("unexpected_code")
            return None
        key = (addr, packet.ident, packet.authenticator)
        seen = self._seen_reply(key)
        if seen is not None:
            self.counters.duplicates += 1
            return seen
        if packet.ma_at < 0:
            self._drop("no_message_authenticator")
            return None
        if not wire.message_authenticator_ok(nas.secret, packet):
            self._drop("bad_message_authenticator")
            return None
        user = self.cache.users.get(packet.first(wire.USER_NAME) or b"")
        if user is not None and self._accepts(nas, user, packet):
            self.counters.accepted += 1
            code, attrs = wire.ACCESS_ACCEPT, user.reply
        else:
            self.counters.rejected += 1
            code, attrs = wire.ACCESS_REJECT, b""
        answer = wire.reply(code, packet.ident, packet.authenticator, nas.secret,
                            attrs + _proxy_states(packet), signed=True)
        self._seen[key] = answer
        return answer

    @staticmethod
    def _accepts(nas: Nas, user: User, packet: wire.Parsed) -> bool:
        if not user.accept or user.company_id != nas.company_id:
            return False
        hidden = packet.first(wire.USER_PASSWORD)
        if hidden is not None:
            clear = wire.pap_password(nas.secret, packet.authenticator, hidden)
            return clear is not None and hmac.compare_digest(clear, user.password)
        chap = packet.first(wire.CHAP_PASSWORD)
        if chap is not None:
            challenge = packet.first(wire.CHAP_CHALLENGE) or packet.authenticator
            return wire.chap_ok(user.password, chap, challenge)
        return False

    def _on_acct(self, data: bytes, addr: Any) -> None:
        self.counters.received += 1
        if self._closing:
            return
        try:
            self._take_accounting(data, addr)
        except wire.Malformed as exc:
            self._drop(exc.args[0])
        except Exception:
            log.exception("RADIUS: an Accounting-Request from %s failed", addr[0])
            self._drop("error")

    def _take_accounting(self, data: bytes, addr: Any) -> None:
        nas = self.cache.nas.get(addr[0])
        if nas is None:
            self._drop("unknown_nas")
            return
        packet = wire.parse(data)
        if packet.code != wire.ACCOUNTING_REQUEST:
            self._drop("unexpected_code")
            return
        if not wire.request_authenticator_ok(nas.secret, packet.data):
            self._drop("bad_authenticator")
            return
        if packet.ma_at >= 0 and not wire.message_authenticator_ok(nas.secret, packet,
                                                                    wire.ZERO16):
            self._drop("bad_message_authenticator")
            return
        key = (addr, packet.ident, packet.authenticator)
        seen = self._seen_reply(key)
        if seen is not None:
            self.counters.duplicates += 1
            if seen:
                self._acct.sendto(seen, addr)
            return
        found = accounting.record(packet, nas.id, nas.company_id)
        answer = wire.reply(wire.ACCOUNTING_RESPONSE, packet.ident, packet.authenticator,
                            nas.secret, _proxy_states(packet), signed=False)
        if found is None:
            self._seen[key] = answer
            self.counters.accounting_acknowledged += 1
            self._acct.sendto(answer, addr)
            return
        self._seen[key] = _IN_FLIGHT
        self._queue.put_nowait((found, key, addr, answer))

    # --- background ---------------------------------------------------------------------

    async def _write_accounting(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                usage = await accounting.store(self._accounting_uow,
                                               [item[0] for item in batch])
            except Exception:
                log.exception("RADIUS: storing %d accounting records failed", len(batch))
                for _record, key, _addr, _answer in batch:
                    self._seen.pop(key, None)
                    self._seen_before.pop(key, None)
                    self._drop("accounting_failed")
            else:
                self.counters.usage.add(usage)
                self.counters.accounting_stored += len(batch)
                self.counters.accounting_acknowledged += len(batch)
                for _record, key, addr, answer in batch:
                    self._seen[key] = answer
                    self._acct.sendto(answer, addr)
            for _ in batch:
                self._queue.task_done()

    def _accounting_uow(self) -> Any:
        return self.runtime.unit_of_work(SYSTEM, action="radius.accounting")

    async def _refresh_loop(self) -> None:
        ticks = 0
        stats_at = time.monotonic() + STATS_SECONDS
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.refresh_seconds)
            woken = self._wake.is_set()
            self._wake.clear()
            ticks += 1
            try:
                changed = await self.refresh(nas=woken or ticks % NAS_EVERY == 0)
            except Exception:
                log.exception("RADIUS: the cache refresh failed")
            else:
                if changed:
                    log.debug("RADIUS: %d credentials reloaded", changed)
            if time.monotonic() >= stats_at:
                stats_at = time.monotonic() + STATS_SECONDS
                self._log_counters()

    async def _listen(self) -> None:
        """A message on the ``radius`` channel means: reload now, do not wait for the tick."""
        while True:
            try:
                async for _message in self.runtime.notifier.subscribe(RADIUS_CHANNEL):
                    self._wake.set()
            except Exception:
                log.warning("RADIUS: the notifier channel failed; listening again in 5 s",
                            exc_info=True)
                await asyncio.sleep(5)

    def _log_counters(self) -> None:
        c = self.counters
        log.info("RADIUS: received %d, accepted %d, rejected %d, duplicates %d, accounting "
                 "stored %d, dropped %s, usage %s", c.received, c.accepted, c.rejected,
                 c.duplicates, c.accounting_stored, dict(c.dropped), c.usage.as_dict())


def _proxy_states(packet: wire.Parsed) -> bytes:
    states = packet.attrs.get(wire.PROXY_STATE)
    if not states:
        return b""
    return b"".join(wire.encode_attribute(wire.PROXY_STATE, value) for value in states)
