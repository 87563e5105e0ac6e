"""A real FreeRADIUS 3 (Debian's) against the test database, asked by a real ``radclient``: its
stock ``rlm_sql`` queries read what ispcore compiled through the views and write ``radacct``;
its clients come from ``ispcore freeradius-clients`` (a secret with quotes, a backslash and
``${...}`` in it, as an operator might choose). Runs on PostgreSQL and on SQLite, with the
stock ``queries.conf`` of each dialect. ``scripts/test`` installs the Debian packages."""

from __future__ import annotations

import asyncio
import shutil
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

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


def access(password: str, *, chap: bool = False) -> str:
    field = "CHAP-Password" if chap else "User-Password"
    return (f'User-Name = "pat", {field} = "{password}", NAS-IP-Address = 127.0.0.1, '
            "Message-Authenticator = 0x00")


async def radacct(runtime: Any) -> list[tuple[Any, ...]]:
    async with runtime.db.engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(
            "SELECT username, acctsessionid, acctstoptime IS NULL, acctsessiontime, "
            "acctinputoctets, acctoutputoctets, acctterminatecause FROM radacct "
            "ORDER BY radacctid"))]


async def test_freeradius_answers_from_the_views_and_writes_radacct(
        api: Any, runtime: Any, freeradius: dict[str, Any]) -> None:
    radius, auth, acct = freeradius["radius"], freeradius["auth"], freeradius["acct"]
    paying = {'Mikrotik-Rate-Limit = "20000k/100000k"', 'Mikrotik-Address-List = "paying"'}
    assert await radclient(auth, "auth", access("pppoe-pass")) == ("Access-Accept", paying)
    assert await radclient(auth, "auth", access("pppoe-pass", chap=True)) == (
        "Access-Accept", paying)
    assert (await radclient(auth, "auth", access("wrong-pass")))[0] == "Access-Reject"

    # Delinquent: the default action refuses the login.
    await ok(api, radius.token, "changeAccountStatus", {
        "accountId": radius.account, "accountStatusId": radius.billing.setup.delinquent,
        "reason": "test"})
    assert (await radclient(auth, "auth", access("pppoe-pass")))[0] == "Access-Reject"

    # Throttled instead: the delinquent group's rate, nothing of the paying group.
    throttle = await ok(api, radius.token, "createRadiusGroup", {
        "companyId": radius.company, "name": "Throttled", "attributes": [
            {"attribute": "Mikrotik-Rate-Limit", "value": "512k/512k"}]})
    await ok(api, radius.token, "updateNetworkSettings", {
        "companyId": radius.company, "delinquentAction": "THROTTLE",
        "delinquentRadiusGroupId": throttle["id"]})
    assert await radclient(auth, "auth", access("pppoe-pass")) == (
        "Access-Accept", {'Mikrotik-Rate-Limit = "512k/512k"'})

    session = ('User-Name = "pat", Acct-Session-Id = "81a00001", NAS-IP-Address = 127.0.0.1, '
               "NAS-Port = 7, Framed-IP-Address = 100.64.0.9")
    code, _ = await radclient(acct, "acct", f"{session}, Acct-Status-Type = Start")
    assert code == "Accounting-Response"
    assert [row[:3] for row in await radacct(runtime)] == [("pat", "81a00001", True)]
    code, _ = await radclient(acct, "acct", f"{session}, Acct-Status-Type = Stop, "
                              "Acct-Session-Time = 60, Acct-Input-Octets = 1500, "
                              "Acct-Output-Octets = 9000, Acct-Terminate-Cause = User-Request")
    assert code == "Accounting-Response"
    rows = await radacct(runtime)
    assert len(rows) == 1
    assert rows[0][:3] == ("pat", "81a00001", False)
    assert [int(v) for v in rows[0][3:6]] == [60, 1500, 9000]
    assert rows[0][6] == "User-Request"
