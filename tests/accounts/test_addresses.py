"""Serviceable addresses through the API: pre-qualifying addresses before any account
exists, duplicates and bad input that write nothing, who lives where (moving in and out, the
kept history, the MDU turnover of tenants), postal addresses, permissions, and the events
and audit entries all of it leaves."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.accounts.factories import (
    MUTATIONS,
    Setup,
    company_setup,
    new_account,
    new_address,
    ok,
    refused,
)

COUNTS = """{ serviceableAddresses { totalCount } addressOccupancies { totalCount }
  events { totalCount } }"""
ADDRESS = """query($id: ID!) { serviceableAddress(id: $id) {
  id line1 line2 unit city subdivision postalCode country latitude longitude fccLocationId
  serviceable formatted currentAccount { id name }
  occupancies { movedInOn movedOutOn account { name } } } }"""
ACCOUNT = """query($id: ID!) { account(id: $id) {
  physicalAddress { id }
  addressHistory { movedInOn movedOutOn serviceableAddress { id } }
  mailingAddress { line1 line2 unit city subdivision postalCode country formatted }
  billingAddress { line1 line2 unit city subdivision postalCode country formatted } } }"""
OCCUPANCIES = """query($filter: AddressOccupancyFilter) {
  addressOccupancies(filter: $filter, orderBy: [{field: MOVED_IN_ON}]) {
    totalCount edges { node { movedInOn movedOutOn account { name }
                              serviceableAddress { unit } } } } }"""
EVENTS = """query($type: String!) { events(filter: {type: {eq: $type}}) {
  edges { node { type payload entityType entityId companyId } } } }"""
AUDIT = """query($action: String!) { auditLogEntries(filter: {action: {eq: $action}}) {
  edges { node { operation entityType entityId changes } } } }"""

EVERY_FIELD = {"line1": " 742 Evergreen Terrace ", "line2": "Rear building", "unit": "4B",
               "city": "Springfield", "subdivision": "IL", "postalCode": "62704",
               "country": "us", "latitude": 39.7817, "longitude": -89.6501,
               "fccLocationId": "1012345678", "serviceable": False}
TODAY = "2026-11-02"  # the test clock's day in America/Chicago


def pk_of(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


async def counts(api: Any, token: str) -> dict[str, int]:
    data = await api.data(COUNTS, token=token)
    return {key: value["totalCount"] for key, value in data.items()}


async def events_of(api: Any, token: str, event_type: str) -> list[dict[str, Any]]:
    data = await api.data(EVENTS, {"type": event_type}, token)
    return [edge["node"] for edge in data["events"]["edges"]]


async def audit_of(api: Any, token: str, action: str) -> list[dict[str, Any]]:
    data = await api.data(AUDIT, {"action": action}, token)
    return [edge["node"] for edge in data["auditLogEntries"]["edges"]]


async def address_of(api: Any, token: str, address: str) -> dict[str, Any]:
    return (await api.data(ADDRESS, {"id": address}, token))["serviceableAddress"]


async def account_of(api: Any, token: str, account: str) -> dict[str, Any]:
    return (await api.data(ACCOUNT, {"id": account}, token))["account"]


async def occupancies(api: Any, token: str, **filter: Any) -> list[tuple[str, ...]]:
    """(account name, unit, moved in, moved out) of the occupancies matching ``filter``."""
    data = (await api.data(OCCUPANCIES, {"filter": filter}, token))["addressOccupancies"]
    rows = [edge["node"] for edge in data["edges"]]
    assert data["totalCount"] == len(rows)
    return [(r["account"]["name"], r["serviceableAddress"]["unit"], r["movedInOn"],
             r["movedOutOn"]) for r in rows]


async def move_in(api: Any, setup: Setup, account: str, address: str, day: str | None = None
                  ) -> dict[str, Any]:
    return await ok(api, setup.token, "moveAccountToAddress",
                    {"accountId": account, "serviceableAddressId": address, "date": day})


async def change_status(api: Any, setup: Setup, account: str, status: str) -> None:
    await ok(api, setup.token, "changeAccountStatus",
             {"accountId": account, "accountStatusId": status, "reason": "Testing"})


def codes(errors: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["code"], e["field"]) for e in errors]


@pytest.fixture
async def setup(api: Any) -> Setup:
    return await company_setup(api)


# --- serviceable addresses --------------------------------------------------------------

async def test_create_address_with_every_field(api, setup):
    address = await ok(api, setup.token, "createServiceableAddress",
                       {"companyId": setup.company, **EVERY_FIELD})

    assert {k: v for k, v in address.items() if k != "id"} == {
        "line1": "742 Evergreen Terrace", "line2": "Rear building", "unit": "4B",
        "city": "Springfield", "subdivision": "IL", "postalCode": "62704", "country": "US",
        "latitude": 39.7817, "longitude": -89.6501, "fccLocationId": "1012345678",
        "serviceable": False,
        "formatted": "742 Evergreen Terrace Unit 4B, Rear building, Springfield, IL 62704",
        "currentAccount": None}
    read = await address_of(api, setup.token, address["id"])
    assert read == {**{k: address[k] for k in address if k != "currentAccount"},
                    "currentAccount": None, "occupancies": []}


async def test_an_address_is_serviceable_unless_said_otherwise(api, setup):
    address = await new_address(api, setup)
    assert address["serviceable"] is True
    assert (address["line2"], address["unit"], address["latitude"],
            address["fccLocationId"]) == (None, None, None, None)
    assert address["formatted"] == "100 Main St, Springfield, IL 62701"


async def test_create_address_records_an_event_and_an_audit_entry(api, setup):
    address = await ok(api, setup.token, "createServiceableAddress",
                       {"companyId": setup.company, **EVERY_FIELD})

    [event] = await events_of(api, setup.token, "serviceable_address.created")
    assert (event["entityType"], event["entityId"], event["companyId"]) == \
        ("ServiceableAddress", address["id"], setup.company)
    assert event["payload"] == {
        "line1": "742 Evergreen Terrace", "line2": "Rear building", "unit": "4B",
        "city": "Springfield", "subdivision": "IL", "postal_code": "62704", "country": "US",
        "latitude": 39.7817, "longitude": -89.6501, "fcc_location_id": "1012345678",
        "serviceable": False}
    [entry] = await audit_of(api, setup.token, "createServiceableAddress")
    assert (entry["operation"], entry["entityId"]) == ("create", address["id"])
    assert entry["changes"]["fcc_location_id"] == "1012345678"
    assert "address_key" not in entry["changes"]


async def test_the_same_address_written_differently_is_a_duplicate(api, setup):
    await new_address(api, setup, "100 Main St.", unit="1")
    before = await counts(api, setup.token)

    errors = await refused(api, setup.token, "createServiceableAddress", {
        "companyId": setup.company, "line1": "100  MAIN ST", "unit": "1", "city": "SPRINGFIELD",
        "subdivision": "il", "postalCode": "62701", "country": "US"})

    assert codes(errors) == [("DUPLICATE", "line1")]
    assert await counts(api, setup.token) == before
    # another unit, or the same address in another company, is another place
    await new_address(api, setup, "100 Main St.", unit="2")
    other = await company_setup(api, setup.token, name="Other Fibre")
    await new_address(api, other, "100 Main St.", unit="1")


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"country": "XX"}, "country", "INVALID"),
    ({"country": "USA"}, "country", "INVALID"),
    ({"latitude": 90.5}, "latitude", "INVALID"),
    ({"latitude": -91.0}, "latitude", "INVALID"),
    ({"longitude": 180.01}, "longitude", "INVALID"),
    ({"fccLocationId": "10-123"}, "fccLocationId", "INVALID"),
    ({"fccLocationId": "12a4"}, "fccLocationId", "INVALID"),
    ({"fccLocationId": "\u0661\u0662\u0663"}, "fccLocationId", "INVALID"),
    ({"fccLocationId": "12\u00b2"}, "fccLocationId", "INVALID"),
    ({"line1": "   "}, "line1", "REQUIRED"),
    ({"city": ""}, "city", "REQUIRED"),
    ({"postalCode": "9" * 21}, "postalCode", "INVALID"),
    ({"subdivision": "US-ZZ"}, "subdivision", "INVALID"),
    ({"subdivision": "Narnia"}, "subdivision", "INVALID"),
    ({"subdivision": "CA-ON"}, "subdivision", "INVALID"),
    ({"subdivision": "ON"}, "subdivision", "INVALID"),
], ids=["unknown-country", "alpha3-country", "latitude-high", "latitude-low",
        "longitude-high", "fcc-dash", "fcc-letter", "fcc-arabic-indic-digits",
        "fcc-superscript", "blank-line1", "blank-city",
        "long-postal-code", "unknown-subdivision-code", "unknown-subdivision-name",
        "subdivision-of-another-country", "short-code-of-another-country"])
async def test_bad_address_input_is_refused_and_writes_nothing(api, setup, fields, field,
                                                               code):
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "createServiceableAddress",
                           {"companyId": setup.company, "line1": "1 Elm St",
                            "city": "Springfield", "country": "US", **fields})
    assert codes(errors) == [(code, field)]
    assert await counts(api, setup.token) == before


@pytest.mark.parametrize("written", ["US-KS", "KS", "ks", " us-ks ", "Kansas", "KANSAS"])
async def test_a_subdivision_is_stored_in_one_form_however_written(api, setup, written):
    address = await new_address(api, setup, subdivision=written, country=" us")
    assert (address["subdivision"], address["country"]) == ("KS", "US")
    assert address["formatted"].endswith(", KS 62701")
    # the same place written another way is the same address
    errors = await refused(api, setup.token, "createServiceableAddress", {
        "companyId": setup.company, "line1": "100 Main St", "city": "Springfield",
        "subdivision": "us-ks", "postalCode": "62701", "country": "US"})
    assert codes(errors) == [("DUPLICATE", "line1")]


async def test_boundary_coordinates_are_accepted(api, setup):
    address = await new_address(api, setup, latitude=-90.0, longitude=180.0)
    assert (address["latitude"], address["longitude"]) == (-90.0, 180.0)


async def test_update_changes_given_fields_and_keeps_the_rest(api, setup):
    address = await new_address(api, setup, unit="1", latitude=39.0, fccLocationId="77")

    updated = await ok(api, setup.token, "updateServiceableAddress", {
        "id": address["id"], "city": "Chatham", "unit": None, "latitude": None,
        "serviceable": False, "country": "us"})

    assert {k: updated[k] for k in ("line1", "unit", "city", "subdivision", "postalCode",
                                    "country", "latitude", "fccLocationId",
                                    "serviceable")} == {
        "line1": "100 Main St", "unit": None, "city": "Chatham", "subdivision": "IL",
        "postalCode": "62701", "country": "US", "latitude": None, "fccLocationId": "77",
        "serviceable": False}
    assert (await address_of(api, setup.token, address["id"]))["city"] == "Chatham"
    [event] = await events_of(api, setup.token, "serviceable_address.updated")
    assert event["payload"] == {"changed": ["city", "country", "latitude", "serviceable",
                                            "unit"]}
    [entry] = await audit_of(api, setup.token, "updateServiceableAddress")
    assert entry["changes"]["city"] == {"from": "Springfield", "to": "Chatham"}
    assert entry["changes"]["unit"] == {"from": "1", "to": None}


async def test_update_into_another_address_is_a_duplicate_and_changes_nothing(api, setup):
    await new_address(api, setup, "100 Main St", unit="1")
    second = await new_address(api, setup, "100 Main St", unit="2")
    before = await counts(api, setup.token)

    errors = await refused(api, setup.token, "updateServiceableAddress",
                           {"id": second["id"], "unit": " 1 "})

    assert codes(errors) == [("DUPLICATE", "line1")]
    assert (await address_of(api, setup.token, second["id"]))["unit"] == "2"
    assert await counts(api, setup.token) == before
    # changing an address without changing what place it is is no duplicate of itself
    same = await ok(api, setup.token, "updateServiceableAddress",
                    {"id": second["id"], "line1": "100 main st.", "latitude": 1.5})
    assert (same["line1"], same["latitude"]) == ("100 main st.", 1.5)


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"country": "ZZ"}, "country", "INVALID"),
    ({"latitude": 100.0}, "latitude", "INVALID"),
    ({"fccLocationId": "abc"}, "fccLocationId", "INVALID"),
    ({"line1": None}, "line1", "REQUIRED"),
    ({"serviceable": None}, "serviceable", "REQUIRED"),
    ({"subdivision": "US-ZZ"}, "subdivision", "INVALID"),
    ({"country": "CA"}, "subdivision", "INVALID"),
], ids=["country", "latitude", "fcc", "null-line1", "null-serviceable", "subdivision",
        "country-leaving-a-subdivision-of-the-old-one"])
async def test_bad_updates_are_refused_and_change_nothing(api, setup, fields, field, code):
    address = await new_address(api, setup)
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "updateServiceableAddress",
                           {"id": address["id"], "city": "Chatham", **fields})
    assert codes(errors) == [(code, field)]
    read = await address_of(api, setup.token, address["id"])
    assert {k: read[k] for k in address} == address
    assert await counts(api, setup.token) == before


async def test_an_address_nobody_lived_at_can_be_deleted(api, setup):
    address = await new_address(api, setup)
    assert await ok(api, setup.token, "deleteServiceableAddress",
                    {"id": address["id"]}) == address["id"]
    assert await address_of(api, setup.token, address["id"]) is None
    [event] = await events_of(api, setup.token, "serviceable_address.deleted")
    assert event["payload"] == {"id": pk_of(address["id"]),
                                "address": "100 Main St, Springfield, IL 62701"}


async def test_an_address_someone_lived_at_is_kept_even_after_they_left(api, setup):
    address = await new_address(api, setup)
    account = (await new_account(api, setup))["id"]
    await move_in(api, setup, account, address["id"])
    await ok(api, setup.token, "moveAccountOut", {"accountId": account})
    before = await counts(api, setup.token)

    errors = await refused(api, setup.token, "deleteServiceableAddress", {"id": address["id"]})

    assert codes(errors) == [("IN_USE", "id")]
    assert await counts(api, setup.token) == before
    assert (await address_of(api, setup.token, address["id"]))["occupancies"] != []


SEARCH = """query($q: String!) {
  search(query: $q, types: [SERVICEABLE_ADDRESS]) { title subtitle node { id } } }"""


async def test_search_follows_an_address_through_update_and_delete(api, setup):
    address = (await new_address(api, setup, "12 Juniper Lane", fccLocationId="31415"))["id"]

    async def found(query: str) -> list[tuple[str, str, str]]:
        hits = (await api.data(SEARCH, {"q": query}, setup.token))["search"]
        return [(h["node"]["id"], h["title"], h["subtitle"]) for h in hits]

    assert await found("juniper") == [
        (address, "12 Juniper Lane, Springfield, IL 62701", "Serviceable")]
    assert [hit[0] for hit in await found("31415")] == [address]

    await ok(api, setup.token, "updateServiceableAddress",
             {"id": address, "line1": "12 Sequoia Lane", "serviceable": False})
    assert await found("juniper") == []
    assert await found("sequoia") == [
        (address, "12 Sequoia Lane, Springfield, IL 62701", "Not serviceable")]

    await ok(api, setup.token, "deleteServiceableAddress", {"id": address})
    assert await found("sequoia") == []


async def test_address_permissions(api, setup):
    address = await new_address(api, setup)
    account = (await new_account(api, setup))["id"]
    _, reader = await api.user_with_token(
        "reader@example.com", permissions=["addresses:read", "accounts:read"])
    _, clerk = await api.user_with_token("clerk@example.com", permissions=["addresses:write"])
    before = await counts(api, setup.token)
    attempts = [
        (reader, "createServiceableAddress", "addresses:write",
         {"companyId": setup.company, "line1": "1 Elm St", "city": "X", "country": "US"}),
        (reader, "updateServiceableAddress", "addresses:write",
         {"id": address["id"], "city": "X"}),
        (reader, "deleteServiceableAddress", "addresses:write", {"id": address["id"]}),
        (clerk, "moveAccountToAddress", "accounts:write",
         {"accountId": account, "serviceableAddressId": address["id"]}),
        (clerk, "moveAccountOut", "accounts:write", {"accountId": account}),
        (clerk, "setAccountPostalAddress", "accounts:write",
         {"accountId": account, "kind": "MAILING", "line1": "PO Box 1", "city": "X",
          "country": "US"}),
        (clerk, "clearAccountPostalAddress", "accounts:write",
         {"accountId": account, "kind": "MAILING"}),
    ]
    for token, mutation, permission, input in attempts:
        body = await api.gql(MUTATIONS[mutation][0], {"input": input}, token)
        assert body["data"] is None, mutation
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", mutation
        assert permission in body["errors"][0]["message"], mutation
    assert await counts(api, setup.token) == before


async def test_current_account_is_hidden_without_accounts_read(api, setup):
    address = await new_address(api, setup)
    account = (await new_account(api, setup))["id"]
    await move_in(api, setup, account, address["id"])
    _, reader = await api.user_with_token("reader@example.com",
                                          permissions=["addresses:read"])
    assert (await address_of(api, setup.token, address["id"]))["currentAccount"]["id"] == \
        account
    assert (await address_of(api, reader, address["id"]))["currentAccount"] is None


# --- who lives where --------------------------------------------------------------------

async def test_moving_in_sets_physical_address_and_current_account(api, setup):
    address = await new_address(api, setup)
    account = (await new_account(api, setup, "Jane Doe"))["id"]

    moved = await move_in(api, setup, account, address["id"])

    assert moved == {"id": account, "physicalAddress": {"id": address["id"]}}
    assert (await address_of(api, setup.token, address["id"]))["currentAccount"] == \
        {"id": account, "name": "Jane Doe"}
    assert (await account_of(api, setup.token, account))["addressHistory"] == [
        {"movedInOn": TODAY, "movedOutOn": None, "serviceableAddress": {"id": address["id"]}}]
    [event] = await events_of(api, setup.token, "account.moved_in")
    assert (event["entityType"], event["entityId"]) == ("Account", account)
    assert event["payload"] == {"serviceable_address_id": pk_of(address["id"]),
                                "date": TODAY,
                                "address": "100 Main St, Springfield, IL 62701"}
    [entry] = await audit_of(api, setup.token, "moveAccountToAddress")
    assert (entry["operation"], entry["entityType"]) == ("create", "AddressOccupancy")
    assert entry["changes"]["moved_in_on"] == TODAY


async def test_create_account_at_an_address_moves_it_in(api, setup):
    address = await new_address(api, setup)
    account = (await new_account(api, setup, serviceableAddressId=address["id"]))["id"]
    assert (await account_of(api, setup.token, account))["physicalAddress"] == \
        {"id": address["id"]}
    assert len(await events_of(api, setup.token, "account.moved_in")) == 1


async def test_an_address_with_an_active_occupant_is_refused(api, setup):
    address = await new_address(api, setup)
    jane = (await new_account(api, setup, "Jane Doe", accountNumber="A-1"))["id"]
    bob = (await new_account(api, setup, "Bob Roe"))["id"]
    await move_in(api, setup, jane, address["id"])
    before = await counts(api, setup.token)

    errors = await refused(api, setup.token, "moveAccountToAddress",
                           {"accountId": bob, "serviceableAddressId": address["id"]})

    assert codes(errors) == [("IN_USE", "serviceableAddressId")]
    assert "A-1" in errors[0]["message"] and "Jane Doe" in errors[0]["message"]
    assert await counts(api, setup.token) == before
    assert (await account_of(api, setup.token, bob))["physicalAddress"] is None
    assert (await address_of(api, setup.token, address["id"]))["currentAccount"]["id"] == jane


@pytest.mark.parametrize("status", ["delinquent", "active"])
async def test_an_occupant_that_counts_as_active_keeps_the_address(api, setup, status):
    address = await new_address(api, setup)
    jane = (await new_account(api, setup, "Jane Doe"))["id"]
    await move_in(api, setup, jane, address["id"])
    if status != "active":
        await change_status(api, setup, jane, getattr(setup, status))
    bob = (await new_account(api, setup, "Bob Roe"))["id"]
    errors = await refused(api, setup.token, "moveAccountToAddress",
                           {"accountId": bob, "serviceableAddressId": address["id"]})
    assert codes(errors) == [("IN_USE", "serviceableAddressId")]


async def test_an_inactive_occupant_is_moved_out_when_a_new_tenant_moves_in(api, setup):
    address = await new_address(api, setup)
    jane = (await new_account(api, setup, "Jane Doe"))["id"]
    bob = (await new_account(api, setup, "Bob Roe"))["id"]
    await move_in(api, setup, jane, address["id"], "2026-01-10")
    await change_status(api, setup, jane, setup.inactive)

    await move_in(api, setup, bob, address["id"], "2026-06-01")

    read = await address_of(api, setup.token, address["id"])
    assert read["currentAccount"] == {"id": bob, "name": "Bob Roe"}
    assert read["occupancies"] == [
        {"movedInOn": "2026-01-10", "movedOutOn": "2026-06-01", "account": {"name": "Jane Doe"}},
        {"movedInOn": "2026-06-01", "movedOutOn": None, "account": {"name": "Bob Roe"}}]
    assert (await account_of(api, setup.token, jane))["physicalAddress"] is None
    [moved_out] = await events_of(api, setup.token, "account.moved_out")
    assert moved_out["entityId"] == jane
    assert moved_out["payload"] == {"serviceable_address_id": pk_of(address["id"]),
                                    "date": "2026-06-01"}


async def test_a_lead_at_an_address_makes_way_for_a_customer(api, setup):
    address = await new_address(api, setup)
    lead = (await new_account(api, setup, "Maybe Later", accountStatusId=setup.lead))["id"]
    await move_in(api, setup, lead, address["id"])
    customer = (await new_account(api, setup, "Signed Up"))["id"]
    await move_in(api, setup, customer, address["id"])
    assert (await address_of(api, setup.token, address["id"]))["currentAccount"]["id"] == \
        customer


async def test_occupancy_history_is_kept_and_filterable(api, setup):
    unit1 = (await new_address(api, setup, "9 Oak St", unit="1"))["id"]
    unit2 = (await new_address(api, setup, "9 Oak St", unit="2"))["id"]
    jane = (await new_account(api, setup, "Jane Doe"))["id"]
    bob = (await new_account(api, setup, "Bob Roe"))["id"]
    await move_in(api, setup, jane, unit1, "2026-01-10")
    await move_in(api, setup, bob, unit2, "2026-02-01")
    await change_status(api, setup, jane, setup.suspended)
    await move_in(api, setup, bob, unit1, "2026-05-01")

    assert await occupancies(api, setup.token) == [
        ("Jane Doe", "1", "2026-01-10", "2026-05-01"),
        ("Bob Roe", "2", "2026-02-01", "2026-05-01"),
        ("Bob Roe", "1", "2026-05-01", None)]
    assert await occupancies(api, setup.token, serviceableAddressId={"eq": unit1}) == [
        ("Jane Doe", "1", "2026-01-10", "2026-05-01"),
        ("Bob Roe", "1", "2026-05-01", None)]
    assert await occupancies(api, setup.token, accountId={"eq": bob}) == [
        ("Bob Roe", "2", "2026-02-01", "2026-05-01"),
        ("Bob Roe", "1", "2026-05-01", None)]
    assert await occupancies(api, setup.token, accountId={"eq": bob},
                             movedOutOn={"isNull": True}) == [("Bob Roe", "1", "2026-05-01",
                                                               None)]
    history = (await account_of(api, setup.token, bob))["addressHistory"]
    assert [(h["serviceableAddress"]["id"], h["movedInOn"], h["movedOutOn"])
            for h in history] == [(unit2, "2026-02-01", "2026-05-01"),
                                  (unit1, "2026-05-01", None)]


async def test_moving_to_a_second_address_leaves_the_first(api, setup):
    first = (await new_address(api, setup, "1 Elm St"))["id"]
    second = (await new_address(api, setup, "2 Elm St"))["id"]
    jane = (await new_account(api, setup, "Jane Doe"))["id"]
    await move_in(api, setup, jane, first, "2026-03-01")

    moved = await move_in(api, setup, jane, second)

    assert moved["physicalAddress"] == {"id": second}
    assert (await address_of(api, setup.token, first))["currentAccount"] is None
    assert (await address_of(api, setup.token, second))["currentAccount"]["id"] == jane
    [event] = await events_of(api, setup.token, "account.moved_out")
    assert event["payload"] == {"serviceable_address_id": pk_of(first), "date": TODAY}
    assert len(await events_of(api, setup.token, "account.moved_in")) == 2
    # the first address is free for the next tenant
    bob = (await new_account(api, setup, "Bob Roe"))["id"]
    await move_in(api, setup, bob, first)


async def test_moving_into_the_address_one_already_lives_at_is_refused(api, setup):
    address = (await new_address(api, setup))["id"]
    jane = (await new_account(api, setup))["id"]
    await move_in(api, setup, jane, address)
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "moveAccountToAddress",
                           {"accountId": jane, "serviceableAddressId": address})
    assert codes(errors) == [("INVALID", "serviceableAddressId")]
    assert await counts(api, setup.token) == before


async def test_a_move_dated_before_the_current_move_in_is_refused(api, setup):
    first = (await new_address(api, setup, "1 Elm St"))["id"]
    second = (await new_address(api, setup, "2 Elm St"))["id"]
    jane = (await new_account(api, setup))["id"]
    await move_in(api, setup, jane, first, "2026-06-01")
    before = await counts(api, setup.token)

    moving = await refused(api, setup.token, "moveAccountToAddress",
                           {"accountId": jane, "serviceableAddressId": second,
                            "date": "2026-05-31"})
    leaving = await refused(api, setup.token, "moveAccountOut",
                            {"accountId": jane, "date": "2026-05-31"})

    assert codes(moving) == codes(leaving) == [("INVALID", "date")]
    assert await counts(api, setup.token) == before
    assert (await account_of(api, setup.token, jane))["physicalAddress"] == {"id": first}


async def test_a_move_in_dated_before_the_last_tenant_left_is_refused(api, setup):
    address = (await new_address(api, setup))["id"]
    jane = (await new_account(api, setup, "Jane Doe"))["id"]
    bob = (await new_account(api, setup, "Bob Roe"))["id"]
    await move_in(api, setup, jane, address, "2026-01-10")
    await ok(api, setup.token, "moveAccountOut", {"accountId": jane, "date": "2026-06-01"})
    before = await counts(api, setup.token)

    errors = await refused(api, setup.token, "moveAccountToAddress",
                           {"accountId": bob, "serviceableAddressId": address,
                            "date": "2026-05-31"})

    assert codes(errors) == [("INVALID", "date")]
    assert await counts(api, setup.token) == before
    # from the day the last tenant left, the address is free again
    await move_in(api, setup, bob, address, "2026-06-01")
    assert [(o["account"]["name"], o["movedInOn"], o["movedOutOn"]) for o in
            (await address_of(api, setup.token, address))["occupancies"]] == [
        ("Jane Doe", "2026-01-10", "2026-06-01"), ("Bob Roe", "2026-06-01", None)]


async def test_a_move_in_dated_before_the_account_left_its_last_address_is_refused(
        api, setup):
    first = (await new_address(api, setup, "1 Elm St"))["id"]
    second = (await new_address(api, setup, "2 Elm St"))["id"]
    jane = (await new_account(api, setup, "Jane Doe"))["id"]
    await move_in(api, setup, jane, first, "2026-01-10")
    await ok(api, setup.token, "moveAccountOut", {"accountId": jane, "date": "2026-06-01"})
    before = await counts(api, setup.token)

    errors = await refused(api, setup.token, "moveAccountToAddress",
                           {"accountId": jane, "serviceableAddressId": second,
                            "date": "2026-03-01"})

    assert codes(errors) == [("INVALID", "date")]
    assert await counts(api, setup.token) == before


async def test_move_out_frees_the_address(api, setup):
    address = (await new_address(api, setup))["id"]
    jane = (await new_account(api, setup, "Jane Doe"))["id"]
    await move_in(api, setup, jane, address, "2026-04-01")

    left = await ok(api, setup.token, "moveAccountOut",
                    {"accountId": jane, "date": "2026-10-31"})

    assert left == {"id": jane, "physicalAddress": None}
    read = await address_of(api, setup.token, address)
    assert read["currentAccount"] is None
    assert read["occupancies"] == [{"movedInOn": "2026-04-01", "movedOutOn": "2026-10-31",
                                    "account": {"name": "Jane Doe"}}]
    [event] = await events_of(api, setup.token, "account.moved_out")
    assert (event["entityId"], event["payload"]) == \
        (jane, {"serviceable_address_id": pk_of(address), "date": "2026-10-31"})
    again = await refused(api, setup.token, "moveAccountOut", {"accountId": jane})
    assert codes(again) == [("NOT_FOUND", "accountId")]


async def test_a_non_serviceable_address_takes_leads_but_not_customers(api, setup):
    address = (await new_address(api, setup, serviceable=False))["id"]
    customer = (await new_account(api, setup, "Jane Doe"))["id"]
    before = await counts(api, setup.token)

    errors = await refused(api, setup.token, "moveAccountToAddress",
                           {"accountId": customer, "serviceableAddressId": address})

    assert codes(errors) == [("INVALID", "serviceableAddressId")]
    assert await counts(api, setup.token) == before
    lead = (await new_account(api, setup, "Maybe Later", accountStatusId=setup.lead))["id"]
    assert (await move_in(api, setup, lead, address))["physicalAddress"] == {"id": address}


async def test_an_address_of_another_company_is_refused(api, setup):
    other = await company_setup(api, setup.token, name="Other Fibre")
    foreign = (await new_address(api, other))["id"]
    jane = (await new_account(api, setup))["id"]
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "moveAccountToAddress",
                           {"accountId": jane, "serviceableAddressId": foreign})
    assert codes(errors) == [("INVALID", "serviceableAddressId")]
    assert await counts(api, setup.token) == before


# --- postal addresses -------------------------------------------------------------------

async def set_postal(api: Any, setup: Setup, account: str, kind: str, **fields: Any
                     ) -> dict[str, Any]:
    return await ok(api, setup.token, "setAccountPostalAddress",
                    {"accountId": account, "kind": kind, "city": "Springfield",
                     "country": "US", **fields})


async def test_mailing_and_billing_addresses_are_set_replaced_and_cleared(api, setup):
    account = (await new_account(api, setup))["id"]

    await set_postal(api, setup, account, "MAILING", line1="PO Box 12", subdivision="us-il",
                     postalCode="62705", country="us")
    await set_postal(api, setup, account, "BILLING", line1="1 Finance Way", unit="3",
                     line2="c/o Accounts")
    read = await account_of(api, setup.token, account)
    assert read["mailingAddress"] == {
        "line1": "PO Box 12", "line2": None, "unit": None, "city": "Springfield",
        "subdivision": "IL", "postalCode": "62705", "country": "US",
        "formatted": "PO Box 12, Springfield, IL 62705"}
    assert read["billingAddress"]["formatted"] == \
        "1 Finance Way Unit 3, c/o Accounts, Springfield"

    replaced = await set_postal(api, setup, account, "MAILING", line1="PO Box 99")
    assert replaced["mailingAddress"]["line1"] == "PO Box 99"
    read = await account_of(api, setup.token, account)
    assert read["mailingAddress"]["postalCode"] is None  # replaced, not merged
    assert read["billingAddress"]["line1"] == "1 Finance Way"

    cleared = await ok(api, setup.token, "clearAccountPostalAddress",
                       {"accountId": account, "kind": "BILLING"})
    assert cleared == {"id": account, "mailingAddress": {"line1": "PO Box 99"},
                       "billingAddress": None}
    again = await refused(api, setup.token, "clearAccountPostalAddress",
                          {"accountId": account, "kind": "BILLING"})
    assert codes(again) == [("NOT_FOUND", "kind")]

    set_events = await events_of(api, setup.token, "account.postal_address_set")
    assert sorted((e["payload"]["kind"], e["payload"]["line1"]) for e in set_events) == [
        ("BILLING", "1 Finance Way"), ("MAILING", "PO Box 12"), ("MAILING", "PO Box 99")]
    [cleared_event] = await events_of(api, setup.token, "account.postal_address_cleared")
    assert (cleared_event["entityId"], cleared_event["payload"]) == \
        (account, {"kind": "BILLING"})
    operations = sorted(e["operation"] for e in
                        await audit_of(api, setup.token, "setAccountPostalAddress"))
    assert operations == ["create", "create", "update"]


@pytest.mark.parametrize(("fields", "field", "code"), [
    ({"country": "XX"}, "country", "INVALID"),
    ({"line1": " "}, "line1", "REQUIRED"),
    ({"city": ""}, "city", "REQUIRED"),
    ({"line2": "x" * 201}, "line2", "INVALID"),
    ({"subdivision": "US-ZZ"}, "subdivision", "INVALID"),
], ids=["country", "line1", "city", "long-line2", "subdivision"])
async def test_a_bad_postal_address_is_refused_and_keeps_the_old_one(api, setup, fields,
                                                                     field, code):
    account = (await new_account(api, setup))["id"]
    await set_postal(api, setup, account, "MAILING", line1="PO Box 12")
    before = await counts(api, setup.token)

    errors = await refused(api, setup.token, "setAccountPostalAddress",
                           {"accountId": account, "kind": "MAILING", "line1": "PO Box 99",
                            "city": "Springfield", "country": "US", **fields})

    assert codes(errors) == [(code, field)]
    assert await counts(api, setup.token) == before
    assert (await account_of(api, setup.token, account))["mailingAddress"]["line1"] == \
        "PO Box 12"


# --- the MDU walk-through ---------------------------------------------------------------

def on_day(clock: Any, day: str) -> None:
    """Put the clock at 10:00 in Chicago on ``day``."""
    clock.set(datetime.fromisoformat(f"{day}T15:00:00").replace(tzinfo=UTC))


async def test_mdu_units_are_prequalified_and_turn_over_between_tenants(api, setup, clock):
    units = [(await new_address(api, setup, "500 Tower Ave", unit=str(n),
                                fccLocationId=f"90000000{n}"))["id"] for n in (1, 2, 3)]
    tower = {"line1": {"eq": "500 Tower Ave"}}
    listed = await api.data("""query($f: ServiceableAddressFilter) {
        serviceableAddresses(filter: $f) { totalCount edges { node { currentAccount { id } } } }
      }""", {"f": tower}, setup.token)
    assert listed["serviceableAddresses"]["totalCount"] == 3
    assert {e["node"]["currentAccount"] is None
            for e in listed["serviceableAddresses"]["edges"]} == {True}

    on_day(clock, "2026-03-01")
    tenant_a = (await new_account(api, setup, "Tenant A",
                                  serviceableAddressId=units[0]))["id"]
    assert (await address_of(api, setup.token, units[0]))["currentAccount"]["id"] == tenant_a

    on_day(clock, "2026-09-30")
    await ok(api, setup.token, "disconnectAccount",
             {"accountId": tenant_a, "reason": "Moved out of the building"})
    assert (await address_of(api, setup.token, units[0]))["currentAccount"] is None
    assert (await account_of(api, setup.token, tenant_a))["physicalAddress"] is None
    [disconnected] = await events_of(api, setup.token, "account.disconnected")
    assert disconnected["payload"]["freed_serviceable_address_id"] == pk_of(units[0])

    on_day(clock, "2026-10-15")
    tenant_b = (await new_account(api, setup, "Tenant B"))["id"]
    await move_in(api, setup, tenant_b, units[0])

    history = (await address_of(api, setup.token, units[0]))["occupancies"]
    assert history == [
        {"movedInOn": "2026-03-01", "movedOutOn": "2026-09-30",
         "account": {"name": "Tenant A"}},
        {"movedInOn": "2026-10-15", "movedOutOn": None, "account": {"name": "Tenant B"}}]
    assert (await address_of(api, setup.token, units[0]))["currentAccount"]["id"] == tenant_b
    for unit in units[1:]:
        assert (await address_of(api, setup.token, unit))["occupancies"] == []
    moved_in = await events_of(api, setup.token, "account.moved_in")
    assert sorted((e["entityId"], e["payload"]["date"]) for e in moved_in) == sorted(
        [(tenant_a, "2026-03-01"), (tenant_b, "2026-10-15")])
    [moved_out] = await events_of(api, setup.token, "account.moved_out")
    assert (moved_out["entityId"], moved_out["payload"]["date"]) == (tenant_a, "2026-09-30")
