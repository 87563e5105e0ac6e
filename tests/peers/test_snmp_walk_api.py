"""``snmpWalk`` through the API against snmpd, with devices made directly with the ORM (their
secrets sealed with the vault key): rows as text with types, truncation, and a typed error for
each failure (timeout, v3 auth, malformed OID, device without SNMP, unknown device)."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from ispcore.domain.companies.service import create_company
from ispcore.domain.monitoring.credentials import seal_secret
from ispcore.domain.monitoring.models import Device, MonitoringTemplate
from ispcore.domain.network.addressing import to_key
from ispcore.schema.nodes import encode_global_id

WALK = """query($id: ID!, $oid: String!, $max: Int) {
  snmpWalk(deviceId: $id, oid: $oid, maxResults: $max) {
    rows { oid type value counterBits } truncated errors { field code message } } }"""
IF_TABLE = "1.3.6.1.2.1.2.2"


@pytest.fixture
async def make_device(system_uow, vault_key):
    async with system_uow() as uow:
        company = await create_company(uow, {"name": "Walk Fibre", "currency": "USD",
                                             "time_zone": "UTC"})
        now = uow.clock.now()
        template = MonitoringTemplate(company_id=company.id, name="fast", created_at=now,
                                      updated_at=now, snmp_timeout_ms=300, snmp_retries=0)
        uow.session.add(template)
        await uow.session.flush()
        company_id, template_id = company.id, template.id

    async def make(name: str, creds=None, address: str = "127.0.0.1") -> str:
        values = {"snmp_version": "NONE"}
        if creds is not None:
            values = {
                "snmp_version": creds.version, "snmp_port": creds.port,
                "snmp_community_sealed": seal_secret(vault_key, creds.community,
                                                     field="snmpCommunity")
                if creds.community else None,
                "snmp_username": creds.username, "snmp_auth_protocol": creds.auth_protocol,
                "snmp_auth_key_sealed": seal_secret(vault_key, creds.auth_key,
                                                    field="snmpAuthKey")
                if creds.auth_key else None,
                "snmp_priv_protocol": creds.priv_protocol,
                "snmp_priv_key_sealed": seal_secret(vault_key, creds.priv_key,
                                                    field="snmpPrivKey")
                if creds.priv_key else None}
        async with system_uow() as uow:
            device = Device(company_id=company_id, name=name, management_address=address,
                            family=4, address_key=to_key(int(ipaddress.ip_address(address))),
                            template_id=template_id, created_at=uow.clock.now(),
                            updated_at=uow.clock.now(), **values)
            uow.session.add(device)
            await uow.session.flush()
            return encode_global_id("Device", device.id)

    return make


async def _walk(api, token, device_id, oid=IF_TABLE, max_results=None):
    data = await api.data(WALK, {"id": device_id, "oid": oid, "max": max_results}, token)
    return data["snmpWalk"]


async def test_walks_a_device_with_its_own_credentials(api, snmpd, make_device):
    token = await api.admin_token()
    v2c = await make_device("router-v2c", snmpd.v2c())
    v3 = await make_device("router-v3", snmpd.v3())
    result = await _walk(api, token, v2c, "1.3.6.1.2.1.1")
    assert result["errors"] == [] and result["truncated"] is False
    rows = {r["oid"]: r for r in result["rows"]}
    assert rows["1.3.6.1.2.1.1.5.0"] == {"oid": "1.3.6.1.2.1.1.5.0", "type": "OctetString",
                                         "value": socket.gethostname(), "counterBits": None}
    assert rows["1.3.6.1.2.1.1.3.0"]["type"] == "TimeTicks"
    assert rows["1.3.6.1.2.1.1.2.0"]["type"] == "ObjectIdentifier"

    table = await _walk(api, token, v3)
    in_octets = next(r for r in table["rows"] if r["oid"] == IF_TABLE + ".1.10.1")
    assert in_octets["type"] == "Counter32" and in_octets["counterBits"] == 32
    assert int(in_octets["value"]) >= 0
    mac = next(r for r in table["rows"] if r["oid"] == IF_TABLE + ".1.6.1")
    assert mac["type"] == "OctetString"  # lo's empty MAC address


async def test_max_results_truncates(api, snmpd, make_device):
    token = await api.admin_token()
    device = await make_device("router", snmpd.v2c())
    result = await _walk(api, token, device, "1.3.6.1.2.1", 5)
    assert len(result["rows"]) == 5 and result["truncated"] is True
    assert (await _walk(api, token, device, "1.3.6.1.2.1", 0))["errors"][0]["code"] == "INVALID"


@pytest.mark.parametrize(("case", "code", "field"), [
    ("wrong-community", "TIMEOUT", None),
    ("wrong-v3-key", "AUTH_FAILED", None),
    ("malformed-oid", "INVALID_OID", "oid"),
    ("icmp-only", "NO_SNMP", "deviceId"),
    ("unknown-device", "NOT_FOUND", "deviceId"),
])
async def test_typed_errors(api, snmpd, make_device, case, code, field):
    token = await api.admin_token()
    oid = IF_TABLE
    if case == "wrong-community":
        device = await make_device("d", snmpd.v2c("not-it"))
    elif case == "wrong-v3-key":
        device = await make_device("d", snmpd.v3(auth_key="not-the-key-1"))
    elif case == "malformed-oid":
        device, oid = await make_device("d", snmpd.v2c()), "1.3.six"
    elif case == "icmp-only":
        device = await make_device("d")
    else:
        device = encode_global_id("Device", 999999)
    result = await _walk(api, token, device, oid)
    assert result["rows"] == []
    (error,) = result["errors"]
    assert (error["code"], error["field"]) == (code, field)


async def test_needs_monitoring_write(api, snmpd, make_device):
    device = await make_device("router", snmpd.v2c())
    _, reader = await api.user_with_token("reader@example.com",
                                          permissions=["monitoring:read"])
    body = await api.gql(WALK, {"id": device, "oid": IF_TABLE}, reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
