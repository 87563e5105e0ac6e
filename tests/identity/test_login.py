"""Logging in with email and password: session tokens, lockout, allowlists, logout."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import text

from ispcore.domain.identity.secrets import TokenKind, token_kind
from tests.support import PASSWORD

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


async def test_wrong_password_and_unknown_email_answer_the_same(api):
    await api.user_with_token("ann@example.com")
    wrong = await login(api, "ann@example.com", "not the password at all")
    unknown = await login(api, "nobody@example.com", PASSWORD)
    refused(wrong, "INVALID_CREDENTIALS")
    refused(unknown, "INVALID_CREDENTIALS")
    assert wrong["errors"] == unknown["errors"]
    assert await rows(api, "SELECT id FROM user_sessions") == []


async def test_repeated_failures_lock_the_account_until_the_lockout_passes(api, clock):
    settings = api.runtime.settings
    assert settings.lockout_threshold == 5
    await api.user_with_token("ann@example.com")
    for _ in range(settings.lockout_threshold):
        refused(await login(api, "ann@example.com", "wrong password 123"), "INVALID_CREDENTIALS")

    locked = await login(api, "ann@example.com")  # even the right password
    refused(locked, "ACCOUNT_LOCKED")
    assert locked["errors"][0]["message"]

    clock.advance(timedelta(minutes=settings.lockout_minutes - 1))
    refused(await login(api, "ann@example.com"), "ACCOUNT_LOCKED")

    clock.advance(timedelta(minutes=1, seconds=1))
    result = await login(api, "ann@example.com")
    assert result["errors"] == []
    assert result["token"].startswith("isp_ses_")


async def test_lockout_is_per_user(api):
    await api.user_with_token("ann@example.com")
    await api.user_with_token("bob@example.com")
    for _ in range(api.runtime.settings.lockout_threshold):
        await login(api, "ann@example.com", "wrong password 123")
    refused(await login(api, "ann@example.com"), "ACCOUNT_LOCKED")
    assert (await login(api, "bob@example.com"))["errors"] == []


async def test_a_successful_login_resets_the_failure_count(api):
    await api.user_with_token("ann@example.com")
    almost = api.runtime.settings.lockout_threshold - 1
    for _ in range(almost):
        await login(api, "ann@example.com", "wrong password 123")
    [row] = await rows(api, "SELECT failed_login_count FROM users WHERE email = 'ann@example.com'")
    assert row["failed_login_count"] == almost

    assert (await login(api, "ann@example.com"))["errors"] == []
    [row] = await rows(api, "SELECT failed_login_count FROM users WHERE email = 'ann@example.com'")
    assert row["failed_login_count"] == 0

    for _ in range(almost):
        refused(await login(api, "ann@example.com", "wrong password 123"), "INVALID_CREDENTIALS")
    assert (await login(api, "ann@example.com"))["errors"] == []


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


async def test_parallel_wrong_guesses_still_lock_the_account(api):
    import asyncio

    await api.user_with_token("ann@example.com")
    threshold = api.runtime.settings.lockout_threshold
    await asyncio.gather(*(login(api, "ann@example.com", f"guess number {n}")
                           for n in range(threshold)))
    refused(await login(api, "ann@example.com"), "ACCOUNT_LOCKED")


async def test_a_login_is_audited_as_the_user_who_signed_in(api):
    _, admin = await api.user_with_token("admin@example.com")
    await login(api, "admin@example.com")
    query = """{ auditLogEntries(filter: {action: {eq: "login"}}) {
        edges { node { user { email } } } } }"""
    edges = (await api.data(query, token=admin))["auditLogEntries"]["edges"]
    assert [e["node"]["user"] for e in edges] == [{"email": "admin@example.com"}]


async def test_logins_from_one_address_are_limited_across_accounts(api, app, monkeypatch):
    from types import SimpleNamespace

    import httpx

    from ispcore.infra import rate_limit
    from tests.support import Api

    monkeypatch.setattr(api.runtime.settings, "login_attempts_per_minute", 3)
    # One fixed minute, so the window cannot turn over half-way through the test.
    monkeypatch.setattr(rate_limit, "time", SimpleNamespace(time=lambda: 978_307_205.0))
    await api.user_with_token("ann@example.com")

    def client_at(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 1))
        return httpx.AsyncClient(transport=transport, base_url="http://t")

    async with client_at("198.51.100.77") as client, client_at("198.51.100.78") as other:
        stuffer = Api(client, api.runtime)
        for n in range(3):
            refused(await login(stuffer, f"nobody{n}@example.com"), "INVALID_CREDENTIALS")
        refused(await login(stuffer, "ann@example.com"), "TOO_MANY_ATTEMPTS")
        assert (await login(Api(other, api.runtime), "ann@example.com"))["token"]


async def test_the_login_payload_shows_one_s_own_role(api):
    await api.user_with_token("ann@example.com", permissions=["companies:read"])
    query = """mutation($email: String!, $password: String!) { login(input: {email: $email,
        password: $password}) { user { email role { name } } errors { code } } }"""
    result = (await api.data(query, {"email": "ann@example.com", "password": PASSWORD}))["login"]
    assert result == {"user": {"email": "ann@example.com",
                               "role": {"name": "role for ann@example.com"}}, "errors": []}
