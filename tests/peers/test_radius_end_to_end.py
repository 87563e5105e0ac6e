"""Everything set up through GraphQL, answered by the built-in server to a real radclient: a
paying account gets its service's speed and its address, the wrong password is rejected, the
delinquency sweep throttles it (the delinquent group's attributes), a CoA reaches the NAS
stand-in for its live session, and paying restores it; then the address lists."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import text

from ispcore.network.radius.server import RadiusServer
from tests.accounts.factories import ok
from tests.billing.factories import at, run_billing
from tests.billing.payment_support import record
from tests.billing.test_delinquency import delinquent_after, sweep
from tests.network.ipam_support import new_subnet
from tests.network.radius_support import ACCOUNT_RADIUS, Radius, credential, radius_setup
from tests.peers.radius_support import SECRET, until
from tests.peers.test_radius_radclient import SIGNED, radclient

PAT = ['User-Name = "pat"', 'User-Password = "pppoe-pass"', SIGNED]
ADDRESS_LISTS = """query($id: ID!) { addressLists(companyId: $id) { name state
  entries { address account { id } } } }"""


@pytest.fixture
async def server(runtime: Any) -> AsyncIterator[RadiusServer]:
    server = RadiusServer(runtime, host="127.0.0.1", auth_port=0, acct_port=0,
                          refresh_seconds=0.1)
    await server.start()
    yield server
    await server.stop()


async def answer(server: RadiusServer, *lines: str) -> str:
    out = await radclient(server.auth_port, "auth", *lines)
    return out[out.index("Received"):] if "Received" in out else ""


async def answered_after(server: RadiusServer, runtime: Any) -> None:
    """Until the server's cache has every compile committed so far."""
    async with runtime.db.engine.connect() as conn:
        latest = await conn.scalar(text("SELECT max(revision) FROM radius_credentials"))
    await until(lambda: server.cache.revision >= latest)


async def with_address(api: Any, radius: Radius) -> str:
    supernet = (await ok(api, radius.token, "createSupernet", {
        "companyId": radius.company, "cidr": "100.64.0.0/16", "name": "CGNAT"}))["id"]
    subnet = await new_subnet(api, radius.token, supernet, "100.64.7.0/24")
    return (await ok(api, radius.token, "assignIpAddress", {
        "subnetId": subnet, "accountId": radius.account,
        "accountServiceId": radius.account_service}))["address"]


async def test_paying_delinquent_throttled_with_coa_then_restored(
        api: Any, runtime: Any, clock: Any, vault_key: str, server: RadiusServer,
        nas_at: Any) -> None:
    radius = await radius_setup(api, secret=SECRET)
    billing = radius.billing
    address = await with_address(api, radius)
    assert address == "100.64.7.1"
    await answered_after(server, runtime)

    paying = await answer(server, *PAT)
    assert paying.startswith("Received Access-Accept")
    assert 'Mikrotik-Rate-Limit = "20000k/100000k"' in paying
    assert 'Mikrotik-Address-List = "paying"' in paying
    assert "Framed-IP-Address = 100.64.7.1" in paying
    wrong = await answer(server, 'User-Name = "pat"', 'User-Password = "nope"', SIGNED)
    assert wrong.startswith("Received Access-Reject") and "Mikrotik" not in wrong

    # The router reports the session; its CoA port is the stand-in's.
    listener, port = await nas_at("ack", secret=SECRET)
    await ok(api, radius.token, "updateNasClient", {"id": radius.nas, "coaPort": port})
    start = await radclient(server.acct_port, "acct", 'User-Name = "pat"',
                            'Acct-Session-Id = "5e55-0001"', "Acct-Status-Type = Start",
                            f"Framed-IP-Address = {address}")
    assert "Accounting-Response" in start

    throttle = await ok(api, radius.token, "createRadiusGroup", {
        "companyId": radius.company, "name": "Delinquent", "attributes": [
            {"attribute": "Mikrotik-Rate-Limit", "value": "512k/512k"},
            {"attribute": "Mikrotik-Address-List", "value": "delinquent"}]})
    await ok(api, radius.token, "updateNetworkSettings", {
        "companyId": radius.company, "delinquentAction": "THROTTLE",
        "delinquentRadiusGroupId": throttle["id"]})
    await delinquent_after(api, billing, days=30)
    await run_billing(api, runtime, billing)  # 63.75 due on 2026-11-16
    clock.set(at("2026-12-17"))
    assert await sweep(api, billing) == (1, 0, 0)
    await runtime.jobs.drain()
    await answered_after(server, runtime)

    throttled = await answer(server, *PAT)
    assert throttled.startswith("Received Access-Accept")
    assert 'Mikrotik-Rate-Limit = "512k/512k"' in throttled
    assert 'Mikrotik-Address-List = "delinquent"' in throttled
    assert "20000k" not in throttled
    assert "Framed-IP-Address = 100.64.7.1" in throttled

    [coa] = listener.requests
    assert coa.code == 43  # CoA-Request, checked by the stand-in with the NAS secret
    assert coa["User-Name"] == ["pat"] and coa["Acct-Session-Id"] == ["5e55-0001"]
    assert coa["Mikrotik-Rate-Limit"] == ["512k/512k"]
    [action] = (await api.data(ACCOUNT_RADIUS, {"id": radius.account}, radius.token)
                )["account"]["radiusActions"]
    assert (action["kind"], action["reason"], action["status"]) == ("COA", "DELINQUENT", "ACK")
    lists = (await api.data(ADDRESS_LISTS, {"id": radius.company}, radius.token)
             )["addressLists"]
    assert lists == [
        {"name": "ispcore-delinquent", "state": "DELINQUENT",
         "entries": [{"address": "100.64.7.1", "account": {"id": radius.account}}]},
        {"name": "ispcore-suspended", "state": "SUSPENDED", "entries": []}]
    script = await api.client.get("/network/address-lists.rsc",
                                  params={"companyId": radius.company},
                                  headers={"Authorization": f"Bearer {radius.token}"})
    assert script.status_code == 200
    assert ('add list="ispcore-delinquent" address=100.64.7.1 comment="ispcore account '
            in script.text)

    await record(api, billing, radius.account, "63.75")
    await runtime.jobs.drain()
    await answered_after(server, runtime)
    restored = await answer(server, *PAT)
    assert 'Mikrotik-Rate-Limit = "20000k/100000k"' in restored
    assert (await credential(api, radius))["accessState"] == "ACTIVE"
    actions = (await api.data(ACCOUNT_RADIUS, {"id": radius.account}, radius.token)
               )["account"]["radiusActions"]
    assert [(a["reason"], a["status"]) for a in actions] == [
        ("DELINQUENCY_CLEARED", "ACK"), ("DELINQUENT", "ACK")]
    assert len(listener.requests) == 2
    assert listener.requests[1]["Mikrotik-Rate-Limit"] == ["20000k/100000k"]


async def test_the_address_list_script_needs_network_read(api: Any, vault_key: str) -> None:
    radius = await radius_setup(api, secret=SECRET)
    anonymous = await api.client.get("/network/address-lists.rsc",
                                     params={"companyId": radius.company})
    assert anonymous.status_code == 401
    unknown = await api.client.get("/network/address-lists.rsc", params={"companyId": "999"},
                                   headers={"Authorization": f"Bearer {radius.token}"})
    assert unknown.status_code == 404
