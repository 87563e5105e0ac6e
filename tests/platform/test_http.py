"""The HTTP edge: health, readiness, metrics, request ids, body errors, masked failures."""

from __future__ import annotations

import json

from ispcore.app import create_app
from ispcore.runtime import build_runtime
from tests.conftest import test_settings


async def test_healthz_and_readyz(api):
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_readyz_checks_redis_in_scaled_mode(runtime, database_url, clock):
    import httpx

    for redis_url, status, redis_check in (("redis://127.0.0.1:6379/15", 200, "ok"),
                                           ("redis://127.0.0.1:1/0", 503, "error")):
        settings = test_settings(database_url, redis_url=redis_url)
        if status == 200:
            rt = await build_runtime(settings, clock=clock)
        else:  # the pool connects lazily, so a dead Redis shows only when asked
            from arq.connections import ArqRedis

            rt = await build_runtime(test_settings(database_url), clock=clock)
            rt.redis = ArqRedis.from_url(redis_url, socket_connect_timeout=0.5)
        app = create_app(runtime=rt)
        try:
            async with app.router.lifespan_context(app):
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                    response = await client.get("/readyz")
            assert response.status_code == status
            assert response.json()["checks"]["database"] == "ok"
            assert response.json()["checks"]["redis"].startswith(redis_check)
        finally:
            await rt.close()


async def test_every_response_carries_a_request_id(api):
    response = await api.client.get("/healthz")
    generated = response.headers["x-request-id"]
    assert len(generated) == 32
    echoed = await api.client.get("/healthz", headers={"X-Request-ID": "lb-1234.abc"})
    assert echoed.headers["x-request-id"] == "lb-1234.abc"
    unsafe = await api.client.get("/healthz", headers={"X-Request-ID": "x" * 65})
    assert unsafe.headers["x-request-id"] != "x" * 65


async def test_metrics_count_requests(api):
    await api.client.get("/healthz")
    body = (await api.client.get("/metrics")).text
    assert 'ispcore_http_requests_total{method="GET",path="/healthz",status="200"}' in body
    assert "ispcore_http_request_duration_seconds_bucket" in body


async def test_malformed_json_body_is_a_clear_400(api):
    response = await api.client.post("/graphql", content=b'{"query": ',
                                     headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "JSON" in response.text


async def test_queries_work_over_get_but_mutations_do_not(api):
    token = await api.admin_token()
    auth = {"Authorization": f"Bearer {token}"}
    response = await api.client.get("/graphql", params={"query": "{ me { email } }"},
                                    headers=auth)
    assert response.json() == {"data": {"me": {"email": "admin@example.com"}}}
    mutation = 'mutation { createCompany(input: {name: "A", currency: "USD", timeZone: "UTC"})' \
               " { errors { code } } }"
    refused = await api.client.get("/graphql", params={"query": mutation}, headers=auth)
    assert refused.status_code == 400
    assert "not allowed when using GET" in refused.text
    companies = await api.data("{ companies { totalCount } }", token=token)
    assert companies["companies"]["totalCount"] == 0


async def test_unexpected_failure_is_masked_with_the_request_id(api, monkeypatch):
    from ispcore.domain.companies import service

    async def broken(uow, values):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(service, "create_company", broken)
    token = await api.admin_token()
    response = await api.post(
        'mutation { createCompany(input: {name: "A", currency: "USD", timeZone: "UTC"})'
        " { company { id } errors { code } } }", token=token)
    body = response.json()
    error = body["errors"][0]
    request_id = response.headers["x-request-id"]
    assert error["message"] == f"Internal error (request id {request_id})."
    assert error["extensions"] == {"code": "INTERNAL", "requestId": request_id}
    assert "hunter2" not in json.dumps(body) and "Traceback" not in json.dumps(body)


async def test_graphiql_is_served_locally(api):
    page = await api.client.get("/graphiql")
    assert page.status_code == 200
    assert "/graphiql/static/graphiql.min.js" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    script = await api.client.get("/graphiql/static/graphiql.min.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


async def test_a_failure_outside_graphql_execution_still_answers_with_the_request_id(
        api, monkeypatch, caplog):
    from ispcore.web import auth

    async def database_down(*args, **kwargs):
        raise ConnectionError("database is down")

    monkeypatch.setattr(auth, "authenticate", database_down)
    token = await api.admin_token()
    response = await api.post("{ me { email } }", token=token)
    request_id = response.headers["x-request-id"]
    assert response.status_code == 500
    assert response.json()["errors"][0]["extensions"] == {"code": "INTERNAL",
                                                          "requestId": request_id}
    assert "database is down" not in response.text
    logged = [r for r in caplog.records if r.name == "ispcore.errors"]
    assert logged and logged[-1].request_id == request_id


async def test_oversized_bodies_are_refused(api):
    limit = api.runtime.settings.max_request_bytes
    padding = " " * limit
    declared = await api.client.post("/graphql", content=b'{"query": "{ __typename }"' +
                                     padding.encode() + b"}",
                                     headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert declared.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    async def chunks():
        yield b'{"query": "{ __typename }"'
        yield padding.encode()
        yield b"}"

    streamed = await api.client.post("/graphql", content=chunks(),
                                     headers={"content-type": "application/json"})
    assert streamed.status_code == 413


async def test_readyz_reports_a_schema_behind_the_migrations(runtime, clock,
                                                              tmp_path_factory):
    import httpx

    from ispcore import migrate
    from ispcore.db import Database
    from tests.conftest import create_database

    url, drop = await create_database(tmp_path_factory)
    db = Database(url)
    try:
        rt = await build_runtime(test_settings(url), clock=clock)
        app = create_app(runtime=rt)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                behind = await client.get("/readyz")
                await migrate.upgrade(db.engine)
                current = await client.get("/readyz")
        await rt.close()
        assert behind.status_code == 503
        assert "ispcore migrate" in behind.json()["checks"]["database"]
        assert current.status_code == 200
    finally:
        await db.dispose()
        await drop()


async def test_a_request_id_that_is_not_a_plain_token_is_replaced(api):
    """It is echoed and written into every log line: a line break would forge log lines, a
    card number would be logged."""
    from ispcore.web.middleware import RequestIdMiddleware

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def echoed(given: bytes) -> bytes:
        sent = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "GET", "path": "/healthz",
                 "headers": [(b"x-request-id", given)]}
        await RequestIdMiddleware(app)(scope, None, send)
        return dict(sent[0]["headers"])[b"x-request-id"]

    assert await echoed(b"lb-1234.abc") == b"lb-1234.abc"
    for unsafe in (b"lb-1234\n", b"a b", b"4111-1111-1111-1111", b"x" * 65):
        replaced = await echoed(unsafe)
        assert replaced != unsafe and len(replaced) == 32, unsafe
    card = await api.client.get("/healthz", headers={"X-Request-ID": "4111.1111.1111.1111"})
    assert "4111" not in card.headers["x-request-id"]


async def test_access_log_lines_leave_out_the_query_string(live_server, caplog):
    """A GET query carries its document and variables in the query string."""
    import logging

    import httpx

    caplog.set_level(logging.INFO)
    secret = '{ companies(filter: {search: "4111 1111 1111 1111"}) { totalCount } }'
    async with httpx.AsyncClient() as client:
        response = await client.get(f"http://{live_server}/graphql", params={"query": secret})
    assert response.status_code == 200
    server = [r.getMessage() for r in caplog.records if not r.name.startswith("httpx")]
    assert any('"GET /graphql HTTP/1.1" 200' in line for line in server), server
    assert not any("4111" in line or "?" in line for line in server), server
