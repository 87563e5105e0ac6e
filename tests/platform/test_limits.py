"""Query depth, tokens and aliases are limited; circular fragments cannot hang the server
(strawberry's published advisories: all hold here)."""

from __future__ import annotations

from importlib.metadata import version

from packaging.version import Version


def test_strawberry_is_a_patched_release():
    assert Version(version("strawberry-graphql")) >= Version("0.315.7")


def _codes(body: dict) -> list[str]:
    return [e.get("extensions", {}).get("code", e["message"]) for e in body.get("errors", [])]


async def test_query_deeper_than_the_limit_is_refused(api):
    token = await api.admin_token()
    depth = api.runtime.settings.max_query_depth
    inner = "email"
    for _ in range(depth):
        inner = f"edges {{ node {{ user {{ {inner} }} }} }}"
    query = "{ auditLogEntries { " + inner + " } }"
    body = await api.gql(query, token=token)
    assert body["data"] is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_too_many_aliases_are_refused(api):
    token = await api.admin_token()
    fields = " ".join(f"a{i}: __typename" for i in range(api.runtime.settings.max_aliases + 1))
    body = await api.gql("{ " + fields + " }", token=token)
    assert body["data"] is None
    assert "aliases" in body["errors"][0]["message"]


async def test_too_many_tokens_are_refused(api):
    token = await api.admin_token()
    query = "{ " + " ".join(["__typename"] * api.runtime.settings.max_query_tokens) + " }"
    body = await api.gql(query, token=token)
    assert body["data"] is None
    assert "token" in body["errors"][0]["message"].lower()


async def test_circular_fragments_are_rejected_not_recursed(api):
    query = """
      query { ...A }
      fragment A on Query { ...B }
      fragment B on Query { ...A }
    """
    body = await api.gql(query)
    assert body["data"] is None
    assert any("fragment" in e["message"].lower() for e in body["errors"])


async def test_aliases_hidden_in_circular_fragments_are_refused(api):
    aliases = " ".join(f"x{i}: __typename" for i in range(40))
    query = f"""
      query {{ ...A }}
      fragment A on Query {{ {aliases} ...B }}
      fragment B on Query {{ ...A }}
    """
    body = await api.gql(query)
    assert body["data"] is None
    assert body["errors"]


async def test_page_size_over_the_cap_is_refused(api):
    token = await api.admin_token()
    body = await api.gql("{ companies(first: 501) { totalCount } }", token=token)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "between 0 and 500" in body["errors"][0]["message"]
