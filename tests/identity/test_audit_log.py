"""The audit log: every change through a mutation, who made it, with which token, in which
request; secrets never copied; filters and permission."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta

from sqlalchemy import text

from tests.support import PASSWORD

ENTRIES = """
query($filter: AuditLogEntryFilter) {
  auditLogEntries(filter: $filter) {
    totalCount
    edges { node {
      id occurredAt action operation entityType entityId companyId changes requestId tokenId
      user { email }
    } }
  }
}"""
CREATE_ROLE = """
mutation($input: CreateRoleInput!) {
  createRole(input: $input) { role { id } errors { field code } }
}"""
UPDATE_ROLE = """
mutation($input: UpdateRoleInput!) {
  updateRole(input: $input) { role { id } errors { field code } }
}"""
DELETE_ROLE = """
mutation($id: ID!) { deleteRole(input: {id: $id}) { deletedId errors { field code } } }
"""
CREATE_USER = """
mutation($input: CreateUserInput!) {
  createUser(input: $input) { user { id } errors { field code } }
}"""
UPDATE_USER = """
mutation($input: UpdateUserInput!) {
  updateUser(input: $input) { user { id } errors { field code } }
}"""
CREATE_TOKEN = """
mutation($input: CreatePersonalAccessTokenInput!) {
  createPersonalAccessToken(input: $input) { secret token { id } errors { field code } }
}"""
REVOKE_TOKEN = """
mutation($id: ID!) { revokePersonalAccessToken(input: {id: $id}) { token { id } errors { code } } }
"""
CREATE_COMPANY = """
mutation($name: String!) {
  createCompany(input: {name: $name, currency: "USD", timeZone: "America/Chicago"}) {
    company { id } errors { field code } }
}"""
LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } }
}"""


async def entries(api, token: str, flt: dict | None = None) -> list[dict]:
    result = (await api.data(ENTRIES, {"filter": flt}, token))["auditLogEntries"]
    assert result["totalCount"] == len(result["edges"])
    return [e["node"] for e in result["edges"]]


async def call(api, query: str, variables: dict, token: str, **headers: str) -> tuple[dict, str]:
    """A mutation's data and the request id the server answered with."""
    response = await api.post(query, variables, token, **headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"], response.headers["x-request-id"]


async def token_gid(api, token: str) -> str:
    listing = await api.data("{ personalAccessTokens { edges { node { id } } } }", token=token)
    [edge] = listing["personalAccessTokens"]["edges"]
    return edge["node"]["id"]


async def role_gid(api, token: str, name: str) -> str:
    query = "query($n: String!) { roles(filter: {name: {eq: $n}}) { edges { node { id } } } }"
    return (await api.data(query, {"n": name}, token))["roles"]["edges"][0]["node"]["id"]


async def test_a_create_through_a_token_records_who_what_and_which_request(api, clock):
    _, admin = await api.user_with_token("admin@example.com")
    pat = await token_gid(api, admin)
    before = await entries(api, admin)
    data, request_id = await call(api, CREATE_ROLE, {"input": {
        "name": "support", "description": "Helpdesk", "permissions": ["users:read"]}}, admin)
    role = data["createRole"]["role"]["id"]

    new = [e for e in await entries(api, admin) if e not in before]
    assert len(new) == 1
    [entry] = new
    assert entry["action"] == "createRole"
    assert entry["operation"] == "create"
    assert entry["entityType"] == "Role"
    assert entry["entityId"] == role
    assert entry["tokenId"] == pat
    assert entry["user"] == {"email": "admin@example.com"}
    assert entry["requestId"] == request_id
    assert datetime.fromisoformat(entry["occurredAt"]) == clock.now()
    changes = entry["changes"]
    assert changes["name"] == "support"
    assert changes["description"] == "Helpdesk"
    assert changes["permissions"] == ["users:read"]
    assert changes["built_in"] is False


async def test_a_change_through_a_session_has_no_token(api):
    await api.user_with_token("admin@example.com")
    login = await api.data(LOGIN, {"email": "admin@example.com", "password": PASSWORD})
    session = login["login"]["token"]
    data, request_id = await call(api, CREATE_ROLE, {"input": {"name": "ops"}}, session)
    [entry] = await entries(api, session, {"action": {"eq": "createRole"}})
    assert entry["tokenId"] is None
    assert entry["user"] == {"email": "admin@example.com"}
    assert entry["requestId"] == request_id
    assert entry["entityId"] == data["createRole"]["role"]["id"]


async def test_a_callers_request_id_is_echoed_and_recorded(api):
    _, admin = await api.user_with_token()
    _, request_id = await call(api, CREATE_ROLE, {"input": {"name": "ops"}}, admin,
                               **{"X-Request-ID": "lb-7f3a.42"})
    assert request_id == "lb-7f3a.42"
    [entry] = await entries(api, admin, {"action": {"eq": "createRole"}})
    assert entry["requestId"] == "lb-7f3a.42"
    found = await entries(api, admin, {"requestId": {"eq": "lb-7f3a.42"}})
    assert [e["id"] for e in found] == [entry["id"]]


async def test_an_update_records_only_the_changed_fields_as_from_to(api):
    _, admin = await api.user_with_token()
    data, _ = await call(api, CREATE_ROLE, {"input": {
        "name": "ops", "description": "Network", "permissions": ["events:read"]}}, admin)
    role = data["createRole"]["role"]["id"]
    _, request_id = await call(api, UPDATE_ROLE, {"input": {
        "id": role, "description": "Network operations",
        "permissions": ["companies:read", "events:read"], "name": "ops"}}, admin)
    [entry] = await entries(api, admin, {"action": {"eq": "updateRole"}})
    assert entry["operation"] == "update"
    assert entry["entityType"] == "Role" and entry["entityId"] == role
    assert entry["requestId"] == request_id
    assert entry["changes"] == {
        "description": {"from": "Network", "to": "Network operations"},
        "permissions": {"from": ["events:read"], "to": ["companies:read", "events:read"]},
    }


async def test_an_update_that_changes_nothing_records_nothing(api):
    _, admin = await api.user_with_token()
    data, _ = await call(api, CREATE_ROLE, {"input": {"name": "ops"}}, admin)
    await call(api, UPDATE_ROLE, {"input": {"id": data["createRole"]["role"]["id"],
                                            "name": "ops"}}, admin)
    assert await entries(api, admin, {"action": {"eq": "updateRole"}}) == []


async def test_a_delete_records_the_entity(api):
    _, admin = await api.user_with_token()
    data, _ = await call(api, CREATE_ROLE, {"input": {"name": "temps",
                                                      "permissions": ["users:read"]}}, admin)
    role = data["createRole"]["role"]["id"]
    await call(api, DELETE_ROLE, {"id": role}, admin)
    [entry] = await entries(api, admin, {"action": {"eq": "deleteRole"}})
    assert entry["operation"] == "delete"
    assert entry["entityType"] == "Role" and entry["entityId"] == role
    assert entry["changes"]["name"] == "temps"
    assert entry["changes"]["permissions"] == ["users:read"]


async def test_user_changes_are_recorded_without_the_password(api):
    _, admin = await api.user_with_token()
    role = await role_gid(api, admin, "admin")
    data, _ = await call(api, CREATE_USER, {"input": {
        "email": "dana@example.com", "name": "Dana", "password": PASSWORD, "roleId": role,
        "ipAllowlist": ["10.0.0.0/8"]}}, admin)
    user = data["createUser"]["user"]["id"]
    [created] = await entries(api, admin, {"action": {"eq": "createUser"}})
    assert created["entityType"] == "User" and created["entityId"] == user
    assert created["operation"] == "create"
    assert created["changes"]["email"] == "dana@example.com"
    assert created["changes"]["ip_allowlist"] == ["10.0.0.0/8"]
    assert created["changes"]["active"] is True

    await call(api, UPDATE_USER, {"input": {"id": user, "name": "Dana Scully",
                                            "active": False}}, admin)
    [updated] = await entries(api, admin, {"action": {"eq": "updateUser"}})
    assert updated["changes"] == {"name": {"from": "Dana", "to": "Dana Scully"},
                                  "active": {"from": True, "to": False}}


async def test_a_password_change_is_recorded_without_the_password(api):
    _, admin = await api.user_with_token()
    role = await role_gid(api, admin, "admin")
    data, _ = await call(api, CREATE_USER, {"input": {
        "email": "dana@example.com", "name": "Dana", "password": PASSWORD, "roleId": role}},
        admin)
    user = data["createUser"]["user"]["id"]
    new_password = "a brand new passphrase"
    _, request_id = await call(api, UPDATE_USER, {"input": {"id": user,
                                                            "password": new_password}}, admin)
    # A password reset is a security event: the log must say it happened (not what to).
    found = await entries(api, admin, {"action": {"eq": "updateUser"}})
    assert [(e["entityId"], e["operation"], e["requestId"]) for e in found] == [
        (user, "update", request_id)]
    assert new_password not in json.dumps(found)


async def test_tokens_are_recorded_without_their_secret_or_hash(api):
    _, admin = await api.user_with_token()
    data, _ = await call(api, CREATE_TOKEN, {"input": {"name": "export",
                                                       "scopes": ["companies:read"]}}, admin)
    created = data["createPersonalAccessToken"]
    gid = created["token"]["id"]
    [entry] = await entries(api, admin, {"action": {"eq": "createPersonalAccessToken"}})
    assert entry["entityType"] == "PersonalAccessToken" and entry["entityId"] == gid
    assert entry["changes"]["name"] == "export"
    assert entry["changes"]["scopes"] == ["companies:read"]
    assert created["secret"].startswith(entry["changes"]["display_prefix"])

    await call(api, REVOKE_TOKEN, {"id": gid}, admin)
    [revoked] = await entries(api, admin, {"action": {"eq": "revokePersonalAccessToken"}})
    assert revoked["operation"] == "update" and revoked["entityId"] == gid
    assert list(revoked["changes"]) == ["revoked_at"]
    assert revoked["changes"]["revoked_at"]["from"] is None


async def test_no_secret_ever_reaches_the_log(api):
    _, admin = await api.user_with_token()
    role = await role_gid(api, admin, "admin")
    data, _ = await call(api, CREATE_USER, {"input": {
        "email": "dana@example.com", "name": "Dana", "password": PASSWORD, "roleId": role}},
        admin)
    user = data["createUser"]["user"]["id"]
    await call(api, UPDATE_USER, {"input": {"id": user, "password": "another long secret"}},
               admin)
    dana = (await api.data(LOGIN, {"email": "dana@example.com",
                                   "password": "another long secret"}))["login"]["token"]
    await api.data(LOGIN, {"email": "dana@example.com", "password": "wrong password 1"})
    made = (await api.data(CREATE_TOKEN, {"input": {"name": "x"}}, dana))[
        "createPersonalAccessToken"]
    await api.data(REVOKE_TOKEN, {"id": made["token"]["id"]}, dana)

    async with api.runtime.db.engine.connect() as conn:
        hashes = [r[0] for r in await conn.execute(text(
            "SELECT password_hash FROM users UNION ALL SELECT token_hash FROM "
            "personal_access_tokens UNION ALL SELECT token_hash FROM user_sessions"))]
        raw = [r[0] for r in await conn.execute(text("SELECT changes FROM audit_log_entries"))]
    logged = json.dumps(await entries(api, admin)) + json.dumps([str(r) for r in raw])
    assert len(hashes) >= 5
    for forbidden in ("password_hash", "token_hash", "password\"", "failed_login_count",
                      PASSWORD, "another long secret", made["secret"], dana, admin,
                      hashlib.sha256(admin.encode()).hexdigest(), *hashes):
        assert forbidden not in logged, forbidden


async def test_every_identity_mutation_is_recorded_with_its_name(api):
    _, admin = await api.user_with_token()
    role_data, _ = await call(api, CREATE_ROLE, {"input": {"name": "ops"}}, admin)
    role = role_data["createRole"]["role"]["id"]
    await call(api, UPDATE_ROLE, {"input": {"id": role, "description": "x"}}, admin)
    user_data, _ = await call(api, CREATE_USER, {"input": {
        "email": "dana@example.com", "name": "Dana", "password": PASSWORD, "roleId": role}},
        admin)
    user = user_data["createUser"]["user"]["id"]
    await call(api, UPDATE_USER, {"input": {"id": user, "name": "D"}}, admin)
    admin_role = await role_gid(api, admin, "admin")
    await call(api, UPDATE_USER, {"input": {"id": user, "roleId": admin_role}}, admin)
    await call(api, DELETE_ROLE, {"id": role}, admin)
    token_data, _ = await call(api, CREATE_TOKEN, {"input": {"name": "t"}}, admin)
    await call(api, REVOKE_TOKEN, {"id": token_data["createPersonalAccessToken"]["token"]["id"]},
               admin)
    company, _ = await call(api, CREATE_COMPANY, {"name": "Fibre Co"}, admin)

    recorded = [(e["action"], e["operation"], e["entityType"]) for e in await entries(api, admin)]
    assert recorded[-9:] == [
        ("createRole", "create", "Role"),
        ("updateRole", "update", "Role"),
        ("createUser", "create", "User"),
        ("updateUser", "update", "User"),
        ("updateUser", "update", "User"),
        ("deleteRole", "delete", "Role"),
        ("createPersonalAccessToken", "create", "PersonalAccessToken"),
        ("revokePersonalAccessToken", "update", "PersonalAccessToken"),
        ("createCompany", "create", "Company"),
    ]
    [company_entry] = await entries(api, admin, {"entityType": {"eq": "Company"}})
    assert company_entry["companyId"] == company["createCompany"]["company"]["id"]
    role_change = (await entries(api, admin, {"action": {"eq": "updateUser"}}))[1]
    assert set(role_change["changes"]) == {"role_id"}


async def test_filters(api, clock):
    _, ann = await api.user_with_token("ann@example.com")
    _, bob = await api.user_with_token("bob@example.com")
    clock.advance(timedelta(minutes=1))  # after the fixtures' own entries
    start = clock.now()
    await call(api, CREATE_ROLE, {"input": {"name": "first"}}, ann)
    clock.advance(timedelta(hours=1))
    middle = clock.now()
    data, _ = await call(api, CREATE_ROLE, {"input": {"name": "second"}}, bob)
    await call(api, UPDATE_ROLE, {"input": {"id": data["createRole"]["role"]["id"],
                                            "description": "changed"}}, bob)
    clock.advance(timedelta(hours=1))
    await call(api, CREATE_COMPANY, {"name": "Fibre Co"}, ann)

    def names(found: list[dict]) -> list[tuple[str, str]]:
        return [(e["action"], (e["user"] or {}).get("email")) for e in found]

    ann_gid = (await api.data("{ me { id } }", token=ann))["me"]["id"]
    assert names(await entries(api, ann, {"userId": {"eq": ann_gid}, "occurredAt": {
        "gte": start.isoformat()}})) == [("createRole", "ann@example.com"),
                                         ("createCompany", "ann@example.com")]
    assert names(await entries(api, ann, {"entityType": {"eq": "Role"}, "occurredAt": {
        "gte": start.isoformat()}})) == [("createRole", "ann@example.com"),
                                         ("createRole", "bob@example.com"),
                                         ("updateRole", "bob@example.com")]
    assert names(await entries(api, ann, {"action": {"eq": "updateRole"}})) == [
        ("updateRole", "bob@example.com")]
    assert names(await entries(api, ann, {"occurredAt": {
        "gte": middle.isoformat(), "lt": (middle + timedelta(hours=1)).isoformat()}})) == [
        ("createRole", "bob@example.com"), ("updateRole", "bob@example.com")]
    assert names(await entries(api, ann, {"occurredAt": {"gt": middle.isoformat()}})) == [
        ("createCompany", "ann@example.com")]
    earlier = await entries(api, ann, {"occurredAt": {"lt": start.isoformat()}})
    assert earlier and {e["action"] for e in earlier} == {"test"}  # the fixtures' own setup
    assert names(await entries(api, ann, {"operation": {"eq": "update"}})) == [
        ("updateRole", "bob@example.com")]
    assert names(await entries(api, ann, {"and": [{"entityType": {"eq": "Role"}},
                                                 {"not": {"operation": {"eq": "create"}}}]}
                               )) == [("updateRole", "bob@example.com")]


async def test_reading_the_log_needs_audit_read(api):
    await api.user_with_token("admin@example.com")
    _, clerk = await api.user_with_token("clerk@example.com", permissions=["users:read"])
    body = await api.gql(ENTRIES, token=clerk)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["extensions"]["permission"] == "audit:read"
    anonymous = await api.gql(ENTRIES)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_the_acting_user_is_shown_only_to_those_who_may_read_users(api):
    _, admin = await api.user_with_token("admin@example.com")
    _, auditor = await api.user_with_token("auditor@example.com", permissions=["audit:read"])
    await call(api, CREATE_ROLE, {"input": {"name": "ops"}}, admin)
    [entry] = await entries(api, auditor, {"action": {"eq": "createRole"}})
    assert entry["user"] is None
    assert entry["entityType"] == "Role"


async def test_a_failed_mutation_writes_no_entry(api):
    _, admin = await api.user_with_token()
    before = await entries(api, admin)
    role = await role_gid(api, admin, "admin")
    bad_user = await api.data(CREATE_USER, {"input": {
        "email": "dana@example.com", "name": "Dana", "password": "short", "roleId": role}},
        admin)
    assert bad_user["createUser"]["errors"] == [{"field": "password", "code": "PASSWORD_TOO_WEAK"}]
    bad_role = await api.data(CREATE_ROLE, {"input": {"name": "x", "permissions": ["nope"]}},
                              admin)
    assert bad_role["createRole"]["errors"] == [{"field": "permissions", "code": "INVALID"}]
    built_in = await api.data(UPDATE_ROLE, {"input": {"id": role, "name": "root"}}, admin)
    assert built_in["updateRole"]["errors"] == [{"field": "id", "code": "IN_USE"}]
    bad_token = await api.data(CREATE_TOKEN, {"input": {"name": "x", "scopes": ["nope"]}},
                               admin)
    assert bad_token["createPersonalAccessToken"]["errors"]
    duplicate = await api.data(CREATE_USER, {"input": {
        "email": "ADMIN@example.com", "name": "Dup", "password": PASSWORD, "roleId": role}},
        admin)
    assert duplicate["createUser"]["errors"] == [{"field": "email", "code": "DUPLICATE"}]
    assert await entries(api, admin) == before
