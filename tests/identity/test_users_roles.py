"""Users and roles through the API: validation, partial updates, filters, permissions."""

from __future__ import annotations

from sqlalchemy import text

from ispcore.domain.identity.permissions import PERMISSIONS
from tests.support import PASSWORD

USER_FIELDS = "id email name active ipAllowlist role { id name }"
CREATE_USER = f"""
mutation($input: CreateUserInput!) {{
  createUser(input: $input) {{ user {{ {USER_FIELDS} }} errors {{ field code message }} }}
}}"""
UPDATE_USER = f"""
mutation($input: UpdateUserInput!) {{
  updateUser(input: $input) {{ user {{ {USER_FIELDS} }} errors {{ field code message }} }}
}}"""
CREATE_ROLE = """
mutation($input: CreateRoleInput!) {
  createRole(input: $input) { role { id name description permissions builtIn }
                              errors { field code message } }
}"""
UPDATE_ROLE = """
mutation($input: UpdateRoleInput!) {
  updateRole(input: $input) { role { id name description permissions builtIn }
                              errors { field code message } }
}"""
DELETE_ROLE = """
mutation($id: ID!) { deleteRole(input: {id: $id}) { deletedId errors { field code message } } }
"""
LOGIN = """
mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } }
}"""
USERS = f"""
query($filter: UserFilter, $orderBy: [UserOrder!]) {{
  users(filter: $filter, orderBy: $orderBy) {{ totalCount edges {{ node {{ {USER_FIELDS} }} }} }}
}}"""
ROLES = """
query($filter: RoleFilter) {
  roles(filter: $filter) { totalCount edges { node { id name permissions builtIn } } }
}"""


def errors(payload: dict) -> list[tuple[str | None, str]]:
    return [(e["field"], e["code"]) for e in payload["errors"]]


async def counts(api) -> dict[str, int]:
    async with api.runtime.db.engine.connect() as conn:
        return {table: (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
                for table in ("users", "roles", "audit_log_entries", "personal_access_tokens")}


async def role_id(api, token: str, name: str) -> str:
    found = await api.data(ROLES, {"filter": {"name": {"eq": name}}}, token)
    return found["roles"]["edges"][0]["node"]["id"]


async def make_role(api, token: str, name: str, permissions: list[str]) -> str:
    result = (await api.data(CREATE_ROLE, {"input": {"name": name, "permissions": permissions}},
                             token))["createRole"]
    assert result["errors"] == []
    return result["role"]["id"]


async def create_user(api, token: str, **fields) -> dict:
    values = {"email": "new@example.com", "name": "New Person", "password": PASSWORD}
    values.update(fields)
    if "roleId" not in values:
        values["roleId"] = await role_id(api, token, "admin")
    return (await api.data(CREATE_USER, {"input": values}, token))["createUser"]


async def update_user(api, token: str, **fields) -> dict:
    return (await api.data(UPDATE_USER, {"input": fields}, token))["updateUser"]


# --- createUser ---------------------------------------------------------------------------

async def test_create_user(api):
    _, admin = await api.user_with_token()
    support = await make_role(api, admin, "support", ["users:read"])
    result = await create_user(api, admin, email="Carol@Example.COM", name="  Carol ",
                               roleId=support, ipAllowlist=["203.0.113.7", "10.0.0.0/8"])
    assert result["errors"] == []
    user = result["user"]
    assert user["email"] == "carol@example.com"
    assert user["name"] == "Carol"
    assert user["active"] is True
    assert user["ipAllowlist"] == ["203.0.113.7/32", "10.0.0.0/8"]
    assert user["role"] == {"id": support, "name": "support"}
    login = await api.data(LOGIN, {"email": "carol@example.com", "password": PASSWORD})
    assert login["login"]["errors"] == []


async def test_create_user_inactive(api):
    _, admin = await api.user_with_token()
    result = await create_user(api, admin, active=False)
    assert result["user"]["active"] is False
    login = await api.data(LOGIN, {"email": "new@example.com", "password": PASSWORD})
    assert login["login"]["token"] is None


async def test_password_policy(api):
    _, admin = await api.user_with_token()
    minimum = api.runtime.settings.password_min_length
    before = await counts(api)
    for password in ("short", "x" * (minimum - 1), "a" * (minimum + 5), "abababababababab",
                     "new@example.com"):
        result = await create_user(api, admin, password=password)
        assert result["user"] is None, password
        assert errors(result) == [("password", "PASSWORD_TOO_WEAK")], password
        assert result["errors"][0]["message"]
    assert await counts(api) == before


async def test_common_and_guessable_passwords_are_refused_with_zxcvbns_advice(api):
    _, admin = await api.user_with_token()
    before = await counts(api)
    common = await create_user(api, admin, password="password1234")  # long enough
    assert errors(common) == [("password", "PASSWORD_TOO_WEAK")]
    assert common["errors"][0]["message"] == (
        "That password is too easy to guess. This is a very common password. Add another "
        "word or two. Uncommon words are better.")
    own = await create_user(api, admin, email="zebulon.quist@example.com", name="Zebulon Quist",
                            password="zebulon.quist@example.com")
    assert errors(own) == [("password", "PASSWORD_TOO_WEAK")]
    assert await counts(api) == before

    created = (await create_user(api, admin))["user"]
    for password in ("qwertyuiop123", "new person 2026"):  # a change, or a reset: refused
        result = await update_user(api, admin, id=created["id"], password=password)
        assert errors(result) == [("password", "PASSWORD_TOO_WEAK")], password
    assert (await api.data(LOGIN, {"email": "new@example.com", "password": PASSWORD})
            )["login"]["errors"] == []


async def test_an_absurdly_long_password_is_refused(api):
    # argon2 would hash it, but a megabyte "password" is a denial-of-service vector.
    _, admin = await api.user_with_token()
    before = await counts(api)
    result = await create_user(api, admin, password="correct horse " * 1000)
    assert result["user"] is None
    assert [e["field"] for e in result["errors"]] == ["password"]
    assert await counts(api) == before


async def test_bad_email_is_invalid(api):
    _, admin = await api.user_with_token()
    before = await counts(api)
    for email in ("not-an-email", "two@@example.com", ""):
        result = await create_user(api, admin, email=email)
        assert result["user"] is None
        assert errors(result) == [("email", "INVALID")], email
    assert await counts(api) == before


async def test_duplicate_email_ignores_case(api):
    _, admin = await api.user_with_token("admin@example.com")
    before = await counts(api)
    result = await create_user(api, admin, email="ADMIN@example.com")
    assert result["user"] is None
    assert errors(result) == [("email", "DUPLICATE")]
    assert await counts(api) == before


async def test_bad_cidr_is_invalid(api):
    _, admin = await api.user_with_token()
    before = await counts(api)
    result = await create_user(api, admin, ipAllowlist=["10.0.0.0/8", "300.1.2.3/24"])
    assert result["user"] is None
    assert errors(result) == [("ipAllowlist", "INVALID")]
    assert "300.1.2.3/24" in result["errors"][0]["message"]
    assert await counts(api) == before


async def test_unknown_role_is_not_found(api):
    _, admin = await api.user_with_token()
    before = await counts(api)
    result = await create_user(api, admin, roleId="Um9sZTo5OTk5OTk=")  # Role:999999
    assert result["user"] is None
    assert errors(result) == [("roleId", "NOT_FOUND")]
    me = await api.data("{ me { id } }", token=admin)
    wrong_type = await create_user(api, admin, roleId=me["me"]["id"])
    assert errors(wrong_type) == [("roleId", "INVALID")]
    assert await counts(api) == before


async def test_several_bad_fields_are_reported_together(api):
    _, admin = await api.user_with_token()
    result = await create_user(api, admin, email="nope", name=" ", password="short",
                               ipAllowlist=["nonsense"])
    assert sorted(errors(result)) == [("email", "INVALID"), ("ipAllowlist", "INVALID"),
                                      ("name", "REQUIRED"), ("password", "PASSWORD_TOO_WEAK")]


# --- updateUser ---------------------------------------------------------------------------

async def test_update_user_changes_only_what_is_sent(api):
    _, admin = await api.user_with_token()
    created = (await create_user(api, admin, name="Dana", ipAllowlist=["10.0.0.0/8"]))["user"]
    result = await update_user(api, admin, id=created["id"], name="Dana Scully")
    assert result["errors"] == []
    assert result["user"] == {**created, "name": "Dana Scully"}

    result = await update_user(api, admin, id=created["id"], active=False)
    assert result["user"] == {**created, "name": "Dana Scully", "active": False}

    viewer = await make_role(api, admin, "viewer", ["users:read"])
    result = await update_user(api, admin, id=created["id"], roleId=viewer)
    assert result["user"]["role"] == {"id": viewer, "name": "viewer"}
    assert result["user"]["ipAllowlist"] == ["10.0.0.0/8"]

    result = await update_user(api, admin, id=created["id"], ipAllowlist=[])
    assert result["user"]["ipAllowlist"] == []


async def test_update_user_trims_the_name_as_create_does(api):
    _, admin = await api.user_with_token()
    created = (await create_user(api, admin, name="  Eve  "))["user"]
    assert created["name"] == "Eve"
    result = await update_user(api, admin, id=created["id"], name="  Eve Moneypenny  ")
    assert result["user"]["name"] == "Eve Moneypenny"


async def test_update_user_email_is_normalised_and_unique(api):
    _, admin = await api.user_with_token("admin@example.com")
    created = (await create_user(api, admin))["user"]
    result = await update_user(api, admin, id=created["id"], email="Renamed@Example.com")
    assert result["user"]["email"] == "renamed@example.com"
    clash = await update_user(api, admin, id=created["id"], email="Admin@Example.com")
    assert errors(clash) == [("email", "DUPLICATE")]
    same = await update_user(api, admin, id=created["id"], email="RENAMED@example.com")
    assert same["errors"] == []


async def test_update_user_validates_like_create(api):
    _, admin = await api.user_with_token()
    created = (await create_user(api, admin))["user"]
    before = await counts(api)
    for fields, expected in (({"password": "short"}, [("password", "PASSWORD_TOO_WEAK")]),
                             ({"email": "bad"}, [("email", "INVALID")]),
                             ({"ipAllowlist": ["1.2.3"]}, [("ipAllowlist", "INVALID")]),
                             ({"roleId": "Um9sZTo5OTk5OTk="}, [("roleId", "NOT_FOUND")]),
                             ({"name": "  "}, [("name", "REQUIRED")])):
        result = await update_user(api, admin, id=created["id"], **fields)
        assert result["user"] is None
        assert errors(result) == expected, fields
    assert await counts(api) == before
    unchanged = await api.data(USERS, {"filter": {"id": {"eq": created["id"]}}}, admin)
    assert unchanged["users"]["edges"][0]["node"] == created


async def test_required_fields_cannot_be_set_to_null(api):
    _, admin = await api.user_with_token()
    created = (await create_user(api, admin))["user"]
    for field in ("email", "name", "password", "roleId", "active", "ipAllowlist"):
        result = await update_user(api, admin, id=created["id"], **{field: None})
        assert result["user"] is None
        assert errors(result) == [(field, "REQUIRED")], field


async def test_update_unknown_user_is_not_found(api):
    _, admin = await api.user_with_token()
    result = await update_user(api, admin, id="VXNlcjo5OTk5OTk=", name="x")  # User:999999
    assert errors(result) == [("id", "NOT_FOUND")]


async def test_a_password_change_works(api):
    _, admin = await api.user_with_token()
    created = (await create_user(api, admin))["user"]
    new_password = "a brand new passphrase"
    result = await update_user(api, admin, id=created["id"], password=new_password)
    assert result["errors"] == []
    old = await api.data(LOGIN, {"email": "new@example.com", "password": PASSWORD})
    assert old["login"]["errors"] == [{"code": "INVALID_CREDENTIALS"}]
    new = await api.data(LOGIN, {"email": "new@example.com", "password": new_password})
    assert new["login"]["errors"] == []
    assert new["login"]["token"].startswith("isp_ses_")


async def test_a_role_change_takes_effect_on_the_next_request(api):
    _, admin = await api.user_with_token()
    _, ann = await api.user_with_token("ann@example.com", permissions=["companies:read"])
    assert (await api.gql("{ users { totalCount } }", token=ann))["errors"][0]["extensions"][
        "code"] == "FORBIDDEN"
    ann_id = (await api.data("{ me { id } }", token=ann))["me"]["id"]
    readers = await make_role(api, admin, "readers", ["users:read"])
    await update_user(api, admin, id=ann_id, roleId=readers)
    assert (await api.data("{ users { totalCount } }", token=ann))["users"]["totalCount"] == 2
    body = await api.gql("{ companies { totalCount } }", token=ann)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- listing ------------------------------------------------------------------------------

async def test_users_connection_filters(api):
    _, admin = await api.user_with_token("admin@example.com")
    support = await make_role(api, admin, "support", ["users:read"])
    await create_user(api, admin, email="zed@example.com", name="Zed Zulu", roleId=support)
    await create_user(api, admin, email="amy@example.com", name="Amy Alpha", active=False)

    async def emails(flt: dict | None = None, order: list | None = None) -> list[str]:
        users = (await api.data(USERS, {"filter": flt, "orderBy": order}, admin))["users"]
        assert users["totalCount"] == len(users["edges"])
        return [e["node"]["email"] for e in users["edges"]]

    everyone = ["admin@example.com", "amy@example.com", "zed@example.com"]
    assert await emails(order=[{"field": "EMAIL"}]) == everyone
    assert await emails(order=[{"field": "EMAIL", "direction": "DESC"}]) == everyone[::-1]
    assert await emails({"active": {"eq": False}}) == ["amy@example.com"]
    assert await emails({"roleId": {"eq": support}}) == ["zed@example.com"]
    assert await emails({"email": {"startsWith": "ZED"}}) == ["zed@example.com"]
    assert await emails({"name": {"contains": "alph"}}) == ["amy@example.com"]
    assert await emails({"search": "zulu"}) == ["zed@example.com"]
    assert sorted(await emails({"or": [{"search": "zulu"}, {"search": "amy"}]})) == [
        "amy@example.com", "zed@example.com"]
    assert sorted(await emails({"not": {"active": {"eq": False}}})) == [
        "admin@example.com", "zed@example.com"]
    assert await emails({"and": [{"active": {"eq": True}}, {"roleId": {"ne": support}}]}) == [
        "admin@example.com"]


async def test_roles_connection_filters(api):
    _, admin = await api.user_with_token()
    await make_role(api, admin, "billing clerks", ["companies:read"])
    await make_role(api, admin, "network ops", ["companies:read", "events:read"])
    everything = (await api.data(ROLES, {}, admin))["roles"]
    assert everything["totalCount"] == 3
    admin_role = next(e["node"] for e in everything["edges"] if e["node"]["name"] == "admin")
    assert admin_role["builtIn"] is True
    found = (await api.data(ROLES, {"filter": {"name": {"startsWith": "net"}}}, admin))["roles"]
    assert [e["node"]["name"] for e in found["edges"]] == ["network ops"]
    assert found["edges"][0]["node"]["permissions"] == ["companies:read", "events:read"]
    found = (await api.data(ROLES, {"filter": {"search": "clerk"}}, admin))["roles"]
    assert [e["node"]["name"] for e in found["edges"]] == ["billing clerks"]


async def test_permissions_lists_the_catalogue(api):
    _, admin = await api.user_with_token()
    result = await api.data("{ permissions { name description } }", token=admin)
    assert {p["name"]: p["description"] for p in result["permissions"]} == PERMISSIONS
    _, ann = await api.user_with_token("ann@example.com", permissions=["users:read"])
    body = await api.gql("{ permissions { name } }", token=ann)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- roles --------------------------------------------------------------------------------

async def test_create_role(api):
    _, admin = await api.user_with_token()
    result = (await api.data(CREATE_ROLE, {"input": {
        "name": " helpdesk ", "description": "Front line",
        "permissions": ["users:read", "companies:read", "users:read"]}}, admin))["createRole"]
    assert result["errors"] == []
    assert result["role"]["name"] == "helpdesk"
    assert result["role"]["description"] == "Front line"
    assert result["role"]["permissions"] == ["companies:read", "users:read"]
    assert result["role"]["builtIn"] is False


async def test_create_role_refuses_bad_input(api):
    _, admin = await api.user_with_token()
    before = await counts(api)
    unknown = (await api.data(CREATE_ROLE, {"input": {
        "name": "x", "permissions": ["users:read", "users:delete"]}}, admin))["createRole"]
    assert unknown["role"] is None
    assert errors(unknown) == [("permissions", "INVALID")]
    assert "users:delete" in unknown["errors"][0]["message"]
    blank = (await api.data(CREATE_ROLE, {"input": {"name": "  "}}, admin))["createRole"]
    assert errors(blank) == [("name", "REQUIRED")]
    duplicate = (await api.data(CREATE_ROLE, {"input": {"name": "admin"}}, admin))["createRole"]
    assert errors(duplicate) == [("name", "DUPLICATE")]
    assert await counts(api) == before


async def test_update_role(api):
    _, admin = await api.user_with_token()
    role = await make_role(api, admin, "ops", ["events:read"])
    result = (await api.data(UPDATE_ROLE, {"input": {"id": role, "permissions": [
        "companies:read"]}}, admin))["updateRole"]
    assert result["errors"] == []
    assert result["role"]["name"] == "ops"
    assert result["role"]["permissions"] == ["companies:read"]
    bad = (await api.data(UPDATE_ROLE, {"input": {"id": role, "permissions": ["nope"]}},
                          admin))["updateRole"]
    assert errors(bad) == [("permissions", "INVALID")]
    null = (await api.data(UPDATE_ROLE, {"input": {"id": role, "name": None}}, admin))[
        "updateRole"]
    assert errors(null) == [("name", "REQUIRED")]
    clash = (await api.data(UPDATE_ROLE, {"input": {"id": role, "name": "admin"}}, admin))[
        "updateRole"]
    assert errors(clash) == [("name", "DUPLICATE")]


async def test_the_built_in_admin_role_cannot_be_changed_or_deleted(api):
    _, admin = await api.user_with_token()
    admin_role = await role_id(api, admin, "admin")
    before = await counts(api)
    update = (await api.data(UPDATE_ROLE, {"input": {"id": admin_role, "name": "root"}},
                             admin))["updateRole"]
    assert errors(update) == [("id", "IN_USE")]
    delete = (await api.data(DELETE_ROLE, {"id": admin_role}, admin))["deleteRole"]
    assert delete["deletedId"] is None
    assert errors(delete) == [("id", "IN_USE")]
    assert await counts(api) == before
    roles = (await api.data(ROLES, {"filter": {"name": {"eq": "admin"}}}, admin))["roles"]
    assert roles["totalCount"] == 1


async def test_a_role_in_use_cannot_be_deleted(api):
    _, admin = await api.user_with_token()
    role = await make_role(api, admin, "temps", ["users:read"])
    user = (await create_user(api, admin, roleId=role))["user"]
    refused = (await api.data(DELETE_ROLE, {"id": role}, admin))["deleteRole"]
    assert errors(refused) == [("id", "IN_USE")]
    assert "1 user" in refused["errors"][0]["message"]

    await update_user(api, admin, id=user["id"], roleId=await role_id(api, admin, "admin"))
    deleted = (await api.data(DELETE_ROLE, {"id": role}, admin))["deleteRole"]
    assert deleted == {"deletedId": role, "errors": []}
    assert (await api.data(ROLES, {"filter": {"name": {"eq": "temps"}}}, admin))["roles"][
        "totalCount"] == 0
    again = (await api.data(DELETE_ROLE, {"id": role}, admin))["deleteRole"]
    assert errors(again) == [("id", "NOT_FOUND")]


# --- access -------------------------------------------------------------------------------

async def test_a_roles_permissions_decide_access(api):
    await api.user_with_token("admin@example.com")
    _, reader = await api.user_with_token("reader@example.com", permissions=["users:read"])
    listed = await api.data("{ users { totalCount } }", token=reader)
    assert listed["users"]["totalCount"] == 2
    before = await counts(api)
    body = await api.gql(CREATE_USER, {"input": {
        "email": "x@example.com", "name": "X", "password": PASSWORD,
        "roleId": "Um9sZTox"}}, reader)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["extensions"]["permission"] == "users:write"
    for query in ("{ roles { totalCount } }", "{ auditLogEntries { totalCount } }"):
        denied = await api.gql(query, token=reader)
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN", query
    assert await counts(api) == before


async def test_anonymous_callers_are_asked_to_authenticate(api):
    body = await api.gql("{ users { totalCount } }")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_users_write_cannot_hand_out_the_admin_role(api):
    # A role without roles:write or audit:read must not be able to create an admin (or
    # promote itself): that would hand out permissions the actor does not hold, which
    # token scopes already refuse ("you cannot grant what you lack").
    _, admin = await api.user_with_token("admin@example.com")
    admin_role = await role_id(api, admin, "admin")
    _, clerk = await api.user_with_token("clerk@example.com",
                                         permissions=["users:read", "users:write"])
    before = await counts(api)
    result = await create_user(api, clerk, email="sneaky@example.com", roleId=admin_role)
    assert result["user"] is None
    assert errors(result) == [("roleId", "FORBIDDEN")]
    clerk_id = (await api.data("{ me { id } }", token=clerk))["me"]["id"]
    promoted = await update_user(api, clerk, id=clerk_id, roleId=admin_role)
    assert errors(promoted) == [("roleId", "FORBIDDEN")]
    assert await counts(api) == before


async def test_roles_write_cannot_add_permissions_the_actor_lacks(api):
    _, manager = await api.user_with_token("manager@example.com",
                                           permissions=["roles:read", "roles:write"])
    before = await counts(api)
    created = (await api.data(CREATE_ROLE, {"input": {
        "name": "superuser", "permissions": ["audit:read"]}}, manager))["createRole"]
    assert errors(created) == [("permissions", "FORBIDDEN")]
    own = await role_id(api, manager, "role for manager@example.com")
    widened = (await api.data(UPDATE_ROLE, {"input": {"id": own, "permissions": [
        "roles:read", "roles:write", "users:write"]}}, manager))["updateRole"]
    assert errors(widened) == [("permissions", "FORBIDDEN")]
    assert await counts(api) == before


async def test_users_write_cannot_take_over_a_more_privileged_user(api):
    # Resetting the admin's password (or allowlist, or email) would let a clerk sign in as
    # the admin: the same escalation as handing out the admin role.
    _, admin = await api.user_with_token("admin@example.com")
    admin_gid = (await api.data("{ me { id } }", token=admin))["me"]["id"]
    _, clerk = await api.user_with_token("clerk@example.com",
                                         permissions=["users:read", "users:write"])
    result = await update_user(api, clerk, id=admin_gid, password="the clerk owns this now")
    assert result["user"] is None
    assert errors(result) == [("id", "FORBIDDEN")]
    login = await api.data(LOGIN, {"email": "admin@example.com",
                                   "password": "the clerk owns this now"})
    assert login["login"]["token"] is None


async def test_an_email_with_surrounding_spaces_is_accepted_like_at_login(api):
    _, admin = await api.user_with_token("admin@example.com")
    role = await role_id(api, admin, "admin")
    result = await create_user(api, admin, email="  Spaced@Example.com ", roleId=role)
    assert result["errors"] == []
    assert result["user"]["email"] == "spaced@example.com"


async def test_a_user_s_role_needs_roles_read_except_one_s_own(api):
    await api.user_with_token("admin@example.com")
    _, clerk = await api.user_with_token("clerk@example.com", permissions=["users:read"])
    listed = await api.data("""{ users(orderBy: [{field: EMAIL}]) { edges { node {
        email role { name } } } } }""", token=clerk)
    assert [e["node"] for e in listed["users"]["edges"]] == [
        {"email": "admin@example.com", "role": None},
        {"email": "clerk@example.com", "role": {"name": "role for clerk@example.com"}},
    ]
