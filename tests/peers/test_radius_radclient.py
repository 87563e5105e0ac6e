"""The built-in RADIUS server answering FreeRADIUS's radclient on loopback."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select

from ispcore.domain.network.models import NasClient, RadiusSession
from tests.peers.radius_support import SECRET, recompile, until

SIGNED = "Message-Authenticator = 0x00"


async def radclient(port: int, command: str, *lines: str, wait: int = 2) -> str:
    """radclient's output; an unanswered request ends after one retry of ``wait`` s."""
    proc = await asyncio.create_subprocess_exec(
        "radclient", "-x", "-t", str(wait), "-r", "1", f"127.0.0.1:{port}", command, SECRET,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate("\n".join(lines).encode() + b"\n")
    return out.decode()


async def auth(radius, *lines: str, wait: int = 2) -> str:
    return await radclient(radius.auth_port, "auth", *lines, wait=wait)


async def test_pap_accept_carries_the_merged_reply(radius):
    out = await auth(radius, 'User-Name = "alice"', 'User-Password = "wonderland-7"', SIGNED)
    assert "Received Access-Accept" in out
    assert 'Mikrotik-Rate-Limit = "10M/20M"' in out  # the user's := item, not the group's =
    assert "1M/1M" not in out
    assert "Framed-IP-Address = 100.64.0.10" in out
    assert 'Mikrotik-Address-List = "customers"' in out
    assert "Session-Timeout = 86400" in out
    assert "{download}" not in out  # templated group items are compiled per user
    assert radius.counters.accepted == 1


async def test_chap_accept(radius):
    out = await auth(radius, 'User-Name = "alice"', 'CHAP-Password = "wonderland-7"', SIGNED)
    assert "Received Access-Accept" in out
    assert 'Mikrotik-Rate-Limit = "10M/20M"' in out


async def test_wrong_password_and_refused_access_are_rejected(radius):
    wrong = await auth(radius, 'User-Name = "alice"', 'User-Password = "guess"', SIGNED)
    refused = await auth(radius, 'User-Name = "mallory"', 'User-Password = "locked-out-9"',
                         SIGNED)
    unknown = await auth(radius, 'User-Name = "nobody"', 'User-Password = "x"', SIGNED)
    for out in (wrong, refused, unknown):
        assert "Received Access-Reject" in out
        assert "Mikrotik" not in out
    assert radius.counters.rejected == 3


async def test_proxy_state_is_echoed_in_order(radius):
    out = await auth(radius, 'User-Name = "alice"', 'User-Password = "wonderland-7"',
                     "Proxy-State = 0x6f6e65", "Proxy-State = 0x74776f", SIGNED)
    received = out[out.index("Received Access-Accept"):]
    assert received.index("Proxy-State = 0x6f6e65") < received.index("Proxy-State = 0x74776f")


async def test_no_message_authenticator_or_unknown_nas_gets_no_answer(runtime, radius):
    out = await auth(radius, 'User-Name = "alice"', 'User-Password = "wonderland-7"', wait=1)
    assert "Received" not in out
    assert radius.counters.dropped["no_message_authenticator"] >= 1

    async with runtime.db.session() as session, session.begin():
        nas = await session.get(NasClient, radius.cache.nas["127.0.0.1"].id)
        nas.address = "192.0.2.1"
    await radius.refresh(nas=True)
    out = await auth(radius, 'User-Name = "alice"', 'User-Password = "wonderland-7"', SIGNED,
                     wait=1)
    assert "Received" not in out
    assert radius.counters.dropped["unknown_nas"] >= 1


async def test_accounting_start_interim_stop_make_one_session(runtime, radius, seeded):
    session = ['User-Name = "alice"', 'Acct-Session-Id = "81a0002f"',
               'NAS-Port-Id = "ether2"', 'Calling-Station-Id = "AA:BB:CC:00:11:22"']
    start = await radclient(radius.acct_port, "acct", *session, "Acct-Status-Type = Start",
                            "Framed-IP-Address = 100.64.0.10")
    assert "Received Accounting-Response" in start
    interim = ["Acct-Status-Type = Interim-Update", "Acct-Session-Time = 600",
               "Acct-Input-Octets = 1000", "Acct-Input-Gigawords = 2",
               "Acct-Output-Octets = 5000", "Acct-Input-Packets = 70",
               "Acct-Output-Packets = 90"]
    assert "Accounting-Response" in await radclient(radius.acct_port, "acct", *session,
                                                    *interim)
    stop = ["Acct-Status-Type = Stop", "Acct-Session-Time = 900", "Acct-Input-Octets = 3000",
            "Acct-Input-Gigawords = 3", "Acct-Output-Octets = 7000",
            "Acct-Output-Gigawords = 1", "Acct-Terminate-Cause = User-Request"]
    assert "Accounting-Response" in await radclient(radius.acct_port, "acct", *session, *stop)
    # The NAS sends the Stop again (a new packet, not a retransmission): nothing changes.
    runtime.clock.advance(timedelta(minutes=5))
    assert "Accounting-Response" in await radclient(
        radius.acct_port, "acct", *session,
        *[line.replace("900", "999") for line in stop])

    async with runtime.db.session() as db:
        assert await db.scalar(select(func.count()).select_from(RadiusSession)) == 1
        row = await db.scalar(select(RadiusSession))
    assert (row.username, row.acct_session_id, row.nas_id) == ("alice", "81a0002f",
                                                               seeded.nas_id)
    assert (row.account_id, row.credential_id) == (seeded.account_id,
                                                   seeded.credentials["alice"])
    assert row.input_octets == 3 * 2**32 + 3000
    assert row.output_octets == 2**32 + 7000
    assert (row.session_time, row.interim_count) == (900, 1)
    assert (row.input_packets, row.output_packets) == (70, 90)
    assert row.framed_ip_address == "100.64.0.10"
    assert (row.nas_port_id, row.calling_station_id) == ("ether2", "AA:BB:CC:00:11:22")
    assert row.terminate_cause == "User-Request"
    assert row.stopped_at is not None and row.stopped_at < runtime.clock.now()
    assert radius.counters.accounting_stored == 4


async def test_accounting_on_ends_the_sessions_the_nas_had_open(runtime, radius, seeded):
    for name in ("s-1", "s-2"):
        assert "Accounting-Response" in await radclient(
            radius.acct_port, "acct", 'User-Name = "alice"', f'Acct-Session-Id = "{name}"',
            "Acct-Status-Type = Start")
    rebooted = await radclient(radius.acct_port, "acct", "Acct-Status-Type = Accounting-On",
                               'Acct-Session-Id = "0"')
    assert "Accounting-Response" in rebooted
    async with runtime.db.session() as db:
        rows = (await db.scalars(select(RadiusSession))).all()
    assert sorted((r.acct_session_id, r.terminate_cause) for r in rows) == [
        ("s-1", "NAS-Reboot"), ("s-2", "NAS-Reboot")]
    assert all(r.stopped_at is not None for r in rows)


async def test_a_recompiled_credential_is_answered_anew_without_restart(runtime, radius,
                                                                        seeded):
    alice = seeded.credentials["alice"]
    await recompile(runtime, alice, replies=[("Mikrotik-Rate-Limit", ":=", "50M/50M")])
    await runtime.notifier.publish("radius", "changed")
    await until(lambda: b"50M/50M" in radius.cache.users[b"alice"].reply)
    out = await auth(radius, 'User-Name = "alice"', 'User-Password = "wonderland-7"', SIGNED)
    assert 'Mikrotik-Rate-Limit = "50M/50M"' in out

    await recompile(runtime, alice, removed=True)  # picked up by the periodic refresh
    await until(lambda: b"alice" not in radius.cache.users)
    out = await auth(radius, 'User-Name = "alice"', 'User-Password = "wonderland-7"', SIGNED)
    assert "Received Access-Reject" in out
