"""Devices through the API: canonical addresses and MACs, SNMP settings checked as a whole
with typed errors (and nothing written), secrets sealed and never shown, events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ispcore.domain.monitoring.credentials import snmp_credentials
from ispcore.domain.monitoring.models import Device
from tests.accounts.account_queries import pk_of
from tests.accounts.factories import ok, refused
from tests.monitoring.config_support import device, events_of, org

V3 = {"snmpVersion": "V3", "snmpUsername": "noc", "snmpAuthProtocol": "SHA256",
      "snmpAuthKey": "auth-pass-1", "snmpPrivProtocol": "AES128", "snmpPrivKey": "priv-pass-1"}


async def _row(runtime: Any, gid: str) -> Device:
    async with runtime.db.session() as session:
        return await session.get(Device, pk_of(gid))


async def _count(runtime: Any) -> int:
    async with runtime.db.session() as session:
        return await session.scalar(select(func.count()).select_from(Device))


def codes(errors: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(e["field"], e["code"]) for e in errors}


async def test_a_device_is_stored_canonical_with_its_secrets_sealed(
        api: Any, runtime: Any, vault_key: str) -> None:
    o = await org(api)
    made = await device(api, o, "Core router", " 2001:DB8:0::0001 ", macAddress="aabb.ccdd.eeff",
                        networkSiteId=o.site_a, snmpVersion="V2C", snmpCommunity="s3cret",
                        serialNumber=" SN-1 ")
    assert made["managementAddress"] == "2001:db8::1"
    assert made["macAddress"] == "AA:BB:CC:DD:EE:FF"
    assert made["serialNumber"] == "SN-1"
    assert (made["snmpVersion"], made["snmpPort"], made["status"]) == ("V2C", 161, "UNKNOWN")
    assert made["networkSite"] == {"id": o.site_a} and made["poller"] is None
    row = await _row(runtime, made["id"])
    assert (row.family, row.address_key) == (6, f"{0x20010db8 << 96 | 1:032x}")
    assert "s3cret" not in (row.snmp_community_sealed or "")
    assert snmp_credentials(vault_key, row).community == "s3cret"
    body = await api.gql("query($id: ID!) { node(id: $id) { ... on Device { snmpCommunity } } }",
                         {"id": made["id"]}, o.token)
    assert "Cannot query field" in body["errors"][0]["message"]  # write-only
    assert await events_of(runtime, "device.") == [("device.created", {
        "deviceId": pk_of(made["id"]), "deviceName": "Core router", "address": "2001:db8::1",
        "networkSiteId": pk_of(o.site_a)})]


async def test_snmp_v3_settings_are_checked_together(api: Any, runtime: Any,
                                                     vault_key: str) -> None:
    o = await org(api)
    base = {"companyId": o.company, "name": "AP", "managementAddress": "10.0.0.2"}
    cases = [
        ({"snmpVersion": "V2C"}, {("snmpCommunity", "REQUIRED")}),
        ({"snmpVersion": "V3"}, {("snmpUsername", "REQUIRED")}),
        ({**V3, "snmpAuthProtocol": "NONE", "snmpAuthKey": None},
         {("snmpPrivProtocol", "INVALID")}),
        ({**V3, "snmpAuthKey": "short", "snmpPrivKey": "tiny"},
         {("snmpAuthKey", "INVALID"), ("snmpPrivKey", "INVALID")}),
        ({**V3, "snmpPrivKey": None}, {("snmpPrivKey", "REQUIRED")}),
        ({"snmpVersion": "V2C", "snmpCommunity": "c", "snmpPort": 70000},
         {("snmpPort", "INVALID")}),
        ({"snmpVersion": "NONE", "snmpCommunity": "public"}, {("snmpCommunity", "INVALID")}),
        ({"managementAddress": "10.0.0.300"}, {("managementAddress", "INVALID")}),
        ({"macAddress": "00:11:22"}, {("macAddress", "INVALID")}),
    ]
    for fields, expected in cases:
        sent = {k: v for k, v in {**base, **fields}.items() if v is not None}
        assert codes(await refused(api, o.token, "createDevice", sent)) == expected, fields
    assert await _count(runtime) == 0
    made = await ok(api, o.token, "createDevice", {**base, **V3})
    assert (made["snmpUsername"], made["snmpAuthProtocol"], made["snmpPrivProtocol"]) == (
        "noc", "SHA256", "AES128")
    opened = snmp_credentials(vault_key, await _row(runtime, made["id"]))
    assert (opened.auth_key, opened.priv_key, opened.community) == (
        "auth-pass-1", "priv-pass-1", "")


async def test_changing_the_version_drops_the_secrets_it_no_longer_uses(
        api: Any, runtime: Any, vault_key: str) -> None:
    o = await org(api)
    made = await device(api, o, "Switch", "10.0.0.3", **V3)
    # Omitted secrets stay: a port change keeps the keys.
    await ok(api, o.token, "updateDevice", {"id": made["id"], "snmpPort": 1161})
    row = await _row(runtime, made["id"])
    assert row.snmp_auth_key_sealed and row.snmp_priv_key_sealed and row.snmp_port == 1161
    # Privacy off: its key goes.
    await ok(api, o.token, "updateDevice", {"id": made["id"], "snmpPrivProtocol": "NONE"})
    row = await _row(runtime, made["id"])
    assert row.snmp_auth_key_sealed and row.snmp_priv_key_sealed is None
    # V2C needs a community; the v3 settings go.
    errors = await refused(api, o.token, "updateDevice", {"id": made["id"],
                                                          "snmpVersion": "V2C"})
    assert codes(errors) == {("snmpCommunity", "REQUIRED")}
    changed = await ok(api, o.token, "updateDevice", {"id": made["id"], "snmpVersion": "V2C",
                                                      "snmpCommunity": "public"})
    assert (changed["snmpUsername"], changed["snmpAuthProtocol"]) == ("", "NONE")
    row = await _row(runtime, made["id"])
    assert row.snmp_auth_key_sealed is None and row.snmp_community_sealed
    # NONE clears everything.
    await ok(api, o.token, "updateDevice", {"id": made["id"], "snmpVersion": "NONE"})
    row = await _row(runtime, made["id"])
    assert (row.snmp_community_sealed, row.snmp_auth_key_sealed, row.snmp_priv_key_sealed) == (
        None, None, None)
    assert snmp_credentials(vault_key, row) is None


async def test_related_rows_must_be_the_same_companys_and_names_unique(
        api: Any, runtime: Any, vault_key: str) -> None:
    o = await org(api)
    other = await org(api, o.token, name="Other ISP")
    await device(api, o, "Router", "10.0.0.1")
    errors = await refused(api, o.token, "createDevice", {
        "companyId": o.company, "name": "CPE", "managementAddress": "10.0.0.9",
        "networkSiteId": other.site_a})
    assert codes(errors) == {("networkSiteId", "INVALID")}
    errors = await refused(api, o.token, "createDevice", {
        "companyId": o.company, "name": "router", "managementAddress": "10.0.0.9"})
    assert codes(errors) == {("name", "DUPLICATE")}
    assert await _count(runtime) == 1


async def test_secrets_need_the_vault_key(api: Any, runtime: Any) -> None:
    o = await org(api)
    errors = await refused(api, o.token, "createDevice", {
        "companyId": o.company, "name": "R", "managementAddress": "10.0.0.1",
        "snmpVersion": "V2C", "snmpCommunity": "public"})
    assert codes(errors) == {("snmpCommunity", "FORBIDDEN")}
    assert await _count(runtime) == 0


async def test_update_and_delete_record_events_and_need_monitoring_write(
        api: Any, runtime: Any, vault_key: str) -> None:
    o = await org(api)
    made = await device(api, o, "Router", "10.0.0.1")
    changed = await ok(api, o.token, "updateDevice", {
        "id": made["id"], "name": "Edge router", "networkSiteId": o.site_b,
        "monitored": False})
    assert (changed["name"], changed["monitored"]) == ("Edge router", False)
    cleared = await ok(api, o.token, "updateDevice", {"id": made["id"], "networkSiteId": None})
    assert cleared["networkSite"] is None
    errors = await refused(api, o.token, "updateDevice", {"id": made["id"], "name": None})
    assert codes(errors) == {("name", "REQUIRED")}
    _, reader = await api.user_with_token("reader@example.com",
                                          permissions=["monitoring:read"])
    body = await api.gql("mutation($i: IdInput!) { deleteDevice(input: $i) { deletedId } }",
                         {"i": {"id": made["id"]}}, reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await ok(api, o.token, "deleteDevice", {"id": made["id"]})) == made["id"]
    assert [t for t, _ in await events_of(runtime, "device.")] == [
        "device.created", "device.updated", "device.updated", "device.deleted"]
    assert (await events_of(runtime, "device.updated"))[0][1]["changed"] == [
        "monitored", "name", "network_site_id"]
    assert await _count(runtime) == 0
