"""Pieces of the poller without a network: which entries a refusal drops, workload parsing,
the values it submits, and the command's refusal to start without a token."""

from __future__ import annotations

from click.testing import CliRunner

from ispcore.cli import main
from ispcore.network.poller.api import UserError
from ispcore.network.poller.main import graphql_url
from ispcore.network.poller.probe import _result
from ispcore.network.poller.scheduler import Scheduler
from ispcore.network.poller.workload import PolledCheck, parse_workload
from ispcore.network.snmp import values as v


def _batch():
    return [{"deviceId": d, "results": [{"checkId": "a"}, {"checkId": "b"}]}
            for d in ("d0", "d1", "d2")]


def test_refused_device_and_refused_check_are_dropped_alone():
    scheduler = Scheduler(api=None, version="x")  # type: ignore[arg-type]
    kept = scheduler._without_refused(_batch(), [
        UserError("devices.1.deviceId", "FORBIDDEN", "not yours"),
        UserError("devices.2.results.0.checkId", "NOT_FOUND", "not in the template")])
    assert [d["deviceId"] for d in kept] == ["d0", "d2"]
    assert kept[1]["results"] == [{"checkId": "b"}]
    assert scheduler.dropped == 1


def test_a_refused_value_drops_that_result_alone():
    scheduler = Scheduler(api=None, version="x")  # type: ignore[arg-type]
    kept = scheduler._without_refused(_batch(), [
        UserError("devices.0.results.1.counterBits", "INVALID", "32 or 64 bits")])
    assert [d["deviceId"] for d in kept] == ["d0", "d1", "d2"]
    assert kept[0]["results"] == [{"checkId": "a"}]
    assert scheduler.dropped == 0


def test_a_counter_check_reading_a_non_counter_is_a_per_check_error():
    """The API refuses a COUNTER result without counterBits (and with it the device's whole
    poll): a Gauge32 or a numeric string on a COUNTER check is that check's error."""
    check = PolledCheck("C", "ifSpeed", "SNMP_GET", "1.3", "COUNTER")
    for value in (v.Gauge32(1000), v.OctetString(b"23.5")):
        row = _result(check, value)
        assert row["value"] is None and row["counterBits"] is None
        assert "not a counter" in row["error"]
    assert _result(check, v.Counter32(7))["counterBits"] == 32


def test_an_error_naming_no_device_drops_the_batch():
    scheduler = Scheduler(api=None, version="x")  # type: ignore[arg-type]
    assert scheduler._without_refused(_batch(), [UserError("batchId", "INVALID", "bad")]) == []


def test_workload_parsing():
    workload = parse_workload({
        "pollerId": "P", "concurrency": 0, "heartbeatSeconds": 30, "devices": [{
            "deviceId": "D", "name": "r1", "address": "10.0.0.1", "intervalSeconds": 60,
            "snmp": {"version": "V3", "port": 1161, "community": "", "username": "u",
                     "authProtocol": "SHA", "authKey": "k1", "privProtocol": "AES128",
                     "privKey": "k2", "timeoutMs": 1500, "retries": 2},
            "icmp": {"count": 5, "timeoutMs": 800},
            "checks": [{"checkId": "C", "name": "ifHCInOctets", "kind": "SNMP_WALK",
                        "oid": "1.3.6.1.2.1.31.1.1.1.6", "valueType": "COUNTER",
                        "labelOid": "1.3.6.1.2.1.31.1.1.1.1"}]}]})
    assert workload.concurrency == 1  # at least one poll at a time
    (device,) = workload.devices
    assert device.snmp.credentials.username == "u" and device.snmp.credentials.port == 1161
    assert device.snmp.timeout == 1.5 and device.snmp.retries == 2
    assert device.icmp.count == 5 and device.icmp.timeout == 0.8
    assert device.checks[0].label_oid == "1.3.6.1.2.1.31.1.1.1.1"


def test_submitted_values():
    check = PolledCheck("C", "x", "SNMP_GET", "1.3", "COUNTER")
    big = _result(check, v.Counter64(2**64 - 1))
    assert big["value"] == "18446744073709551615" and big["counterBits"] == 64
    gauge = PolledCheck("G", "x", "SNMP_GET", "1.3", "GAUGE")
    assert _result(gauge, v.OctetString(b" 23.5 "))["value"] == "23.5"
    text = _result(gauge, v.OctetString(b"eth0"))
    assert text["value"] is None and "not a number" in text["error"]
    missing = _result(check, v.NO_SUCH_INSTANCE)
    assert missing["value"] is None and missing["error"] == "noSuchInstance"


def test_graphql_url():
    assert graphql_url("https://api.example.net/") == "https://api.example.net/graphql"
    assert graphql_url("http://x/graphql") == "http://x/graphql"


def test_poller_command_needs_a_token():
    result = CliRunner().invoke(main, ["poller", "--api-url", "http://127.0.0.1:9"],
                                env={"ISPCORE_POLLER_TOKEN": ""})
    assert result.exit_code != 0
    assert "ISPCORE_POLLER_TOKEN" in result.output
