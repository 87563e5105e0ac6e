"""net-snmp's ``snmpd`` on a free loopback UDP port, with its own config and persistent
directory under tmp: a v2c community and a v3 user (SHA + AES)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ispcore.domain.monitoring.credentials import SnmpCredentials
from ispcore.network.snmp import ber

COMMUNITY = "peer-community"
USER, AUTH_KEY, PRIV_KEY = "pollster", "auth-pass-123", "priv-pass-456"


@dataclass(frozen=True)
class Snmpd:
    port: int

    def v2c(self, community: str = COMMUNITY) -> SnmpCredentials:
        return SnmpCredentials("V2C", self.port, community=community)

    def v3(self, user: str = USER, auth_key: str = AUTH_KEY,
           priv_key: str = PRIV_KEY) -> SnmpCredentials:
        return SnmpCredentials("V3", self.port, username=user, auth_protocol="SHA",
                               auth_key=auth_key, priv_protocol="AES128", priv_key=priv_key)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_snmpd(directory: Path, port: int) -> subprocess.Popen[bytes]:
    """``snmpd -f`` in the foreground; -C: only our config; the persistent directory (where it
    keeps the v3 user's localized keys) from SNMP_PERSISTENT_DIR."""
    persistent = directory / "persist"
    persistent.mkdir(parents=True, exist_ok=True)
    conf = directory / "snmpd.conf"
    conf.write_text(
        f"agentAddress udp:127.0.0.1:{port}\n"
        f"rocommunity {COMMUNITY} 127.0.0.1\n"
        f"createUser {USER} SHA {AUTH_KEY} AES {PRIV_KEY}\n"
        f"rouser {USER} priv\n")
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(persistent), SNMPCONFPATH=str(directory),
               MIBS="", MIBDIRS=str(directory))  # no MIB parsing: faster start, no noise
    return subprocess.Popen(
        ["snmpd", "-f", "-Lf", str(directory / "snmpd.log"), "-C", "-c", str(conf),
         "-p", str(directory / "snmpd.pid")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(proc: subprocess.Popen[bytes], port: int, directory: Path) -> None:
    deadline = time.monotonic() + 15
    env = dict(os.environ, SNMP_PERSISTENT_DIR=str(directory / "client"), MIBS="")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log = (directory / "snmpd.log").read_text() if (directory / "snmpd.log").exists() \
                else ""
            raise RuntimeError(f"snmpd exited ({proc.returncode}): {log[-2000:]}")
        done = subprocess.run(
            ["snmpget", "-v2c", "-c", COMMUNITY, "-t", "0.3", "-r", "0",
             f"127.0.0.1:{port}", "1.3.6.1.2.1.1.5.0"], env=env, capture_output=True)
        if done.returncode == 0:
            return
    raise RuntimeError("snmpd did not answer within 15 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="session")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    directory = tmp_path_factory.mktemp("snmpd")
    port = free_udp_port()
    proc = start_snmpd(directory, port)
    try:
        wait_ready(proc, port, directory)
        yield Snmpd(port)
    finally:
        stop(proc)


class _Garbage(asyncio.DatagramProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.transport.sendto(b"\x30\x82\xff\xffnot SNMP at all", addr)  # type: ignore[attr-defined]


@pytest.fixture
async def garbage_agent() -> AsyncIterator[int]:
    """A UDP server on loopback answering every datagram with bytes that are not SNMP."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Garbage, local_addr=("127.0.0.1", 0))
    try:
        yield transport.get_extra_info("sockname")[1]
    finally:
        transport.close()


class _Scripted(asyncio.DatagramProtocol):
    def __init__(self, answer: Callable[[ber.Message], bytes | None]) -> None:
        self.answer = answer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.answer(ber.decode_message(data))
        if reply is not None:
            self.transport.sendto(reply, addr)  # type: ignore[attr-defined]


@asynccontextmanager
async def scripted_agent(answer: Callable[[ber.Message], bytes | None]) -> AsyncIterator[int]:
    """A UDP agent on loopback whose replies ``answer`` builds from each decoded request (a
    misbehaving agent: loops, wrong OIDs). Yields its port."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Scripted(answer),
                                                       local_addr=("127.0.0.1", 0))
    try:
        yield transport.get_extra_info("sockname")[1]
    finally:
        transport.close()
