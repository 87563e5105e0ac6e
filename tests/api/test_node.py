"""node(id:): any entity by global id, with its type's read permission, and clear errors for
ids that are not ids."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ispcore.domain.companies import service as companies
from ispcore.domain.identity.actor import SYSTEM

NODE = """query($id: ID!) { node(id: $id) {
  __typename id
  ... on Company { name currency }
  ... on User { email role { name } }
  ... on Role { name builtIn }
} }"""


def gid(type_name: str, pk: Any) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


async def create_company(runtime: Any, name: str = "Acme Fibre") -> int:
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        company = await companies.create_company(
            uow, {"name": name, "currency": "usd", "time_zone": "America/Chicago"})
        return company.id


async def test_node_returns_a_company(api, runtime):
    token = await api.admin_token()
    pk = await create_company(runtime)
    data = await api.data(NODE, {"id": gid("Company", pk)}, token)
    assert data == {"node": {"__typename": "Company", "id": gid("Company", pk),
                             "name": "Acme Fibre", "currency": "USD"}}


async def test_node_returns_a_user_and_a_role(api):
    user_pk, token = await api.user_with_token("admin@example.com")
    user = (await api.data(NODE, {"id": gid("User", user_pk)}, token))["node"]
    assert user == {"__typename": "User", "id": gid("User", user_pk),
                    "email": "admin@example.com", "role": {"name": "admin"}}

    role_id = (await api.data('{ roles(filter: {name: {eq: "admin"}}) { edges { node { id } } } }',
                              token=token))["roles"]["edges"][0]["node"]["id"]
    role = (await api.data(NODE, {"id": role_id}, token))["node"]
    assert role == {"__typename": "Role", "id": role_id, "name": "admin", "builtIn": True}


async def test_ids_from_lists_resolve_through_node(api, runtime):
    token = await api.admin_token()
    for name in ("a", "b", "c"):
        await create_company(runtime, name)
    edges = (await api.data("{ companies { edges { node { id name } } } }",
                            token=token))["companies"]["edges"]
    for edge in edges:
        node = (await api.data(NODE, {"id": edge["node"]["id"]}, token))["node"]
        assert node["name"] == edge["node"]["name"]


async def test_unknown_type_name_gives_null(api, runtime):
    token = await api.admin_token()
    pk = await create_company(runtime)
    for raw in (gid("Spaceship", pk), gid("company", pk), gid("Query", 1), gid("Connection", 1)):
        body = await api.gql(NODE, {"id": raw}, token)
        assert body == {"data": {"node": None}}, raw


async def test_known_type_without_such_row_gives_null(api, runtime):
    token = await api.admin_token()
    pk = await create_company(runtime)
    assert (await api.gql(NODE, {"id": gid("Company", pk + 1000)}, token)
            ) == {"data": {"node": None}}
    assert (await api.gql(NODE, {"id": gid("User", 424242)}, token)
            ) == {"data": {"node": None}}


async def test_missing_read_permission_for_the_type_is_forbidden(api, runtime):
    pk = await create_company(runtime)
    reader_pk, reader = await api.user_with_token("reader@example.com",
                                                  permissions=["companies:read"])
    assert (await api.data(NODE, {"id": gid("Company", pk)}, reader))["node"]["name"] == (
        "Acme Fibre")

    for raw in (gid("User", reader_pk), gid("Role", 1)):
        body = await api.gql(NODE, {"id": raw}, reader)
        assert body["data"] == {"node": None}
        error = body["errors"][0]
        assert error["extensions"]["code"] == "FORBIDDEN", error
        assert "users:read" in error["message"] or "roles:read" in error["message"]


async def test_forbidden_does_not_depend_on_whether_the_row_exists(api, runtime):
    _, reader = await api.user_with_token("reader@example.com", permissions=["users:read"])
    pk = await create_company(runtime)
    for raw in (gid("Company", pk), gid("Company", pk + 1000)):
        body = await api.gql(NODE, {"id": raw}, reader)
        assert body["data"] == {"node": None}
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_token_scopes_narrow_node(api, runtime):
    pk = await create_company(runtime)
    user_pk, scoped = await api.user_with_token("admin@example.com", scopes=["companies:read"])
    assert (await api.data(NODE, {"id": gid("Company", pk)}, scoped))["node"]["name"] == (
        "Acme Fibre")
    body = await api.gql(NODE, {"id": gid("User", user_pk)}, scoped)
    assert body["data"] == {"node": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_anonymous_node_request_sees_nothing(api, runtime):
    pk = await create_company(runtime)
    body = await api.gql(NODE, {"id": gid("Company", pk)})
    assert body["data"] == {"node": None}
    assert body["errors"][0]["extensions"]["code"] in ("UNAUTHENTICATED", "FORBIDDEN")


MALFORMED = {
    "not base64": "!!!",
    "base64 without colon": base64.b64encode(b"Company").decode(),
    "non-numeric pk": gid("Company", "abc"),
    "empty pk": gid("Company", ""),
    "huge pk": gid("Company", 10**30),
    "pk beyond bigint": gid("Company", 2**63),
    "zero pk": gid("Company", 0),
    "negative pk": gid("Company", -5),
    "fractional pk": gid("User", "1.5"),
}


@pytest.mark.parametrize("raw", list(MALFORMED.values()), ids=list(MALFORMED))
async def test_malformed_global_id_is_a_clear_error_not_internal(api, runtime, raw):
    token = await api.admin_token()
    await create_company(runtime)
    body = await api.gql(NODE, {"id": raw}, token)
    assert body["data"] in (None, {"node": None}), body
    assert body.get("errors"), body
    error = body["errors"][0]
    assert error.get("extensions", {}).get("code") != "INTERNAL", error
    message = error["message"]
    assert not message.startswith("Internal error"), error
    assert "id" in message.lower(), error


async def test_malformed_global_id_inline_in_the_query_is_not_internal(api):
    token = await api.admin_token()
    body = await api.gql('{ node(id: "not-a-global-id") { id } }', token=token)
    assert body["data"] in (None, {"node": None}), body
    error = body["errors"][0]
    assert error.get("extensions", {}).get("code") != "INTERNAL", error
    assert not error["message"].startswith("Internal error"), error
