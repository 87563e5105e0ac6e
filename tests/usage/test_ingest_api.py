"""``ingestUsage`` through GraphQL with tokens: each way of naming the account, all or
nothing with per-record errors, duplicates across calls, idempotency, permissions and the
company scope."""

from __future__ import annotations

import ipaddress
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from ispcore.domain.usage.models import UsageHourly, UsagePeriod, UsageRecord
from tests.accounts.factories import company_setup, new_account, ok
from tests.billing.factories import add, customer
from tests.network import radius_support  # noqa: F401  (registers the RADIUS mutations)
from tests.network.ipam_support import new_subnet
from tests.usage.support import Usage, pk_of, usage_setup

INGEST = """mutation($input: IngestUsageInput!) { ingestUsage(input: $input) {
  accepted duplicates errors { field code message } } }"""
T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # the test clock says 15:00


def record(key: str, start: datetime = T0, minutes: int = 5, bytes_in: int = 1000,
           bytes_out: int = 100, **name: Any) -> dict[str, Any]:
    return {"sourceRecordId": key, "start": start.isoformat(),
            "end": (start + timedelta(minutes=minutes)).isoformat(),
            "bytesIn": bytes_in, "bytesOut": bytes_out, **name}


async def ingest(api: Any, token: str, records: list[dict[str, Any]], *,
                 key: str | None = None, **more: Any) -> dict[str, Any]:
    payload = {"idempotencyKey": key or uuid.uuid4().hex, "records": records, **more}
    return (await api.data(INGEST, {"input": payload}, token))["ingestUsage"]


def errors_of(result: dict[str, Any]) -> list[tuple[str, str]]:
    assert result["accepted"] is None and result["duplicates"] is None, result
    return [(e["field"], e["code"]) for e in result["errors"]]


async def count(runtime: Any, model: Any) -> int:
    async with runtime.db.session() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


async def usage_of(runtime: Any, account: int) -> tuple[int, int]:
    """The account's billable bytes in and out, summed over its periods."""
    async with runtime.db.session() as s:
        periods = list(await s.scalars(select(UsagePeriod)
                                       .where(UsagePeriod.account_id == account)))
    return (sum(p.billable_in for p in periods), sum(p.billable_out for p in periods))


async def test_each_way_of_naming_the_account(api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    token = usage.billing.token
    clock.set(T0 - timedelta(hours=1))
    await ok(api, token, "createRadiusCredential", {
        "accountId": usage.account, "accountServiceId": await fibre_service(api, usage),
        "username": "pat"})
    supernet = (await ok(api, token, "createSupernet", {
        "companyId": usage.billing.company, "cidr": "100.64.0.0/16"}))["id"]
    subnet = await new_subnet(api, token, supernet, "100.64.1.0/24")
    v6_supernet = (await ok(api, token, "createSupernet", {
        "companyId": usage.billing.company, "cidr": "2001:db8::/40"}))["id"]
    v6_subnet = await new_subnet(api, token, v6_supernet, "2001:db8::/48",
                                 delegatedPrefixLength=56)
    await ok(api, token, "assignIpAddress", {"accountId": usage.account, "subnetId": subnet,
                                             "ipAddress": "100.64.1.20"})
    prefix = await ok(api, token, "assignIpAddress", {"accountId": usage.account,
                                                      "subnetId": v6_subnet})
    clock.set(T0 + timedelta(hours=1))
    inside = str(ipaddress.ip_network(prefix["address"])[0xABCD])

    result = await ingest(api, token, [
        record("by-id", accountId=usage.account),
        record("by-v4", bytes_in=2000, ipAddress="100.64.1.20"),
        record("by-v6-prefix", bytes_in=4000, ipAddress=inside),
        record("by-username", bytes_in=8000, radiusUsername="pat"),
    ])
    assert result == {"accepted": 4, "duplicates": 0, "errors": []}
    assert await usage_of(runtime, usage.account_pk) == (15000, 400)
    async with runtime.db.session() as s:
        [hour] = await s.scalars(select(UsageHourly))
        keys = set(await s.scalars(select(UsageRecord.source_key)))
        sources = set(await s.scalars(select(UsageRecord.source)))
    assert (hour.hour, hour.billable_in, hour.billable_out) == (T0, 15000, 400)
    assert keys == {"by-id", "by-v4", "by-v6-prefix", "by-username"}
    assert sources == {"API"}


async def fibre_service(api: Any, usage: Usage) -> str:
    query = "query($id: ID!) { account(id: $id) { services { id } } }"
    account = (await api.data(query, {"id": usage.account}, usage.billing.token))["account"]
    return account["services"][0]["id"]


async def test_an_address_maps_to_whoever_held_it_at_the_record_start(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    token = usage.billing.token
    other = (await new_account(api, usage.billing.setup, name="Sam Later"))["id"]
    supernet = (await ok(api, token, "createSupernet", {
        "companyId": usage.billing.company, "cidr": "100.64.0.0/16"}))["id"]
    subnet = await new_subnet(api, token, supernet, "100.64.1.0/24")
    clock.set(T0 - timedelta(hours=3))
    first = await ok(api, token, "assignIpAddress", {
        "accountId": usage.account, "subnetId": subnet, "ipAddress": "100.64.1.20"})
    clock.set(T0)  # 14:00: the first holder lets it go, the other takes it at 14:10
    await ok(api, token, "releaseIpAddress", {"id": first["id"]})
    clock.set(T0 + timedelta(minutes=10))
    await ok(api, token, "assignIpAddress", {
        "accountId": other, "subnetId": subnet, "ipAddress": "100.64.1.20"})
    clock.set(T0 + timedelta(hours=1))

    result = await ingest(api, token, [
        record("before", start=T0 - timedelta(minutes=30), minutes=60, bytes_in=10,
               ipAddress="100.64.1.20"),  # held by the first at its start
        record("taken-during", start=T0, minutes=15, bytes_in=20,
               ipAddress="100.64.1.20"),  # nobody at 14:00, the other from 14:10
        record("after", start=T0 + timedelta(minutes=20), bytes_in=40,
               ipAddress="100.64.1.20"),
    ])
    assert result["errors"] == [] and result["accepted"] == 3
    assert (await usage_of(runtime, usage.account_pk))[0] == 10
    assert (await usage_of(runtime, pk_of(other)))[0] == 60

    refused = await ingest(api, token, [
        record("nobody-yet", start=T0 - timedelta(hours=4), ipAddress="100.64.1.20")])
    assert errors_of(refused) == [("records.0.ipAddress", "NOT_FOUND")]


async def test_a_username_maps_to_the_login_that_had_it_then(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    billing = usage.billing
    later = await customer(api, billing, name="Sam Later")
    later_service = (await add(api, billing, later, billing.fibre))["id"]
    clock.set(T0 - timedelta(hours=2))
    first = await ok(api, billing.token, "createRadiusCredential", {
        "accountId": usage.account, "accountServiceId": await fibre_service(api, usage),
        "username": "pat"})
    clock.set(T0)  # removed at 14:00; the name goes to another account right away
    await ok(api, billing.token, "removeRadiusCredential", {"id": first["id"]})
    await ok(api, billing.token, "createRadiusCredential", {
        "accountId": later, "accountServiceId": later_service, "username": "pat"})
    clock.set(T0 + timedelta(hours=1))
    result = await ingest(api, billing.token, [
        record("removed-login", start=T0 - timedelta(minutes=30), bytes_in=10,
               radiusUsername="pat"),
        record("live-login", start=T0 + timedelta(minutes=10), bytes_in=20,
               radiusUsername="pat")])
    assert result == {"accepted": 2, "duplicates": 0, "errors": []}
    assert (await usage_of(runtime, usage.account_pk))[0] == 10
    assert (await usage_of(runtime, pk_of(later)))[0] == 20


async def test_bad_records_are_each_reported_and_nothing_is_written(
        api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    acct = {"accountId": usage.account}
    result = await ingest(api, usage.billing.token, [
        record("good", **acct),
        record("negative", bytes_out=-1, **acct),
        record("absurd", minutes=1, bytes_in=7 * 10**12, **acct),  # > 800 Gbit/s
        record("huge", minutes=600, bytes_in=2 * 10**15, **acct),  # > 10^15 in one record
        record("backwards", minutes=-5, **acct),
        record("future", start=T0 + timedelta(hours=2), **acct),
        record("ancient", start=T0 - timedelta(days=91), **acct),
        record("nobody", ipAddress="198.51.100.7"),
        record("ghost", radiusUsername="no-such-login"),
        record("missing", accountId="QWNjb3VudDo5OTk5OTk="),  # Account:999999
        record("wrong-type", accountId=usage.billing.company),
        record("", **acct),
        record("x" * 201, **acct),
        record("unnamed"),
        record("twice-named", ipAddress="100.64.1.1", **acct),
        record("not-an-address", ipAddress="999.1.1.1"),
    ])
    assert errors_of(result) == [
        ("records.1.bytesOut", "NEGATIVE_BYTES"),
        ("records.2.bytesIn", "ABSURD_BYTES"),
        ("records.3.bytesIn", "ABSURD_BYTES"),
        ("records.4.end", "END_BEFORE_START"),
        ("records.5.end", "IN_FUTURE"),
        ("records.6.start", "TOO_OLD"),
        ("records.7.ipAddress", "NOT_FOUND"),
        ("records.8.radiusUsername", "NOT_FOUND"),
        ("records.9.accountId", "NOT_FOUND"),
        ("records.10.accountId", "NOT_FOUND"),
        ("records.11.sourceRecordId", "REQUIRED"),
        ("records.12.sourceRecordId", "INVALID"),
        ("records.13.accountId", "REQUIRED"),
        ("records.14.ipAddress", "INVALID"),
        ("records.15.ipAddress", "INVALID"),
    ]
    for model in (UsageRecord, UsageHourly, UsagePeriod):
        assert await count(runtime, model) == 0


async def test_more_than_ten_thousand_records_is_one_error(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    records = [record(f"r{n}", accountId=usage.account) for n in range(10_001)]
    body = len(json.dumps({"query": INGEST, "variables": {"input": {"records": records}}}))
    assert body > runtime.settings.max_request_bytes  # usage:write allows larger bodies
    result = await ingest(api, usage.billing.token, records)
    assert errors_of(result) == [("records", "INVALID")]
    assert "10,000" in result["errors"][0]["message"]
    assert await count(runtime, UsageRecord) == 0

    batch = await ingest(api, usage.billing.token, records[:10_000])
    assert batch == {"accepted": 10_000, "duplicates": 0, "errors": []}


async def test_large_bodies_need_usage_write(api: Any, runtime: Any) -> None:
    _, reader = await api.user_with_token("reader@example.com", permissions=["usage:read"])
    padding = " " * runtime.settings.max_request_bytes
    response = await api.client.post(
        "/graphql", content=b'{"query": "{ __typename }"' + padding.encode() + b"}",
        headers={"content-type": "application/json", "Authorization": f"Bearer {reader}"})
    assert response.status_code == 413


async def test_duplicates_across_calls_count_once(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    token, acct = usage.billing.token, {"accountId": usage.account}
    first = await ingest(api, token, [record("r1", **acct), record("r2", **acct)])
    assert first == {"accepted": 2, "duplicates": 0, "errors": []}
    second = await ingest(api, token, [record("r2", **acct), record("r3", **acct)])
    assert second == {"accepted": 1, "duplicates": 1, "errors": []}
    assert await usage_of(runtime, usage.account_pk) == (3000, 300)
    # A stored id with other data is still the stored record (the first data for a key wins).
    third = await ingest(api, token, [record("r1", bytes_in=99, **acct)])
    assert third == {"accepted": 0, "duplicates": 1, "errors": []}
    assert await usage_of(runtime, usage.account_pk) == (3000, 300)


async def test_the_same_id_twice_in_one_call(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    token, acct = usage.billing.token, {"accountId": usage.account}
    same = await ingest(api, token, [record("r1", **acct), record("r1", **acct)])
    assert same == {"accepted": 1, "duplicates": 1, "errors": []}
    other = await ingest(api, token, [record("r2", **acct), record("r2", bytes_in=5, **acct)])
    assert errors_of(other) == [("records.1.sourceRecordId", "DUPLICATE")]
    assert await count(runtime, UsageRecord) == 1


async def test_idempotency_replay_and_misuse(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    token, acct = usage.billing.token, {"accountId": usage.account}
    records = [record("r1", **acct), record("r2", **acct)]
    first = await ingest(api, token, records, key="batch-1")
    again = await ingest(api, token, records, key="batch-1")
    assert first == again == {"accepted": 2, "duplicates": 0, "errors": []}
    misuse = await ingest(api, token, [record("r3", **acct)], key="batch-1")
    assert errors_of(misuse) == [("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")]
    assert await count(runtime, UsageRecord) == 2
    assert await usage_of(runtime, usage.account_pk) == (2000, 200)


async def test_pushing_usage_needs_usage_write(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    _, reader = await api.user_with_token("reader@example.com", permissions=["usage:read"])
    body = await api.gql(INGEST, {"input": {"idempotencyKey": "k", "records": [
        record("r1", accountId=usage.account)]}}, reader)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    _, writer = await api.user_with_token("writer@example.com", permissions=["usage:write"])
    done = await ingest(api, writer, [record("r1", accountId=usage.account)])
    assert done["accepted"] == 1
    assert await count(runtime, UsageRecord) == 1


async def test_company_id_narrows_and_settles_shared_addresses(
        api: Any, runtime: Any, clock: Any) -> None:
    usage = await usage_setup(api)
    token = usage.billing.token
    other = await company_setup(api, token, name="Other Brand")
    neighbour = (await new_account(api, other, name="Neighbour"))["id"]
    clock.set(T0 - timedelta(hours=1))
    for company, account in ((usage.billing.company, usage.account),
                             (other.company, neighbour)):
        supernet = (await ok(api, token, "createSupernet", {
            "companyId": company, "cidr": "10.0.0.0/16"}))["id"]
        subnet = await new_subnet(api, token, supernet, "10.0.1.0/24")
        await ok(api, token, "assignIpAddress", {"accountId": account, "subnetId": subnet,
                                                 "ipAddress": "10.0.1.5"})
    clock.set(T0 + timedelta(hours=1))
    both = await ingest(api, token, [record("r1", ipAddress="10.0.1.5")])
    assert errors_of(both) == [("records.0.ipAddress", "AMBIGUOUS")]
    mine = await ingest(api, token, [record("r1", ipAddress="10.0.1.5")],
                        companyId=usage.billing.company)
    assert mine["accepted"] == 1
    assert await usage_of(runtime, usage.account_pk) == (1000, 100)
    elsewhere = await ingest(api, token, [record("r2", accountId=neighbour)],
                             companyId=usage.billing.company)
    assert errors_of(elsewhere) == [("records.0.accountId", "NOT_FOUND")]
    unknown = await ingest(api, token, [record("r3", accountId=neighbour)],
                           companyId="Q29tcGFueTo5OTk5")  # Company:9999
    assert errors_of(unknown) == [("companyId", "NOT_FOUND")]


async def test_a_malformed_id_refuses_the_call(api: Any, runtime: Any) -> None:
    usage = await usage_setup(api)
    body = await api.gql(INGEST, {"input": {"idempotencyKey": "k", "records": [
        record("r1", accountId=usage.account), record("r2", accountId="%%%")]}},
        usage.billing.token)
    assert body["data"] is None
    assert "GlobalID" in body["errors"][0]["message"]
    assert "Internal error" not in body["errors"][0]["message"]
    assert await count(runtime, UsageRecord) == 0
