"""A real FreeRADIUS 3 (Debian's) on free loopback ports against the test database, with the
clients ispcore writes (its NAS given an awkward secret), and ``radclient`` to ask it.
``scripts/test`` installs the Debian packages."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bench.freeradius_conf import FREERADIUS, write_config
from ispcore.domain.network.freeradius import clients_conf
from tests.accounts.factories import ok
from tests.network.radius_support import radius_setup

RADCLIENT = shutil.which("radclient")
SECRET = "we\"ird \\ ${x} 'q' #h"


def udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def freeradius(api: Any, runtime: Any, database_url: str, system_uow: Any,
                     vault_key: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """ispcore set up through the API (radius_setup), its NAS given an awkward secret, then
    FreeRADIUS started on free loopback ports with the clients ispcore writes."""
    radius = await radius_setup(api)
    await ok(api, radius.token, "updateNasClient", {"id": radius.nas, "secret": SECRET})
    async with system_uow() as uow:
        clients = await clients_conf(uow)
    auth_port, acct_port = udp_port(), udp_port()
    write_config(tmp_path, database_url, clients, auth_port, acct_port)
    log_path = tmp_path / "radiusd.log"
    with log_path.open("w") as log:
        process = await asyncio.create_subprocess_exec(
            FREERADIUS, "-f", "-X", "-d", str(tmp_path), stdout=log,
            stderr=asyncio.subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while "Ready to process requests" not in log_path.read_text():
            if process.returncode is not None or time.monotonic() > deadline:
                pytest.fail("FreeRADIUS did not start:\n" + log_path.read_text()[-4000:])
            await asyncio.sleep(0.05)
        yield {"radius": radius, "auth": auth_port, "acct": acct_port, "log": log_path}
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 5)
            except TimeoutError:
                process.kill()
                await process.wait()


async def radclient(port: int, kind: str, attributes: str) -> tuple[str, set[str]]:
    """Send one request with radclient; the reply's code and its attribute lines."""
    proc = await asyncio.create_subprocess_exec(
        RADCLIENT, "-x", "-t", "2", "-r", "1", f"127.0.0.1:{port}", kind, SECRET,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate(attributes.encode())
    lines = out.decode().splitlines()
    received = [i for i, line in enumerate(lines) if line.startswith("Received ")]
    assert received, "\n".join(lines)
    code = lines[received[0]].split()[1]
    reply = {line.strip() for line in lines[received[0] + 1:]
             if line.startswith(("\t", " ")) and "=" in line}
    return code, reply
