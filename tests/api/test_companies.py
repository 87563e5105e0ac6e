"""Companies through the API: create, update, delete, read, permissions, validation that
writes nothing, the audit log and events they leave, and idempotent creation."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, ForeignKey, Integer, Table, insert
from sqlalchemy import delete as sql_delete

from ispcore.db import Base

COMPANY_FIELDS = """id name currency timeZone contactEmail addressLine1 addressLine2 city
  subdivision postalCode country createdAt updatedAt"""

CREATE = f"""mutation($input: CreateCompanyInput!) {{
  createCompany(input: $input) {{ company {{ {COMPANY_FIELDS} }} errors {{ field code message }} }}
}}"""
UPDATE = f"""mutation($input: UpdateCompanyInput!) {{
  updateCompany(input: $input) {{ company {{ {COMPANY_FIELDS} }} errors {{ field code message }} }}
}}"""
DELETE = """mutation($id: ID!) {
  deleteCompany(input: {id: $id}) { deletedId errors { field code message } }
}"""
COMPANY = f"query($id: ID!) {{ company(id: $id) {{ {COMPANY_FIELDS} }} }}"
COUNTS = """{ companies { totalCount } events { totalCount } auditLogEntries { totalCount }
  }"""
EVENTS = """query($type: String!) { events(filter: {type: {eq: $type}}) {
  edges { node { type payload requestId entityType entityId companyId occurredAt } } } }"""
AUDIT = """query($action: String!) { auditLogEntries(filter: {action: {eq: $action}}) {
  edges { node { action operation entityType entityId companyId changes requestId tokenId
                 occurredAt user { email } } } } }"""

ACME = {"name": "Acme Fibre", "currency": "usd", "timeZone": "America/Chicago"}


def gid(type_name: str, pk: Any) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def pk_of(global_id: str) -> tuple[str, int]:
    type_name, _, pk = base64.b64decode(global_id).decode().partition(":")
    return type_name, int(pk)


async def create(api: Any, token: str, **fields: Any) -> dict[str, Any]:
    """Create a company that must succeed; returns it."""
    payload = (await api.data(CREATE, {"input": {**ACME, **fields}}, token))["createCompany"]
    assert payload["errors"] == [], payload
    return payload["company"]


async def counts(api: Any, token: str) -> dict[str, int]:
    data = await api.data(COUNTS, token=token)
    return {key: value["totalCount"] for key, value in data.items()}


async def events_of(api: Any, token: str, event_type: str) -> list[dict[str, Any]]:
    data = await api.data(EVENTS, {"type": event_type}, token)
    return [edge["node"] for edge in data["events"]["edges"]]


async def audit_of(api: Any, token: str, action: str) -> list[dict[str, Any]]:
    data = await api.data(AUDIT, {"action": action}, token)
    return [edge["node"] for edge in data["auditLogEntries"]["edges"]]


# --- create --------------------------------------------------------------------------------

async def test_create_company_stores_every_field_and_normalises(api, clock):
    token = await api.admin_token()
    given = {"name": "  Acme Fibre  ", "currency": "eur", "timeZone": "Europe/Berlin",
             "contactEmail": "Ops@Acme.Example", "addressLine1": "1 Fibre Way",
             "addressLine2": "Unit 2", "city": "Berlin", "subdivision": "BE",
             "postalCode": "10115", "country": "de"}
    payload = (await api.data(CREATE, {"input": given}, token))["createCompany"]
    assert payload["errors"] == []
    company = payload["company"]

    type_name, pk = pk_of(company["id"])
    assert (type_name, pk > 0) == ("Company", True)
    now = clock.now().isoformat()
    assert company == {"id": company["id"], "name": "Acme Fibre", "currency": "EUR",
                       "timeZone": "Europe/Berlin", "contactEmail": "ops@acme.example",
                       "addressLine1": "1 Fibre Way", "addressLine2": "Unit 2",
                       "city": "Berlin", "subdivision": "BE", "postalCode": "10115",
                       "country": "DE", "createdAt": now, "updatedAt": now}
    stored = (await api.data(COMPANY, {"id": company["id"]}, token))["company"]
    assert stored == company


async def test_optional_fields_default_to_null(api):
    token = await api.admin_token()
    company = await create(api, token)
    for field in ("contactEmail", "addressLine1", "addressLine2", "city", "subdivision",
                  "postalCode", "country"):
        assert company[field] is None, field


async def test_create_records_an_event_and_an_audit_entry_with_the_request_id(api, clock):
    token = await api.admin_token()
    response = await api.post(CREATE, {"input": {**ACME, "city": "Austin"}}, token)
    request_id = response.headers["x-request-id"]
    company = response.json()["data"]["createCompany"]["company"]

    [event] = await events_of(api, token, "company.created")
    assert event["requestId"] == request_id
    assert event["entityType"] == "Company"
    assert event["entityId"] == event["companyId"] == company["id"]
    assert event["occurredAt"] == clock.now().isoformat()
    assert event["payload"] == {"name": "Acme Fibre", "currency": "USD",
                                "time_zone": "America/Chicago", "contact_email": None,
                                "address_line1": None, "address_line2": None,
                                "city": "Austin", "subdivision": None, "postal_code": None,
                                "country": None, "active": True}

    [entry] = await audit_of(api, token, "createCompany")
    assert entry["operation"] == "create"
    assert entry["entityType"] == "Company"
    assert entry["entityId"] == entry["companyId"] == company["id"]
    assert entry["requestId"] == request_id
    assert entry["user"] == {"email": "admin@example.com"}
    assert entry["tokenId"] is not None and pk_of(entry["tokenId"])[0] == "PersonalAccessToken"
    assert entry["changes"]["name"] == "Acme Fibre"
    assert entry["changes"]["currency"] == "USD"
    assert entry["changes"]["city"] == "Austin"


async def test_a_callers_request_id_is_kept_in_event_and_audit(api):
    token = await api.admin_token()
    response = await api.post(CREATE, {"input": ACME}, token, **{"X-Request-ID": "lb-42.abc"})
    assert response.headers["x-request-id"] == "lb-42.abc"
    assert (await events_of(api, token, "company.created"))[0]["requestId"] == "lb-42.abc"
    assert (await audit_of(api, token, "createCompany"))[0]["requestId"] == "lb-42.abc"


INVALID = {
    "unknown currency": ({"currency": "XYZ"}, "currency", "INVALID"),
    "currency too long": ({"currency": "USDX"}, "currency", "INVALID"),
    "empty currency": ({"currency": ""}, "currency", "INVALID"),
    "unknown time zone": ({"timeZone": "Mars/Olympus_Mons"}, "timeZone", "INVALID"),
    "empty time zone": ({"timeZone": ""}, "timeZone", "INVALID"),
    "bad country": ({"country": "ZZ"}, "country", "INVALID"),
    "three-letter country": ({"country": "USA"}, "country", "INVALID"),
    "unknown subdivision": ({"country": "US", "subdivision": "US-ZZ"}, "subdivision",
                            "INVALID"),
    "subdivision of another country": ({"country": "US", "subdivision": "CA-ON"},
                                       "subdivision", "INVALID"),
    "subdivision without its country": ({"subdivision": "KS"}, "subdivision", "INVALID"),
    "bad email": ({"contactEmail": "not an email"}, "contactEmail", "INVALID"),
    "email without domain": ({"contactEmail": "ops@"}, "contactEmail", "INVALID"),
    "empty name": ({"name": ""}, "name", "REQUIRED"),
    "blank name": ({"name": "   "}, "name", "REQUIRED"),
}


@pytest.mark.parametrize(("fields", "field", "code"), list(INVALID.values()), ids=list(INVALID))
async def test_invalid_input_is_reported_and_writes_nothing(api, fields, field, code):
    token = await api.admin_token()
    await create(api, token, name="Existing")
    before = await counts(api, token)

    payload = (await api.data(CREATE, {"input": {**ACME, **fields}}, token))["createCompany"]

    assert payload["company"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    assert payload["errors"][0]["message"]
    assert await counts(api, token) == before


async def test_several_problems_are_reported_together(api):
    token = await api.admin_token()
    before = await counts(api, token)
    payload = (await api.data(CREATE, {"input": {
        "name": " ", "currency": "ABC", "timeZone": "Nowhere", "country": "QQ",
        "contactEmail": "@"}}, token))["createCompany"]
    assert payload["company"] is None
    assert sorted((e["field"], e["code"]) for e in payload["errors"]) == [
        ("contactEmail", "INVALID"), ("country", "INVALID"), ("currency", "INVALID"),
        ("name", "REQUIRED"), ("timeZone", "INVALID")]
    assert all(e["message"] for e in payload["errors"])
    assert await counts(api, token) == before


async def test_messages_name_the_bad_value(api):
    token = await api.admin_token()
    payload = (await api.data(CREATE, {"input": {**ACME, "currency": "XYZ",
                                                  "timeZone": "Mars/Base"}}, token)
               )["createCompany"]
    messages = {e["field"]: e["message"] for e in payload["errors"]}
    assert "XYZ" in messages["currency"]
    assert "Mars/Base" in messages["timeZone"]


@pytest.mark.parametrize("name", ["Acme Fibre", "acme fibre", "ACME FIBRE", "  Acme Fibre "])
async def test_duplicate_name_ignoring_case_is_refused(api, name):
    token = await api.admin_token()
    await create(api, token)
    before = await counts(api, token)
    payload = (await api.data(CREATE, {"input": {**ACME, "name": name, "currency": "EUR"}},
                              token))["createCompany"]
    assert payload["company"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("name", "DUPLICATE")]
    assert await counts(api, token) == before


async def test_duplicate_name_ignoring_case_beyond_ascii_is_refused(api):
    token = await api.admin_token()
    await create(api, token, name="Télécom Étoile")
    payload = (await api.data(CREATE, {"input": {**ACME, "name": "TÉLÉCOM ÉTOILE"}}, token)
               )["createCompany"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("name", "DUPLICATE")]


#: Input fields and the longest value their column holds.
LENGTH_LIMITS = {"name": 200, "addressLine1": 200, "addressLine2": 200, "city": 100,
                 "postalCode": 20}


async def test_values_at_the_length_limit_are_stored(api):
    token = await api.admin_token()
    company = await create(api, token, **{field: "x" * limit
                                          for field, limit in LENGTH_LIMITS.items()})
    for field, limit in LENGTH_LIMITS.items():
        assert company[field] == "x" * limit


@pytest.mark.parametrize(("field", "limit"), list(LENGTH_LIMITS.items()), ids=list(LENGTH_LIMITS))
async def test_too_long_values_are_user_errors_and_write_nothing(api, field, limit):
    """The columns have a maximum length; a longer value is bad input (an `errors` entry),
    never an internal error and never stored."""
    token = await api.admin_token()
    before = await counts(api, token)
    body = await api.gql(CREATE, {"input": {**ACME, field: "x" * (limit + 1)}}, token)
    assert not body.get("errors"), body["errors"]
    payload = body["data"]["createCompany"]
    assert payload["company"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, "INVALID")]
    assert await counts(api, token) == before


async def test_too_long_name_on_update_is_a_user_error(api):
    token = await api.admin_token()
    acme = await create(api, token)
    body = await api.gql(UPDATE, {"input": {"id": acme["id"], "name": "x" * 201}}, token)
    assert not body.get("errors"), body["errors"]
    payload = body["data"]["updateCompany"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("name", "INVALID")]
    assert (await api.data(COMPANY, {"id": acme["id"]}, token))["company"] == acme


# --- read ----------------------------------------------------------------------------------

async def test_company_by_global_id(api):
    token = await api.admin_token()
    acme = await create(api, token)
    other = await create(api, token, name="Bolt Broadband")
    assert (await api.data(COMPANY, {"id": acme["id"]}, token))["company"] == acme
    assert (await api.data(COMPANY, {"id": other["id"]}, token))["company"]["name"] == (
        "Bolt Broadband")
    _, pk = pk_of(acme["id"])
    assert (await api.data(COMPANY, {"id": gid("Company", pk + 100)}, token)) == {
        "company": None}
    assert (await api.data(COMPANY, {"id": gid("User", pk)}, token)) == {"company": None}


# --- update --------------------------------------------------------------------------------

async def test_update_changes_only_the_fields_sent(api, clock):
    token = await api.admin_token()
    acme = await create(api, token, city="Austin", contactEmail="ops@acme.example",
                        country="US", postalCode="73301")
    clock.advance(timedelta(hours=2))

    response = await api.post(UPDATE, {"input": {"id": acme["id"], "name": "Acme Networks",
                                                 "city": "Dallas"}}, token)
    payload = response.json()["data"]["updateCompany"]

    assert payload["errors"] == []
    expected = {**acme, "name": "Acme Networks", "city": "Dallas",
                "updatedAt": clock.now().isoformat()}
    assert payload["company"] == expected
    assert (await api.data(COMPANY, {"id": acme["id"]}, token))["company"] == expected

    [entry] = await audit_of(api, token, "updateCompany")
    assert entry["operation"] == "update"
    assert entry["entityId"] == acme["id"]
    assert entry["requestId"] == response.headers["x-request-id"]
    assert entry["user"] == {"email": "admin@example.com"}
    assert entry["changes"] == {"name": {"from": "Acme Fibre", "to": "Acme Networks"},
                                "city": {"from": "Austin", "to": "Dallas"}}
    [event] = await events_of(api, token, "company.updated")
    assert event["entityId"] == acme["id"]
    assert event["requestId"] == response.headers["x-request-id"]


async def test_update_normalises_and_records_only_real_changes(api):
    token = await api.admin_token()
    acme = await create(api, token, country="US")
    payload = (await api.data(UPDATE, {"input": {"id": acme["id"], "currency": "usd",
                                                 "country": "ca"}}, token))["updateCompany"]
    assert payload["errors"] == []
    assert (payload["company"]["currency"], payload["company"]["country"]) == ("USD", "CA")
    [entry] = await audit_of(api, token, "updateCompany")
    assert entry["changes"] == {"country": {"from": "US", "to": "CA"}}


async def test_a_subdivision_is_stored_as_its_code_after_the_dash(api):
    token = await api.admin_token()
    acme = await create(api, token, country="us", subdivision=" us-ks ")
    assert (acme["country"], acme["subdivision"]) == ("US", "KS")
    payload = (await api.data(UPDATE, {"input": {"id": acme["id"], "subdivision": "texas"}},
                              token))["updateCompany"]
    assert (payload["errors"], payload["company"]["subdivision"]) == ([], "TX")


async def test_a_new_country_is_refused_while_the_subdivision_is_of_the_old_one(api):
    token = await api.admin_token()
    acme = await create(api, token, country="US", subdivision="KS")
    payload = (await api.data(UPDATE, {"input": {"id": acme["id"], "country": "CA"}}, token)
               )["updateCompany"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("subdivision", "INVALID")]
    assert (await api.data(COMPANY, {"id": acme["id"]}, token))["company"] == acme
    moved = (await api.data(UPDATE, {"input": {"id": acme["id"], "country": "CA",
                                               "subdivision": "CA-ON"}}, token)
             )["updateCompany"]
    assert (moved["company"]["country"], moved["company"]["subdivision"]) == ("CA", "ON")


async def test_update_can_clear_an_optional_field(api):
    token = await api.admin_token()
    acme = await create(api, token, contactEmail="ops@acme.example", city="Austin")
    payload = (await api.data(UPDATE, {"input": {"id": acme["id"], "contactEmail": None}},
                              token))["updateCompany"]
    assert payload["errors"] == []
    assert payload["company"]["contactEmail"] is None
    assert payload["company"]["city"] == "Austin"


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"name": ""}, "name", "REQUIRED"),
    ({"name": None}, "name", "REQUIRED"),
    ({"currency": "XYZ"}, "currency", "INVALID"),
    ({"currency": None}, "currency", "INVALID"),
    ({"timeZone": "Nowhere/Special"}, "timeZone", "INVALID"),
    ({"timeZone": None}, "timeZone", "INVALID"),
    ({"country": "ZZ"}, "country", "INVALID"),
    ({"contactEmail": "nope"}, "contactEmail", "INVALID"),
], ids=["empty name", "null name", "bad currency", "null currency", "bad zone", "null zone",
        "bad country", "bad email"])
async def test_invalid_update_is_reported_and_changes_nothing(api, fields, field, code):
    token = await api.admin_token()
    acme = await create(api, token)
    before = await counts(api, token)
    payload = (await api.data(UPDATE, {"input": {"id": acme["id"], "city": "Dallas",
                                                 **fields}}, token))["updateCompany"]
    assert payload["company"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [(field, code)]
    assert (await api.data(COMPANY, {"id": acme["id"]}, token))["company"] == acme
    assert await counts(api, token) == before


async def test_update_to_another_companys_name_is_a_duplicate(api):
    token = await api.admin_token()
    acme = await create(api, token)
    await create(api, token, name="Bolt Broadband")
    payload = (await api.data(UPDATE, {"input": {"id": acme["id"], "name": "BOLT broadband"}},
                              token))["updateCompany"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("name", "DUPLICATE")]

    recased = (await api.data(UPDATE, {"input": {"id": acme["id"], "name": "ACME Fibre"}},
                              token))["updateCompany"]
    assert recased["errors"] == []
    assert recased["company"]["name"] == "ACME Fibre"


async def test_update_with_an_id_of_another_type_is_refused(api):
    user_pk, token = await api.user_with_token("admin@example.com")
    acme = await create(api, token)
    before = await counts(api, token)
    payload = (await api.data(UPDATE, {"input": {"id": gid("User", user_pk), "name": "X"}},
                              token))["updateCompany"]
    assert payload["company"] is None
    [error] = payload["errors"]
    assert error["field"] == "id"
    assert error["code"] == "INVALID"
    assert "Company" in error["message"]
    assert (await api.data(COMPANY, {"id": acme["id"]}, token))["company"] == acme
    assert await counts(api, token) == before


async def test_update_of_a_missing_or_malformed_company_id(api):
    token = await api.admin_token()
    for raw, code in ((gid("Company", 9999), "NOT_FOUND"), (gid("Company", "abc"), "INVALID")):
        payload = (await api.data(UPDATE, {"input": {"id": raw, "name": "X"}}, token)
                   )["updateCompany"]
        assert payload["company"] is None
        assert [(e["field"], e["code"]) for e in payload["errors"]] == [("id", code)]


# --- delete --------------------------------------------------------------------------------

async def test_delete_a_company_nothing_belongs_to(api):
    token = await api.admin_token()
    acme = await create(api, token)
    bolt = await create(api, token, name="Bolt Broadband")

    response = await api.post(DELETE, {"id": acme["id"]}, token)
    payload = response.json()["data"]["deleteCompany"]

    assert payload == {"deletedId": acme["id"], "errors": []}
    assert (await api.data(COMPANY, {"id": acme["id"]}, token)) == {"company": None}
    assert (await api.data(COMPANY, {"id": bolt["id"]}, token))["company"] == bolt
    [event] = await events_of(api, token, "company.deleted")
    assert event["payload"]["name"] == "Acme Fibre"
    assert event["companyId"] == acme["id"]
    [entry] = await audit_of(api, token, "deleteCompany")
    assert entry["operation"] == "delete"
    assert entry["entityId"] == acme["id"]
    assert entry["requestId"] == response.headers["x-request-id"]
    assert entry["changes"]["name"] == "Acme Fibre"

    again = (await api.data(DELETE, {"id": acme["id"]}, token))["deleteCompany"]
    assert again["deletedId"] is None
    assert [(e["field"], e["code"]) for e in again["errors"]] == [("id", "NOT_FOUND")]


async def test_delete_with_an_id_of_another_type_is_refused(api):
    user_pk, token = await api.user_with_token("admin@example.com")
    await create(api, token)
    before = await counts(api, token)
    payload = (await api.data(DELETE, {"id": gid("User", user_pk)}, token))["deleteCompany"]
    assert payload["deletedId"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("id", "INVALID")]
    assert await counts(api, token) == before


async def test_delete_is_refused_while_a_row_in_any_table_references_the_company(api, runtime):
    token = await api.admin_token()
    acme = await create(api, token)
    bolt = await create(api, token, name="Bolt Broadband")
    _, acme_pk = pk_of(acme["id"])
    table = Table("test_owned_things", Base.metadata,
                  Column("id", Integer, primary_key=True),
                  Column("company_id", BigInteger().with_variant(Integer, "sqlite"),
                         ForeignKey("companies.id")))
    try:
        async with runtime.db.engine.begin() as conn:
            await conn.run_sync(table.create)
            await conn.execute(insert(table).values(id=1, company_id=acme_pk))
        before = await counts(api, token)

        refused = (await api.data(DELETE, {"id": acme["id"]}, token))["deleteCompany"]
        assert refused["deletedId"] is None
        [error] = refused["errors"]
        assert (error["field"], error["code"]) == ("id", "IN_USE")
        assert "test_owned_things" in error["message"]
        assert (await api.data(COMPANY, {"id": acme["id"]}, token))["company"] == acme
        assert await counts(api, token) == before

        # A company the row does not point at can still go.
        assert (await api.data(DELETE, {"id": bolt["id"]}, token))["deleteCompany"][
            "errors"] == []

        async with runtime.db.engine.begin() as conn:
            await conn.execute(sql_delete(table))
        freed = (await api.data(DELETE, {"id": acme["id"]}, token))["deleteCompany"]
        assert freed == {"deletedId": acme["id"], "errors": []}
    finally:
        async with runtime.db.engine.begin() as conn:
            await conn.run_sync(table.drop, checkfirst=True)
        Base.metadata.remove(table)


# --- permissions ---------------------------------------------------------------------------

async def test_create_without_companies_write_is_forbidden_and_writes_nothing(api):
    admin = await api.admin_token()
    _, reader = await api.user_with_token("reader@example.com", permissions=["companies:read"])
    before = await counts(api, admin)

    body = await api.gql(CREATE, {"input": ACME}, reader)

    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "companies:write" in body["errors"][0]["message"]
    assert await counts(api, admin) == before


async def test_update_and_delete_without_companies_write_are_forbidden(api):
    admin = await api.admin_token()
    acme = await create(api, admin)
    _, reader = await api.user_with_token("reader@example.com", permissions=["companies:read"])
    for query, variables in ((UPDATE, {"input": {"id": acme["id"], "name": "X"}}),
                             (DELETE, {"id": acme["id"]})):
        body = await api.gql(query, variables, reader)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await api.data(COMPANY, {"id": acme["id"]}, admin))["company"] == acme


async def test_without_a_token_everything_is_unauthenticated(api):
    admin = await api.admin_token()
    acme = await create(api, admin)
    before = await counts(api, admin)
    for query, variables, data in (
        (CREATE, {"input": {**ACME, "name": "Other"}}, None),
        (UPDATE, {"input": {"id": acme["id"], "name": "X"}}, None),
        (DELETE, {"id": acme["id"]}, None),
        (COMPANY, {"id": acme["id"]}, {"company": None}),
        ("{ companies { totalCount } }", None, None),
    ):
        body = await api.gql(query, variables)
        assert body["data"] == data, query
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", query
    assert await counts(api, admin) == before


async def test_without_companies_read_lists_are_forbidden(api):
    admin = await api.admin_token()
    await create(api, admin)
    _, other = await api.user_with_token("ops@example.com", permissions=["users:read"])
    body = await api.gql("{ companies { totalCount edges { node { name } } } }", token=other)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_read_scoped_token_of_an_admin_reads_but_cannot_write(api):
    admin = await api.admin_token()
    acme = await create(api, admin)
    minted = (await api.data(
        'mutation { createPersonalAccessToken(input: {name: "read only", '
        'scopes: ["companies:read"]}) { secret token { scopes } errors { code } } }',
        token=admin))["createPersonalAccessToken"]
    assert minted["errors"] == []
    assert minted["token"]["scopes"] == ["companies:read"]
    scoped = minted["secret"]
    me = await api.data("{ me { email role { name } } }", token=scoped)
    assert me == {"me": {"email": "admin@example.com", "role": {"name": "admin"}}}
    before = await counts(api, admin)

    listed = await api.data("{ companies { totalCount edges { node { id name } } } }",
                            token=scoped)
    assert listed["companies"]["totalCount"] == 1
    assert (await api.data(COMPANY, {"id": acme["id"]}, scoped))["company"] == acme
    for query, variables in ((CREATE, {"input": {**ACME, "name": "Other"}}),
                             (UPDATE, {"input": {"id": acme["id"], "name": "X"}}),
                             (DELETE, {"id": acme["id"]})):
        body = await api.gql(query, variables, scoped)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await counts(api, admin) == before
    assert (await api.data(COMPANY, {"id": acme["id"]}, admin))["company"] == acme


# --- idempotency ---------------------------------------------------------------------------

async def test_same_idempotency_key_and_input_returns_the_first_company(api):
    token = await api.admin_token()
    given = {**ACME, "city": "Austin", "idempotencyKey": "create-acme-1"}
    first = (await api.data(CREATE, {"input": given}, token))["createCompany"]
    before = await counts(api, token)

    again = (await api.data(CREATE, {"input": given}, token))["createCompany"]

    assert first["errors"] == again["errors"] == []
    assert again["company"] == first["company"]
    assert await counts(api, token) == before
    assert len(await events_of(api, token, "company.created")) == 1
    assert len(await audit_of(api, token, "createCompany")) == 1


async def test_same_idempotency_key_with_other_input_is_refused_and_writes_nothing(api):
    token = await api.admin_token()
    first = await create(api, token, idempotencyKey="create-acme-1")
    before = await counts(api, token)

    for changed in ({"name": "Bolt Broadband"}, {"city": "Austin"}, {"currency": "EUR"}):
        payload = (await api.data(CREATE, {"input": {**ACME, **changed,
                                                     "idempotencyKey": "create-acme-1"}},
                                  token))["createCompany"]
        assert payload["company"] is None, changed
        [error] = payload["errors"]
        assert error["code"] == "IDEMPOTENCY_KEY_REUSED"
        assert error["field"] == "idempotencyKey"
        assert error["message"]
    assert await counts(api, token) == before
    listed = await api.data("{ companies { edges { node { id } } } }", token=token)
    assert [e["node"]["id"] for e in listed["companies"]["edges"]] == [first["id"]]


async def test_different_users_may_use_the_same_idempotency_key(api):
    _, alice = await api.user_with_token("alice@example.com")
    _, bob = await api.user_with_token("bob@example.com")

    mine = await create(api, alice, idempotencyKey="k-1")
    theirs = await create(api, bob, name="Bolt Broadband", idempotencyKey="k-1")
    assert mine["id"] != theirs["id"]

    replay = (await api.data(CREATE, {"input": {**ACME, "idempotencyKey": "k-1"}}, alice)
              )["createCompany"]
    assert replay["company"]["id"] == mine["id"]
    assert (await counts(api, alice))["companies"] == 2


async def test_a_key_whose_first_use_failed_stays_free(api):
    token = await api.admin_token()
    failed = (await api.data(CREATE, {"input": {**ACME, "currency": "XYZ",
                                                "idempotencyKey": "k-2"}}, token)
              )["createCompany"]
    assert [e["code"] for e in failed["errors"]] == ["INVALID"]

    fixed = (await api.data(CREATE, {"input": {**ACME, "idempotencyKey": "k-2"}}, token)
             )["createCompany"]
    assert fixed["errors"] == []
    assert fixed["company"]["currency"] == "USD"


@pytest.mark.parametrize("key", ["   ", "k" * 201], ids=["blank", "too long"])
async def test_unusable_idempotency_keys_are_refused(api, key):
    token = await api.admin_token()
    before = await counts(api, token)
    payload = (await api.data(CREATE, {"input": {**ACME, "idempotencyKey": key}}, token)
               )["createCompany"]
    assert payload["company"] is None
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("idempotencyKey",
                                                                     "INVALID")]
    assert await counts(api, token) == before


async def test_idempotency_keys_are_per_mutation_input_not_per_name(api):
    """A replay returns the stored answer even if the company has changed since."""
    token = await api.admin_token()
    first = await create(api, token, idempotencyKey="k-3")
    renamed = (await api.data(UPDATE, {"input": {"id": first["id"], "name": "Renamed"}},
                              token))["updateCompany"]
    assert renamed["errors"] == []
    replay = (await api.data(CREATE, {"input": {**ACME, "idempotencyKey": "k-3"}}, token)
              )["createCompany"]
    assert replay["errors"] == []
    assert replay["company"]["id"] == first["id"]
    assert replay["company"]["name"] == "Renamed"
    assert (await counts(api, token))["companies"] == 1


async def test_without_a_key_a_retry_is_a_duplicate(api):
    token = await api.admin_token()
    await create(api, token)
    payload = (await api.data(CREATE, {"input": ACME}, token))["createCompany"]
    assert [(e["field"], e["code"]) for e in payload["errors"]] == [("name", "DUPLICATE")]


async def test_the_database_refuses_case_variants_of_a_name_even_when_racing(api):
    """The name check reads before it writes; the unique name key stops a concurrent twin."""
    import asyncio

    token = await api.admin_token()
    query = ('mutation($name: String!) { createCompany(input: {name: $name, currency: "USD", '
             'timeZone: "UTC"}) { company { name } errors { code } } }')
    answers = await asyncio.gather(*(api.data(query, {"name": n}, token)
                                     for n in ("Acme Fibre", "ACME FIBRE", "acme  fibre")))
    made = [a["createCompany"]["company"] for a in answers if a["createCompany"]["company"]]
    codes = [e["code"] for a in answers for e in a["createCompany"]["errors"]]
    assert len(made) == 1 and codes == ["DUPLICATE", "DUPLICATE"]
