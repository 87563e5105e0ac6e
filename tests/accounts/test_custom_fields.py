"""Custom fields through the API: definitions per entity and data type, values written with
accounts, contacts and serviceable addresses and read back typed, every refusal writing
nothing, filtering accounts by values, and what changing or deleting a definition (or the
entity carrying a value) does to the values."""

from __future__ import annotations

import base64
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

VALUES = """query($id: ID!) { node(id: $id) {
  ... on Account { customFields { customField { id name } value } }
  ... on Contact { customFields { customField { id name } value } }
  ... on ServiceableAddress { customFields { customField { id name } value } } } }"""
COUNTS = """{ accounts { totalCount } contacts { totalCount } serviceableAddresses { totalCount }
  customFields { totalCount } events { totalCount } auditLogEntries { totalCount } }"""
ACCOUNTS = """query($filter: AccountFilter) { accounts(filter: $filter, first: 100) {
  totalCount edges { node { name } } } }"""
CONTACTS = """query($filter: ContactFilter) { contacts(filter: $filter, first: 100) {
  totalCount edges { node { name } } } }"""
EVENTS = """query($type: String!) { events(filter: {type: {eq: $type}}, first: 100) {
  edges { node { payload entityType entityId companyId } } } }"""
AUDIT = """query($action: String!) { auditLogEntries(filter: {action: {eq: $action}},
  first: 100) { edges { node { operation entityType changes } } } }"""
SIDE_BY_SIDE = """query($account: ID!, $contact: ID!) {
  account(id: $account) { customFields { customField { name } value } }
  contacts(filter: {id: {eq: $contact}}) { edges { node {
    customFields { customField { name } value } } } } }"""

ENTITY_TYPES = ("ACCOUNT", "CONTACT", "SERVICEABLE_ADDRESS")
DATA_TYPES = ("TEXT", "NUMBER", "DATE", "BOOLEAN", "SELECT")


def gid(type_name: str, pk: Any) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def pk_of(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


def codes(errors: list[dict[str, Any]]) -> list[tuple[str | None, str]]:
    assert all(e["message"] for e in errors), errors
    return [(e["field"], e["code"]) for e in errors]


def value(field: dict[str, Any], raw: Any) -> dict[str, Any]:
    """One ``CustomFieldValueInput``."""
    return {"customFieldId": field["id"], "value": raw}


async def counts(api: Any, token: str) -> dict[str, int]:
    data = await api.data(COUNTS, token=token)
    return {key: value["totalCount"] for key, value in data.items()}


async def values_of(api: Any, token: str, node_id: str) -> dict[str, Any]:
    """``{field name: value}`` of an account, contact or address, in field order."""
    node = (await api.data(VALUES, {"id": node_id}, token))["node"]
    return {v["customField"]["name"]: v["value"] for v in node["customFields"]}


async def events_of(api: Any, token: str, event_type: str) -> list[dict[str, Any]]:
    data = await api.data(EVENTS, {"type": event_type}, token)
    return [edge["node"] for edge in data["events"]["edges"]]


async def refused_unchanged(api: Any, token: str, mutation: str, input: dict[str, Any]
                            ) -> list[tuple[str | None, str]]:
    """Run a mutation that must be refused without writing a row, event or audit entry."""
    before = await counts(api, token)
    errors = await refused(api, token, mutation, input)
    assert await counts(api, token) == before
    return codes(errors)


async def define(api: Any, fx: Setup, name: str, data_type: str = "TEXT",
                 entity_type: str = "ACCOUNT", **flags: Any) -> dict[str, Any]:
    return await ok(api, fx.token, "createCustomField", {
        "companyId": fx.company, "name": name, "entityType": entity_type,
        "dataType": data_type, **flags})


async def matching(api: Any, token: str, flt: dict[str, Any], query: str = ACCOUNTS
                   ) -> list[str]:
    """Names the filter matches, in id order; totalCount must agree."""
    data = next(iter((await api.data(query, {"filter": flt}, token)).values()))
    names = [edge["node"]["name"] for edge in data["edges"]]
    assert data["totalCount"] == len(names)
    return names


@pytest.fixture
async def fx(api: Any) -> Setup:
    return await company_setup(api)


# --- definitions ---------------------------------------------------------------------------

async def test_definitions_for_every_entity_and_data_type(api, fx):
    for entity_type in ENTITY_TYPES:
        for data_type in DATA_TYPES:
            options = ["Gold", "Silver"] if data_type == "SELECT" else None
            flags = {"options": options} if options else {}
            field = await define(api, fx, f"{data_type} field", data_type, entity_type,
                                 required=data_type == "TEXT", **flags)
            assert field == {"id": field["id"], "name": f"{data_type} field",
                             "entityType": entity_type, "dataType": data_type,
                             "options": options or [], "required": data_type == "TEXT",
                             "unique": False}
    listed = await api.data("""query($c: ID!) { customFields(first: 100, filter: {
        companyId: {eq: $c}, entityType: {eq: "CONTACT"}}) { totalCount } }""",
                            {"c": fx.company}, fx.token)
    assert listed["customFields"]["totalCount"] == 5


async def test_creating_a_definition_records_an_event_and_an_audit_entry(api, fx):
    field = await define(api, fx, "  Plan tier  ", "SELECT", options=[" Gold ", "Silver"],
                         unique=True)
    assert (field["name"], field["options"]) == ("Plan tier", ["Gold", "Silver"])
    [event] = await events_of(api, fx.token, "custom_field.created")
    assert (event["entityType"], event["entityId"], event["companyId"]) == (
        "CustomField", field["id"], fx.company)
    assert event["payload"] == {"name": "Plan tier", "entity_type": "ACCOUNT",
                                "data_type": "SELECT", "options": ["Gold", "Silver"],
                                "required": False, "unique": True}
    data = await api.data(AUDIT, {"action": "createCustomField"}, fx.token)
    [entry] = [edge["node"] for edge in data["auditLogEntries"]["edges"]]
    assert (entry["operation"], entry["entityType"]) == ("create", "CustomField")
    assert entry["changes"]["options"] == ["Gold", "Silver"]


async def test_a_name_is_unique_per_company_and_entity_type(api, fx):
    await define(api, fx, "Plan ID")
    assert await refused_unchanged(api, fx.token, "createCustomField", {
        "companyId": fx.company, "name": "plan id", "entityType": "ACCOUNT",
        "dataType": "NUMBER"}) == [("name", "DUPLICATE")]
    await define(api, fx, "Plan ID", entity_type="CONTACT")
    other = await company_setup(api, fx.token, name="Other ISP")
    await define(api, other, "Plan ID")

    renamed = await define(api, fx, "Old name")
    assert await refused_unchanged(api, fx.token, "updateCustomField", {
        "id": renamed["id"], "name": "PLAN ID"}) == [("name", "DUPLICATE")]
    updated = await ok(api, fx.token, "updateCustomField", {"id": renamed["id"],
                                                            "name": "New name"})
    assert updated["name"] == "New name"


@pytest.mark.parametrize(("data_type", "flags", "expected"), [
    ("SELECT", {}, [("options", "REQUIRED")]),
    ("SELECT", {"options": []}, [("options", "REQUIRED")]),
    ("SELECT", {"options": ["Gold", " "]}, [("options", "INVALID")]),
    ("SELECT", {"options": ["Gold", "gold"]}, [("options", "INVALID")]),
    ("TEXT", {"options": ["Gold"]}, [("options", "INVALID")]),
    ("NUMBER", {"options": ["1"]}, [("options", "INVALID")]),
    ("BOOLEAN", {"unique": True}, [("unique", "INVALID")]),
    ("TEXT", {"name": "  "}, [("name", "REQUIRED")]),
])
async def test_invalid_definitions_are_refused(api, fx, data_type, flags, expected):
    assert await refused_unchanged(api, fx.token, "createCustomField", {
        "companyId": fx.company, "name": "Field", "entityType": "ACCOUNT",
        "dataType": data_type, **flags}) == expected


async def test_invalid_definition_updates_are_refused(api, fx):
    flag = await define(api, fx, "Flag", "BOOLEAN")
    tier = await define(api, fx, "Tier", "SELECT", options=["Gold"])
    note = await define(api, fx, "Note")
    for change, expected in (({"id": flag["id"], "unique": True}, ("unique", "INVALID")),
                             ({"id": tier["id"], "options": []}, ("options", "REQUIRED")),
                             ({"id": note["id"], "options": ["x"]}, ("options", "INVALID")),
                             ({"id": note["id"], "required": None}, ("required", "REQUIRED"))):
        assert await refused_unchanged(api, fx.token, "updateCustomField", change) == [
            expected]


async def test_definitions_need_accounts_configure(api, fx):
    field = await define(api, fx, "Plan")
    _, writer = await api.user_with_token("writer@example.com",
                                          permissions=["accounts:read", "accounts:write"])
    before = await counts(api, fx.token)
    for mutation, input in (
            ("createCustomField", {"companyId": fx.company, "name": "X",
                                   "entityType": "ACCOUNT", "dataType": "TEXT"}),
            ("updateCustomField", {"id": field["id"], "name": "Y"}),
            ("deleteCustomField", {"id": field["id"]})):
        query, _ = MUTATIONS[mutation]
        body = await api.gql(query, {"input": input}, writer)
        assert body["data"] is None
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await counts(api, fx.token) == before
    # Reading the definitions only needs accounts:read.
    data = await api.data("{ customFields { edges { node { name } } } }", token=writer)
    assert [e["node"]["name"] for e in data["customFields"]["edges"]] == ["Plan"]


# --- values --------------------------------------------------------------------------------

async def test_values_on_accounts_are_stored_typed_and_read_back(api, fx):
    text = await define(api, fx, "Circuit")
    number = await define(api, fx, "Speed", "NUMBER")
    day = await define(api, fx, "Contract end", "DATE")
    flag = await define(api, fx, "VIP", "BOOLEAN")
    tier = await define(api, fx, "Tier", "SELECT", options=["Gold", "Silver"])
    account = await new_account(api, fx, customFields=[
        value(text, "  CKT-1  "), value(number, 12), value(day, "2026-01-31"),
        value(flag, True), value(tier, "Gold")])
    assert await values_of(api, fx.token, account["id"]) == {
        "Circuit": "CKT-1", "Speed": 12, "Contract end": "2026-01-31", "VIP": True,
        "Tier": "Gold"}

    await ok(api, fx.token, "updateAccount", {"id": account["id"], "customFields": [
        value(number, 12.5), value(flag, False), value(tier, "Silver"), value(text, None)]})
    assert await values_of(api, fx.token, account["id"]) == {
        "Speed": 12.5, "Contract end": "2026-01-31", "VIP": False, "Tier": "Silver"}

    await ok(api, fx.token, "updateAccount", {"id": account["id"],
                                              "customFields": [value(number, -3)]})
    values = await values_of(api, fx.token, account["id"])
    assert values["Speed"] == -3 and isinstance(values["Speed"], int)
    # An update that leaves customFields out leaves the values alone.
    await ok(api, fx.token, "updateAccount", {"id": account["id"], "name": "Renamed"})
    assert await values_of(api, fx.token, account["id"]) == values

    [created, *updates] = [e for e in await events_of(api, fx.token, "account.updated")]
    assert created["payload"]["changed"] == ["custom_fields"]
    assert updates[-1]["payload"]["changed"] == ["name"]


async def test_writing_values_leaves_audit_entries(api, fx):
    number = await define(api, fx, "Speed", "NUMBER")
    account = await new_account(api, fx, customFields=[value(number, 100)])
    await ok(api, fx.token, "updateAccount", {"id": account["id"],
                                              "customFields": [value(number, 250)]})
    await ok(api, fx.token, "updateAccount", {"id": account["id"],
                                              "customFields": [value(number, None)]})

    async def entries(action: str) -> list[dict[str, Any]]:
        data = await api.data(AUDIT, {"action": action}, fx.token)
        return [e["node"] for e in data["auditLogEntries"]["edges"]
                if e["node"]["entityType"] == "CustomFieldValue"]

    [created] = await entries("createAccount")
    assert created["operation"] == "create"
    assert (created["changes"]["number_value"], created["changes"]["entity_id"]) == (
        100, pk_of(account["id"]))
    changed, removed = await entries("updateAccount")
    assert (changed["operation"], changed["changes"]) == (
        "update", {"number_value": {"from": 100, "to": 250}})
    assert (removed["operation"], removed["changes"]["number_value"]) == ("delete", 250)


async def test_values_on_contacts(api, fx):
    role = await define(api, fx, "Preferred time", "SELECT", "CONTACT",
                        options=["Morning", "Evening"])
    birthday = await define(api, fx, "Birthday", "DATE", "CONTACT")
    account = await new_account(api, fx, primaryContact={
        "name": "Pat", "customFields": [value(role, "Evening")]})
    contact = await ok(api, fx.token, "createContact", {
        "accountId": account["id"], "name": "Sam",
        "customFields": [value(role, "Morning"), value(birthday, "1990-06-15")]})
    assert await values_of(api, fx.token, contact["id"]) == {
        "Preferred time": "Morning", "Birthday": "1990-06-15"}
    updated = await ok(api, fx.token, "updateContact", {
        "id": contact["id"], "customFields": [value(role, "Evening"), value(birthday, None)]})
    assert await values_of(api, fx.token, updated["id"]) == {"Preferred time": "Evening"}
    [event] = [e for e in await events_of(api, fx.token, "contact.updated")
               if e["entityId"] == contact["id"]]
    assert event["payload"]["changed"] == ["custom_fields"]

    primary = await api.data("""query($id: ID!) { account(id: $id) { primaryContact {
        customFields { customField { name } value } } } }""", {"id": account["id"]}, fx.token)
    assert primary["account"]["primaryContact"]["customFields"] == [
        {"customField": {"name": "Preferred time"}, "value": "Evening"}]
    # The account itself carries no contact values.
    assert await values_of(api, fx.token, account["id"]) == {}


async def test_values_on_serviceable_addresses(api, fx):
    drop = await define(api, fx, "Drop length", "NUMBER", "SERVICEABLE_ADDRESS")
    mdu = await define(api, fx, "MDU", "BOOLEAN", "SERVICEABLE_ADDRESS")
    address = await new_address(api, fx, customFields=[value(drop, 30), value(mdu, False)])
    assert await values_of(api, fx.token, address["id"]) == {"Drop length": 30, "MDU": False}
    await ok(api, fx.token, "updateServiceableAddress", {
        "id": address["id"], "customFields": [value(drop, 42.25), value(mdu, True)]})
    assert await values_of(api, fx.token, address["id"]) == {"Drop length": 42.25,
                                                             "MDU": True}
    [event] = await events_of(api, fx.token, "serviceable_address.updated")
    assert event["payload"]["changed"] == ["custom_fields"]


BAD_VALUES = [
    ("TEXT", {}, 5),
    ("TEXT", {}, "   "),
    ("TEXT", {}, "x" * 1001),
    ("NUMBER", {}, "12"),
    ("NUMBER", {}, "twelve"),
    ("NUMBER", {}, True),
    ("NUMBER", {}, 10**400),
    ("DATE", {}, "31/01/2026"),
    ("DATE", {}, "2026-02-30"),
    ("DATE", {}, "2026-01-31T10:00:00"),
    ("DATE", {}, 20260131),
    ("BOOLEAN", {}, "maybe"),
    ("BOOLEAN", {}, 1),
    ("SELECT", {"options": ["Gold", "Silver"]}, "Purple"),
    ("SELECT", {"options": ["Gold", "Silver"]}, "gold"),
    ("SELECT", {"options": ["Gold", "Silver"]}, ["Gold"]),
]


def bad_value_id(case: Any) -> str:
    data_type, _, raw = case
    shown = "huge-int" if isinstance(raw, int) and raw > 10**9 else repr(raw)[:20]
    return f"{data_type}-{shown}"


@pytest.mark.parametrize(("data_type", "flags", "raw"), BAD_VALUES,
                         ids=[bad_value_id(case) for case in BAD_VALUES])
async def test_a_value_of_the_wrong_type_is_refused_on_create(api, fx, data_type, flags, raw):
    field = await define(api, fx, "Field", data_type, **flags)
    assert await refused_unchanged(api, fx.token, "createAccount", {
        "companyId": fx.company, "name": "Jane", "accountTypeId": fx.residential,
        "accountStatusId": fx.active, "customFields": [value(field, raw)]}) == [
        ("customFields", "INVALID")]


@pytest.mark.parametrize(("data_type", "flags", "raw"), BAD_VALUES[::3],
                         ids=[bad_value_id(case) for case in BAD_VALUES[::3]])
async def test_a_value_of_the_wrong_type_is_refused_on_update(api, fx, data_type, flags, raw):
    field = await define(api, fx, "Field", data_type, **flags)
    good = {"TEXT": "ok", "NUMBER": 1, "DATE": "2026-01-01", "BOOLEAN": True,
            "SELECT": "Silver"}[data_type]
    account = await new_account(api, fx, customFields=[value(field, good)])
    assert await refused_unchanged(api, fx.token, "updateAccount", {
        "id": account["id"], "name": "Changed", "customFields": [value(field, raw)]}) == [
        ("customFields", "INVALID")]
    assert await values_of(api, fx.token, account["id"]) == {"Field": good}


async def test_each_bad_value_is_reported(api, fx):
    number = await define(api, fx, "Speed", "NUMBER")
    day = await define(api, fx, "Start", "DATE")
    errors = await refused_unchanged(api, fx.token, "createAccount", {
        "companyId": fx.company, "name": "Jane", "accountTypeId": fx.residential,
        "accountStatusId": fx.active,
        "customFields": [value(number, "fast"), value(day, "soon")]})
    assert errors == [("customFields", "INVALID"), ("customFields", "INVALID")]


async def test_a_value_given_twice_is_refused(api, fx):
    field = await define(api, fx, "Circuit")
    assert await refused_unchanged(api, fx.token, "createAccount", {
        "companyId": fx.company, "name": "Jane", "accountTypeId": fx.residential,
        "accountStatusId": fx.active,
        "customFields": [value(field, "a"), value(field, "b")]}) == [
        ("customFields", "INVALID")]


async def test_a_required_value_is_needed_on_create(api, fx):
    await define(api, fx, "Circuit", required=True)
    await define(api, fx, "Drop", "NUMBER", "SERVICEABLE_ADDRESS", required=True)
    optional = await define(api, fx, "Notes")
    base = {"companyId": fx.company, "name": "Jane", "accountTypeId": fx.residential,
            "accountStatusId": fx.active}
    assert await refused_unchanged(api, fx.token, "createAccount", base) == [
        ("customFields", "REQUIRED")]
    assert await refused_unchanged(api, fx.token, "createAccount", {
        **base, "customFields": [value(optional, "only the optional one")]}) == [
        ("customFields", "REQUIRED")]
    assert await refused_unchanged(api, fx.token, "createServiceableAddress", {
        "companyId": fx.company, "line1": "1 Elm St", "city": "Springfield",
        "country": "US"}) == [("customFields", "REQUIRED")]


async def test_a_required_contact_value_is_needed_on_create(api, fx):
    account = await new_account(api, fx)
    await define(api, fx, "Language", "SELECT", "CONTACT", options=["EN", "ES"], required=True)
    assert await refused_unchanged(api, fx.token, "createContact", {
        "accountId": account["id"], "name": "Sam"}) == [("customFields", "REQUIRED")]
    # The primary contact made with an account is held to it too, and takes the account
    # down with it.
    assert await refused_unchanged(api, fx.token, "createAccount", {
        "companyId": fx.company, "name": "Jane", "accountTypeId": fx.residential,
        "accountStatusId": fx.active, "primaryContact": {"name": "Jane"}}) == [
        ("primaryContact.customFields", "REQUIRED")]


async def test_a_required_value_cannot_be_removed_on_update(api, fx):
    field = await define(api, fx, "Circuit", required=True)
    account = await new_account(api, fx, customFields=[value(field, "CKT-1")])
    assert await refused_unchanged(api, fx.token, "updateAccount", {
        "id": account["id"], "customFields": [value(field, None)]}) == [
        ("customFields", "REQUIRED")]
    await ok(api, fx.token, "updateAccount", {"id": account["id"],
                                              "customFields": [value(field, "CKT-2")]})
    assert await values_of(api, fx.token, account["id"]) == {"Circuit": "CKT-2"}


async def test_a_unique_value_is_refused_when_another_account_has_it(api, fx):
    field = await define(api, fx, "Circuit", unique=True)
    number = await define(api, fx, "Port", "NUMBER", unique=True)
    first = await new_account(api, fx, "First", customFields=[value(field, "CKT-1"),
                                                              value(number, 7)])
    base = {"companyId": fx.company, "name": "Second", "accountTypeId": fx.residential,
            "accountStatusId": fx.active}
    # Text is compared without case and with spaces collapsed; 7 and 7.0 are one number.
    for given in ([value(field, "ckt-1")], [value(field, " CKT-1 ")], [value(number, 7.0)]):
        assert await refused_unchanged(api, fx.token, "createAccount", {
            **base, "customFields": given}) == [("customFields", "DUPLICATE")]
    second = await new_account(api, fx, "Second", customFields=[value(field, "CKT-2")])
    assert await refused_unchanged(api, fx.token, "updateAccount", {
        "id": second["id"], "customFields": [value(field, "CKT-1")]}) == [
        ("customFields", "DUPLICATE")]
    # Writing an account's own value again is no conflict.
    await ok(api, fx.token, "updateAccount", {"id": first["id"],
                                              "customFields": [value(field, "ckt-1")]})
    assert await values_of(api, fx.token, first["id"]) == {"Circuit": "ckt-1", "Port": 7}
    assert await values_of(api, fx.token, second["id"]) == {"Circuit": "CKT-2"}


async def test_a_field_of_another_entity_type_or_company_is_refused(api, fx):
    contact_field = await define(api, fx, "Code", entity_type="CONTACT")
    address_field = await define(api, fx, "Code", entity_type="SERVICEABLE_ADDRESS")
    other = await company_setup(api, fx.token, name="Other ISP")
    foreign = await define(api, other, "Code")
    account = await new_account(api, fx)
    for field in (contact_field, address_field, foreign):
        assert await refused_unchanged(api, fx.token, "updateAccount", {
            "id": account["id"], "customFields": [value(field, "x")]}) == [
            ("customFields", "NOT_FOUND")]
        assert await refused_unchanged(api, fx.token, "createAccount", {
            "companyId": fx.company, "name": "Jane", "accountTypeId": fx.residential,
            "accountStatusId": fx.active, "customFields": [value(field, "x")]}) == [
            ("customFields", "NOT_FOUND")]
    assert await refused_unchanged(api, fx.token, "updateAccount", {
        "id": account["id"], "customFields": [{"customFieldId": fx.company,
                                               "value": "x"}]}) == [
        ("customFields", "INVALID")]
    assert await values_of(api, fx.token, account["id"]) == {}


async def test_account_and_contact_values_with_the_same_id_do_not_mix(api, fx):
    account_code = await define(api, fx, "Code")
    contact_code = await define(api, fx, "Code", entity_type="CONTACT")
    account = await new_account(api, fx, "Holder 1")
    contact = await ok(api, fx.token, "createContact", {"accountId": account["id"],
                                                        "name": "Person 1"})
    for n in range(2, 20):  # make the numeric ids coincide
        if pk_of(account["id"]) == pk_of(contact["id"]):
            break
        if pk_of(account["id"]) < pk_of(contact["id"]):
            account = await new_account(api, fx, f"Holder {n}")
        else:
            contact = await ok(api, fx.token, "createContact", {"accountId": account["id"],
                                                                "name": f"Person {n}"})
    assert pk_of(account["id"]) == pk_of(contact["id"])

    await ok(api, fx.token, "updateAccount", {"id": account["id"],
                                              "customFields": [value(account_code, "ACC")]})
    await ok(api, fx.token, "updateContact", {"id": contact["id"],
                                              "customFields": [value(contact_code, "CON")]})
    assert await values_of(api, fx.token, account["id"]) == {"Code": "ACC"}
    assert await values_of(api, fx.token, contact["id"]) == {"Code": "CON"}

    # Both in one request (one set of loaders).
    data = await api.data(SIDE_BY_SIDE, {"account": account["id"], "contact": contact["id"]},
                          fx.token)
    assert data["account"]["customFields"] == [{"customField": {"name": "Code"},
                                                "value": "ACC"}]
    [node] = [edge["node"] for edge in data["contacts"]["edges"]]
    assert node["customFields"] == [{"customField": {"name": "Code"}, "value": "CON"}]

    # Filters by a contact field match no account, and the other way round.
    assert await matching(api, fx.token, {"customFields": [
        {"customFieldId": contact_code["id"], "text": {"eq": "CON"}}]}) == []
    assert await matching(api, fx.token, {"customFields": [
        {"customFieldId": account_code["id"], "text": {"eq": "ACC"}}]}, CONTACTS) == []
    assert await matching(api, fx.token, {"customFields": [
        {"customFieldId": contact_code["id"], "text": {"eq": "CON"}}]}, CONTACTS) == [
        contact["name"]]


# --- filtering accounts by values ----------------------------------------------------------

@pytest.fixture
async def filtered(api: Any, fx: Setup) -> dict[str, Any]:
    """Five accounts with a mix of values (and one with none)."""
    fields = {
        "circuit": await define(api, fx, "Circuit"),
        "speed": await define(api, fx, "Speed", "NUMBER"),
        "start": await define(api, fx, "Start", "DATE"),
        "vip": await define(api, fx, "VIP", "BOOLEAN"),
        "tier": await define(api, fx, "Tier", "SELECT", options=["Gold", "Silver"]),
    }
    rows = {
        "Ann": {"circuit": "CKT-100", "speed": 100, "start": "2026-01-15", "vip": True,
                "tier": "Gold"},
        "Ben": {"circuit": "ckt-200", "speed": 250.5, "start": "2026-02-01", "vip": False},
        "Cat": {"speed": 1000, "start": "2025-12-31", "tier": "Silver"},
        "Dan": {"circuit": "XYZ", "vip": True},
        "Eve": {},
    }
    for name, values in rows.items():
        await new_account(api, fx, name, customFields=[
            value(fields[key], raw) for key, raw in values.items()])
    return {"token": fx.token, **{k: f["id"] for k, f in fields.items()}}


def on(field_id: str, **condition: Any) -> dict[str, Any]:
    return {"customFields": [{"customFieldId": field_id, **condition}]}


async def test_filter_by_text(api, filtered):
    f = filtered
    assert await matching(api, f["token"], on(f["circuit"], text={"eq": "CKT-100"})) == ["Ann"]
    assert await matching(api, f["token"], on(f["circuit"], text={"contains": "ckt"})) == [
        "Ann", "Ben"]
    assert await matching(api, f["token"], on(f["tier"], text={"in": ["Gold", "Silver"]})) == [
        "Ann", "Cat"]


async def test_filter_by_number(api, filtered):
    f = filtered
    assert await matching(api, f["token"], on(f["speed"], number={"gt": 100})) == ["Ben", "Cat"]
    assert await matching(api, f["token"], on(f["speed"], number={"lt": 250.5})) == ["Ann"]
    assert await matching(api, f["token"], on(f["speed"], number={"gte": 100,
                                                                  "lte": 250.5})) == [
        "Ann", "Ben"]
    assert await matching(api, f["token"], on(f["speed"], number={"eq": 1000})) == ["Cat"]


async def test_filter_by_date_range(api, filtered):
    f = filtered
    assert await matching(api, f["token"], on(f["start"], date={
        "gte": "2026-01-01", "lt": "2026-02-01"})) == ["Ann"]
    assert await matching(api, f["token"], on(f["start"], date={"lte": "2026-01-15"})) == [
        "Ann", "Cat"]
    assert await matching(api, f["token"], on(f["start"], date={"gt": "2026-01-31"})) == ["Ben"]


async def test_filter_by_boolean_and_presence(api, filtered):
    f = filtered
    assert await matching(api, f["token"], on(f["vip"], boolean=True)) == ["Ann", "Dan"]
    assert await matching(api, f["token"], on(f["vip"], boolean=False)) == ["Ben"]
    assert await matching(api, f["token"], on(f["vip"], isSet=False)) == ["Cat", "Eve"]
    assert await matching(api, f["token"], on(f["vip"], isSet=True)) == ["Ann", "Ben", "Dan"]
    assert await matching(api, f["token"], on(f["circuit"], isSet=False)) == ["Cat", "Eve"]


async def test_filter_conditions_combine(api, filtered):
    f = filtered
    both = {"customFields": [{"customFieldId": f["vip"], "boolean": True},
                             {"customFieldId": f["speed"], "isSet": True}]}
    assert await matching(api, f["token"], both) == ["Ann"]
    assert await matching(api, f["token"], {"and": [
        on(f["speed"], number={"gt": 50}), on(f["tier"], isSet=False)]}) == ["Ben"]
    assert await matching(api, f["token"], {"or": [
        on(f["tier"], text={"eq": "Silver"}), on(f["circuit"], text={"eq": "XYZ"})]}) == [
        "Cat", "Dan"]
    assert await matching(api, f["token"], {"not": on(f["speed"], isSet=True)}) == [
        "Dan", "Eve"]
    assert await matching(api, f["token"], {"name": {"in": ["Ann", "Ben", "Dan"]}, "or": [
        on(f["vip"], boolean=False), on(f["start"], date={"lt": "2026-02-01"})]}) == [
        "Ann", "Ben"]


# --- changing and deleting definitions ------------------------------------------------------

async def test_removing_an_option_in_use_is_refused(api, fx):
    tier = await define(api, fx, "Tier", "SELECT", options=["Gold", "Silver", "Bronze"])
    await new_account(api, fx, customFields=[value(tier, "Gold")])
    for options in (["Silver", "Bronze"], ["gold", "Silver", "Bronze"]):
        assert await refused_unchanged(api, fx.token, "updateCustomField", {
            "id": tier["id"], "options": options}) == [("options", "IN_USE")]
    updated = await ok(api, fx.token, "updateCustomField", {
        "id": tier["id"], "options": ["Gold", "Silver", "Platinum"]})
    assert updated["options"] == ["Gold", "Silver", "Platinum"]
    [event] = await events_of(api, fx.token, "custom_field.updated")
    assert event["payload"] == {"changed": ["options"]}
    assert await refused_unchanged(api, fx.token, "createAccount", {
        "companyId": fx.company, "name": "Jane", "accountTypeId": fx.residential,
        "accountStatusId": fx.active, "customFields": [value(tier, "Bronze")]}) == [
        ("customFields", "INVALID")]


async def test_making_a_field_unique_while_values_are_shared_is_refused(api, fx):
    circuit = await define(api, fx, "Circuit")
    first = await new_account(api, fx, "First", customFields=[value(circuit, "CKT-1")])
    second = await new_account(api, fx, "Second", customFields=[value(circuit, "ckt-1")])
    assert await refused_unchanged(api, fx.token, "updateCustomField", {
        "id": circuit["id"], "unique": True}) == [("unique", "INVALID")]

    await ok(api, fx.token, "updateAccount", {"id": second["id"],
                                              "customFields": [value(circuit, "CKT-2")]})
    assert (await ok(api, fx.token, "updateCustomField", {"id": circuit["id"],
                                                          "unique": True}))["unique"]
    assert await refused_unchanged(api, fx.token, "updateAccount", {
        "id": second["id"], "customFields": [value(circuit, "Ckt-1")]}) == [
        ("customFields", "DUPLICATE")]
    # And no longer unique: values may be shared again.
    await ok(api, fx.token, "updateCustomField", {"id": circuit["id"], "unique": False})
    await ok(api, fx.token, "updateAccount", {"id": second["id"],
                                              "customFields": [value(circuit, "CKT-1")]})
    assert await values_of(api, fx.token, first["id"]) == await values_of(
        api, fx.token, second["id"]) == {"Circuit": "CKT-1"}


async def test_deleting_a_definition_deletes_its_values(api, fx):
    circuit = await define(api, fx, "Circuit", unique=True)
    speed = await define(api, fx, "Speed", "NUMBER")
    account = await new_account(api, fx, customFields=[value(circuit, "CKT-1"),
                                                       value(speed, 10)])
    assert await ok(api, fx.token, "deleteCustomField", {"id": circuit["id"]}) == circuit["id"]
    assert await values_of(api, fx.token, account["id"]) == {"Speed": 10}
    [event] = await events_of(api, fx.token, "custom_field.deleted")
    assert event["payload"] == {"id": pk_of(circuit["id"]), "name": "Circuit"}

    again = await define(api, fx, "Circuit", unique=True)
    assert await values_of(api, fx.token, account["id"]) == {"Speed": 10}
    other = await new_account(api, fx, "Other", customFields=[value(again, "CKT-1")])
    assert await values_of(api, fx.token, other["id"]) == {"Circuit": "CKT-1"}
    assert await matching(api, fx.token, on(again["id"], isSet=True)) == ["Other"]
    assert await refused_unchanged(api, fx.token, "deleteCustomField", {
        "id": circuit["id"]}) == [("id", "NOT_FOUND")]


async def test_changing_required_applies_to_later_writes(api, fx):
    circuit = await define(api, fx, "Circuit")
    speed = await define(api, fx, "Speed", "NUMBER")
    before = await new_account(api, fx, "Before")
    await ok(api, fx.token, "updateCustomField", {"id": circuit["id"], "required": True})

    base = {"companyId": fx.company, "name": "After", "accountTypeId": fx.residential,
            "accountStatusId": fx.active}
    assert await refused_unchanged(api, fx.token, "createAccount", base) == [
        ("customFields", "REQUIRED")]
    # Existing accounts without a value stay valid, and other values still change.
    await ok(api, fx.token, "updateAccount", {"id": before["id"], "name": "Before 2",
                                              "customFields": [value(speed, 5)]})
    assert await values_of(api, fx.token, before["id"]) == {"Speed": 5}
    await ok(api, fx.token, "createAccount", {**base, "customFields": [value(circuit, "C")]})

    await ok(api, fx.token, "updateCustomField", {"id": circuit["id"], "required": False})
    await ok(api, fx.token, "createAccount", {**base, "name": "Later"})
    assert await matching(api, fx.token, {}) == ["Before 2", "After", "Later"]


async def test_deleting_an_account_removes_its_values(api, fx):
    circuit = await define(api, fx, "Circuit", unique=True)
    badge = await define(api, fx, "Badge", entity_type="CONTACT", unique=True)
    gone = await new_account(api, fx, "Gone", customFields=[value(circuit, "CKT-1")],
                             primaryContact={"name": "Pat",
                                             "customFields": [value(badge, "B-1")]})
    assert await refused_unchanged(api, fx.token, "createAccount", {
        "companyId": fx.company, "name": "Next", "accountTypeId": fx.residential,
        "accountStatusId": fx.active, "customFields": [value(circuit, "CKT-1")]}) == [
        ("customFields", "DUPLICATE")]
    await ok(api, fx.token, "deleteAccount", {"id": gone["id"]})

    following = await new_account(api, fx, "Next", customFields=[value(circuit, "CKT-1")],
                                  primaryContact={"name": "Kim",
                                                  "customFields": [value(badge, "B-1")]})
    assert await values_of(api, fx.token, following["id"]) == {"Circuit": "CKT-1"}
    assert await matching(api, fx.token, on(circuit["id"], isSet=True)) == ["Next"]
    assert await matching(api, fx.token, on(badge["id"], text={"eq": "B-1"}),
                          CONTACTS) == ["Kim"]


async def test_deleting_a_contact_or_address_removes_its_values(api, fx):
    badge = await define(api, fx, "Badge", entity_type="CONTACT", unique=True)
    pole = await define(api, fx, "Pole", entity_type="SERVICEABLE_ADDRESS", unique=True)
    account = await new_account(api, fx)
    await ok(api, fx.token, "createContact", {"accountId": account["id"], "name": "Primary"})
    contact = await ok(api, fx.token, "createContact", {
        "accountId": account["id"], "name": "Sam", "customFields": [value(badge, "B-1")]})
    address = await new_address(api, fx, customFields=[value(pole, "P-9")])
    await ok(api, fx.token, "deleteContact", {"id": contact["id"]})
    await ok(api, fx.token, "deleteServiceableAddress", {"id": address["id"]})

    again = await ok(api, fx.token, "createContact", {
        "accountId": account["id"], "name": "Alex", "customFields": [value(badge, "B-1")]})
    assert await values_of(api, fx.token, again["id"]) == {"Badge": "B-1"}
    moved = await new_address(api, fx, "9 New Rd", customFields=[value(pole, "P-9")])
    assert await values_of(api, fx.token, moved["id"]) == {"Pole": "P-9"}
