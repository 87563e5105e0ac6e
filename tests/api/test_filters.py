"""The one filter shape: operators per field, and/or/not nesting, search, and how filters
combine with ordering, pagination and totalCount."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ispcore.domain.companies import service as companies
from ispcore.domain.identity.actor import SYSTEM

COMPANIES = """
query($first: Int, $after: String, $filter: CompanyFilter, $orderBy: [CompanyOrder!]) {
  companies(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name } }
  }
}"""

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

#: name, currency, time zone, country, contact email; created one hour apart from T0.
ROWS = [
    ("Acme Fibre", "USD", "America/Chicago", "US", "ops@acme.example"),
    ("Bolt Broadband", "EUR", "Europe/Berlin", "DE", "noc@bolt.example"),
    ("100% Wireless", "USD", "America/Denver", "US", None),
    ("Net_Works", "GBP", "Europe/London", "GB", "hello@networks.example"),
    ("Networks Ltd", "GBP", "Europe/London", "GB", None),
    ("Quiet Cable", "CAD", "America/Toronto", None, "help@fibre-support.example"),
]
ALL = [row[0] for row in ROWS]


def iso(moment: datetime) -> str:
    return moment.isoformat()


@pytest.fixture
async def seeded(api: Any, runtime: Any, clock: Any) -> dict[str, Any]:
    """The ROWS companies and an admin token; ``ids`` maps name -> global id."""
    token = await api.admin_token()
    ids = {}
    for hour, (name, currency, zone, country, email) in enumerate(ROWS):
        clock.set(T0 + timedelta(hours=hour))
        async with runtime.unit_of_work(SYSTEM, action="test") as uow:
            company = await companies.create_company(
                uow, {"name": name, "currency": currency, "time_zone": zone,
                      "country": country, "contact_email": email})
        ids[name] = base64.b64encode(f"Company:{company.id}".encode()).decode()
    return {"token": token, "ids": ids}


async def matching(api: Any, fx: dict[str, Any], flt: dict[str, Any], **variables: Any
                   ) -> list[str]:
    """Names of the companies ``flt`` matches (in id order); totalCount must agree."""
    data = await api.data(COMPANIES, {"filter": flt, "first": 100, **variables}, fx["token"])
    names = [e["node"]["name"] for e in data["companies"]["edges"]]
    assert data["companies"]["totalCount"] == len(names)
    return names


def only(*names: str) -> list[str]:
    return [n for n in ALL if n in names]


def excluding(*names: str) -> list[str]:
    return [n for n in ALL if n not in names]


# --- StringFilter --------------------------------------------------------------------------

async def test_no_filter_and_empty_filter_match_everything(api, seeded):
    assert await matching(api, seeded, None) == ALL
    assert await matching(api, seeded, {}) == ALL
    assert await matching(api, seeded, {"name": {}}) == ALL


async def test_string_eq_and_ne(api, seeded):
    assert await matching(api, seeded, {"name": {"eq": "Acme Fibre"}}) == only("Acme Fibre")
    assert await matching(api, seeded, {"currency": {"eq": "USD"}}) == only(
        "Acme Fibre", "100% Wireless")
    assert await matching(api, seeded, {"name": {"eq": "Acme"}}) == []
    assert await matching(api, seeded, {"currency": {"ne": "USD"}}) == excluding(
        "Acme Fibre", "100% Wireless")


async def test_string_ne_keeps_rows_where_the_field_is_null(api, seeded):
    assert await matching(api, seeded, {"country": {"ne": "US"}}) == excluding(
        "Acme Fibre", "100% Wireless")


async def test_string_in(api, seeded):
    assert await matching(api, seeded, {"currency": {"in": ["EUR", "GBP"]}}) == only(
        "Bolt Broadband", "Net_Works", "Networks Ltd")
    assert await matching(api, seeded, {"currency": {"in": ["XXX"]}}) == []


async def test_empty_in_matches_nothing(api, seeded):
    assert await matching(api, seeded, {"currency": {"in": []}}) == []
    assert await matching(api, seeded, {"id": {"in": []}}) == []
    assert await matching(api, seeded, {"or": [{"currency": {"in": []}},
                                                {"currency": {"eq": "CAD"}}]}) == only(
        "Quiet Cable")
    assert await matching(api, seeded, {"not": {"currency": {"in": []}}}) == ALL


async def test_contains_ignores_case(api, seeded):
    for needle in ("fibre", "FIBRE", "Fibre", "iBr"):
        assert await matching(api, seeded, {"name": {"contains": needle}}) == only(
            "Acme Fibre"), needle
    assert await matching(api, seeded, {"name": {"contains": "works"}}) == only(
        "Net_Works", "Networks Ltd")


async def test_starts_with_ignores_case_and_anchors_at_the_start(api, seeded):
    assert await matching(api, seeded, {"name": {"startsWith": "net"}}) == only(
        "Net_Works", "Networks Ltd")
    assert await matching(api, seeded, {"name": {"startsWith": "NETWORKS"}}) == only(
        "Networks Ltd")
    assert await matching(api, seeded, {"name": {"startsWith": "Fibre"}}) == []


async def test_like_wildcards_are_taken_literally(api, seeded):
    assert await matching(api, seeded, {"name": {"contains": "%"}}) == only("100% Wireless")
    assert await matching(api, seeded, {"name": {"contains": "_"}}) == only("Net_Works")
    assert await matching(api, seeded, {"name": {"startsWith": "Net_"}}) == only("Net_Works")
    assert await matching(api, seeded, {"name": {"startsWith": "%"}}) == []
    assert await matching(api, seeded, {"name": {"startsWith": "_"}}) == []
    assert await matching(api, seeded, {"name": {"contains": "0%"}}) == only("100% Wireless")
    assert await matching(api, seeded, {"name": {"contains": "\\"}}) == []
    assert await matching(api, seeded, {"search": "%"}) == only("100% Wireless")
    assert await matching(api, seeded, {"search": "t_w"}) == only("Net_Works")


async def test_contains_ignores_case_beyond_ascii(api, runtime, seeded):
    async with runtime.unit_of_work(SYSTEM, action="test") as uow:
        await companies.create_company(uow, {"name": "Société Générale Télécom",
                                             "currency": "EUR", "time_zone": "Europe/Paris"})
    for needle in ("société", "SOCIÉTÉ", "générale", "TÉLÉCOM"):
        assert await matching(api, seeded, {"name": {"contains": needle}}) == [
            "Société Générale Télécom"], needle
    assert await matching(api, seeded, {"name": {"startsWith": "SOCIÉ"}}) == [
        "Société Générale Télécom"]


async def test_is_null(api, seeded):
    assert await matching(api, seeded, {"country": {"isNull": True}}) == only("Quiet Cable")
    assert await matching(api, seeded, {"country": {"isNull": False}}) == excluding(
        "Quiet Cable")
    assert await matching(api, seeded, {"name": {"isNull": True}}) == []


async def test_several_operators_on_one_field_all_apply(api, seeded):
    assert await matching(api, seeded, {"name": {"startsWith": "net", "ne": "Net_Works"}}
                          ) == only("Networks Ltd")


async def test_several_fields_all_apply(api, seeded):
    assert await matching(api, seeded, {"currency": {"eq": "USD"},
                                         "timeZone": {"eq": "America/Denver"}}) == only(
        "100% Wireless")


# --- DateTimeFilter ------------------------------------------------------------------------

async def test_datetime_comparisons(api, seeded):
    at = {h: iso(T0 + timedelta(hours=h)) for h in range(6)}

    def created(**ops: str) -> dict[str, Any]:
        return {"createdAt": ops}

    assert await matching(api, seeded, created(gt=at[2])) == ALL[3:]
    assert await matching(api, seeded, created(gte=at[2])) == ALL[2:]
    assert await matching(api, seeded, created(lt=at[2])) == ALL[:2]
    assert await matching(api, seeded, created(lte=at[2])) == ALL[:3]
    assert await matching(api, seeded, created(eq=at[4])) == [ALL[4]]
    assert await matching(api, seeded, created(gte=at[1], lt=at[4])) == ALL[1:4]
    assert await matching(api, seeded, created(gt=at[5])) == []
    assert await matching(api, seeded, created(isNull=False)) == ALL


async def test_datetime_with_another_offset_means_the_same_instant(api, seeded):
    # 13:00 UTC, written as 08:00 at -05:00 and 14:00 at +01:00
    assert await matching(api, seeded, {"createdAt": {"gte": "2026-03-01T08:00:00-05:00"}}
                          ) == ALL[1:]
    assert await matching(api, seeded, {"createdAt": {"lt": "2026-03-01T14:00:00+01:00"}}
                          ) == ALL[:1]
    assert await matching(api, seeded, {"createdAt": {"eq": "2026-03-01T13:00:00Z"}}
                          ) == ALL[1:2]


async def test_datetime_without_offset_is_never_an_internal_error(api, seeded):
    """A timestamp without offset is either read as UTC or refused as bad input."""
    body = await api.gql(COMPANIES, {"filter": {"createdAt": {"gte": "2026-03-01T14:00:00"}}},
                         seeded["token"])
    if body.get("errors"):
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body["errors"]
    else:
        names = [e["node"]["name"] for e in body["data"]["companies"]["edges"]]
        assert names == ALL[2:]


async def test_malformed_datetime_is_refused_before_execution(api, seeded):
    body = await api.gql(COMPANIES, {"filter": {"createdAt": {"gt": "yesterday"}}},
                         seeded["token"])
    assert body["data"] is None
    assert "DateTime" in body["errors"][0]["message"] or "yesterday" in body["errors"][0][
        "message"]
    assert body["errors"][0].get("extensions", {}).get("code") != "INTERNAL"


# --- IDFilter ------------------------------------------------------------------------------

async def test_id_eq_ne_in_with_global_ids(api, seeded):
    ids = seeded["ids"]
    assert await matching(api, seeded, {"id": {"eq": ids["Bolt Broadband"]}}) == only(
        "Bolt Broadband")
    assert await matching(api, seeded, {"id": {"ne": ids["Bolt Broadband"]}}) == excluding(
        "Bolt Broadband")
    assert await matching(api, seeded, {"id": {"in": [ids["Quiet Cable"], ids["Acme Fibre"]]}}
                          ) == only("Quiet Cable", "Acme Fibre")
    missing = base64.b64encode(b"Company:999999").decode()
    assert await matching(api, seeded, {"id": {"eq": missing}}) == []
    assert await matching(api, seeded, {"id": {"isNull": False}}) == ALL


async def test_id_of_another_type_is_bad_user_input(api, seeded):
    user_id = base64.b64encode(b"User:1").decode()
    for flt in ({"id": {"eq": user_id}}, {"id": {"ne": user_id}},
                {"id": {"in": [seeded["ids"]["Acme Fibre"], user_id]}},
                {"or": [{"id": {"eq": user_id}}]}):
        body = await api.gql(COMPANIES, {"filter": flt}, seeded["token"])
        assert body["data"] is None, flt
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert "Company" in error["message"] and "User" in error["message"]


async def test_id_with_a_malformed_key_is_bad_user_input(api, seeded):
    for raw in (b"Company:abc", b"Company:0", b"Company:-3", b"Company:99999999999999999999"):
        body = await api.gql(COMPANIES, {"filter": {"id": {"eq": base64.b64encode(raw).decode()}}},
                             seeded["token"])
        assert body["data"] is None, raw
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body["errors"]


async def test_id_that_is_not_a_global_id_is_not_an_internal_error(api, seeded):
    for raw in ("!!!", base64.b64encode(b"no colon here").decode()):
        body = await api.gql(COMPANIES, {"filter": {"id": {"eq": raw}}}, seeded["token"])
        assert body["data"] is None, raw
        error = body["errors"][0]
        assert error.get("extensions", {}).get("code") != "INTERNAL", error
        assert not error["message"].startswith("Internal error"), error


# --- and / or / not ------------------------------------------------------------------------

async def test_and_or_not_nest(api, seeded):
    eur = {"currency": {"eq": "EUR"}}
    gbp_networks = {"and": [{"currency": {"eq": "GBP"}}, {"name": {"startsWith": "Networks"}}]}
    assert await matching(api, seeded, {"or": [eur, gbp_networks]}) == only(
        "Bolt Broadband", "Networks Ltd")
    assert await matching(api, seeded, {"not": {"or": [eur, gbp_networks]}}) == excluding(
        "Bolt Broadband", "Networks Ltd")
    assert await matching(api, seeded, {"and": [{"currency": {"in": ["USD", "GBP"]}},
                                                 {"not": {"name": {"contains": "net"}}}]}
                          ) == only("Acme Fibre", "100% Wireless")
    assert await matching(api, seeded, {"currency": {"eq": "USD"},
                                         "or": [{"name": {"startsWith": "100"}},
                                                {"name": {"startsWith": "Bolt"}}]}
                          ) == only("100% Wireless")
    assert await matching(api, seeded, {"not": {"not": eur}}) == only("Bolt Broadband")
    deep = {"or": [{"and": [{"or": [{"not": {"currency": {"ne": "CAD"}}}]}]}]}
    assert await matching(api, seeded, deep) == only("Quiet Cable")


async def test_empty_and_matches_everything_and_empty_or_nothing(api, seeded):
    assert await matching(api, seeded, {"and": []}) == ALL
    assert await matching(api, seeded, {"or": []}) == []


async def test_not_is_the_exact_complement_also_where_fields_are_null(api, seeded):
    """`not: F` matches exactly the rows F does not match; a company without a country does
    not match `country: {eq: "US"}`, so `not` must include it (as `ne` does)."""
    for flt in ({"country": {"eq": "US"}}, {"country": {"in": ["US", "GB"]}},
                {"country": {"startsWith": "d"}}, {"country": {"isNull": True}}):
        matched = await matching(api, seeded, flt)
        assert await matching(api, seeded, {"not": flt}) == excluding(*matched), flt


# --- search --------------------------------------------------------------------------------

async def test_search_covers_name_and_contact_email(api, seeded):
    assert await matching(api, seeded, {"search": "fibre"}) == only("Acme Fibre",
                                                                     "Quiet Cable")
    assert await matching(api, seeded, {"search": "ACME"}) == only("Acme Fibre")
    assert await matching(api, seeded, {"search": "noc@"}) == only("Bolt Broadband")
    assert await matching(api, seeded, {"search": "  bolt  "}) == only("Bolt Broadband")
    assert await matching(api, seeded, {"search": "nothing like it"}) == []
    assert await matching(api, seeded, {"search": "   "}) == ALL


async def test_search_combines_with_field_filters(api, seeded):
    assert await matching(api, seeded, {"search": "networks", "currency": {"eq": "GBP"},
                                         "name": {"ne": "Networks Ltd"}}) == only("Net_Works")
    assert await matching(api, seeded, {"or": [{"search": "acme"}, {"search": "quiet"}]}
                          ) == only("Acme Fibre", "Quiet Cable")


# --- with ordering and paging -------------------------------------------------------------

async def test_filter_with_order_by_pagination_and_total_count(api, seeded):
    flt = {"currency": {"in": ["USD", "GBP"]}}
    order = [{"field": "NAME", "direction": "DESC"}]
    expected = sorted(only("Acme Fibre", "100% Wireless", "Net_Works", "Networks Ltd"),
                      reverse=True)

    first = (await api.data(COMPANIES, {"filter": flt, "orderBy": order, "first": 3},
                            seeded["token"]))["companies"]
    second = (await api.data(COMPANIES, {"filter": flt, "orderBy": order, "first": 3,
                                         "after": first["pageInfo"]["endCursor"]},
                             seeded["token"]))["companies"]

    got = [e["node"]["name"] for e in first["edges"] + second["edges"]]
    assert got == expected
    assert [len(first["edges"]), len(second["edges"])] == [3, 1]
    assert first["totalCount"] == second["totalCount"] == 4
    assert first["pageInfo"]["hasNextPage"] is True
    assert second["pageInfo"]["hasNextPage"] is False


async def test_filters_on_other_connections_use_the_same_shape(api, seeded):
    """users: IDFilter on a relation (roleId) and BooleanFilter."""
    role = (await api.data('{ roles(filter: {name: {eq: "admin"}}) { edges { node { id } } } }',
                           token=seeded["token"]))["roles"]["edges"][0]["node"]["id"]
    query = """query($filter: UserFilter) { users(filter: $filter) {
        totalCount edges { node { email } } } }"""
    found = (await api.data(query, {"filter": {"roleId": {"eq": role},
                                               "active": {"eq": True}}},
                            seeded["token"]))["users"]
    assert found["totalCount"] == 1
    assert found["edges"][0]["node"]["email"] == "admin@example.com"
    none = (await api.data(query, {"filter": {"active": {"eq": False}}},
                           seeded["token"]))["users"]
    assert none["totalCount"] == 0
    body = await api.gql(query, {"filter": {"roleId": {"eq": seeded["ids"]["Acme Fibre"]}}},
                         seeded["token"])
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_oversized_filters_are_bad_input_not_internal_errors(api):
    token = await api.admin_token()
    query = "query($f: CompanyFilter) { companies(filter: $f) { totalCount } }"
    deep: dict = {"name": {"eq": "x"}}
    for _ in range(40):
        deep = {"not": deep}
    wide = {"or": [{"name": {"eq": str(n)}} for n in range(51)]}
    many = {"name": {"in": [str(n) for n in range(1001)]}}
    spread = {"and": [{"or": [{"name": {"in": [str(n) for n in range(500)]}}] * 20}] * 2}
    for flt, words in ((deep, "nest at most"), (wide, "at most 50"), (many, "at most 1000"),
                       (spread, "at most 1000")):
        body = await api.gql(query, {"f": flt}, token)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
        assert words in body["errors"][0]["message"]
    fine = {"and": [{"name": {"in": [str(n) for n in range(999)]}}, {"not": {"search": "y"}}]}
    assert (await api.data(query, {"f": fine}, token))["companies"]["totalCount"] == 0


async def test_a_timestamp_without_offset_is_refused_with_a_clear_message(api):
    token = await api.admin_token()
    query = "query($t: DateTime) { companies(filter: {createdAt: {gte: $t}}) { totalCount } }"
    body = await api.gql(query, {"t": "2026-03-01T14:00:00"}, token)
    assert body["data"] is None
    assert "no UTC offset" in body["errors"][0]["message"]
    assert (await api.data(query, {"t": "2026-03-01T14:00:00Z"}, token))["companies"] == {
        "totalCount": 0}
