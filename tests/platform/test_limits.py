"""Query depth, tokens, aliases, selections and cost are limited, fragments counted wherever
they are spread; circular fragments cannot hang the server (strawberry's published advisories:
all hold here)."""

from __future__ import annotations

from importlib.metadata import version

from packaging.version import Version

from tests.accounts.factories import company_setup, new_account


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
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
    assert f"at most {depth}" in body["errors"][0]["message"]


async def test_too_many_aliases_are_refused(api):
    token = await api.admin_token()
    fields = " ".join(f"a{i}: __typename" for i in range(api.runtime.settings.max_aliases + 1))
    body = await api.gql("{ " + fields + " }", token=token)
    assert body["data"] is None
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
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


def _fragment_bomb(levels: int, leaf: str = "__typename") -> str:
    """``levels`` fragments, each spreading the one before twice: 2^levels selections in
    about 40 bytes a level."""
    fragments = [f"fragment F0 on Query {{ {leaf} }}"] + [
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, levels + 1)]
    return f"query {{ ...F{levels} }} " + " ".join(fragments)


async def test_a_fragment_bomb_is_refused_before_it_is_walked(api):
    bomb = _fragment_bomb(30)
    assert len(bomb) < 1300
    body = await api.gql(bomb)  # anonymous: nothing to authenticate or rate-limit first
    assert body["data"] is None
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "fields once its fragments are written out" in body["errors"][0]["message"]
    # Its aliases are counted wherever the fragments are spread, once per fragment.
    aliased = await api.gql(_fragment_bomb(30, leaf="a: __typename"))
    assert _codes(aliased) == ["QUERY_TOO_COMPLEX"]
    assert f"{2**30} aliases" in aliased["errors"][0]["message"]
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}


async def test_fragments_nobody_spreads_are_measured_too(api):
    """graphql-core's rules walk them all the same."""
    unspread = _fragment_bomb(30).replace("query { ...F30 }", "query { __typename }")
    assert _codes(await api.gql(unspread)) == ["QUERY_TOO_COMPLEX"]
    repeated = "query { __typename } fragment R on Query { " + "me { email } " * 240 + "}"
    assert _codes(await api.gql(repeated)) == ["QUERY_TOO_COMPLEX"]


async def test_fragments_spread_a_few_times_are_fine(api):
    body = await api.gql(_fragment_bomb(5))  # 32 selections of __typename
    assert body == {"data": {"__typename": "Query"}}


async def test_one_field_selected_over_and_over_is_refused(api):
    """graphql-core compares fields sharing a response path in pairs: 240 copies of one
    field (within the token limit) took it most of a second."""
    token = await api.admin_token()
    body = await api.gql("{ " + "me { email } " * 240 + "}", token=token)
    assert body["data"] is None
    assert _codes(body) == ["QUERY_TOO_COMPLEX"]
    assert "(me: 240 times" in body["errors"][0]["message"]
    nested = await api.gql("{ me { " + "email " * 70 + "} }", token=token)
    assert "(me.email: 70 times, fragments included): 2415 pairs" in nested["errors"][0][
        "message"]
    # A field shared by a few dozen fragments is fine (as Relay writes them).
    fragments = " ".join(f"fragment M{i} on User {{ email }}" for i in range(40))
    shared = "{ me { " + " ".join(f"...M{i}" for i in range(40)) + " } } " + fragments
    assert await api.data(shared, token=token) == {"me": {"email": "admin@example.com"}}


async def test_a_deep_but_cheap_query_passes(api):
    """As deep as the limit allows, through single objects: a few fields per account."""
    setup = await company_setup(api)
    parent = await new_account(api, setup, "Parent")
    await new_account(api, setup, "Child", parentAccountId=parent["id"])
    chain = "name"
    for _ in range(api.runtime.settings.max_query_depth - 3):  # accounts, edges, node
        chain = f"name company {{ name }} parentAccount {{ {chain} }}"
    data = await api.data(f"{{ accounts(orderBy: [{{field: NAME}}]) {{ edges {{ node {{ "
                          f"{chain} }} }} }} }}", token=setup.token)
    child = data["accounts"]["edges"][0]["node"]
    assert (child["name"], child["parentAccount"]["name"]) == ("Child", "Parent")
    assert child["parentAccount"]["parentAccount"] is None


NESTED_LISTS = """query($n: Int) { accounts(first: $n) { edges { node { name
  childAccounts { name invoices { number lines { description } } } } } } }"""


async def test_nested_lists_under_a_large_page_cost_too_much(api):
    """Page sizes multiply what is under them; a list without one counts as 10 items."""
    token = await api.admin_token()
    assert await api.data(NESTED_LISTS, {"n": 1}, token) == {"accounts": {"edges": []}}
    assert await api.data(NESTED_LISTS, {}, token) == {"accounts": {"edges": []}}
    body = await api.gql(NESTED_LISTS, {"n": 500}, token)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "cost": 611_502,
                                   "maxCost": api.runtime.settings.max_query_cost}
    literal = NESTED_LISTS.replace("query($n: Int)", "query").replace("$n", "500")
    assert _codes(await api.gql(literal, token=token)) == ["QUERY_TOO_COMPLEX"]
