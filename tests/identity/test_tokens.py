"""Personal access tokens: shown once, hashed at rest, scoped, expiring, revocable, and the
401 answers of the bearer check."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

import httpx
from sqlalchemy import text

from ispcore.domain.identity.secrets import TokenKind, mint_token, token_kind

CREATE = """
mutation($input: CreatePersonalAccessTokenInput!) {
  createPersonalAccessToken(input: $input) {
    secret
    token { id name displayPrefix scopes createdAt expiresAt lastUsedAt lastUsedIp revokedAt }
    errors { field code message }
  }
}"""
REVOKE = """
mutation($id: ID!) {
  revokePersonalAccessToken(input: {id: $id}) { token { id revokedAt } errors { field code } }
}"""
LIST = """
{ personalAccessTokens {
    totalCount
    edges { node { id name displayPrefix scopes lastUsedAt lastUsedIp revokedAt } }
} }"""
ME = "{ me { email } }"
CREATE_COMPANY = """
mutation { createCompany(input: {name: "Fibre Co", currency: "USD", timeZone: "UTC"}) {
  company { id } errors { code } } }"""
PAT_PATTERN = re.compile(r"^isp_pat_[0-9A-Za-z]{36}$")


async def create(api, token: str, **input_fields) -> dict:
    return (await api.data(CREATE, {"input": {"name": "ci", **input_fields}}, token))[
        "createPersonalAccessToken"]


async def rows(api, sql: str) -> list[dict]:
    async with api.runtime.db.engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(text(sql))).mappings().all()]


async def count(api, table: str) -> int:
    return len(await rows(api, f"SELECT id FROM {table}"))


async def assert_unauthorized(api, token_or_header: str, code: str, *, raw_header: bool = False,
                              client: httpx.AsyncClient | None = None) -> None:
    """The bearer is refused with 401 ``code``, a WWW-Authenticate header, and no write."""
    audits, companies = await count(api, "audit_log_entries"), await count(api, "companies")
    tokens_before = await rows(api, "SELECT * FROM personal_access_tokens ORDER BY id")
    headers = {"Authorization": token_or_header if raw_header else f"Bearer {token_or_header}"}
    http = client or api.client
    response = await http.post("/graphql", json={"query": CREATE_COMPANY}, headers=headers)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == code
    assert body["errors"][0]["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await count(api, "audit_log_entries") == audits
    assert await count(api, "companies") == companies
    assert await rows(api, "SELECT * FROM personal_access_tokens ORDER BY id") == tokens_before


async def test_the_secret_is_returned_once_in_a_recognisable_format(api, clock):
    _, admin = await api.user_with_token()
    created = await create(api, admin, name="billing export")
    assert created["errors"] == []
    secret = created["secret"]
    assert PAT_PATTERN.match(secret)
    assert token_kind(secret) is TokenKind.PERSONAL_ACCESS
    token = created["token"]
    assert token["name"] == "billing export"
    assert secret.startswith(token["displayPrefix"])
    assert token["displayPrefix"].startswith("isp_pat_")
    assert len(token["displayPrefix"]) < len(secret)
    assert token["scopes"] is None
    assert token["expiresAt"] is None and token["revokedAt"] is None
    assert datetime.fromisoformat(token["createdAt"]) == clock.now()
    assert await api.data(ME, token=secret) == {"me": {"email": "admin@example.com"}}


async def test_listing_never_shows_a_secret(api):
    _, admin = await api.user_with_token()
    secret = (await create(api, admin, name="listed"))["secret"]
    fields = await api.data('{ __type(name: "PersonalAccessToken") { fields { name } } }',
                            token=admin)
    names = {f["name"] for f in fields["__type"]["fields"]}
    assert not names & {"secret", "token", "tokenHash", "hash"}
    listing = await api.gql(LIST, token=admin)
    assert secret not in str(listing)
    assert secret[len("isp_pat_"):] not in str(listing)
    nodes = [e["node"] for e in listing["data"]["personalAccessTokens"]["edges"]]
    listed = next(n for n in nodes if n["name"] == "listed")
    assert secret.startswith(listed["displayPrefix"])


async def test_only_a_hash_of_the_secret_is_stored(api):
    _, admin = await api.user_with_token()
    secret = (await create(api, admin, name="stored"))["secret"]
    [row] = await rows(api, "SELECT * FROM personal_access_tokens WHERE name = 'stored'")
    assert row["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert row["display_prefix"] == secret[:len(row["display_prefix"])]
    random_part = secret[len("isp_pat_"):]
    for column, value in row.items():
        assert random_part not in str(value), column


async def test_scopes_narrow_what_a_token_may_do(api):
    _, admin = await api.user_with_token()
    created = await create(api, admin, scopes=["companies:read"])
    assert created["errors"] == []
    assert created["token"]["scopes"] == ["companies:read"]
    narrow = created["secret"]
    assert await api.data("{ companies { totalCount } }", token=narrow) == {
        "companies": {"totalCount": 0}}
    body = await api.gql(CREATE_COMPANY, token=narrow)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await count(api, "companies") == 0
    # the same user's unscoped token still may
    assert (await api.data(CREATE_COMPANY, token=admin))["createCompany"]["errors"] == []


async def test_scopes_never_widen_the_users_permissions(api):
    # The role loses a permission after the token was scoped to it: the token loses it too.
    _, token = await api.user_with_token("ann@example.com",
                                         permissions=["companies:read", "tokens:write"],
                                         scopes=["companies:read"])
    async with api.runtime.db.engine.begin() as conn:
        await conn.execute(text("UPDATE roles SET permissions = :p"), {"p": '["tokens:write"]'})
    body = await api.gql("{ companies { totalCount } }", token=token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_actor_cannot_grant_a_scope_it_lacks(api):
    _, token = await api.user_with_token("ann@example.com",
                                         permissions=["companies:read", "tokens:write"])
    tokens_before = await count(api, "personal_access_tokens")
    created = await create(api, token, scopes=["companies:read", "companies:write"])
    assert created["secret"] is None and created["token"] is None
    assert [(e["field"], e["code"]) for e in created["errors"]] == [("scopes", "FORBIDDEN")]
    assert "companies:write" in created["errors"][0]["message"]
    assert await count(api, "personal_access_tokens") == tokens_before
    allowed = await create(api, token, scopes=["companies:read"])
    assert allowed["errors"] == []


async def test_a_scoped_token_cannot_mint_a_wider_token(api):
    _, admin = await api.user_with_token()
    narrow = (await create(api, admin, scopes=["tokens:write", "companies:read"]))["secret"]
    wider = await create(api, narrow, scopes=["companies:write"])
    assert [(e["field"], e["code"]) for e in wider["errors"]] == [("scopes", "FORBIDDEN")]


async def test_an_unknown_scope_is_invalid(api):
    _, admin = await api.user_with_token()
    before = await count(api, "personal_access_tokens")
    created = await create(api, admin, scopes=["companies:read", "everything:write"])
    assert created["secret"] is None
    assert ("scopes", "INVALID") in [(e["field"], e["code"]) for e in created["errors"]]
    invalid = next(e for e in created["errors"] if e["code"] == "INVALID")
    assert "everything:write" in invalid["message"]
    assert await count(api, "personal_access_tokens") == before


async def test_an_unknown_scope_is_reported_once_not_also_as_forbidden(api):
    # An admin lacks nothing; "you cannot grant what you lack" is the wrong answer for a typo.
    _, admin = await api.user_with_token()
    created = await create(api, admin, scopes=["everything:write"])
    assert [(e["field"], e["code"]) for e in created["errors"]] == [("scopes", "INVALID")]


async def test_an_expiry_in_the_past_is_refused(api, clock):
    _, admin = await api.user_with_token()
    before = await count(api, "personal_access_tokens")
    for moment in (clock.now() - timedelta(days=1), clock.now()):
        created = await create(api, admin, expiresAt=moment.isoformat())
        assert created["secret"] is None
        assert [(e["field"], e["code"]) for e in created["errors"]] == [("expiresAt", "INVALID")]
    assert await count(api, "personal_access_tokens") == before


async def test_a_blank_name_is_required(api):
    _, admin = await api.user_with_token()
    created = await create(api, admin, name="   ")
    assert [(e["field"], e["code"]) for e in created["errors"]] == [("name", "REQUIRED")]


async def test_an_expired_token_is_refused(api, clock):
    _, admin = await api.user_with_token()
    expires = clock.now() + timedelta(hours=1)
    created = await create(api, admin, expiresAt=expires.isoformat())
    assert datetime.fromisoformat(created["token"]["expiresAt"]) == expires
    secret = created["secret"]
    clock.advance(timedelta(minutes=59))
    assert await api.data(ME, token=secret) == {"me": {"email": "admin@example.com"}}
    clock.advance(timedelta(minutes=1))
    await assert_unauthorized(api, secret, "TOKEN_EXPIRED")


async def test_a_revoked_token_is_refused(api, clock):
    _, admin = await api.user_with_token()
    created = await create(api, admin, name="to revoke")
    clock.advance(timedelta(minutes=5))
    revoked = (await api.data(REVOKE, {"id": created["token"]["id"]}, admin))
    result = revoked["revokePersonalAccessToken"]
    assert result["errors"] == []
    assert datetime.fromisoformat(result["token"]["revokedAt"]) == clock.now()
    await assert_unauthorized(api, created["secret"], "TOKEN_REVOKED")
    # revoking again is harmless and keeps the first time
    clock.advance(timedelta(minutes=5))
    again = (await api.data(REVOKE, {"id": created["token"]["id"]}, admin))
    assert again["revokePersonalAccessToken"]["token"]["revokedAt"] == result["token"]["revokedAt"]


async def test_a_token_can_revoke_itself(api):
    _, admin = await api.user_with_token()
    created = await create(api, admin, name="self")
    result = await api.data(REVOKE, {"id": created["token"]["id"]}, created["secret"])
    assert result["revokePersonalAccessToken"]["errors"] == []
    await assert_unauthorized(api, created["secret"], "TOKEN_REVOKED")


async def test_unknown_and_malformed_tokens_are_invalid(api):
    _, admin = await api.user_with_token()
    never_stored = mint_token(TokenKind.PERSONAL_ACCESS)
    await assert_unauthorized(api, never_stored, "INVALID_TOKEN")
    unknown_session = mint_token(TokenKind.SESSION)
    await assert_unauthorized(api, unknown_session, "INVALID_TOKEN")
    last = admin[-1]
    bad_checksum = admin[:-1] + ("A" if last != "A" else "B")
    await assert_unauthorized(api, bad_checksum, "INVALID_TOKEN")
    await assert_unauthorized(api, "garbage", "INVALID_TOKEN")
    await assert_unauthorized(api, admin + " extra", "INVALID_TOKEN")
    await assert_unauthorized(api, "Basic xyz", "INVALID_TOKEN", raw_header=True)
    await assert_unauthorized(api, f"Token {admin}", "INVALID_TOKEN", raw_header=True)


async def test_the_bearer_scheme_is_case_insensitive(api):
    _, admin = await api.user_with_token()
    response = await api.client.post("/graphql", json={"query": ME},
                                     headers={"Authorization": f"bearer {admin}"})
    assert response.json() == {"data": {"me": {"email": "admin@example.com"}}}


async def test_an_empty_bearer_is_anonymous(api):
    await api.user_with_token()
    for header in ("Bearer ", "Bearer", ""):
        response = await api.client.post("/graphql", json={"query": ME},
                                         headers={"Authorization": header})
        assert response.status_code == 200, header
        body = response.json()
        assert body["data"] == {"me": None}
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await api.gql(CREATE_COMPANY)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await count(api, "companies") == 0


async def test_the_users_allowlist_applies_to_tokens(api, app):
    _, token = await api.user_with_token("ann@example.com", ip_allowlist=["203.0.113.0/24"])
    assert await api.data(ME, token=token) == {"me": {"email": "ann@example.com"}}
    outside = httpx.ASGITransport(app=app, client=("198.51.100.5", 40000))
    async with httpx.AsyncClient(transport=outside, base_url="http://testserver") as client:
        await assert_unauthorized(api, token, "ADDRESS_NOT_ALLOWED", client=client)


async def test_a_token_outside_its_users_allowlist_is_refused(api):
    _, token = await api.user_with_token("ann@example.com", ip_allowlist=["198.51.100.0/24"])
    await assert_unauthorized(api, token, "ADDRESS_NOT_ALLOWED")


async def test_last_use_time_and_address_are_recorded(api, app, clock):
    _, admin = await api.user_with_token()
    created = await create(api, admin, name="tracked")
    gid = created["token"]["id"]
    assert created["token"]["lastUsedAt"] is None and created["token"]["lastUsedIp"] is None

    async def tracked() -> dict:
        nodes = [e["node"] for e in (await api.data(LIST, token=admin))
                 ["personalAccessTokens"]["edges"]]
        return next(n for n in nodes if n["id"] == gid)

    assert (await tracked())["lastUsedAt"] is None
    clock.advance(timedelta(minutes=10))
    first_use = clock.now()
    await api.data(ME, token=created["secret"])
    node = await tracked()
    assert datetime.fromisoformat(node["lastUsedAt"]) == first_use
    assert node["lastUsedIp"] == "203.0.113.7"

    clock.advance(timedelta(minutes=10))
    elsewhere = httpx.ASGITransport(app=app, client=("198.51.100.5", 40000))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://testserver") as client:
        response = await client.post("/graphql", json={"query": ME},
                                     headers={"Authorization": f"Bearer {created['secret']}"})
    assert response.json() == {"data": {"me": {"email": "admin@example.com"}}}
    node = await tracked()
    assert datetime.fromisoformat(node["lastUsedAt"]) == clock.now()
    assert node["lastUsedIp"] == "198.51.100.5"


async def test_a_user_cannot_see_or_revoke_another_users_tokens(api):
    _, ann = await api.user_with_token("ann@example.com")
    _, bob = await api.user_with_token("bob@example.com")
    anns = await create(api, ann, name="ann's")
    listing = (await api.data(LIST, token=bob))["personalAccessTokens"]
    assert listing["totalCount"] == 1
    assert "ann's" not in [e["node"]["name"] for e in listing["edges"]]
    node = await api.data("query($id: ID!) { node(id: $id) { id } }",
                          {"id": anns["token"]["id"]}, bob)
    assert node == {"node": None}

    audits = await count(api, "audit_log_entries")
    refused = (await api.data(REVOKE, {"id": anns["token"]["id"]}, bob))
    assert refused["revokePersonalAccessToken"] == {
        "token": None, "errors": [{"field": "id", "code": "NOT_FOUND"}]}
    assert await count(api, "audit_log_entries") == audits
    assert await api.data(ME, token=anns["secret"]) == {"me": {"email": "ann@example.com"}}


async def test_revoking_with_another_types_id_is_invalid(api):
    _, admin = await api.user_with_token()
    me = await api.data("{ me { id } }", token=admin)
    result = await api.data(REVOKE, {"id": me["me"]["id"]}, admin)
    assert result["revokePersonalAccessToken"]["errors"] == [{"field": "id", "code": "INVALID"}]


async def test_deactivating_the_user_stops_its_tokens(api):
    _, admin = await api.user_with_token("admin@example.com")
    _, ann = await api.user_with_token("ann@example.com")
    ann_id = (await api.data(ME.replace("email", "id"), token=ann))["me"]["id"]
    result = await api.data(
        "mutation($id: ID!) { updateUser(input: {id: $id, active: false}) { errors { code } } }",
        {"id": ann_id}, admin)
    assert result["updateUser"]["errors"] == []
    await assert_unauthorized(api, ann, "USER_INACTIVE")


async def test_tokens_need_the_tokens_permissions(api):
    _, token = await api.user_with_token("ann@example.com", permissions=["companies:read"])
    body = await api.gql(CREATE, {"input": {"name": "x"}}, token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = await api.gql(LIST, token=token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await api.gql(CREATE, {"input": {"name": "x"}})
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_scoped_token_cannot_mint_an_unscoped_one(api):
    _, narrow = await api.user_with_token("ann@example.com", scopes=["tokens:write"])
    created = await create(api, narrow, name="escalate")
    assert created["errors"] == []
    assert created["token"]["scopes"] == ["tokens:write"]
    response = await api.post("{ companies { totalCount } }", token=created["secret"])
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
