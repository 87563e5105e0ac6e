"""Logging in with email and password: session tokens, throttling per login and address
(no lockout), allowlists, logout."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
from sqlalchemy import text

from ispcore.domain.identity import secrets, throttle
from ispcore.domain.identity.secrets import TokenKind, token_kind
from ispcore.workers.jobs import HOUSEKEEPING_JOB
from ispcore.workers.registry import run_job
from tests.support import PASSWORD, Api

LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) {
    token expiresAt user { email } errors { field code message }
  }
}"""
ME = "{ me { email } }"
LOGOUT = "mutation { logout { ended errors { code } } }"
DEACTIVATE = """
mutation($id: ID!) {
  updateUser(input: {id: $id, active: false}) { user { active } errors { code } }
}"""


async def login(api, email: str, password: str = PASSWORD) -> dict:
    return (await api.data(LOGIN, {"email": email, "password": password}))["login"]


async def user_gid(api, token: str, email: str) -> str:
    query = "query($e: String!) { users(filter: {email: {eq: $e}}) { edges { node { id } } } }"
    edges = (await api.data(query, {"e": email}, token))["users"]["edges"]
    return edges[0]["node"]["id"]


async def rows(api, sql: str, **params) -> list[dict]:
    async with api.runtime.db.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(text(sql), params)).mappings().all()]


def refused(result: dict, code: str) -> None:
    assert result["token"] is None
    assert result["expiresAt"] is None
    assert result["user"] is None
    assert [e["code"] for e in result["errors"]] == [code]


@asynccontextmanager
async def caller_at(api: Api, app: object, address: str) -> AsyncIterator[Api]:
    """The API as a client at ``address`` sees it."""
    transport = httpx.ASGITransport(app=app, client=(address, 1))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield Api(client, api.runtime)


async def fail(api: Api, email: str, times: int) -> None:
    for n in range(times):
        refused(await login(api, email, f"wrong guess number {n}"), "INVALID_CREDENTIALS")


async def test_login_returns_a_session_token_usable_as_bearer(api, clock):
    await api.user_with_token("ann@example.com")
    result = await login(api, "ann@example.com")
    assert result["errors"] == []
    assert result["user"] == {"email": "ann@example.com"}
    token = result["token"]
    assert token.startswith("isp_ses_")
    assert token_kind(token) is TokenKind.SESSION
    ttl = timedelta(hours=api.runtime.settings.session_ttl_hours)
    assert datetime.fromisoformat(result["expiresAt"]) == clock.now() + ttl
    assert await api.data(ME, token=token) == {"me": {"email": "ann@example.com"}}


async def test_login_email_is_case_and_space_insensitive(api):
    await api.user_with_token("ann@example.com")
    result = await login(api, "  Ann@Example.COM ")
    assert result["errors"] == []
    assert result["user"] == {"email": "ann@example.com"}


async def test_last_login_at_is_recorded(api, clock):
    _, admin = await api.user_with_token("ann@example.com")
    query = '{ users(filter: {email: {eq: "ann@example.com"}}) { edges { node { lastLoginAt } } } }'
    before = await api.data(query, token=admin)
    assert before["users"]["edges"][0]["node"]["lastLoginAt"] is None
    clock.advance(timedelta(minutes=3))
    await login(api, "ann@example.com")
    after = await api.data(query, token=admin)
    assert datetime.fromisoformat(after["users"]["edges"][0]["node"]["lastLoginAt"]) == clock.now()


async def test_wrong_password_and_unknown_email_answer_the_same_after_the_same_work(
        api, monkeypatch):
    await api.user_with_token("ann@example.com")
    checked: list[str] = []
    real_verify = secrets._verify

    def verify(password_hash: str, password: str) -> bool:  # the real check, observed
        checked.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(secrets, "_verify", verify)
    wrong = await login(api, "ann@example.com", "not the password at all")
    unknown = await login(api, "nobody@example.com", PASSWORD)
    refused(wrong, "INVALID_CREDENTIALS")
    refused(unknown, "INVALID_CREDENTIALS")
    assert wrong["errors"] == unknown["errors"]
    [ann_hash] = [r["password_hash"] for r in await rows(api, "SELECT password_hash FROM users")]
    assert checked == [ann_hash, secrets._DUMMY_HASH]  # an argon2 check each
    assert await rows(api, "SELECT id FROM user_sessions") == []
    # both counted alike: one failure each, for the login and the address
    counted = await rows(api, "SELECT failures, address FROM sign_in_failures")
    assert counted == [{"failures": 1, "address": "203.0.113.7"}] * 2


async def test_failures_slow_only_that_address_never_the_right_password_elsewhere(
        api, app, clock):
    free = api.runtime.settings.login_free_failures
    assert free == 5
    await api.user_with_token("ann@example.com")
    await fail(api, "ann@example.com", free)  # the 5th failure: the next try waits 2 s

    waiting = await login(api, "ann@example.com")  # even the right password, unchecked
    refused(waiting, "TOO_MANY_ATTEMPTS")
    assert waiting["errors"][0]["message"] == (
        "Too many failed sign-ins with this login from your address; try again in 2 s.")
    async with caller_at(api, app, "198.51.100.20") as elsewhere:  # the real user, at home
        assert (await login(elsewhere, "ann@example.com"))["token"]

    clock.advance(timedelta(seconds=2))
    assert (await login(api, "ann@example.com"))["token"]  # and that clears the count
    assert await rows(api, "SELECT id FROM sign_in_failures") == []
    await fail(api, "ann@example.com", free - 1)
    assert (await login(api, "ann@example.com"))["token"]


async def test_each_further_failure_doubles_the_wait_up_to_the_cap(api, clock, monkeypatch):
    monkeypatch.setattr(api.runtime.settings, "login_backoff_max_seconds", 20)
    await api.user_with_token("ann@example.com")
    await fail(api, "ann@example.com", 5)
    waits = []
    for _ in range(4):
        clock.advance(timedelta(seconds=60))
        await fail(api, "ann@example.com", 1)
        message = (await login(api, "ann@example.com"))["errors"][0]["message"]
        waits.append(int(message.split("try again in ")[1].split(" s")[0]))
    assert waits == [4, 8, 16, 20]


def test_the_wait_rule():
    longest = timedelta(minutes=15)
    assert [throttle.wait_after(n, 5, longest).total_seconds() for n in range(1, 9)] == [
        0, 0, 0, 0, 2, 4, 8, 16]
    assert throttle.wait_after(14, 5, longest) == longest
    assert throttle.wait_after(10**6, 5, longest) == longest  # no overflow


async def test_an_unknown_email_is_throttled_exactly_as_a_known_one(api):
    await api.user_with_token("ann@example.com")
    await fail(api, "ann@example.com", 5)
    await fail(api, "nobody@example.com", 5)
    known = await login(api, "ann@example.com", "one more guess 7")
    unknown = await login(api, "nobody@example.com", "one more guess 7")
    refused(known, "TOO_MANY_ATTEMPTS")
    assert known["errors"] == unknown["errors"]


async def test_parallel_wrong_guesses_each_count(api):
    await api.user_with_token("ann@example.com")
    free = api.runtime.settings.login_free_failures
    await asyncio.gather(*(login(api, "ann@example.com", f"guess number {n}")
                           for n in range(free)))
    [counted] = await rows(api, "SELECT failures FROM sign_in_failures")
    assert counted["failures"] == free
    refused(await login(api, "ann@example.com"), "TOO_MANY_ATTEMPTS")


async def test_an_ipv6_client_is_counted_by_its_64(api, app):
    await api.user_with_token("ann@example.com")
    async with caller_at(api, app, "2001:db8:7:1::10") as first, \
            caller_at(api, app, "2001:db8:7:1::beef") as same_network, \
            caller_at(api, app, "2001:db8:7:2::10") as next_network:
        await fail(first, "ann@example.com", 5)
        refused(await login(same_network, "ann@example.com"), "TOO_MANY_ATTEMPTS")
        assert (await login(next_network, "ann@example.com"))["token"]
    assert throttle.address_key("::ffff:198.51.100.9") == "198.51.100.9"
    assert throttle.address_key("2001:db8:7:1::10") == "2001:db8:7:1::/64"


async def test_failures_are_forgotten_after_a_day_and_pruned(api, clock):
    await api.user_with_token("ann@example.com")
    await fail(api, "ann@example.com", 4)
    clock.advance(throttle.FORGET_AFTER + timedelta(seconds=1))
    await fail(api, "ann@example.com", 1)  # counts from 1 again: no wait
    assert (await login(api, "ann@example.com"))["token"]
    await fail(api, "nobody@example.com", 2)
    clock.advance(throttle.FORGET_AFTER + timedelta(seconds=1))
    done = await run_job(api.runtime, HOUSEKEEPING_JOB)
    assert done["sign_in_failures"] == 1
    assert await rows(api, "SELECT id FROM sign_in_failures") == []


async def test_a_deactivated_user_cannot_log_in(api):
    _, admin = await api.user_with_token("admin@example.com")
    await api.user_with_token("ann@example.com")
    gid = await user_gid(api, admin, "ann@example.com")
    result = await api.data(DEACTIVATE, {"id": gid}, admin)
    assert result["updateUser"] == {"user": {"active": False}, "errors": []}
    deactivated = await login(api, "ann@example.com")
    refused(deactivated, "INVALID_CREDENTIALS")
    assert await rows(api, "SELECT id FROM user_sessions") == []


async def test_an_allowlist_that_excludes_the_caller_refuses_the_login(api):
    await api.user_with_token("ann@example.com", ip_allowlist=["198.51.100.0/24"])
    result = await login(api, "ann@example.com")
    refused(result, "FORBIDDEN")
    assert await rows(api, "SELECT id FROM user_sessions") == []


async def test_an_allowlist_that_includes_the_caller_allows_the_login(api):
    await api.user_with_token("ann@example.com", ip_allowlist=["203.0.113.0/24"])
    result = await login(api, "ann@example.com")
    assert result["errors"] == []
    [session] = await rows(api, "SELECT ip FROM user_sessions")
    assert session["ip"] == "203.0.113.7"


async def test_a_session_token_expires_after_the_ttl(api, clock):
    await api.user_with_token("ann@example.com")
    token = (await login(api, "ann@example.com"))["token"]
    ttl = timedelta(hours=api.runtime.settings.session_ttl_hours)

    clock.advance(ttl - timedelta(seconds=1))
    assert await api.data(ME, token=token) == {"me": {"email": "ann@example.com"}}

    clock.advance(timedelta(seconds=1))
    response = await api.post(ME, token=token)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_logout_revokes_the_session(api):
    await api.user_with_token("ann@example.com")
    token = (await login(api, "ann@example.com"))["token"]
    assert await api.data(LOGOUT, token=token) == {"logout": {"ended": True, "errors": []}}

    response = await api.post(ME, token=token)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"
    assert "www-authenticate" in response.headers
    [session] = await rows(api, "SELECT revoked_at FROM user_sessions")
    assert session["revoked_at"] is not None


async def test_logout_ends_only_the_current_session(api):
    await api.user_with_token("ann@example.com")
    first = (await login(api, "ann@example.com"))["token"]
    second = (await login(api, "ann@example.com"))["token"]
    await api.data(LOGOUT, token=first)
    assert await api.data(ME, token=second) == {"me": {"email": "ann@example.com"}}


async def test_logout_with_a_personal_access_token_ends_nothing(api):
    _, pat = await api.user_with_token("ann@example.com")
    session = (await login(api, "ann@example.com"))["token"]
    assert await api.data(LOGOUT, token=pat) == {"logout": {"ended": False, "errors": []}}
    assert await api.data(ME, token=pat) == {"me": {"email": "ann@example.com"}}
    assert await api.data(ME, token=session) == {"me": {"email": "ann@example.com"}}


async def test_logout_needs_a_signed_in_caller(api):
    body = await api.gql(LOGOUT)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_only_a_hash_of_the_session_token_is_stored(api):
    await api.user_with_token("ann@example.com")
    token = (await login(api, "ann@example.com"))["token"]
    [session] = await rows(api, "SELECT * FROM user_sessions")
    assert session["token_hash"] != token
    assert session["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    random_part = token[len("isp_ses_"):]
    for column, value in session.items():
        assert random_part not in str(value), column


async def test_a_refused_login_writes_no_audit_entry(api):
    _, admin = await api.user_with_token("ann@example.com")
    count = "{ auditLogEntries { totalCount } }"
    before = (await api.data(count, token=admin))["auditLogEntries"]["totalCount"]
    await login(api, "ann@example.com", "wrong password 123")
    await login(api, "nobody@example.com", "wrong password 123")
    after = (await api.data(count, token=admin))["auditLogEntries"]["totalCount"]
    assert after == before


async def test_a_password_change_signs_out_every_session(api):
    _, admin = await api.user_with_token("admin@example.com")
    await api.user_with_token("ann@example.com", permissions=["companies:read"])
    first = (await login(api, "ann@example.com"))["token"]
    second = (await login(api, "ann@example.com"))["token"]
    ann = await user_gid(api, admin, "ann@example.com")
    changed = await api.data("""mutation($id: ID!) { updateUser(input: {id: $id,
        password: "a completely new passphrase"}) { errors { code } } }""", {"id": ann}, admin)
    assert changed["updateUser"]["errors"] == []
    for token in (first, second):
        response = await api.post(ME, token=token)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "TOKEN_REVOKED"
    assert (await login(api, "ann@example.com", "a completely new passphrase"))["token"]


async def test_logins_and_logouts_are_in_the_audit_log(api):
    _, admin = await api.user_with_token("admin@example.com")
    result = await login(api, "admin@example.com")
    await api.data(LOGOUT, token=result["token"])
    query = """{ auditLogEntries(filter: {entityType: {eq: "UserSession"}}) {
        edges { node { action operation changes } } } }"""
    entries = [e["node"] for e in (await api.data(query, token=admin))["auditLogEntries"]["edges"]]
    assert [(e["action"], e["operation"]) for e in entries] == [
        ("login", "create"), ("logout", "update")]
    assert "token_hash" not in str(entries) and result["token"] not in str(entries)
    assert set(entries[1]["changes"]) == {"revoked_at"}


async def test_a_login_is_audited_as_the_user_who_signed_in(api):
    _, admin = await api.user_with_token("admin@example.com")
    await login(api, "admin@example.com")
    query = """{ auditLogEntries(filter: {action: {eq: "login"}}) {
        edges { node { user { email } } } } }"""
    edges = (await api.data(query, token=admin))["auditLogEntries"]["edges"]
    assert [e["node"]["user"] for e in edges] == [{"email": "admin@example.com"}]


async def test_logins_from_one_address_are_limited_across_accounts(api, app, monkeypatch):
    from types import SimpleNamespace

    from ispcore.infra import rate_limit

    monkeypatch.setattr(api.runtime.settings, "login_attempts_per_minute", 3)
    # One fixed minute, so the window cannot turn over half-way through the test.
    monkeypatch.setattr(rate_limit, "time", SimpleNamespace(time=lambda: 978_307_205.0))
    await api.user_with_token("ann@example.com")

    async with caller_at(api, app, "198.51.100.77") as stuffer, \
            caller_at(api, app, "198.51.100.78") as other:
        for n in range(3):
            refused(await login(stuffer, f"nobody{n}@example.com"), "INVALID_CREDENTIALS")
        refused(await login(stuffer, "ann@example.com"), "TOO_MANY_ATTEMPTS")
        assert (await login(other, "ann@example.com"))["token"]


async def test_the_login_payload_shows_one_s_own_role(api):
    await api.user_with_token("ann@example.com", permissions=["companies:read"])
    query = """mutation($email: String!, $password: String!) { login(input: {email: $email,
        password: $password}) { user { email role { name } } errors { code } } }"""
    result = (await api.data(query, {"email": "ann@example.com", "password": PASSWORD}))["login"]
    assert result == {"user": {"email": "ann@example.com",
                               "role": {"name": "role for ann@example.com"}}, "errors": []}
