"""RADIUS configuration through the API: what a credential answers (its group's attributes
filled from the service, the FreeRADIUS views showing the same), delinquent and suspended
accounts rejected or throttled and restored, speed changes, CoA actions queued for live
sessions, and bad input refused with nothing changed."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import text

from ispcore.domain.common.clock import FixedClock
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.network.models import NasClient, RadiusSession
from tests.accounts.account_queries import pk_of
from tests.accounts.factories import ok, refused
from tests.billing.factories import add, customer
from tests.network.coa_listener import SECRET
from tests.network.radius_support import (
    ACCOUNT_RADIUS,
    RATE_LIMIT,
    credential,
    radius_setup,
)

SPEED = ("Mikrotik-Rate-Limit", "=", "20000k/100000k")


def items(replies: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["attribute"], r["op"], r["value"]) for r in replies]


async def freeradius_rows(runtime: Any, username: str) -> dict[str, list[tuple[Any, ...]]]:
    """What FreeRADIUS's stock rlm_sql queries read for ``username``."""
    out = {}
    async with runtime.db.engine.connect() as conn:
        for table in ("radcheck", "radreply"):
            out[table] = [tuple(r) for r in await conn.execute(text(
                f"SELECT attribute, op, value FROM {table} WHERE username = :u ORDER BY id"),
                {"u": username})]
        groups = [r[0] for r in await conn.execute(text(
            "SELECT groupname FROM radusergroup WHERE username = :u ORDER BY priority"),
            {"u": username})]
        out["groups"] = groups
        out["radgroupreply"] = [tuple(r) for r in await conn.execute(text(
            "SELECT attribute, op, value FROM radgroupreply WHERE groupname = :g ORDER BY id"),
            {"g": groups[0] if groups else ""})]
    return out


async def move(api: Any, radius: Any, status: str) -> None:
    await ok(api, radius.token, "changeAccountStatus", {
        "accountId": radius.account, "accountStatusId": status, "reason": "test"})


async def test_a_credential_answers_its_groups_attributes_filled_from_its_service(
        api: Any, runtime: Any, vault_key: str) -> None:
    radius = await radius_setup(api)
    c = radius.credential
    assert (c["username"], c["password"], c["access"], c["accessState"]) == (
        "pat", "pppoe-pass", "ACCEPT", "ACTIVE")
    assert c["effectiveGroup"]["name"] == "Speed" and c["radiusGroup"] is None
    assert items(c["replies"]) == [SPEED]
    rows = await freeradius_rows(runtime, "pat")
    assert rows["radcheck"] == [("Cleartext-Password", ":=", "pppoe-pass")]
    assert rows["radreply"] == [SPEED]
    assert rows["groups"] == [f"group-{pk_of(radius.speed_group)}"]
    assert rows["radgroupreply"] == [("Mikrotik-Address-List", "=", "paying")]
    async with runtime.db.engine.connect() as conn:
        nas = (await conn.execute(text("SELECT nasname, shortname, type, secret FROM nas"))
               ).one()
    assert tuple(nas) == ("127.0.0.1", "Core router", "mikrotik", "")


async def test_generated_logins_and_the_password_needs_network_write(
        api: Any, vault_key: str) -> None:
    radius = await radius_setup(api)
    made = await ok(api, radius.token, "createRadiusCredential", {
        "accountId": radius.account, "accountServiceId": radius.account_service})
    assert made["username"].startswith(f"{pk_of(radius.account)}-")
    assert len(made["password"]) == 16 and made["password"].isalnum()


async def test_delinquent_accounts_are_rejected_then_throttled_and_restored(
        api: Any, runtime: Any, vault_key: str) -> None:
    radius = await radius_setup(api)
    setup = radius.billing.setup
    await move(api, radius, setup.delinquent)
    c = await credential(api, radius)
    assert (c["access"], c["accessState"], c["replies"]) == ("REJECT", "DELINQUENT", [])
    rows = await freeradius_rows(runtime, "pat")
    assert rows["radcheck"] == [("Cleartext-Password", ":=", "pppoe-pass"),
                                ("Auth-Type", ":=", "Reject")]
    assert rows["radreply"] == [] and rows["groups"] == []

    throttle = await ok(api, radius.token, "createRadiusGroup", {
        "companyId": radius.company, "name": "Throttled", "attributes": [
            {"attribute": "Mikrotik-Rate-Limit", "value": "512k/512k"}]})
    await ok(api, radius.token, "updateNetworkSettings", {
        "companyId": radius.company, "delinquentAction": "THROTTLE",
        "delinquentRadiusGroupId": throttle["id"]})
    c = await credential(api, radius)
    assert (c["access"], c["accessState"], c["effectiveGroup"]["id"]) == (
        "ACCEPT", "DELINQUENT", throttle["id"])
    assert c["replies"] == []
    assert (await freeradius_rows(runtime, "pat"))["radgroupreply"] == [
        ("Mikrotik-Rate-Limit", "=", "512k/512k")]

    await move(api, radius, setup.active)
    c = await credential(api, radius)
    assert (c["access"], c["accessState"], items(c["replies"])) == ("ACCEPT", "ACTIVE", [SPEED])
    await move(api, radius, setup.inactive)
    assert (await credential(api, radius))["accessState"] == "SUSPENDED"
    assert (await credential(api, radius))["access"] == "REJECT"


async def test_speed_changes_reach_the_answer_and_live_sessions_get_a_coa(
        api: Any, runtime: Any, clock: FixedClock, vault_key: str, nas_at: Any) -> None:
    radius = await radius_setup(api, secret=SECRET)
    listener, port = await nas_at("ack", secret=SECRET)
    await ok(api, radius.token, "updateNasClient", {"id": radius.nas, "coaPort": port})
    async with runtime.unit_of_work(SYSTEM) as uow:
        nas = (await uow.session.get_one(NasClient, pk_of(radius.nas)))
        uow.session.add(RadiusSession(
            company_id=nas.company_id, nas_id=nas.id, account_id=pk_of(radius.account),
            credential_id=pk_of(radius.credential["id"]), username="pat",
            acct_session_id="81a00001", framed_ip_address="100.64.0.9",
            started_at=clock.now(), updated_at=clock.now()))
    await ok(api, radius.token, "updateService", {
        "id": radius.billing.fibre, "downloadKbps": 250_000, "uploadKbps": 50_000})
    c = await credential(api, radius)
    assert items(c["replies"]) == [("Mikrotik-Rate-Limit", "=", "50000k/250000k")]
    await runtime.jobs.drain()
    [action] = (await api.data(ACCOUNT_RADIUS, {"id": radius.account}, radius.token)
                )["account"]["radiusActions"]
    assert (action["kind"], action["reason"], action["status"], action["nas"]["id"]) == (
        "COA", "ATTRIBUTES_CHANGED", "ACK", radius.nas)
    assert [(a["attribute"], a["value"]) for a in action["attributes"]] == [
        ("User-Name", "pat"), ("Acct-Session-Id", "81a00001"),
        ("Framed-IP-Address", "100.64.0.9"), ("Mikrotik-Rate-Limit", "50000k/250000k"),
        ("Mikrotik-Address-List", "paying")]
    [coa] = listener.requests  # signed with the NAS's secret: the stand-in checked it
    assert (coa.code, coa["Acct-Session-Id"], coa["Mikrotik-Rate-Limit"]) == (
        43, ["81a00001"], ["50000k/250000k"])

    await move(api, radius, radius.billing.setup.delinquent)
    await runtime.jobs.drain()
    actions = (await api.data(ACCOUNT_RADIUS, {"id": radius.account}, radius.token)
               )["account"]["radiusActions"]
    assert (actions[0]["kind"], actions[0]["reason"], actions[0]["status"]) == (
        "DISCONNECT", "DELINQUENT", "ACK")
    assert [a["attribute"] for a in actions[0]["attributes"]] == [
        "User-Name", "Acct-Session-Id", "Framed-IP-Address"]
    assert listener.requests[1].code == 40  # Disconnect-Request


async def test_a_nas_that_does_not_answer_is_a_timeout_on_record(
        api: Any, runtime: Any, clock: FixedClock, vault_key: str, nas_at: Any,
        monkeypatch: Any) -> None:
    radius = await radius_setup(api, secret=SECRET)
    listener, port = await nas_at("silent", secret=SECRET)
    monkeypatch.setattr(runtime.settings, "coa_timeout_seconds", 0.1)
    await ok(api, radius.token, "updateNasClient", {"id": radius.nas, "coaPort": port,
                                                    "coaMode": "DISCONNECT"})
    async with runtime.unit_of_work(SYSTEM) as uow:
        uow.session.add(RadiusSession(
            company_id=pk_of(radius.company), nas_id=pk_of(radius.nas),
            account_id=pk_of(radius.account), credential_id=pk_of(radius.credential["id"]),
            username="pat", acct_session_id="81a00002", started_at=clock.now(),
            updated_at=clock.now()))
    await ok(api, radius.token, "updateService", {"id": radius.billing.fibre,
                                                  "downloadKbps": 50_000})
    await runtime.jobs.drain()
    [action] = (await api.data(ACCOUNT_RADIUS, {"id": radius.account}, radius.token)
                )["account"]["radiusActions"]
    assert (action["kind"], action["status"]) == ("DISCONNECT", "TIMEOUT")
    assert len(listener.seen) == runtime.settings.coa_retries + 1


async def test_bad_input_is_refused_and_changes_nothing(api: Any, runtime: Any,
                                                        vault_key: str) -> None:
    radius = await radius_setup(api)
    token, company = radius.token, radius.company
    cases = [
        ("createRadiusCredential", {"accountId": radius.account,
                                    "accountServiceId": radius.account_service,
                                    "username": "pat"}, "username", "DUPLICATE"),
        ("createRadiusCredential", {"accountId": radius.account,
                                    "accountServiceId": radius.account_service,
                                    "username": "bad name"}, "username", "INVALID"),
        ("createRadiusCredential", {"accountId": radius.account,
                                    "accountServiceId": radius.account_service,
                                    "password": "sh rt"}, "password", "INVALID"),
        ("createRadiusGroup", {"companyId": company, "name": "X", "attributes": [
            {"attribute": "Mikrotik-Rate-Limit", "value": "{speed}k"}]},
         "attributes.0.value", "INVALID"),
        ("createRadiusGroup", {"companyId": company, "name": "X", "attributes": [
            {**RATE_LIMIT, "op": "=="}]}, "attributes.0.op", "INVALID"),
        ("createRadiusGroup", {"companyId": company, "name": "X", "attributes": [
            {"attribute": "Bad Name", "value": "1"}]}, "attributes.0.attribute", "INVALID"),
        ("createRadiusGroup", {"companyId": company, "name": "X", "attributes": [
            {"attribute": "No-Such-Attribute", "value": "1"}]}, "attributes.0.attribute",
         "INVALID"),
        ("createRadiusGroup", {"companyId": company, "name": "X", "attributes": [
            {"attribute": "Framed-IP-Address", "value": "not an address"}]},
         "attributes.0.value", "INVALID"),
        ("createRadiusGroup", {"companyId": company, "name": "speed"}, "name", "DUPLICATE"),
        ("createNasClient", {"companyId": company, "name": "B", "address": "10.0.0.300",
                             "secret": "long-enough"}, "address", "INVALID"),
        ("createNasClient", {"companyId": company, "name": "B", "address": "127.0.0.1",
                             "secret": "long-enough"}, "address", "DUPLICATE"),
        ("createNasClient", {"companyId": company, "name": "B", "address": "10.0.0.2",
                             "secret": "short"}, "secret", "INVALID"),
        ("updateNetworkSettings", {"companyId": company, "suspendedAction": "REDIRECT"},
         "suspendedRadiusGroupId", "INVALID"),
        ("deleteRadiusGroup", {"id": radius.speed_group}, "id", "IN_USE"),
    ]
    for mutation, data, field, code in cases:
        [error] = await refused(api, token, mutation, data)
        assert (error["field"], error["code"]) == (field, code), (mutation, error)
    async with runtime.db.engine.connect() as conn:
        counts = [await conn.scalar(text(f"SELECT count(*) FROM {t}")) for t in (
            "radius_credentials", "radius_groups", "nas_clients")]
    assert counts == [1, 1, 1]


async def test_nas_secrets_need_the_vault_key(api: Any, runtime: Any) -> None:
    radius_company = await radius_setup_without_key(api)
    [error] = await refused(api, radius_company[0], "createNasClient", {
        "companyId": radius_company[1], "name": "B", "address": "10.0.0.2",
        "secret": "long-enough"})
    assert (error["field"], error["code"]) == ("secret", "FORBIDDEN")
    assert "ISPCORE_VAULT_KEY" in error["message"]


async def radius_setup_without_key(api: Any) -> tuple[str, str]:
    from tests.billing.factories import billing_setup

    billing = await billing_setup(api)
    return billing.token, billing.company


async def test_removing_a_credential_stops_answering_it(api: Any, runtime: Any,
                                                        vault_key: str) -> None:
    radius = await radius_setup(api)
    removed = await ok(api, radius.token, "removeRadiusCredential",
                       {"id": radius.credential["id"]})
    assert (removed["access"], removed["accessState"]) == ("REJECT", "REMOVED")
    rows = await freeradius_rows(runtime, "pat")
    assert rows == {"radcheck": [], "radreply": [], "groups": [], "radgroupreply": []}
    again = await ok(api, radius.token, "createRadiusCredential", {
        "accountId": radius.account, "accountServiceId": radius.account_service,
        "username": "pat", "password": "new-pass"})
    assert again["access"] == "ACCEPT"
    listing = (await api.data(ACCOUNT_RADIUS, {"id": radius.account}, radius.token)
               )["account"]["radiusCredentials"]
    assert [c["id"] for c in listing] == [again["id"]]


async def open_session(runtime: Any, radius: Any, clock: FixedClock, session: str) -> None:
    async with runtime.unit_of_work(SYSTEM) as uow:
        uow.session.add(RadiusSession(
            company_id=pk_of(radius.company), nas_id=pk_of(radius.nas),
            account_id=pk_of(radius.account), credential_id=pk_of(radius.credential["id"]),
            username="pat", acct_session_id=session, started_at=clock.now(),
            updated_at=clock.now()))


async def test_a_change_to_a_groups_shared_items_reaches_live_sessions(
        api: Any, runtime: Any, clock: FixedClock, vault_key: str, nas_at: Any) -> None:
    radius = await radius_setup(api, secret=SECRET)
    listener, port = await nas_at("ack", secret=SECRET)
    await ok(api, radius.token, "updateNasClient", {"id": radius.nas, "coaPort": port})
    await open_session(runtime, radius, clock, "81a00003")
    await ok(api, radius.token, "updateRadiusGroup", {"id": radius.speed_group, "name": "Fast"})
    await runtime.jobs.drain()
    assert listener.requests == []  # a new name changes no answer
    await ok(api, radius.token, "updateRadiusGroup", {"id": radius.speed_group, "attributes": [
        RATE_LIMIT, {"attribute": "Mikrotik-Address-List", "value": "vip"}]})
    await runtime.jobs.drain()
    [coa] = listener.requests
    assert coa["Mikrotik-Address-List"] == ["vip"]


async def test_an_ended_service_is_refused_whatever_the_status(
        api: Any, runtime: Any, vault_key: str) -> None:
    radius = await radius_setup(api)
    await ok(api, radius.token, "updateNetworkSettings", {
        "companyId": radius.company, "delinquentAction": "NONE"})
    await move(api, radius, radius.billing.setup.delinquent)
    assert (await credential(api, radius))["access"] == "ACCEPT"
    await ok(api, radius.token, "removeServiceFromAccount",
             {"accountServiceId": radius.account_service})
    c = await credential(api, radius)
    assert (c["access"], c["accessState"]) == ("REJECT", "NO_SERVICE")


async def test_redefining_a_status_recompiles_its_accounts(api: Any, vault_key: str) -> None:
    radius = await radius_setup(api)
    await ok(api, radius.token, "updateAccountStatus", {
        "id": radius.billing.setup.active, "isDelinquent": True})
    c = await credential(api, radius)
    assert (c["access"], c["accessState"]) == ("REJECT", "DELINQUENT")


async def test_an_account_with_logins_or_address_history_is_not_deleted(
        api: Any, vault_key: str) -> None:
    radius = await radius_setup(api)
    billing = radius.billing
    account = await customer(api, billing, name="No Address", address=False)
    service = (await add(api, billing, account, billing.fibre))["id"]
    login = await ok(api, radius.token, "createRadiusCredential", {
        "accountId": account, "accountServiceId": service})
    [error] = await refused(api, radius.token, "deleteAccount", {"id": account})
    assert (error["field"], error["code"]) == ("id", "IN_USE")
    assert "1 RADIUS login(s)" in error["message"]
    await ok(api, radius.token, "removeRadiusCredential", {"id": login["id"]})
    assert (await api.data(ACCOUNT_RADIUS, {"id": account}, radius.token)
            )["account"]["radiusCredentials"] == []


async def test_two_senders_send_each_action_once(
        api: Any, runtime: Any, clock: FixedClock, vault_key: str, nas_at: Any) -> None:
    from ispcore.domain.network import coa

    radius = await radius_setup(api, secret=SECRET)
    listener, port = await nas_at("ack", secret=SECRET)
    await ok(api, radius.token, "updateNasClient", {"id": radius.nas, "coaPort": port})
    for n in range(5):
        await open_session(runtime, radius, clock, f"81b0000{n}")
    await runtime.jobs.drain()
    await ok(api, radius.token, "updateService", {"id": radius.billing.fibre,
                                                  "downloadKbps": 300_000})

    def open_uow() -> Any:
        return runtime.unit_of_work(SYSTEM)

    sent = await asyncio.gather(coa.send_pending(open_uow, limit=2),
                                coa.send_pending(open_uow, limit=2))
    await runtime.jobs.drain()
    assert sum(sent) <= 5
    sessions = sorted(r["Acct-Session-Id"][0] for r in listener.requests)
    assert sessions == [f"81b0000{n}" for n in range(5)]
    statuses = [a["status"] for a in (await api.data(
        ACCOUNT_RADIUS, {"id": radius.account}, radius.token))["account"]["radiusActions"]]
    assert statuses == ["ACK"] * 5


async def test_a_bad_vault_key_is_an_error_on_record_not_a_crash(
        api: Any, runtime: Any, clock: FixedClock, vault_key: str, monkeypatch: Any) -> None:
    radius = await radius_setup(api, secret=SECRET)
    await open_session(runtime, radius, clock, "81c00001")
    monkeypatch.setattr(runtime.settings, "vault_key", "not-a-fernet-key")
    await ok(api, radius.token, "updateService", {"id": radius.billing.fibre,
                                                  "downloadKbps": 10_000})
    await runtime.jobs.drain()
    [action] = (await api.data(ACCOUNT_RADIUS, {"id": radius.account}, radius.token)
                )["account"]["radiusActions"]
    assert action["status"] == "ERROR"
