"""Connections: keyset pagination, pageInfo, totalCount, page-size limits, cursors, ordering
and the SQL they cost (DataLoaders, count only when asked)."""

from __future__ import annotations

import base64
import json
from typing import Any

from ispcore.domain.companies import service as companies
from ispcore.domain.identity import users
from ispcore.domain.identity.actor import SYSTEM
from ispcore.domain.identity.models import User
from ispcore.domain.identity.secrets import hash_password
from tests.support import count_statements

COMPANIES = """
query($first: Int, $after: String, $filter: CompanyFilter, $orderBy: [CompanyOrder!]) {
  companies(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name createdAt } }
  }
}"""


async def create_companies(runtime: Any, names: list[str]) -> list[str]:
    """Companies with these names (in this order); returns their global ids."""
    ids = []
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        for name in names:
            company = await companies.create_company(
                uow, {"name": name, "currency": "USD", "time_zone": "UTC"})
            ids.append(company.id)
    return [base64.b64encode(f"Company:{i}".encode()).decode() for i in ids]


async def page(api: Any, token: str, **variables: Any) -> dict[str, Any]:
    return (await api.data(COMPANIES, variables, token))["companies"]


async def walk(api: Any, token: str, size: int, **variables: Any) -> list[dict[str, Any]]:
    """Every page of ``size`` from the start; returns the pages."""
    pages, after = [], None
    while True:
        current = await page(api, token, first=size, after=after, **variables)
        pages.append(current)
        if not current["pageInfo"]["hasNextPage"]:
            return pages
        after = current["pageInfo"]["endCursor"]
        assert len(pages) < 100, "pagination does not end"


def names_of(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["name"] for edge in connection["edges"]]


def bad_input(body: dict[str, Any]) -> dict[str, Any]:
    """The single BAD_USER_INPUT error of a response that returned no data."""
    assert body["data"] is None, body
    assert len(body["errors"]) == 1, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return error


# --- walking pages -------------------------------------------------------------------------

async def test_first_after_walks_every_row_exactly_once_in_order(api, runtime):
    token = await api.admin_token()
    names = [f"company {i:02d}" for i in range(23)]
    ids = await create_companies(runtime, names)

    pages = await walk(api, token, 5)

    assert [len(p["edges"]) for p in pages] == [5, 5, 5, 5, 3]
    assert [e["node"]["id"] for p in pages for e in p["edges"]] == ids
    assert [n for p in pages for n in names_of(p)] == names
    for number, current in enumerate(pages):
        info = current["pageInfo"]
        assert current["totalCount"] == 23
        assert info["hasNextPage"] is (number < len(pages) - 1)
        assert info["hasPreviousPage"] is (number > 0)
        assert info["startCursor"] == current["edges"][0]["cursor"]
        assert info["endCursor"] == current["edges"][-1]["cursor"]
    cursors = [e["cursor"] for p in pages for e in p["edges"]]
    assert len(set(cursors)) == 23


async def test_page_after_any_edge_cursor_starts_right_after_it(api, runtime):
    token = await api.admin_token()
    names = [f"company {i:02d}" for i in range(8)]
    await create_companies(runtime, names)
    everything = await page(api, token, first=8)
    third = everything["edges"][2]["cursor"]

    rest = await page(api, token, first=3, after=third)

    assert names_of(rest) == names[3:6]
    assert rest["pageInfo"]["hasNextPage"] is True
    assert rest["pageInfo"]["hasPreviousPage"] is True


async def test_empty_connection(api):
    token = await api.admin_token()
    empty = await page(api, token, first=10)
    assert empty == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "startCursor": None,
                     "endCursor": None},
        "edges": [],
    }


async def test_exact_multiple_of_page_size_has_no_extra_empty_page(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, [f"company {i}" for i in range(6)])
    pages = await walk(api, token, 3)
    assert [len(p["edges"]) for p in pages] == [3, 3]
    assert pages[-1]["pageInfo"]["hasNextPage"] is False


# --- totalCount ----------------------------------------------------------------------------

async def test_total_count_counts_every_match_regardless_of_page_and_honours_filter(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, [f"fibre {i}" for i in range(5)]
                           + [f"cable {i}" for i in range(7)])
    fibre = {"name": {"startsWith": "fibre"}}

    first = await page(api, token, first=2, filter=fibre)
    second = await page(api, token, first=2, filter=fibre, after=first["pageInfo"]["endCursor"])
    everything = await page(api, token, first=2)

    assert names_of(first) == ["fibre 0", "fibre 1"]
    assert names_of(second) == ["fibre 2", "fibre 3"]
    assert first["totalCount"] == second["totalCount"] == 5
    assert everything["totalCount"] == 12


# --- page sizes ----------------------------------------------------------------------------

async def test_default_page_size_is_50(api, runtime):
    token = await api.admin_token()
    names = [f"company {i:02d}" for i in range(53)]
    await create_companies(runtime, names)

    first = (await api.data("{ companies { totalCount pageInfo { hasNextPage endCursor } "
                            "edges { node { name } } } }", token=token))["companies"]
    assert len(first["edges"]) == 50
    assert first["totalCount"] == 53
    assert first["pageInfo"]["hasNextPage"] is True

    rest = await page(api, token, after=first["pageInfo"]["endCursor"])
    assert names_of(rest) == names[50:]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_first_zero_returns_no_edges_but_counts(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, ["a", "b", "c"])
    zero = await page(api, token, first=0)
    assert zero["edges"] == []
    assert zero["totalCount"] == 3
    assert zero["pageInfo"]["startCursor"] is None
    assert zero["pageInfo"]["endCursor"] is None
    assert zero["pageInfo"]["hasPreviousPage"] is False


async def test_first_zero_reports_that_rows_follow(api, runtime):
    """Relay's HasNextPage: with `first` set, true when more than `first` edges remain after
    the cursor; with rows present and first: 0 that is true."""
    token = await api.admin_token()
    await create_companies(runtime, ["a", "b", "c"])
    zero = await page(api, token, first=0)
    assert zero["pageInfo"]["hasNextPage"] is True
    empty_tail = await page(api, token, first=3)
    assert (await page(api, token, first=0, after=empty_tail["pageInfo"]["endCursor"])
            )["pageInfo"]["hasNextPage"] is False


async def test_first_at_the_cap_is_accepted(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, ["a", "b"])
    capped = await page(api, token, first=500)
    assert names_of(capped) == ["a", "b"]


async def test_first_over_the_cap_is_a_clear_error_and_no_data(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, ["a"])
    body = await api.gql(COMPANIES, {"first": 501}, token)
    error = bad_input(body)
    assert "500" in error["message"]
    assert error["path"] == ["companies"]


async def test_negative_first_is_an_error(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, ["a"])
    error = bad_input(await api.gql(COMPANIES, {"first": -1}, token))
    assert "first" in error["message"]


async def test_page_size_limit_applies_to_every_connection(api):
    token = await api.admin_token()
    for field in ("users", "roles", "events", "auditLogEntries", "personalAccessTokens"):
        body = await api.gql(f"{{ {field}(first: 501) {{ totalCount }} }}", token=token)
        bad_input(body)


# --- cursors -------------------------------------------------------------------------------

def encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def test_malformed_cursors_are_bad_user_input(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, ["a", "b"])
    for cursor in ("not a cursor", "!!!", "zzz", encoded(b"not json"), encoded(b"[1,2,3]"),
                   encoded(b"{}"), encoded(b'"id:asc"'), encoded(b'["id:asc"]'),
                   encoded(b'["id:asc", 5]'), encoded(b'["id:asc", [1, 2]]'),
                   encoded("\u00ff".encode("latin-1"))):
        body = await api.gql(COMPANIES, {"first": 1, "after": cursor}, token)
        error = bad_input(body)
        assert "cursor" in error["message"].lower(), (cursor, error)


async def test_cursor_from_another_ordering_is_rejected(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, ["a", "b", "c"])
    by_name = await page(api, token, first=1, orderBy=[{"field": "NAME"}])
    cursor = by_name["pageInfo"]["endCursor"]

    for other in (None, [{"field": "NAME", "direction": "DESC"}],
                  [{"field": "CREATED_AT"}], [{"field": "ID", "direction": "DESC"}]):
        body = await api.gql(COMPANIES, {"first": 1, "after": cursor, "orderBy": other}, token)
        bad_input(body)
    same = await page(api, token, first=1, after=cursor, orderBy=[{"field": "NAME"}])
    assert names_of(same) == ["b"]


async def test_cursor_with_values_of_the_wrong_type_is_bad_user_input(api, runtime):
    """A cursor is opaque; a tampered one must be refused as input, not fail in the database."""
    token = await api.admin_token()
    await create_companies(runtime, ["a", "b"])
    for order in (None, [{"field": "CREATED_AT"}]):
        real = (await page(api, token, first=1, orderBy=order))["pageInfo"]["endCursor"]
        signature, values = json.loads(base64.urlsafe_b64decode(real + "=" * (-len(real) % 4)))
        for bad_value in ("abc", {"x": 1}, [1]):
            tampered = encoded(json.dumps([signature, [bad_value] * len(values)]).encode())
            body = await api.gql(COMPANIES, {"first": 1, "after": tampered, "orderBy": order},
                                 token)
            assert body["data"] is None, (order, bad_value, body)
            assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (
                order, bad_value, body["errors"])


# --- ordering ------------------------------------------------------------------------------

async def test_order_by_name_desc_pages_stably(api, runtime):
    token = await api.admin_token()
    names = ["delta", "alpha", "echo", "charlie", "bravo", "foxtrot", "golf"]
    await create_companies(runtime, names)
    order = [{"field": "NAME", "direction": "DESC"}]

    pages = await walk(api, token, 3, orderBy=order)
    assert [n for p in pages for n in names_of(p)] == sorted(names, reverse=True)
    assert [len(p["edges"]) for p in pages] == [3, 3, 1]

    ascending = await walk(api, token, 2, orderBy=[{"field": "NAME"}])
    assert [n for p in ascending for n in names_of(p)] == sorted(names)


async def test_order_by_created_at_breaks_ties_by_id(api, runtime, clock):
    token = await api.admin_token()
    # Three batches at three moments; each batch shares one created_at.
    created: list[tuple[int, int, str]] = []  # (moment, creation index, name)
    for moment, batch in ((2, ["m2-a", "m2-b", "m2-c"]), (0, ["m0-a", "m0-b"]),
                          (1, ["m1-a", "m1-b", "m1-c", "m1-d"])):
        clock.set(clock.now().replace(hour=10 + moment))
        await create_companies(runtime, batch)
        created.extend((moment, len(created), name) for name in batch)

    def expected(desc_time: bool, desc_id: bool) -> list[str]:
        rows = sorted(created, key=lambda r: ((-r[0] if desc_time else r[0]),
                                              (-r[1] if desc_id else r[1])))
        return [name for _, _, name in rows]

    cases = [
        ([{"field": "CREATED_AT"}], expected(False, False)),
        ([{"field": "CREATED_AT", "direction": "DESC"}], expected(True, False)),
        ([{"field": "CREATED_AT", "direction": "DESC"}, {"field": "ID", "direction": "DESC"}],
         expected(True, True)),
    ]
    for order, want in cases:
        for size in (1, 2, 4):
            pages = await walk(api, token, size, orderBy=order)
            assert [n for p in pages for n in names_of(p)] == want, (order, size)
            assert all(p["totalCount"] == 9 for p in pages)


async def test_rows_inserted_before_the_cursor_cause_no_duplicates(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, ["b", "d", "f", "h", "j"])
    order = [{"field": "NAME"}]

    first = await page(api, token, first=2, orderBy=order)
    assert names_of(first) == ["b", "d"]
    await create_companies(runtime, ["a", "c", "e"])  # two before the cursor, one after

    second = await page(api, token, first=2, orderBy=order,
                        after=first["pageInfo"]["endCursor"])
    assert names_of(second) == ["e", "f"]
    third = await page(api, token, first=2, orderBy=order,
                       after=second["pageInfo"]["endCursor"])
    assert names_of(third) == ["h", "j"]
    assert third["pageInfo"]["hasNextPage"] is False
    assert third["totalCount"] == 8


async def test_deleting_the_cursor_row_does_not_break_the_next_page(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, ["a", "b", "c", "d"])
    first = await page(api, token, first=2, orderBy=[{"field": "NAME"}])
    mutation = "mutation($id: ID!) { deleteCompany(input: {id: $id}) { errors { code } } }"
    deleted = await api.data(mutation, {"id": first["edges"][-1]["node"]["id"]}, token)
    assert deleted["deleteCompany"]["errors"] == []

    rest = await page(api, token, first=2, orderBy=[{"field": "NAME"}],
                      after=first["pageInfo"]["endCursor"])
    assert names_of(rest) == ["c", "d"]


# --- SQL cost ------------------------------------------------------------------------------

USERS_WITH_ROLES = """
query($first: Int!) { users(first: $first) { edges { node { email role { name } } } } }"""


async def create_users_with_roles(runtime: Any, count: int, role_count: int
                                  ) -> dict[str, str]:
    """``count`` users spread over ``role_count`` roles; returns email -> role name."""
    password_hash = await hash_password("not used by these tests")  # once: argon2 is slow
    expected = {}
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        roles = [await users.create_role(uow, name=f"role {i}", permissions=["users:read"])
                 for i in range(role_count)]
        now = uow.clock.now()
        for i in range(count):
            role = roles[i % role_count]
            email = f"user{i:03d}@example.com"
            uow.session.add(User(email=email, name=f"user {i}", password_hash=password_hash,
                                 active=True, role_id=role.id, ip_allowlist=[],
                                 created_at=now, updated_at=now))
            expected[email] = role.name
    return expected


async def test_relation_fields_use_dataloaders_not_one_query_per_row(api, runtime):
    token = await api.admin_token()
    expected = await create_users_with_roles(runtime, 55, role_count=4)
    expected["admin@example.com"] = "admin"
    await api.data(USERS_WITH_ROLES, {"first": 1}, token)  # warm up: token last-used update

    counts = {}
    for size in (5, 50):
        with count_statements(runtime) as statements:
            data = await api.data(USERS_WITH_ROLES, {"first": size}, token)
        edges = data["users"]["edges"]
        assert len(edges) == size
        for edge in edges:
            assert edge["node"]["role"]["name"] == expected[edge["node"]["email"]]
        role_queries = [s for s in statements if "FROM roles" in s and "FROM users" not in s]
        assert len(role_queries) == 1, statements
        counts[size] = len(statements)
    assert counts[5] == counts[50], counts


async def test_count_query_runs_only_when_total_count_is_selected(api, runtime):
    token = await api.admin_token()
    await create_companies(runtime, ["a", "b", "c"])
    await page(api, token, first=1)  # warm up: token last-used update

    with count_statements(runtime) as without:
        data = await api.data("{ companies(first: 2) { edges { node { name } } } }", token=token)
    assert len(data["companies"]["edges"]) == 2
    with count_statements(runtime) as with_count:
        data = await api.data("{ companies(first: 2) { totalCount edges { node { name } } } }",
                              token=token)
    assert data["companies"]["totalCount"] == 3

    assert not [s for s in without if "count(" in s.lower()], without
    counting = [s for s in with_count if "count(" in s.lower()]
    assert len(counting) == 1, with_count
    assert len(with_count) == len(without) + 1
