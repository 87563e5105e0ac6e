"""``ispcore freeradius-clients``: a FreeRADIUS clients.conf for the active NAS clients, their
sealed secrets opened and quoted so FreeRADIUS reads them back (checked against a real
FreeRADIUS in tests/peers/test_freeradius.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest

from ispcore.domain.common.errors import DomainError
from ispcore.domain.network.freeradius import clients_conf, quote
from tests.accounts.factories import ok
from tests.network.radius_support import radius_setup


@pytest.mark.parametrize(("value", "written"), [
    ("s3cret-nas", "'s3cret-nas'"),
    ("it's", "'it\\'s'"),
    ('a"b \\ ${x} %{y} #z', "'a\"b \\ ${x} %{y} #z'"),
    ("a\\\\'b", "'a\\\\\\'b'"),
    ("a\\'b", '"a\\\'b"'),  # an odd run of backslashes before ': double quotes
    ("a\\\\", "'a\\\\'"),
])
def test_values_are_quoted_so_freeradius_reads_them_back(value: str, written: str) -> None:
    assert quote(value) == written


@pytest.mark.parametrize("value", ["ends\\", "a\\'b$c", "a\\'b\\\"c", "new\nline"])
def test_values_freeradius_cannot_read_back_are_refused(value: str) -> None:
    with pytest.raises(ValueError):
        quote(value)


async def test_clients_conf_lists_the_active_nas_with_their_secrets(
        api: Any, system_uow: Any, vault_key: str) -> None:
    radius = await radius_setup(api, secret="it's \\ ${x}")
    await ok(api, radius.token, "createNasClient", {
        "companyId": radius.company, "name": "Spare", "address": "2001:db8::1",
        "secret": "v6-secret"})
    off = await ok(api, radius.token, "createNasClient", {
        "companyId": radius.company, "name": "Old", "address": "192.0.2.9",
        "secret": "old-secret"})
    await ok(api, radius.token, "updateNasClient", {"id": off["id"], "active": False})
    async with system_uow() as uow:
        conf = await clients_conf(uow)
    body = conf[conf.index("client "):]
    entries = [e.strip() for e in body.split("}\n") if e.strip()]
    assert len(entries) == 2
    assert entries[0].splitlines()[1:] == [
        "\tipaddr = 127.0.0.1", "\tsecret = 'it\\'s \\ ${x}'", "\tshortname = 'Core router'",
        "\tnas_type = 'mikrotik'"]
    assert "\tipv6addr = 2001:db8::1" in entries[1] and "'v6-secret'" in entries[1]
    assert "192.0.2.9" not in conf and "old-secret" not in conf

    await ok(api, radius.token, "updateNasClient", {"id": radius.nas, "secret": "trailing\\"})
    async with system_uow() as uow:
        with pytest.raises(DomainError, match="Core router"):
            await clients_conf(uow)


async def test_the_command_prints_it(api: Any, database_url: str, vault_key: str,
                                     tmp_path: Any) -> None:
    await radius_setup(api)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISPCORE_")}
    env.update(ISPCORE_DATABASE_URL=database_url, ISPCORE_VAULT_KEY=vault_key,
               ISPCORE_LOG_LEVEL="WARNING")
    out_file = tmp_path / "clients.conf"
    printed = []
    for args in ([], ["--output", str(out_file)]):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ispcore.cli", "freeradius-clients", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        printed.append(out.decode())
    assert "\tsecret = 's3cret-nas'" in printed[0] and printed[1] == ""
    assert out_file.read_text() == printed[0] and out_file.stat().st_mode & 0o777 == 0o600

    env.pop("ISPCORE_VAULT_KEY")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ispcore.cli", "freeradius-clients", env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode != 0 and b"vault key" in err and not out
