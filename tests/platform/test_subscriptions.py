"""The `events` subscription over graphql-transport-ws, and its authentication."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

PROTOCOL = "graphql-transport-ws"
SUBSCRIBE = "subscription { events(types: [\"company.created\"]) { type payload companyId } }"
CREATE = ('mutation($name: String!) { createCompany(input: {name: $name, currency: "EUR", '
          'timeZone: "Europe/Dublin"}) { company { id } errors { message } } }')


async def _connect(server: str, **kwargs):
    return await websockets.connect(f"ws://{server}/graphql", subprotocols=[PROTOCOL],
                                    open_timeout=5, **kwargs)


async def _recv(ws) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), 5.0))


async def _init(ws, payload: dict | None) -> dict:
    await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
    return await _recv(ws)


async def _until_done(ws) -> list[dict]:
    """Every message up to the operation's end (``complete`` or ``error``)."""
    messages = [await _recv(ws)]
    while messages[-1]["type"] not in ("complete", "error"):
        messages.append(await _recv(ws))
    return messages


async def _subscribe(ws, token: str, op_id: str = "1") -> None:
    """Authenticate the socket and start the events subscription on it."""
    await _init(ws, {"Authorization": f"Bearer {token}"})
    await ws.send(json.dumps({"id": op_id, "type": "subscribe",
                              "payload": {"query": SUBSCRIBE}}))


def _error_codes(messages: list[dict]) -> list[str]:
    """The error codes in an operation's messages, from `next` payloads and `error` ones."""
    errors = [e for m in messages if m["type"] in ("next", "error")
              for e in (m["payload"].get("errors", []) if m["type"] == "next" else m["payload"])]
    return [e["extensions"]["code"] for e in errors]


async def _closed_with(ws) -> int:
    with pytest.raises(ConnectionClosed) as closed:
        for _ in range(5):
            await _recv(ws)
    return closed.value.rcvd.code


async def test_events_stream_to_an_authenticated_subscriber(api, live_server):
    token = await api.admin_token()
    async with await _connect(live_server) as ws:
        assert (await _init(ws, {"Authorization": f"Bearer {token}"}))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": SUBSCRIBE}}))
        await asyncio.sleep(0.3)  # let the subscription start listening
        created = await api.data(CREATE, {"name": "Streamed"}, token)
        message = await _recv(ws)
        assert message["type"] == "next" and message["id"] == "1"
        event = message["payload"]["data"]["events"]
        assert event["type"] == "company.created"
        assert event["payload"]["name"] == "Streamed"
        assert event["companyId"] == created["createCompany"]["company"]["id"]
        await ws.send(json.dumps({"id": "1", "type": "complete"}))


async def test_subscribing_without_connection_init_is_refused(live_server):
    async with await _connect(live_server) as ws:
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": SUBSCRIBE}}))
        assert await _closed_with(ws) == 4401


@pytest.mark.parametrize("payload", [None, {"Authorization": "Bearer isp_pat_nonsense"},
                                     {"Authorization": "Bearer "}])
async def test_connection_init_without_a_valid_token_is_refused(live_server, payload):
    async with await _connect(live_server) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        assert await _closed_with(ws) == 4403


async def test_subscriber_needs_the_events_permission(api, live_server):
    _, token = await api.user_with_token("reader@example.com", permissions=["companies:read"])
    async with await _connect(live_server) as ws:
        assert (await _init(ws, {"authToken": token}))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": SUBSCRIBE}}))
        message = await _recv(ws)
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_subscriptions_per_socket_are_capped(api, live_server):
    token = await api.admin_token()
    cap = api.runtime.settings.max_subscriptions_per_connection
    async with await _connect(live_server) as ws:
        await _init(ws, {"Authorization": f"Bearer {token}"})
        for n in range(cap):
            await ws.send(json.dumps({"id": str(n), "type": "subscribe",
                                      "payload": {"query": SUBSCRIBE}}))
        await ws.send(json.dumps({"id": "over", "type": "subscribe",
                                  "payload": {"query": SUBSCRIBE}}))
        message = await _recv(ws)
        assert (message["type"], message["id"]) == ("error", "over")
        assert message["payload"][0]["message"] == "Subscription limit reached"


async def test_the_legacy_graphql_ws_protocol_is_not_offered(live_server):
    async with await websockets.connect(f"ws://{live_server}/graphql",
                                        subprotocols=["graphql-ws"]) as ws:
        assert ws.subprotocol is None
        assert await _closed_with(ws) in (4406, 1002, 1000, 4400)


async def test_cross_origin_websocket_is_refused(live_server):
    with pytest.raises(InvalidStatus) as refused:
        await _connect(live_server, origin="https://evil.example")
    assert refused.value.response.status_code == 403


async def test_queries_and_mutations_are_not_served_over_the_socket(api, live_server):
    token = await api.admin_token()
    async with await _connect(live_server) as ws:
        await _init(ws, {"Authorization": f"Bearer {token}"})
        await ws.send(json.dumps({"id": "q", "type": "subscribe",
                                  "payload": {"query": "{ me { email } }"}}))
        message = await _recv(ws)
        assert message["type"] == "error"
        assert "only subscriptions" in message["payload"][0]["message"]


async def test_a_revoked_token_stops_its_subscription(api, live_server, monkeypatch):
    from ispcore.resolvers import audit

    monkeypatch.setattr(audit, "POLL_SECONDS", 0.2)
    _, token = await api.user_with_token("watcher@example.com")
    tokens = await api.data("{ personalAccessTokens { edges { node { id } } } }", token=token)
    token_id = tokens["personalAccessTokens"]["edges"][0]["node"]["id"]
    async with await _connect(live_server) as ws:
        await _subscribe(ws, token)
        await asyncio.sleep(0.3)
        revoked = await api.data("mutation($id: ID!) { revokePersonalAccessToken(input: "
                                 "{id: $id}) { errors { code } } }", {"id": token_id}, token)
        assert revoked["revokePersonalAccessToken"]["errors"] == []
        messages = await _until_done(ws)
        assert _error_codes(messages) == ["TOKEN_REVOKED"]
        assert messages[-1] == {"id": "1", "type": "complete"}


async def test_a_failure_inside_a_subscription_is_masked(api, live_server, monkeypatch):
    from ispcore.domain.events.feed import EventFeed

    async def broken(self, session, now, limit=500):
        raise RuntimeError("[SQL: SELECT secret FROM vault]")

    monkeypatch.setattr(EventFeed, "next_batch", broken)
    token = await api.admin_token()
    async with await _connect(live_server) as ws:
        await _subscribe(ws, token)
        messages = await _until_done(ws)
    text = json.dumps(messages)
    assert "secret" not in text and "SQL" not in text
    assert "Internal error" in text


async def test_losing_the_permission_stops_the_subscription(api, live_server, monkeypatch):
    from ispcore.resolvers import audit

    monkeypatch.setattr(audit, "POLL_SECONDS", 0.2)
    _, admin = await api.user_with_token("admin@example.com")
    _, token = await api.user_with_token("watcher@example.com", permissions=["events:read"])
    roles = await api.data('{ roles(filter: {name: {eq: "role for watcher@example.com"}}) '
                           "{ edges { node { id } } } }", token=admin)
    role = roles["roles"]["edges"][0]["node"]["id"]
    async with await _connect(live_server) as ws:
        await _subscribe(ws, token)
        await asyncio.sleep(0.3)
        changed = await api.data("mutation($id: ID!) { updateRole(input: {id: $id, "
                                 "permissions: []}) { errors { code } } }", {"id": role}, admin)
        assert changed["updateRole"]["errors"] == []
        messages = await _until_done(ws)
    assert _error_codes(messages) == ["FORBIDDEN"]


async def test_company_id_narrows_the_stream_to_that_companys_events(api, live_server):
    token = await api.admin_token()
    first = (await api.data(CREATE, {"name": "First"}, token))["createCompany"]["company"]["id"]
    second = (await api.data(CREATE, {"name": "Second"}, token))["createCompany"]["company"]["id"]
    rename = ("mutation($id: ID!, $name: String!) { updateCompany(input: {id: $id, name: $name})"
              " { errors { message } } }")
    query = ('subscription($c: ID!) { events(types: ["company.updated"], companyId: $c) '
             "{ type companyId payload entity { id ... on Company { name } } } }")
    async with await _connect(live_server) as ws:
        await _init(ws, {"Authorization": f"Bearer {token}"})
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": query, "variables": {"c": second}}}))
        await asyncio.sleep(0.3)
        await api.data(rename, {"id": first, "name": "First renamed"}, token)
        await api.data(rename, {"id": second, "name": "Second renamed"}, token)
        event = (await _recv(ws))["payload"]["data"]["events"]
        assert event["companyId"] == second
        assert event["entity"] == {"id": second, "name": "Second renamed"}
        with pytest.raises(TimeoutError):  # the first company's update never came
            await asyncio.wait_for(ws.recv(), 0.5)


async def test_an_unknown_company_is_refused(api, live_server):
    token = await api.admin_token()
    query = 'subscription { events(companyId: "Q29tcGFueTo5OTk5OTk=") { type } }'
    async with await _connect(live_server) as ws:
        await _init(ws, {"Authorization": f"Bearer {token}"})
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        messages = await _until_done(ws)
    assert _error_codes(messages) == ["NOT_FOUND"]


async def test_unknown_event_types_are_refused_and_wildcards_match(api, live_server):
    token = await api.admin_token()
    async with await _connect(live_server) as ws:
        await _init(ws, {"Authorization": f"Bearer {token}"})
        await ws.send(json.dumps({"id": "bad", "type": "subscribe", "payload": {
            "query": 'subscription { events(types: ["invoice.isued"]) { type } }'}}))
        messages = await _until_done(ws)
        assert _error_codes(messages) == ["BAD_USER_INPUT"]
        assert "invoice.isued" in json.dumps(messages)
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": 'subscription { events(types: ["company.*"]) { type } }'}}))
        await asyncio.sleep(0.3)
        await api.data(CREATE, {"name": "Wild"}, token)
        message = await _recv(ws)
        assert message["payload"]["data"]["events"]["type"] == "company.created"
