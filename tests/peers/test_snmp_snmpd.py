"""The SNMP client against net-snmp's snmpd: v2c GET and GETBULK walks, v3 authPriv, and each
way a request goes wrong (wrong community, wrong v3 key or user, malformed OID, garbage; and
agents in the test that loop, answer for other OIDs or with an error status)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from ispcore.domain.monitoring.credentials import SnmpCredentials
from ispcore.network.snmp import (
    InvalidOid,
    SnmpAuthError,
    SnmpClient,
    SnmpError,
    SnmpProtocolError,
    SnmpTimeout,
    ber,
)
from ispcore.network.snmp import values as v
from tests.peers.snmpd_support import scripted_agent

SYS_NAME, SYS_UPTIME = "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.3.0"
IF_TABLE, IF_X_TABLE = "1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1"
IF_HC_IN_OCTETS = "1.3.6.1.2.1.31.1.1.1.6"


async def test_v2c_get_sysuptime_and_sysname(snmpd):
    async with SnmpClient("127.0.0.1", snmpd.v2c(), timeout=2, retries=1) as client:
        rows = await client.get([SYS_UPTIME, SYS_NAME, "1.3.6.1.2.1.1.99.0"])
    assert [oid for oid, _ in rows] == [SYS_UPTIME, SYS_NAME, "1.3.6.1.2.1.1.99.0"]
    uptime, name, missing = (value for _, value in rows)
    assert isinstance(uptime, v.TimeTicks) and uptime > 0
    assert isinstance(name, v.OctetString) and name.text() == socket.gethostname()
    assert missing is v.NO_SUCH_OBJECT


async def test_v2c_walks_the_interface_tables(snmpd):
    async with SnmpClient("127.0.0.1", snmpd.v2c()) as client:
        if_table = await client.walk(IF_TABLE, max_repetitions=10)
        if_x = await client.walk(IF_X_TABLE, max_repetitions=25)
        by_next = await client.walk_getnext(IF_TABLE)
    oids = [oid for oid, _ in if_table]
    assert oids and all(o.startswith(IF_TABLE + ".") for o in oids)
    assert by_next == if_table  # the same rows, one GETNEXT at a time
    descr = dict(r for r in if_table if r[0].startswith(IF_TABLE + ".1.2."))
    assert descr[IF_TABLE + ".1.2.1"].text() == "lo"
    hc_in = dict(r for r in if_x if r[0].startswith(IF_HC_IN_OCTETS + "."))
    value = hc_in[IF_HC_IN_OCTETS + ".1"]
    assert isinstance(value, v.Counter64) and value.counter_bits == 64
    in_octets = dict(if_table)[IF_TABLE + ".1.10.1"]
    assert isinstance(in_octets, v.Counter32) and in_octets.counter_bits == 32
    # A walk stops at the subtree's end: nothing from the next table.
    assert not any(o.startswith("1.3.6.1.2.1.3") for o in oids)


async def test_walk_limit_and_end_of_mib(snmpd):
    async with SnmpClient("127.0.0.1", snmpd.v2c()) as client:
        assert len(await client.walk("1.3.6.1.2.1", 25, limit=7)) == 7
        assert await client.walk("1.3.6.1.6.3.99.99") == []  # an empty subtree
        assert await client.walk("2.99") == []  # past the last OID: endOfMibView


async def test_v3_auth_priv_get_and_walk(snmpd):
    async with SnmpClient("127.0.0.1", snmpd.v3(), timeout=2, retries=1) as client:
        rows = await client.get([SYS_NAME, SYS_UPTIME])
        table = await client.walk(IF_TABLE, 20)
    assert rows[0][1].text() == socket.gethostname()
    assert isinstance(rows[1][1], v.TimeTicks)
    async with SnmpClient("127.0.0.1", snmpd.v2c()) as client:
        assert [o for o, _ in table] == [o for o, _ in await client.walk(IF_TABLE, 20)]


async def test_wrong_community_times_out(snmpd):
    async with SnmpClient("127.0.0.1", snmpd.v2c("not-the-community"), timeout=0.2,
                          retries=1) as client:
        with pytest.raises(SnmpTimeout, match="2 tries"):
            await client.get([SYS_NAME])


@pytest.mark.parametrize("creds", [
    {"auth_key": "wrong-auth-key-1"},
    {"user": "nobody-here"},
], ids=["wrong-auth-key", "unknown-user"])
async def test_v3_wrong_credentials_are_auth_errors(snmpd, creds):
    async with SnmpClient("127.0.0.1", snmpd.v3(**creds), timeout=1, retries=0) as client:
        with pytest.raises(SnmpAuthError):
            await client.get([SYS_NAME])


@pytest.mark.parametrize("oid", ["1.3.6.x.1", "", "1", "3.1.2", "1.40.1", ".1.3..6",
                                 "1.3.6.99999999999"])
async def test_malformed_oid_is_refused_before_sending(snmpd, oid):
    async with SnmpClient("127.0.0.1", snmpd.v2c()) as client:
        with pytest.raises(InvalidOid):
            await client.get([oid])
        with pytest.raises(InvalidOid):
            await client.walk(oid)


async def test_garbage_answer_is_a_protocol_error(garbage_agent):
    creds = SnmpCredentials("V2C", garbage_agent, community="public")
    # A long timeout: the error comes from the reply (a timeout would be SnmpTimeout).
    async with SnmpClient("127.0.0.1", creds, timeout=30, retries=0) as client:
        with pytest.raises(SnmpProtocolError, match="undecodable"):
            await client.get([SYS_NAME])


def _traffic_on_lo(megabytes: int = 2) -> int:
    """UDP datagrams through lo; returns the payload bytes sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink, \
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as src:
        sink.bind(("127.0.0.1", 0))
        chunk = b"x" * 8000
        for _ in range(megabytes * 128):
            src.sendto(chunk, sink.getsockname())
    return megabytes * 128 * len(chunk)


async def test_counters_increase_between_reads(snmpd):
    oid = IF_HC_IN_OCTETS + ".1"
    async with SnmpClient("127.0.0.1", snmpd.v2c()) as client:
        (_, first), = await client.get([oid])
        sent = _traffic_on_lo()
        # snmpd caches interface statistics for a few seconds: read until it refreshes.
        for _ in range(60):
            (_, second), = await client.get([oid])
            if second > first:
                break
            await asyncio.sleep(0.25)
    assert isinstance(second, v.Counter64)
    assert second - first >= sent


def _reply(request, varbinds, error_status=0, error_index=0):
    return ber.encode_message(ber.V2C, request.community, ber.RESPONSE, request.request_id,
                              error_status, error_index,
                              [(ber.oid_key(o), value) for o, value in varbinds])


async def test_an_agent_going_backwards_stops_the_walk():
    def answer(request):  # always the same two rows: a loop
        return _reply(request, [("1.3.6.1.2.1.2.2.1.1.1", v.Integer(1)),
                                ("1.3.6.1.2.1.2.2.1.1.2", v.Integer(2))])

    async with scripted_agent(answer) as port:
        creds = SnmpCredentials("V2C", port, community="public")
        async with SnmpClient("127.0.0.1", creds, timeout=2, retries=0) as client:
            with pytest.raises(SnmpProtocolError, match="non-increasing"):
                await client.walk(IF_TABLE)


async def test_a_get_answered_for_other_oids_is_a_protocol_error():
    def answer(request):
        return _reply(request, [("1.3.6.1.2.1.1.6.0", v.OctetString(b"elsewhere"))])

    async with scripted_agent(answer) as port:
        creds = SnmpCredentials("V2C", port, community="public")
        async with SnmpClient("127.0.0.1", creds, timeout=2, retries=0) as client:
            with pytest.raises(SnmpProtocolError, match="does not match"):
                await client.get([SYS_NAME])


async def test_error_status_and_too_big_splitting():
    seen = []

    def answer(request):
        seen.append(len(request.varbinds))
        if len(request.varbinds) > 2:
            return _reply(request, [], error_status=1)  # tooBig: ask for less
        if any(ber.oid_text(k) == "1.3.6.1.2.1.1.9.0" for k, _, _ in request.varbinds):
            return _reply(request, [(ber.oid_text(k), v.NULL) for k, _, _ in request.varbinds],
                          error_status=5, error_index=1)  # genErr
        return _reply(request, [(ber.oid_text(k), v.Integer(7)) for k, _, _ in
                                request.varbinds])

    oids = [f"1.3.6.1.2.1.1.{i}.0" for i in range(1, 5)]
    async with scripted_agent(answer) as port:
        creds = SnmpCredentials("V2C", port, community="public")
        async with SnmpClient("127.0.0.1", creds, timeout=2, retries=0) as client:
            rows = await client.get(oids)
            assert [o for o, _ in rows] == oids and {val for _, val in rows} == {7}
            assert seen == [4, 2, 2]
            with pytest.raises(SnmpError, match="genErr") as failure:
                await client.get(["1.3.6.1.2.1.1.9.0"])
            assert failure.value.status == 5


async def test_walk_labels_longer_than_the_api_keeps_are_clipped_not_lost():
    from ispcore.network.poller.probe import LABEL_LENGTH, _walk_check
    from ispcore.network.poller.workload import PolledCheck

    column, names = "1.3.6.1.2.1.31.1.1.1.6", "1.3.6.1.2.1.31.1.1.1.1"
    long_name = "x" * 300

    def answer(request):
        asked = ber.oid_text(request.varbinds[0][0])
        if asked.startswith(names):
            rows = [(names + ".1", v.OctetString(long_name.encode()))] if asked == names else []
        else:
            rows = [(column + ".1", v.Counter64(7))] if asked == column else []
        return _reply(request, rows or [("1.3.6.1.2.1.99", v.Integer(0))])

    check = PolledCheck("C", "ifHCInOctets", "SNMP_WALK", column, "COUNTER", names)
    async with scripted_agent(answer) as port:
        creds = SnmpCredentials("V2C", port, community="public")
        async with SnmpClient("127.0.0.1", creds, timeout=2, retries=0) as client:
            [row] = await _walk_check(client, check)
    assert (row["instance"], row["value"], row["counterBits"]) == ("1", "7", 64)
    assert row["label"] == long_name[:LABEL_LENGTH] and len(row["label"]) == 255
