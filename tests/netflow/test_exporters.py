"""NetFlow exporters through the API (create, change, delete, list, node, the collector's
counters) and the unattributedUsage query's arguments and permissions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ispcore.domain.usage.models import NetflowExporter
from tests.accounts.account_queries import codes, forbidden
from tests.accounts.factories import company_setup, ok
from tests.accounts.factories import refused as refused_with
from tests.billing.factories import events_of
from tests.netflow.support import (
    EXPORTER_FIELDS,
    hold,
    plan_setup,
    ready,
    send,
    utc,
    v5_at,
)

LIST = f"""query($companyId: ID, $filter: NetflowExporterFilter) {{
  netflowExporters(companyId: $companyId, filter: $filter, orderBy: [{{field: NAME}}]) {{
    totalCount edges {{ node {{ {EXPORTER_FIELDS} }} }} }} }}"""
NODE = "query($id: ID!) { node(id: $id) { ... on NetflowExporter { id name address } } }"
UNATTRIBUTED = """query($companyId: ID!, $from: DateTime!, $to: DateTime!, $source: String,
  $first: Int! = 100) {
  unattributedUsage(companyId: $companyId, from: $from, to: $to, source: $source,
    first: $first) { source address transit bytesIn bytesOut records } }"""


async def exporters(api: Any, token: str, **variables: Any) -> list[dict[str, Any]]:
    found = (await api.data(LIST, variables, token))["netflowExporters"]
    assert found["totalCount"] == len(found["edges"])
    return [edge["node"] for edge in found["edges"]]


async def refused(api: Any, token: str, mutation: str, input: dict[str, Any]
                  ) -> list[tuple[str | None, str]]:
    return codes(await refused_with(api, token, mutation, input))


async def count_rows(runtime: Any) -> int:
    async with runtime.db.session() as s:
        return await s.scalar(select(func.count()).select_from(NetflowExporter)) or 0


async def test_create_change_and_delete_an_exporter(api: Any, runtime: Any) -> None:
    setup = await company_setup(api)
    made = await ok(api, setup.token, "createNetflowExporter",
                    {"companyId": setup.company, "name": "  core-1 ",
                     "address": " 2001:DB8::1 ", "samplingRate": 512,
                     "description": " PoP north "})
    assert {k: made[k] for k in ("name", "address", "samplingRate", "description", "active",
                                 "lastSeenAt", "datagrams", "flows", "rejected")} == {
        "name": "core-1", "address": "2001:db8::1", "samplingRate": 512,
        "description": "PoP north", "active": True, "lastSeenAt": None, "datagrams": 0,
        "flows": 0, "rejected": []}
    changed = await ok(api, setup.token, "updateNetflowExporter",
                       {"id": made["id"], "samplingRate": None, "active": False,
                        "address": "::ffff:192.0.2.9"})
    assert (changed["samplingRate"], changed["active"], changed["address"]) == (
        None, False, "192.0.2.9")  # an IPv4-mapped address is the IPv4 address
    node = (await api.data(NODE, {"id": made["id"]}, setup.token))["node"]
    assert node == {"id": made["id"], "name": "core-1", "address": "192.0.2.9"}
    types = [(await events_of(api, setup.token, f"netflow_exporter.{kind}"))
             for kind in ("created", "updated", "deleted")]
    assert [len(t) for t in types] == [1, 1, 0]
    deleted = await ok(api, setup.token, "deleteNetflowExporter", {"id": made["id"]})
    assert deleted == made["id"]
    assert (await api.data(NODE, {"id": made["id"]}, setup.token))["node"] is None
    assert len(await events_of(api, setup.token, "netflow_exporter.deleted")) == 1


async def test_bad_input_is_refused_and_writes_nothing(api: Any, runtime: Any) -> None:
    setup = await company_setup(api)
    other = await company_setup(api, setup.token, name="Other ISP")
    await ok(api, setup.token, "createNetflowExporter",
             {"companyId": setup.company, "name": "core-1", "address": "192.0.2.1"})
    base = {"companyId": setup.company, "name": "core-2", "address": "192.0.2.2"}
    for change, expected in (
            ({"address": "192.0.2.300"}, [("address", "INVALID")]),
            ({"address": "192.0.2.0/24"}, [("address", "INVALID")]),
            ({"name": "  "}, [("name", "REQUIRED")]),
            ({"name": "x" * 201}, [("name", "INVALID")]),
            ({"samplingRate": 0}, [("samplingRate", "INVALID")]),
            ({"samplingRate": 2_000_000}, [("samplingRate", "INVALID")]),
            ({"name": "CORE-1"}, [("name", "DUPLICATE")]),       # names ignore case
            ({"address": "192.0.2.1"}, [("address", "DUPLICATE")])):
        assert await refused(api, setup.token, "createNetflowExporter",
                             {**base, **change}) == expected, change
    # An address is one exporter's across companies: it says whose plan applies.
    assert await refused(api, setup.token, "createNetflowExporter",
                         {"companyId": other.company, "name": "edge",
                          "address": "192.0.2.1"}) == [("address", "DUPLICATE")]
    assert await count_rows(runtime) == 1


async def test_list_by_company_and_filter(api: Any, runtime: Any) -> None:
    setup = await company_setup(api)
    other = await company_setup(api, setup.token, name="Other ISP")
    for company, name, address in ((setup.company, "b-edge", "192.0.2.2"),
                                   (setup.company, "a-core", "192.0.2.1"),
                                   (other.company, "c-edge", "198.51.100.1")):
        await ok(api, setup.token, "createNetflowExporter",
                 {"companyId": company, "name": name, "address": address})
    names = [e["name"] for e in await exporters(api, setup.token,
                                                 companyId=setup.company)]
    assert names == ["a-core", "b-edge"]
    assert [e["name"] for e in await exporters(api, setup.token)] == [
        "a-core", "b-edge", "c-edge"]
    found = await exporters(api, setup.token, filter={"address": {"startsWith": "198."}})
    assert [e["name"] for e in found] == ["c-edge"]
    found = await exporters(api, setup.token, filter={"search": "edge"},
                            companyId=setup.company)
    assert [e["name"] for e in found] == ["b-edge"]


async def test_the_collectors_counters_show_on_the_exporter(api: Any, runtime: Any,
                                                            collector: Any) -> None:
    plan = await plan_setup(api)
    await hold(api, plan, plan.alice, "100.64.1.10")
    await ready(collector)
    end = utc(2026, 11, 2, 14, 0, 10)
    good = v5_at(end, [("8.8.8.8", "100.64.1.10", 10), ("100.64.1.10", "8.8.8.8", 5)])
    await send(collector, good, good, b"\x00\x07garbage")
    await collector.flush()
    [shown] = await exporters(api, plan.token, companyId=plan.company)
    assert (shown["datagrams"], shown["flows"], shown["lastSeenAt"]) == (
        3, 2, "2026-11-02T15:00:00+00:00")
    assert shown["rejected"] == [{"reason": "replayed", "count": 1},
                                 {"reason": "unknown_version", "count": 1}]


async def test_permissions(api: Any, runtime: Any) -> None:
    setup = await company_setup(api)
    made = await ok(api, setup.token, "createNetflowExporter",
                    {"companyId": setup.company, "name": "core", "address": "192.0.2.1"})
    _, reader = await api.user_with_token("reader@example.com",
                                          permissions=["usage:read", "companies:read"])
    _, nobody = await api.user_with_token("nobody@example.com",
                                          permissions=["companies:read"])
    assert [e["id"] for e in await exporters(api, reader)] == [made["id"]]
    await forbidden(api, reader, "createNetflowExporter",
                    {"companyId": setup.company, "name": "x", "address": "192.0.2.5"})
    await forbidden(api, reader, "deleteNetflowExporter", {"id": made["id"]})
    body = await api.gql(LIST, {}, nobody)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.gql(UNATTRIBUTED, {"companyId": setup.company,
                                        "from": "2026-11-01T00:00:00Z",
                                        "to": "2026-11-02T00:00:00Z"}, nobody)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await count_rows(runtime) == 1


async def test_unattributed_usage_arguments(api: Any, runtime: Any, collector: Any) -> None:
    plan = await plan_setup(api)
    await ready(collector)
    await send(collector, v5_at(utc(2026, 11, 2, 9, 0, 30), [
        ("8.8.8.8", "100.64.1.7", 100), ("8.8.8.8", "100.64.1.8", 300),
        ("8.8.8.8", "1.1.1.1", 200)]))
    await send(collector, v5_at(utc(2026, 11, 2, 11, 0, 30), [
        ("8.8.8.8", "100.64.1.7", 1_000)], seq=3))
    await collector.flush()

    async def query(**variables: Any) -> Any:
        return await api.gql(UNATTRIBUTED, {"companyId": plan.company, **variables},
                             plan.token)

    morning = await query(**{"from": "2026-11-02T09:00:00Z", "to": "2026-11-02T10:00:00Z"})
    assert [(r["address"], r["bytesIn"]) for r in morning["data"]["unattributedUsage"]] == [
        ("100.64.1.8", 300), ("", 200), ("100.64.1.7", 100)]
    day = await query(**{"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z",
                         "first": 1})
    assert day["data"]["unattributedUsage"] == [
        {"source": "NETFLOW", "address": "100.64.1.7", "transit": False, "bytesIn": 1_100,
         "bytesOut": 0, "records": 2}]
    other = await query(**{"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z",
                           "source": "RADIUS"})
    assert other["data"]["unattributedUsage"] == []
    for variables in ({"from": "2026-11-02T10:00:00Z", "to": "2026-11-02T10:00:00Z"},
                      {"from": "2026-11-02T00:00:00Z", "to": "2026-11-03T00:00:00Z",
                       "first": 100_000}):
        body = await query(**variables)
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", variables
