"""Preseem: the connection through GraphQL, and the ``usage.pull_preseem`` job against
Preseem's API.

Preseem is an outside API, so these are contract tests: ``FakePreseem`` answers through
respx with the response shapes the adapter is written against (``ispcore.integrations.
preseem`` says which are documented and which assumed): HTTP Basic with the API key as the
user, ``page``/``limit`` pagination with a ``paginator``, usage items per service. Nothing
leaves the machine."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx
from sqlalchemy import func, select, update

from ispcore.domain.common import vault
from ispcore.domain.usage import preseem
from ispcore.domain.usage.models import (
    PreseemSettings,
    UnattributedUsage,
    UsagePeriod,
    UsageRecord,
)
from ispcore.workers.preseem import PULL_JOB
from ispcore.workers.registry import run_job
from tests.conftest import free_port
from tests.outbound_support import PUBLIC_HOST, REFUSED_HOSTS, in_url
from tests.usage.support import Usage, usage_setup
from tests.webhooks.receiver import Receiver, Reply, serving

BASE = f"https://{PUBLIC_HOST}"
KEY = "psk_live_5tR0ngK3y"
T0 = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # the test clock
UPDATE = """mutation($input: UpdatePreseemSettingsInput!) { updatePreseemSettings(
  input: $input) { preseemSettings { baseUrl hasApiKey active pulledUntil }
  errors { field code message } } }"""
QUERY = """query($id: ID!) { preseemSettings(companyId: $id) { baseUrl hasApiKey active
  pulledUntil } }"""


class FakePreseem:
    """Preseem's usage API: ``usage[slot start]`` lists the items of that 15-minute slot,
    served ``page_size`` a page. ``failures`` are answered first, one per request (a status
    code, a response, or an exception such as a timeout)."""

    def __init__(self, page_size: int = 500) -> None:
        self.usage: dict[datetime, list[dict[str, Any]]] = {}
        self.page_size = page_size
        self.failures: list[int | httpx.Response | Exception] = []
        self.requests: list[httpx.Request] = []
        self.fail_slots: set[datetime] = set()

    def answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("Authorization") != "Basic " + base64.b64encode(
                f"{KEY}:".encode()).decode():
            return httpx.Response(401, json={"error": "Invalid API key"})
        if self.failures:
            failure = self.failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure if isinstance(failure, httpx.Response) else httpx.Response(
                failure, json={"error": "Server cannot process request"})
        params = request.url.params
        start = datetime.fromisoformat(params["start"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(params["end"].replace("Z", "+00:00"))
        assert end - start == timedelta(minutes=15)
        if start in self.fail_slots:
            return httpx.Response(500, json={"error": "Server cannot process request"})
        page, limit = int(params["page"]), min(int(params["limit"]), self.page_size)
        items = self.usage.get(start, [])
        pages = max(1, -(-len(items) // limit))
        return httpx.Response(200, json={
            "data": items[(page - 1) * limit:page * limit],
            "paginator": {"page": page, "page_count": pages, "limit": limit,
                          "total": len(items)}})

    def served(self, slot: datetime) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.params.get("start", "").startswith(
            slot.strftime("%Y-%m-%dT%H:%M"))]


@pytest.fixture
def fake(runtime: Any, vault_key: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(preseem, "RETRY_BACKOFF", 0.0)
    server = FakePreseem()
    with respx.mock(assert_all_called=False) as router:
        router.get(f"{BASE}/usage/v1/services").mock(side_effect=server.answer)
        yield server


def item(account: str | None, down: int, up: int, service: str | None = None
         ) -> dict[str, Any]:
    return {"service": service or f"svc-{account}", "account": account, "down_bytes": down,
            "up_bytes": up, "package": "100/20"}


async def connect(api: Any, usage: Usage, **fields: Any) -> dict[str, Any]:
    payload = (await api.data(UPDATE, {"input": {
        "companyId": usage.billing.company, "baseUrl": BASE, "apiKey": KEY, **fields}},
        usage.billing.token))["updatePreseemSettings"]
    assert payload["errors"] == [], payload
    return payload["preseemSettings"]


async def pull(runtime: Any, clock: Any, at: datetime) -> dict[str, int]:
    clock.set(at)
    return await run_job(runtime, PULL_JOB)


async def count(runtime: Any, model: Any) -> int:
    async with runtime.db.session() as s:
        return await s.scalar(select(func.count()).select_from(model)) or 0


async def billable(runtime: Any) -> tuple[int, int]:
    async with runtime.db.session() as s:
        rows = list(await s.scalars(select(UsagePeriod)))
    return sum(p.billable_in for p in rows), sum(p.billable_out for p in rows)


async def pulled_until(runtime: Any) -> datetime:
    async with runtime.db.session() as s:
        return await s.scalar(select(PreseemSettings.pulled_until))


async def test_the_api_key_is_sealed_and_never_shown(api: Any, runtime: Any, vault_key: str
                                                     ) -> None:
    usage = await usage_setup(api)
    made = await connect(api, usage)
    assert made == {"baseUrl": BASE, "hasApiKey": True, "active": True,
                    "pulledUntil": T0.isoformat()}
    async with runtime.db.session() as s:
        row = await s.scalar(select(PreseemSettings))
    assert KEY not in row.api_key_sealed
    assert vault.unseal(vault_key, row.api_key_sealed, field="api_key") == KEY
    shown = await api.gql(QUERY, {"id": usage.billing.company}, usage.billing.token)
    assert shown["data"]["preseemSettings"] == made and KEY not in str(shown)

    changed = await connect(api, usage, apiKey=None, active=False,
                            baseUrl="https://93.184.215.34/")
    assert (changed["baseUrl"], changed["active"]) == ("https://93.184.215.34", False)
    async with runtime.db.session() as s:
        assert (await s.scalar(select(PreseemSettings))).api_key_sealed == row.api_key_sealed


async def test_bad_settings_are_refused(api: Any, runtime: Any, monkeypatch: Any) -> None:
    usage = await usage_setup(api)
    token, company = usage.billing.token, usage.billing.company

    async def refused(**fields: Any) -> list[tuple[str, str]]:
        payload = (await api.data(UPDATE, {"input": {"companyId": company, **fields}},
                                  token))["updatePreseemSettings"]
        assert payload["preseemSettings"] is None
        return [(e["field"], e["code"]) for e in payload["errors"]]

    assert await refused(apiKey=KEY, baseUrl=BASE) == [("apiKey", "FORBIDDEN")]  # no vault key
    monkeypatch.setattr(runtime.settings, "vault_key", vault.new_key())
    assert await refused(baseUrl=BASE) == [("apiKey", "REQUIRED")]
    assert await refused(apiKey=KEY, baseUrl=f"ftp://{PUBLIC_HOST}") == [
        ("baseUrl", "INVALID")]
    assert await refused(apiKey="k" * 201, baseUrl=BASE) == [("apiKey", "INVALID")]
    assert await count(runtime, PreseemSettings) == 0

    _, reader = await api.user_with_token("reader@example.com", permissions=["usage:read"])
    body = await api.gql(UPDATE, {"input": {"companyId": company, "apiKey": KEY}}, reader)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api.data(QUERY, {"id": company}, reader)) == {"preseemSettings": None}


async def test_a_preseem_on_a_non_public_address_is_refused(
        api: Any, runtime: Any, vault_key: str) -> None:
    usage = await usage_setup(api)
    for host, reason in REFUSED_HOSTS:
        payload = (await api.data(UPDATE, {"input": {
            "companyId": usage.billing.company, "apiKey": KEY,
            "baseUrl": f"http://{in_url(host)}:6379"}}, usage.billing.token)
        )["updatePreseemSettings"]
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [
            ("baseUrl", "INVALID")], host
        assert reason in payload["errors"][0]["message"], host
    assert await count(runtime, PreseemSettings) == 0


async def test_the_ssrf_guard_runs_again_when_pulling(
        api: Any, runtime: Any, clock: Any, vault_key: str, system_uow: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Each address saved while private targets are allowed, then refused once they are not
    # (as a name that resolves elsewhere by then would be), though a server listens on
    # 127.0.0.1.
    port = free_port()
    usage = await usage_setup(api)
    await connect(api, usage)  # pulling from T0
    clock.set(T0 + timedelta(minutes=20))
    async with serving(Receiver(), port) as receiver:
        for host, reason in REFUSED_HOSTS:
            monkeypatch.setattr(runtime.settings, "webhooks_allow_private", True)
            await connect(api, usage, baseUrl=f"http://{in_url(host)}:{port}")
            monkeypatch.setattr(runtime.settings, "webhooks_allow_private", False)
            [pulled] = (await preseem.pull_all(system_uow, request_timeout=5)).values()
            assert pulled.error is not None and pulled.error.startswith("REFUSED: "), host
            assert reason in pulled.error, host
    assert receiver.received == []
    assert await pulled_until(runtime) == T0


async def test_a_preseem_on_loopback_is_reached_when_the_setting_allows_it(
        api: Any, runtime: Any, clock: Any, vault_key: str, system_uow: Any,
        private_targets_allowed: None) -> None:
    port = free_port()
    async with serving(Receiver(), port) as receiver:
        receiver.script = [Reply(body=b'{"data": [], "paginator": {"page_count": 1}}')]
        usage = await usage_setup(api)
        await connect(api, usage, baseUrl=f"http://localhost:{port}")
        clock.set(T0 + timedelta(minutes=20))
        [pulled] = (await preseem.pull_all(system_uow, request_timeout=5)).values()
    assert (pulled.error, pulled.slots) == (None, 1)
    [request] = receiver.received
    assert request.path == "/usage/v1/services"
    assert request.headers["authorization"].startswith("Basic ")


async def test_usage_is_pulled_per_slot_and_page(api: Any, runtime: Any, clock: Any,
                                                 fake: FakePreseem) -> None:
    usage = await usage_setup(api)
    await connect(api, usage)
    mine = str(usage.account_pk)
    fake.page_size = 2
    fake.usage[T0] = [item(mine, 1000, 100, "svc-a"), item(mine, 2000, 200, "svc-b"),
                      item(mine, 4000, 400, "svc-c")]
    fake.usage[T0 + timedelta(minutes=15)] = [item(mine, 8000, 800, "svc-a"),
                                              item(mine, 0, 0, "svc-b")]  # idle: skipped
    done = await pull(runtime, clock, T0 + timedelta(minutes=50))
    assert done == {"companies": 1, "failed": 0, "slots": 3, "services": 5, "new": 4,
                    "duplicates": 0, "unattributed": 0, "refused": 0}
    assert len(fake.served(T0)) == 2  # two pages
    assert await billable(runtime) == (15000, 1500)
    async with runtime.db.session() as s:
        keys = set(await s.scalars(select(UsageRecord.source_key)))
        sources = set(await s.scalars(select(UsageRecord.source)))
    assert keys == {"20261102T1500Z/svc-a", "20261102T1500Z/svc-b", "20261102T1500Z/svc-c",
                    "20261102T1515Z/svc-a"}
    assert sources == {"PRESEEM"}
    # 15:50: the slot 15:30-15:45 has settled, 15:45-16:00 has not.
    assert await pulled_until(runtime) == T0 + timedelta(minutes=45)

    again = await pull(runtime, clock, T0 + timedelta(minutes=55))
    assert again["slots"] == 0  # nothing new has settled


async def test_unknown_subscribers_are_counted_apart(api: Any, runtime: Any, clock: Any,
                                                     fake: FakePreseem) -> None:
    usage = await usage_setup(api)
    await connect(api, usage)
    fake.usage[T0] = [item(str(usage.account_pk), 10, 1), item("999999", 300, 30),
                      item("crm-42", 500, 50), item(None, 700, 70, "svc-9")]
    fake.usage[T0 + timedelta(minutes=15)] = [item("crm-42", 1, 1)]
    done = await pull(runtime, clock, T0 + timedelta(minutes=35))
    assert (done["new"], done["unattributed"]) == (1, 4)
    async with runtime.db.session() as s:
        rows = list(await s.scalars(select(UnattributedUsage)
                                    .order_by(UnattributedUsage.address)))
    assert [(r.source, r.address, r.hour, r.bytes_in, r.bytes_out, r.records)
            for r in rows] == [("PRESEEM", "999999", T0, 300, 30, 1),
                               ("PRESEEM", "crm-42", T0, 501, 51, 2),
                               ("PRESEEM", "service:svc-9", T0, 700, 70, 1)]
    assert await billable(runtime) == (10, 1)


async def test_a_refused_key_stops_the_pull_and_keeps_the_position(
        api: Any, runtime: Any, clock: Any, fake: FakePreseem) -> None:
    usage = await usage_setup(api)
    await connect(api, usage, apiKey="psk_revoked")
    fake.usage[T0] = [item(str(usage.account_pk), 10, 1)]
    done = await pull(runtime, clock, T0 + timedelta(minutes=35))
    assert (done["failed"], done["slots"]) == (1, 0)
    assert len(fake.requests) == 1  # an auth failure is not retried
    assert await pulled_until(runtime) == T0
    assert await count(runtime, UsageRecord) == 0


async def test_5xx_429_and_timeouts_are_retried(api: Any, runtime: Any, clock: Any,
                                                fake: FakePreseem) -> None:
    usage = await usage_setup(api)
    await connect(api, usage)
    fake.usage[T0] = [item(str(usage.account_pk), 10, 1)]
    fake.failures = [503, httpx.Response(429, headers={"Retry-After": "0"})]
    done = await pull(runtime, clock, T0 + timedelta(minutes=20))
    assert (done["failed"], done["new"]) == (0, 1)
    assert len(fake.requests) == 3
    fake.usage[T0 + timedelta(minutes=15)] = [item(str(usage.account_pk), 20, 2)]
    fake.failures = [httpx.ConnectTimeout("slow"), httpx.ReadTimeout("slow"),
                     httpx.ConnectError("refused")]
    done = await pull(runtime, clock, T0 + timedelta(minutes=35))
    assert (done["failed"], done["new"]) == (1, 0)  # three attempts, none answered
    assert await pulled_until(runtime) == T0 + timedelta(minutes=15)
    assert await billable(runtime) == (10, 1)


async def test_what_was_read_before_a_failure_is_kept(api: Any, runtime: Any, clock: Any,
                                                      fake: FakePreseem) -> None:
    usage = await usage_setup(api)
    await connect(api, usage)
    mine = str(usage.account_pk)
    second = T0 + timedelta(minutes=15)
    fake.usage[T0] = [item(mine, 10, 1)]
    fake.usage[second] = [item(mine, 20, 2)]
    fake.fail_slots = {second}
    done = await pull(runtime, clock, T0 + timedelta(minutes=35))
    assert (done["failed"], done["slots"], done["new"]) == (1, 1, 1)
    assert len(fake.served(second)) == 3  # three attempts, then it gave up
    assert await pulled_until(runtime) == second
    fake.fail_slots = set()
    done = await pull(runtime, clock, T0 + timedelta(minutes=40))
    assert (done["failed"], done["slots"], done["new"]) == (0, 1, 1)
    assert await billable(runtime) == (30, 3)


@pytest.mark.parametrize("answer", [
    httpx.Response(200, content=b"<html>Bad gateway</html>"),
    httpx.Response(200, json={"data": [{"service": "svc-1", "account": "1"}],
                              "paginator": {"page_count": 1}}),
    httpx.Response(200, json={"results": []}),
])
async def test_malformed_answers_write_nothing(api: Any, runtime: Any, clock: Any,
                                               fake: FakePreseem, answer: httpx.Response
                                               ) -> None:
    usage = await usage_setup(api)
    await connect(api, usage)
    fake.usage[T0] = [item(str(usage.account_pk), 10, 1)]
    fake.failures = [answer]
    done = await pull(runtime, clock, T0 + timedelta(minutes=20))
    assert (done["failed"], done["slots"]) == (1, 0)
    assert len(fake.requests) == 1  # not retried: asking again gets the same
    assert await pulled_until(runtime) == T0
    assert await count(runtime, UsageRecord) == 0


async def test_overlapping_pulls_count_once(api: Any, runtime: Any, clock: Any,
                                            fake: FakePreseem) -> None:
    usage = await usage_setup(api)
    await connect(api, usage)
    fake.usage[T0] = [item(str(usage.account_pk), 1000, 100), item("crm-42", 5, 5)]
    clock.set(T0 + timedelta(minutes=20))
    first, second = await asyncio.gather(run_job(runtime, PULL_JOB),
                                         run_job(runtime, PULL_JOB))
    assert first["new"] + second["new"] == 1
    assert first["unattributed"] + second["unattributed"] == 1
    assert await billable(runtime) == (1000, 100)
    async with runtime.db.session() as s:
        assert await s.scalar(select(UnattributedUsage.bytes_in)) == 5

    # Pulled again from an earlier position: the slot's records are there already.
    async with runtime.db.session() as s, s.begin():
        await s.execute(update(PreseemSettings).values(pulled_until=T0))
    fake.usage[T0] = [item(str(usage.account_pk), 1000, 100)]
    again = await run_job(runtime, PULL_JOB)
    assert (again["new"], again["duplicates"]) == (0, 1)
    assert await billable(runtime) == (1000, 100)
