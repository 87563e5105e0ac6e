"""Requests per minute per token (per address when anonymous): the limiters themselves, and
the 429 answer of an app configured with a low limit, in embedded and scaled mode.

The limiters read the wall clock (``time.time``); the tests pin it in the module under test so
a minute boundary can never fall between two requests of one test. The pinned minute is in
2001, so no other Redis user of db 15 counts in the same windows as these tests.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from ispcore.app import create_app
from ispcore.infra import rate_limit
from ispcore.infra.rate_limit import WINDOW_SECONDS, MemoryRateLimiter, RedisRateLimiter
from ispcore.runtime import build_runtime
from tests.conftest import REDIS_URL, test_settings
from tests.support import PASSWORD, Api

PINNED = 978_307_200 + 5  # 2001-01-01T00:00:05Z: 55 s left in its window
WINDOW = int(PINNED // WINDOW_SECONDS)
ME = "{ me { email } }"
CREATE_COMPANY = """
mutation { createCompany(input: {name: "Fibre Co", currency: "USD", timeZone: "UTC"}) {
  company { id } errors { code } } }"""
LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } }
}"""


class WallClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def wall(monkeypatch: pytest.MonkeyPatch) -> WallClock:
    clock = WallClock(PINNED)
    monkeypatch.setattr(rate_limit, "time", SimpleNamespace(time=clock.time))
    return clock


async def forget_pinned_windows() -> None:
    redis = Redis.from_url(REDIS_URL)
    try:
        for window in (WINDOW, WINDOW + 1):
            keys = [k async for k in redis.scan_iter(match=f"ispcore:rate:*:{window}")]
            if keys:
                await redis.delete(*keys)
    finally:
        await redis.aclose()


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    await forget_pinned_windows()
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()
    await forget_pinned_windows()


# --- the limiters -------------------------------------------------------------------------

async def check_limiter(limiter: Any, wall: WallClock) -> None:
    key, other = f"token:{uuid.uuid4().hex}", f"ip:{uuid.uuid4().hex}"
    verdicts = [await limiter.hit(key) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, True]
    assert [v.remaining for v in verdicts] == [2, 1, 0]
    refused = await limiter.hit(key)
    assert refused.allowed is False
    assert refused.remaining == 0
    assert 1 <= refused.retry_after <= 61
    assert refused.retry_after == 56  # the rest of the pinned window, rounded up

    assert (await limiter.hit(other)).allowed  # keys are independent
    assert (await limiter.hit(other)).remaining == 1

    wall.now += 54.5
    late = await limiter.hit(key)
    assert late.allowed is False and late.retry_after == 1
    wall.now += 1  # the next window
    fresh = await limiter.hit(key)
    assert fresh.allowed is True and fresh.remaining == 2


async def test_memory_rate_limiter(wall):
    await check_limiter(MemoryRateLimiter(3), wall)


async def test_redis_rate_limiter(wall, redis):
    await check_limiter(RedisRateLimiter(redis, 3), wall)


async def test_redis_rate_limiter_keys_expire(wall, redis):
    key = f"token:{uuid.uuid4().hex}"
    await RedisRateLimiter(redis, 3).hit(key)
    ttl = await redis.ttl(f"ispcore:rate:{key}:{WINDOW}")
    assert 0 < ttl <= 2 * WINDOW_SECONDS


async def test_redis_rate_limiter_is_shared_between_processes(wall, redis):
    other = Redis.from_url(REDIS_URL)
    try:
        first, second = RedisRateLimiter(redis, 3), RedisRateLimiter(other, 3)
        key = f"token:{uuid.uuid4().hex}"
        assert (await first.hit(key)).allowed
        assert (await second.hit(key)).allowed
        assert (await first.hit(key)).allowed
        assert not (await second.hit(key)).allowed
    finally:
        await other.aclose()


async def test_retry_after_is_never_zero_at_the_end_of_a_window(wall):
    wall.now = (WINDOW + 1) * WINDOW_SECONDS - 0.001
    limiter = MemoryRateLimiter(1)
    await limiter.hit("k")
    refused = await limiter.hit("k")
    assert refused.allowed is False and refused.retry_after == 1


# --- end to end ---------------------------------------------------------------------------

@asynccontextmanager
async def limited_app(database_url: str, clock: Any, *, scaled: bool) -> AsyncIterator[Any]:
    settings = test_settings(database_url, rate_limit_per_minute=3,
                             redis_url=REDIS_URL if scaled else None)
    rt = await build_runtime(settings, clock=clock)
    try:
        assert isinstance(rt.rate_limiter, RedisRateLimiter if scaled else MemoryRateLimiter)
        app = create_app(runtime=rt)
        async with app.router.lifespan_context(app):
            yield rt, app
    finally:
        await rt.close()


def client_for(app: Any, ip: str = "203.0.113.9") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 1))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def post(client: httpx.AsyncClient, query: str, token: str | None = None,
               variables: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post("/graphql", json={"query": query, "variables": variables or {}},
                             headers=headers)


def assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert "3 requests per minute" in error["message"]
    assert "retry in 56 s" in error["message"]
    assert response.headers["retry-after"] == "56"
    assert response.headers["x-request-id"]


@pytest.fixture(params=[False, True], ids=["embedded", "scaled"])
async def scaled(request: pytest.FixtureRequest) -> AsyncIterator[bool]:
    if request.param:
        await forget_pinned_windows()
    yield request.param
    if request.param:
        await forget_pinned_windows()


async def test_a_token_is_limited_per_minute(runtime, database_url, clock, wall, scaled):
    async with limited_app(database_url, clock, scaled=scaled) as (rt, app), \
            client_for(app) as client:
        helper = Api(client, rt)
        _, first = await helper.user_with_token("ann@example.com")
        _, second = await helper.user_with_token("bob@example.com")
        for _ in range(3):
            response = await post(client, ME, first)
            assert response.json() == {"data": {"me": {"email": "ann@example.com"}}}
        refused = await post(client, CREATE_COMPANY, first)
        assert_limited(refused)

        # the refused mutation did not run
        assert (await post(client, "{ companies { totalCount } }", second)).json() == {
            "data": {"companies": {"totalCount": 0}}}
        # another token is unaffected
        assert (await post(client, ME, second)).json() == {
            "data": {"me": {"email": "bob@example.com"}}}

        wall.now += WINDOW_SECONDS  # a minute later the token may call again
        assert (await post(client, ME, first)).status_code == 200


async def test_anonymous_callers_are_limited_per_address(runtime, database_url, clock, wall,
                                                         scaled):
    async with limited_app(database_url, clock, scaled=scaled) as (rt, app), \
            client_for(app) as client, client_for(app, "203.0.113.10") as neighbour:
        _, token = await Api(client, rt).user_with_token("ann@example.com")
        for _ in range(3):
            response = await post(client, LOGIN, variables={
                "email": "ann@example.com", "password": "guessing 123456"})
            assert response.json()["data"]["login"]["errors"] == [
                {"code": "INVALID_CREDENTIALS"}]
        assert_limited(await post(client, LOGIN, variables={
            "email": "ann@example.com", "password": PASSWORD}))
        assert_limited(await post(client, "{ __typename }"))
        # a signed-in caller from the same address has its own budget
        assert (await post(client, ME, token)).json() == {
            "data": {"me": {"email": "ann@example.com"}}}
        # another address is unaffected
        response = await post(neighbour, LOGIN, variables={
            "email": "ann@example.com", "password": PASSWORD})
        assert response.json()["data"]["login"]["errors"] == []


async def test_a_session_is_limited_too(runtime, database_url, clock, wall, scaled):
    async with limited_app(database_url, clock, scaled=scaled) as (rt, app), \
            client_for(app) as client, client_for(app, "203.0.113.10") as login_from:
        await Api(client, rt).user_with_token("ann@example.com")
        login = await post(login_from, LOGIN, variables={"email": "ann@example.com",
                                                         "password": PASSWORD})
        session = login.json()["data"]["login"]["token"]
        for _ in range(3):
            assert (await post(client, ME, session)).status_code == 200
        assert_limited(await post(client, ME, session))


async def test_replicas_share_the_budget_in_scaled_mode(runtime, database_url, clock, wall):
    await forget_pinned_windows()
    try:
        async with limited_app(database_url, clock, scaled=True) as (rt, app), \
                limited_app(database_url, clock, scaled=True) as (_, other_app), \
                client_for(app) as client, client_for(other_app) as other:
            _, token = await Api(client, rt).user_with_token("ann@example.com")
            assert (await post(client, ME, token)).status_code == 200
            assert (await post(other, ME, token)).status_code == 200
            assert (await post(client, ME, token)).status_code == 200
            assert_limited(await post(other, ME, token))
    finally:
        await forget_pinned_windows()


async def test_refused_tokens_are_limited_per_address(runtime, database_url, clock, wall,
                                                      scaled):
    async with limited_app(database_url, clock, scaled=scaled) as (rt, app), \
            client_for(app) as client, client_for(app, "203.0.113.10") as neighbour:
        _, token = await Api(client, rt).user_with_token("ann@example.com")
        guess = "isp_pat_" + "A" * 36
        for _ in range(3):
            assert (await post(client, ME, guess)).status_code == 401
        assert (await post(client, ME, guess)).status_code == 429
        assert (await post(neighbour, ME, guess)).status_code == 401
        # the address's own budget does not hold back a valid token from it
        assert (await post(client, ME, token)).status_code == 200
