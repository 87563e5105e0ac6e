"""Contacts through the API: emails and phone numbers as stored, the one primary contact,
financial contacts, updates that replace lists, refusals that write nothing, the customer
portal login (and its sign-in check in the domain), search documents, permissions, and the
events and audit entries contacts leave."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest

from ispcore.domain.accounts.contacts import verify_portal_login
from ispcore.domain.common.errors import DomainError
from tests.accounts.factories import (
    MUTATIONS,
    Setup,
    company_setup,
    new_account,
    ok,
    refused,
)

COUNTS = """query($account: ID!) {
  contacts(filter: {accountId: {eq: $account}}) { totalCount }
  events { totalCount }
}"""
CONTACTS = """query($filter: ContactFilter) {
  contacts(filter: $filter, orderBy: [{field: NAME}]) { totalCount edges { node { name } } }
}"""
CONTACT = """query($id: ID!) { node(id: $id) { ... on Contact {
  id name role isPrimary isFinancial portalUsername emails
  phoneNumbers { number extension phoneNumberType { id name } } } } }"""
ACCOUNT_CONTACTS = """query($id: ID!) { account(id: $id) {
  contacts { name isPrimary } primaryContact { name } } }"""
EVENTS = """query($type: String!) { events(filter: {type: {eq: $type}}) {
  edges { node { type payload entityType entityId companyId } } } }"""
AUDIT = """query($action: String!) { auditLogEntries(filter: {action: {eq: $action}}) {
  edges { node { action operation entityType entityId changes user { email } } } } }"""
CONTACT_AUDIT = """{ auditLogEntries(filter: {entityType: {eq: "Contact"}}) {
  totalCount edges { node { action operation changes } } } }"""
SEARCH = """query($q: String!) { search(query: $q) { type title subtitle node { id } } }"""

PORTAL_PASSWORD = "tulip-Harbour-9-lantern"


def pk_of(global_id: str) -> int:
    return int(base64.b64decode(global_id).decode().partition(":")[2])


async def add_contact(api: Any, setup: Setup, account: str, name: str = "Jane Doe",
                      **fields: Any) -> dict[str, Any]:
    return await ok(api, setup.token, "createContact",
                    {"accountId": account, "name": name, **fields})


async def counts(api: Any, setup: Setup, account: str) -> dict[str, int]:
    data = await api.data(COUNTS, {"account": account}, setup.token)
    return {key: value["totalCount"] for key, value in data.items()}


async def events_of(api: Any, token: str, event_type: str) -> list[dict[str, Any]]:
    data = await api.data(EVENTS, {"type": event_type}, token)
    return [edge["node"] for edge in data["events"]["edges"]]


async def audit_of(api: Any, token: str, action: str) -> list[dict[str, Any]]:
    data = await api.data(AUDIT, {"action": action}, token)
    return [edge["node"] for edge in data["auditLogEntries"]["edges"]]


async def stored(api: Any, token: str, contact_id: str) -> dict[str, Any]:
    return (await api.data(CONTACT, {"id": contact_id}, token))["node"]


async def names_matching(api: Any, token: str, filter: dict[str, Any]) -> list[str]:
    data = (await api.data(CONTACTS, {"filter": filter}, token))["contacts"]
    return [edge["node"]["name"] for edge in data["edges"]]


async def search_ids(api: Any, token: str, query: str) -> list[str]:
    hits = (await api.data(SEARCH, {"q": query}, token))["search"]
    return [hit["node"]["id"] for hit in hits if hit["type"] == "CONTACT"]


@pytest.fixture
async def setup(api: Any) -> Setup:
    return await company_setup(api)


@pytest.fixture
async def account(api: Any, setup: Setup) -> str:
    return (await new_account(api, setup))["id"]


# --- creating ---------------------------------------------------------------------------

async def test_create_contact_normalises_emails_and_collapses_duplicates(api, setup, account):
    contact = await add_contact(
        api, setup, account, "  Jane Doe ", role=" Owner ", isFinancial=True,
        emails=[" Jane.Doe@Example.COM ", "jane.doe@example.com", "Billing@Example.com",
                "JANE.DOE@EXAMPLE.COM"])

    assert contact["name"] == "Jane Doe"
    assert contact["role"] == "Owner"
    assert contact["isFinancial"] is True
    assert contact["emails"] == ["jane.doe@example.com", "billing@example.com"]
    assert contact["account"] == {"id": account}
    assert contact["portalUsername"] is None
    assert await stored(api, setup.token, contact["id"]) == {
        key: contact[key] for key in ("id", "name", "role", "isPrimary", "isFinancial",
                                      "portalUsername", "emails", "phoneNumbers")}


async def test_phone_numbers_are_stored_as_e164_read_in_the_companys_country(
        api, setup, account):
    contact = await add_contact(api, setup, account, phoneNumbers=[
        {"number": "(217) 555-0100", "phoneNumberTypeId": setup.mobile},
        {"number": "+44 20 7946 0958", "phoneNumberTypeId": setup.home, "extension": " 42 "},
    ])
    assert contact["phoneNumbers"] == [
        {"number": "+12175550100", "extension": None,
         "phoneNumberType": {"id": setup.mobile, "name": "Mobile"}},
        {"number": "+442079460958", "extension": "42",
         "phoneNumberType": {"id": setup.home, "name": "Home"}},
    ]
    assert (await stored(api, setup.token, contact["id"]))["phoneNumbers"] == \
        contact["phoneNumbers"]


async def test_an_extension_written_into_the_number_is_kept(api, setup, account):
    contact = await add_contact(api, setup, account, phoneNumbers=[
        {"number": "(217) 555-0100 ext. 42", "phoneNumberTypeId": setup.mobile},
        {"number": "+1 312 555 0199 x7", "phoneNumberTypeId": setup.home, "extension": "7"}])
    assert [(p["number"], p["extension"]) for p in contact["phoneNumbers"]] == \
        [("+12175550100", "42"), ("+13125550199", "7")]


async def test_two_different_extensions_for_one_number_are_refused(api, setup, account):
    before = await counts(api, setup, account)
    errors = await refused(api, setup.token, "createContact", {
        "accountId": account, "name": "Jane Doe",
        "phoneNumbers": [{"number": "(217) 555-0100 ext. 42", "extension": "43",
                          "phoneNumberTypeId": setup.mobile}]})
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "phoneNumbers")]
    assert await counts(api, setup, account) == before


async def test_a_british_company_reads_national_numbers_as_british(api):
    setup = await company_setup(api, name="Albion Fibre", time_zone="Europe/London",
                                country="GB")
    account = (await new_account(api, setup))["id"]
    contact = await add_contact(api, setup, account, phoneNumbers=[
        {"number": "020 7946 0958", "phoneNumberTypeId": setup.home}])
    assert [p["number"] for p in contact["phoneNumbers"]] == ["+442079460958"]


async def test_create_contact_records_an_event_and_an_audit_entry(api, setup, account):
    contact = await add_contact(api, setup, account, "Jane Doe", isFinancial=True)

    [event] = await events_of(api, setup.token, "contact.created")
    assert event["entityType"] == "Contact"
    assert event["entityId"] == contact["id"]
    assert event["companyId"] == setup.company
    assert event["payload"] == {"account_id": pk_of(account), "name": "Jane Doe",
                                "is_primary": True, "is_financial": True}
    [entry] = await audit_of(api, setup.token, "createContact")
    assert (entry["operation"], entry["entityType"], entry["entityId"]) == \
        ("create", "Contact", contact["id"])
    assert entry["changes"]["name"] == "Jane Doe"
    assert entry["changes"]["is_financial"] is True
    assert entry["user"] == {"email": "admin@example.com"}


# --- the primary contact ----------------------------------------------------------------

async def test_the_first_contact_becomes_primary_and_later_ones_do_not(api, setup, account):
    first = await add_contact(api, setup, account, "Jane Doe")
    second = await add_contact(api, setup, account, "Bob Doe")

    assert (first["isPrimary"], second["isPrimary"]) == (True, False)
    data = (await api.data(ACCOUNT_CONTACTS, {"id": account}, setup.token))["account"]
    assert data["primaryContact"] == {"name": "Jane Doe"}
    assert data["contacts"][0] == {"name": "Jane Doe", "isPrimary": True}
    assert sorted(c["name"] for c in data["contacts"]) == ["Bob Doe", "Jane Doe"]


async def test_a_second_primary_contact_is_refused_and_writes_nothing(api, setup, account):
    await add_contact(api, setup, account, "Jane Doe")
    before = await counts(api, setup, account)

    errors = await refused(api, setup.token, "createContact",
                           {"accountId": account, "name": "Bob Doe", "isPrimary": True,
                            "emails": ["bob@example.com"]})

    assert [(e["code"], e["field"]) for e in errors] == [("DUPLICATE", "isPrimary")]
    assert "Jane Doe" in errors[0]["message"]
    assert await counts(api, setup, account) == before
    assert await names_matching(api, setup.token, {"email": {"eq": "bob@example.com"}}) == []


async def test_set_primary_contact_moves_the_role(api, setup, account):
    jane = await add_contact(api, setup, account, "Jane Doe")
    bob = await add_contact(api, setup, account, "Bob Doe")

    moved = await ok(api, setup.token, "setPrimaryContact", {"id": bob["id"]})

    assert moved["isPrimary"] is True
    assert (await stored(api, setup.token, jane["id"]))["isPrimary"] is False
    primaries = {"accountId": {"eq": account}, "isPrimary": {"eq": True}}
    assert await names_matching(api, setup.token, primaries) == ["Bob Doe"]
    data = (await api.data(ACCOUNT_CONTACTS, {"id": account}, setup.token))["account"]
    assert data["primaryContact"] == {"name": "Bob Doe"}
    [event] = await events_of(api, setup.token, "contact.primary_changed")
    assert event["entityId"] == bob["id"]
    assert event["payload"] == {"account_id": pk_of(account),
                                "previous_contact_id": pk_of(jane["id"])}


async def test_setting_the_current_primary_again_changes_nothing(api, setup, account):
    jane = await add_contact(api, setup, account, "Jane Doe")
    before = await counts(api, setup, account)

    again = await ok(api, setup.token, "setPrimaryContact", {"id": jane["id"]})

    assert again["isPrimary"] is True
    assert await counts(api, setup, account) == before
    assert await events_of(api, setup.token, "contact.primary_changed") == []


async def test_primary_is_per_account(api, setup, account):
    other = (await new_account(api, setup, "John Roe"))["id"]
    await add_contact(api, setup, account, "Jane Doe")
    roe = await add_contact(api, setup, other, "John Roe")
    assert roe["isPrimary"] is True
    assert await names_matching(api, setup.token, {"isPrimary": {"eq": True}}) == \
        ["Jane Doe", "John Roe"]


# --- deleting ---------------------------------------------------------------------------

async def test_deleting_the_primary_contact_is_refused_while_others_exist(api, setup, account):
    jane = await add_contact(api, setup, account, "Jane Doe")
    bob = await add_contact(api, setup, account, "Bob Doe")
    before = await counts(api, setup, account)

    errors = await refused(api, setup.token, "deleteContact", {"id": jane["id"]})

    assert [(e["code"], e["field"]) for e in errors] == [("IN_USE", "id")]
    assert await counts(api, setup, account) == before
    assert (await stored(api, setup.token, jane["id"]))["isPrimary"] is True

    assert await ok(api, setup.token, "deleteContact", {"id": bob["id"]}) == bob["id"]
    assert await ok(api, setup.token, "deleteContact", {"id": jane["id"]}) == jane["id"]
    assert (await counts(api, setup, account))["contacts"] == 0
    deleted = await events_of(api, setup.token, "contact.deleted")
    assert sorted(e["payload"]["name"] for e in deleted) == ["Bob Doe", "Jane Doe"]
    assert {e["payload"]["account_id"] for e in deleted} == {pk_of(account)}


async def test_a_non_primary_contact_can_be_deleted_any_time(api, setup, account):
    await add_contact(api, setup, account, "Jane Doe")
    bob = await add_contact(api, setup, account, "Bob Doe", emails=["bob@example.com"])
    await ok(api, setup.token, "deleteContact", {"id": bob["id"]})
    assert await stored(api, setup.token, bob["id"]) is None
    assert await names_matching(api, setup.token, {"email": {"eq": "bob@example.com"}}) == []


# --- updating ---------------------------------------------------------------------------

async def test_update_replaces_emails_and_phone_numbers_only_when_given(api, setup, account):
    contact = await add_contact(
        api, setup, account, "Jane Doe", role="Owner", emails=["jane@example.com"],
        phoneNumbers=[{"number": "(217) 555-0100", "phoneNumberTypeId": setup.mobile}])

    renamed = await ok(api, setup.token, "updateContact",
                       {"id": contact["id"], "name": "Jane Roe", "isFinancial": True})
    assert (renamed["name"], renamed["isFinancial"], renamed["role"]) == \
        ("Jane Roe", True, "Owner")
    assert renamed["emails"] == ["jane@example.com"]
    assert [p["number"] for p in renamed["phoneNumbers"]] == ["+12175550100"]

    new_emails = await ok(api, setup.token, "updateContact",
                          {"id": contact["id"], "emails": ["Roe@Example.com", "j@example.com"]})
    assert new_emails["emails"] == ["roe@example.com", "j@example.com"]
    assert [p["number"] for p in new_emails["phoneNumbers"]] == ["+12175550100"]

    new_phones = await ok(api, setup.token, "updateContact", {
        "id": contact["id"],
        "phoneNumbers": [{"number": "312 555 0199", "phoneNumberTypeId": setup.home,
                          "extension": "7"}]})
    assert new_phones["emails"] == ["roe@example.com", "j@example.com"]
    assert new_phones["phoneNumbers"] == [
        {"number": "+13125550199", "extension": "7",
         "phoneNumberType": {"id": setup.home, "name": "Home"}}]

    cleared = await ok(api, setup.token, "updateContact",
                       {"id": contact["id"], "emails": [], "phoneNumbers": [], "role": None})
    assert (cleared["emails"], cleared["phoneNumbers"], cleared["role"]) == ([], [], None)
    assert await stored(api, setup.token, contact["id"]) == {
        key: cleared[key] for key in ("id", "name", "role", "isPrimary", "isFinancial",
                                      "portalUsername", "emails", "phoneNumbers")}

    changed = [e["payload"]["changed"] for e in
               await events_of(api, setup.token, "contact.updated")]
    assert sorted(map(sorted, changed)) == sorted(map(sorted, [
        ["name", "is_financial"], ["emails"], ["phone_numbers"],
        ["role", "emails", "phone_numbers"]]))


async def test_update_cannot_null_the_name(api, setup, account):
    contact = await add_contact(api, setup, account, "Jane Doe")
    errors = await refused(api, setup.token, "updateContact",
                           {"id": contact["id"], "name": None})
    assert [(e["code"], e["field"]) for e in errors] == [("REQUIRED", "name")]
    blank = await refused(api, setup.token, "updateContact", {"id": contact["id"], "name": " "})
    assert [(e["code"], e["field"]) for e in blank] == [("REQUIRED", "name")]
    assert (await stored(api, setup.token, contact["id"]))["name"] == "Jane Doe"


# --- refusals that write nothing --------------------------------------------------------

async def test_an_invalid_email_is_refused_and_nothing_is_written(api, setup, account):
    before = await counts(api, setup, account)
    errors = await refused(api, setup.token, "createContact",
                           {"accountId": account, "name": "Jane Doe",
                            "emails": ["jane@example.com", "not-an-email"]})
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "emails")]
    assert await counts(api, setup, account) == before


async def test_an_invalid_email_on_update_keeps_the_old_list(api, setup, account):
    contact = await add_contact(api, setup, account, emails=["jane@example.com"])
    before = await counts(api, setup, account)
    errors = await refused(api, setup.token, "updateContact",
                           {"id": contact["id"], "name": "Jane Roe",
                            "emails": ["jane@@example"]})
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "emails")]
    assert await counts(api, setup, account) == before
    kept = await stored(api, setup.token, contact["id"])
    assert (kept["name"], kept["emails"]) == ("Jane Doe", ["jane@example.com"])


@pytest.mark.parametrize("phone", [
    {"number": "555-0100"},                        # too short for a US number
    {"number": "not a number"},
    {"number": "(217) 555-0100", "extension": "12a"},
    {"number": "(217) 555-0100", "extension": "12345678901"},
    {"number": "(217) 555-0100", "extension": "\uff14\uff12"},  # fullwidth digits
    {"number": "(217) 555-0100", "extension": "4\u00b2"},  # a superscript two
], ids=["too-short", "letters", "extension-letters", "extension-too-long",
        "extension-fullwidth-digits", "extension-superscript"])
async def test_an_invalid_phone_number_is_refused_and_nothing_is_written(
        api, setup, account, phone):
    before = await counts(api, setup, account)
    errors = await refused(api, setup.token, "createContact",
                           {"accountId": account, "name": "Jane Doe",
                            "phoneNumbers": [{**phone, "phoneNumberTypeId": setup.mobile}]})
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "phoneNumbers")]
    assert await counts(api, setup, account) == before


async def test_an_invalid_phone_number_on_update_keeps_the_old_list(api, setup, account):
    contact = await add_contact(api, setup, account, phoneNumbers=[
        {"number": "(217) 555-0100", "phoneNumberTypeId": setup.mobile}])
    errors = await refused(api, setup.token, "updateContact", {
        "id": contact["id"], "emails": ["new@example.com"],
        "phoneNumbers": [{"number": "12345", "phoneNumberTypeId": setup.mobile}]})
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "phoneNumbers")]
    kept = await stored(api, setup.token, contact["id"])
    assert (kept["emails"], [p["number"] for p in kept["phoneNumbers"]]) == \
        ([], ["+12175550100"])


async def test_a_phone_number_type_of_another_company_is_refused(api, setup, account):
    other = await company_setup(api, setup.token, name="Other Fibre")
    before = await counts(api, setup, account)
    errors = await refused(api, setup.token, "createContact", {
        "accountId": account, "name": "Jane Doe",
        "phoneNumbers": [{"number": "(217) 555-0100", "phoneNumberTypeId": other.mobile}]})
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "phoneNumbers")]
    assert "another company" in errors[0]["message"]
    assert await counts(api, setup, account) == before


async def test_a_contact_on_a_missing_account_is_not_found(api, setup, account):
    await ok(api, setup.token, "deleteAccount", {"id": account})
    errors = await refused(api, setup.token, "createContact",
                           {"accountId": account, "name": "Jane Doe"})
    assert [(e["code"], e["field"]) for e in errors] == [("NOT_FOUND", "accountId")]


# --- financial contacts and filters -----------------------------------------------------

async def test_any_number_of_contacts_can_be_financial(api, setup, account):
    await add_contact(api, setup, account, "Jane Doe", isFinancial=True)
    await add_contact(api, setup, account, "Bob Doe", isFinancial=True)
    await add_contact(api, setup, account, "Kid Doe")
    other = (await new_account(api, setup, "John Roe"))["id"]
    await add_contact(api, setup, other, "John Roe", isFinancial=True)

    financial = {"isFinancial": {"eq": True}}
    assert await names_matching(api, setup.token, financial) == \
        ["Bob Doe", "Jane Doe", "John Roe"]
    assert await names_matching(api, setup.token,
                                {"accountId": {"eq": account}, **financial}) == \
        ["Bob Doe", "Jane Doe"]
    assert await names_matching(api, setup.token, {"isFinancial": {"eq": False}}) == \
        ["Kid Doe"]


async def test_contacts_filter_by_email(api, setup, account):
    await add_contact(api, setup, account, "Jane Doe",
                      emails=["jane@example.com", "billing@doe.example"])
    await add_contact(api, setup, account, "Bob Doe", emails=["bob@example.com"])

    assert await names_matching(api, setup.token, {"email": {"eq": "jane@example.com"}}) == \
        ["Jane Doe"]
    assert await names_matching(api, setup.token, {"email": {"eq": "billing@doe.example"}}) \
        == ["Jane Doe"]
    assert await names_matching(api, setup.token, {"email": {"contains": "EXAMPLE.COM"}}) == \
        ["Bob Doe", "Jane Doe"]
    assert await names_matching(api, setup.token, {"email": {"eq": "nobody@example.com"}}) \
        == []


# --- permissions ------------------------------------------------------------------------

async def test_a_reader_cannot_write_contacts(api, setup, account):
    contact = await add_contact(api, setup, account, "Jane Doe")
    _, reader = await api.user_with_token("reader@example.com", permissions=["accounts:read"])
    before = await counts(api, setup, account)
    attempts = [
        ("createContact", {"accountId": account, "name": "Bob Doe"}),
        ("updateContact", {"id": contact["id"], "name": "Jane Roe"}),
        ("deleteContact", {"id": contact["id"]}),
        ("setPrimaryContact", {"id": contact["id"]}),
        ("setContactPortalLogin", {"id": contact["id"], "username": "jane",
                                   "password": PORTAL_PASSWORD}),
        ("removeContactPortalLogin", {"id": contact["id"]}),
    ]
    for mutation, input in attempts:
        body = await api.gql(MUTATIONS[mutation][0], {"input": input}, reader)
        assert body["data"] is None, mutation
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", mutation
        assert "accounts:write" in body["errors"][0]["message"], mutation
    assert await counts(api, setup, account) == before
    assert await names_matching(api, reader, {}) == ["Jane Doe"]


# --- the customer portal login ----------------------------------------------------------

async def set_login(api: Any, setup: Setup, contact: str, username: str,
                    password: str = PORTAL_PASSWORD) -> dict[str, Any]:
    return await ok(api, setup.token, "setContactPortalLogin",
                    {"id": contact, "username": username, "password": password})


async def test_set_portal_login_lower_cases_the_username_and_hides_the_hash(
        api, setup, account):
    contact = await add_contact(api, setup, account, "Jane Doe")

    updated = await set_login(api, setup, contact["id"], "  Jane.Doe@Example.com ")

    assert updated["portalUsername"] == "jane.doe@example.com"
    [event] = await events_of(api, setup.token, "contact.portal_login_set")
    assert event["entityId"] == contact["id"]
    assert event["payload"] == {"account_id": pk_of(account),
                                "username": "jane.doe@example.com"}
    [entry] = await audit_of(api, setup.token, "setContactPortalLogin")
    assert entry["operation"] == "update"
    assert entry["changes"] == {
        "portal_username": {"from": None, "to": "jane.doe@example.com"},
        "portal_password_changed": True}
    await ok(api, setup.token, "deleteContact", {"id": contact["id"]})
    every = (await api.data(CONTACT_AUDIT, token=setup.token))["auditLogEntries"]
    assert sorted(e["node"]["operation"] for e in every["edges"]) == \
        ["create", "delete", "update"]
    text = repr([edge["node"] for edge in every["edges"]])
    assert "portal_password_hash" not in text
    assert "argon2" not in text
    assert PORTAL_PASSWORD not in text


async def test_changing_only_the_portal_password_is_audited_as_a_flag(api, setup, account):
    contact = await add_contact(api, setup, account, "Jane Doe")
    await set_login(api, setup, contact["id"], "jane")
    await set_login(api, setup, contact["id"], "jane", "another-Long-passphrase-2")
    entries = await audit_of(api, setup.token, "setContactPortalLogin")
    assert sorted(len(e["changes"]) for e in entries) == [1, 2]
    assert {"portal_password_changed": True} in [e["changes"] for e in entries]


async def test_portal_usernames_are_unique_across_companies(api, setup, account):
    other = await company_setup(api, setup.token, name="Other Fibre")
    other_account = (await new_account(api, other, "John Roe"))["id"]
    jane = await add_contact(api, setup, account, "Jane Doe")
    john = await add_contact(api, other, other_account, "John Roe")
    await set_login(api, setup, jane["id"], "doe")
    before = len(await events_of(api, setup.token, "contact.portal_login_set"))

    errors = await refused(api, setup.token, "setContactPortalLogin",
                           {"id": john["id"], "username": "DOE", "password": PORTAL_PASSWORD})

    assert [(e["code"], e["field"]) for e in errors] == [("DUPLICATE", "username")]
    assert (await stored(api, setup.token, john["id"]))["portalUsername"] is None
    assert len(await events_of(api, setup.token, "contact.portal_login_set")) == before
    # the same contact may set its own username again (a new password)
    assert (await set_login(api, setup, jane["id"], "Doe"))["portalUsername"] == "doe"


@pytest.mark.parametrize(("password", "code"), [
    ("short", "PASSWORD_TOO_WEAK"),
    ("aaaaaaaaaaaaaaaa", "PASSWORD_TOO_WEAK"),
    ("jane.doe.portal", "PASSWORD_TOO_WEAK"),  # the username itself
    ("password1234", "PASSWORD_TOO_WEAK"),
    ("doe jane doe", "PASSWORD_TOO_WEAK"),  # the contact's name
    ("x" * 1025, "INVALID"),
], ids=["too-short", "too-few-characters", "same-as-username", "common", "the-name",
        "too-long"])
async def test_a_weak_portal_password_is_refused(api, setup, account, password, code):
    contact = await add_contact(api, setup, account, "Jane Doe")
    errors = await refused(api, setup.token, "setContactPortalLogin",
                           {"id": contact["id"], "username": "Jane.Doe.Portal",
                            "password": password})
    assert [(e["code"], e["field"]) for e in errors] == [(code, "password")]
    assert (await stored(api, setup.token, contact["id"]))["portalUsername"] is None
    assert await events_of(api, setup.token, "contact.portal_login_set") == []


@pytest.mark.parametrize("username", ["ab", "-jane", "jane doe", "j" * 101, ""])
async def test_a_malformed_portal_username_is_refused(api, setup, account, username):
    contact = await add_contact(api, setup, account, "Jane Doe")
    errors = await refused(api, setup.token, "setContactPortalLogin",
                           {"id": contact["id"], "username": username,
                            "password": PORTAL_PASSWORD})
    assert [(e["code"], e["field"]) for e in errors] == [("INVALID", "username")]
    assert (await stored(api, setup.token, contact["id"]))["portalUsername"] is None


async def test_remove_portal_login_frees_the_username(api, setup, account):
    jane = await add_contact(api, setup, account, "Jane Doe")
    bob = await add_contact(api, setup, account, "Bob Doe")
    await set_login(api, setup, jane["id"], "doe")

    removed = await ok(api, setup.token, "removeContactPortalLogin", {"id": jane["id"]})

    assert removed["portalUsername"] is None
    [event] = await events_of(api, setup.token, "contact.portal_login_removed")
    assert event["payload"] == {"account_id": pk_of(account)}
    [entry] = await audit_of(api, setup.token, "removeContactPortalLogin")
    assert entry["changes"] == {"portal_username": {"from": "doe", "to": None},
                                "portal_password_changed": True}
    again = await refused(api, setup.token, "removeContactPortalLogin", {"id": jane["id"]})
    assert [(e["code"], e["field"]) for e in again] == [("INVALID", "id")]
    assert (await set_login(api, setup, bob["id"], "doe"))["portalUsername"] == "doe"


async def verify(system_uow: Any, username: str, password: str,
                 ip: str = "203.0.113.7") -> int:
    async with system_uow() as uow:
        return (await verify_portal_login(uow, username, password, ip=ip)).id


async def refused_login(system_uow: Any, username: str, password: str,
                        ip: str = "203.0.113.7") -> DomainError:
    async with system_uow() as uow:  # committed, as a sign-in endpoint does: the count stays
        try:
            await verify_portal_login(uow, username, password, ip=ip)
        except DomainError as exc:
            return exc
    raise AssertionError("signed in")


async def test_verify_portal_login_accepts_the_right_password_only(
        api, setup, account, system_uow):
    contact = await add_contact(api, setup, account, "Jane Doe")
    await set_login(api, setup, contact["id"], "Jane.Doe")

    assert await verify(system_uow, "jane.doe", PORTAL_PASSWORD) == pk_of(contact["id"])
    assert await verify(system_uow, " JANE.DOE ", PORTAL_PASSWORD) == pk_of(contact["id"])

    wrong = await refused_login(system_uow, "jane.doe", PORTAL_PASSWORD + "x")
    unknown = await refused_login(system_uow, "nobody", PORTAL_PASSWORD)
    assert wrong.code == unknown.code == "INVALID_CREDENTIALS"
    assert (wrong.field, wrong.message) == (unknown.field, unknown.message)

    await ok(api, setup.token, "removeContactPortalLogin", {"id": contact["id"]})
    removed = await refused_login(system_uow, "jane.doe", PORTAL_PASSWORD)
    assert removed.code == "INVALID_CREDENTIALS"


async def test_portal_sign_ins_are_throttled_per_username_and_address_alike(
        api, setup, account, system_uow, clock):
    contact = await add_contact(api, setup, account, "Jane Doe")
    await set_login(api, setup, contact["id"], "jane")
    free = api.runtime.settings.login_free_failures
    for n in range(free):
        assert (await refused_login(system_uow, "jane", f"guess {n}")).code == \
            "INVALID_CREDENTIALS"
        assert (await refused_login(system_uow, "nobody", f"guess {n}")).code == \
            "INVALID_CREDENTIALS"
    known = await refused_login(system_uow, "jane", PORTAL_PASSWORD)  # right, unchecked
    unknown = await refused_login(system_uow, "nobody", PORTAL_PASSWORD)
    assert known.code == "TOO_MANY_ATTEMPTS"
    assert (known.code, known.field, known.message) == (
        unknown.code, unknown.field, unknown.message)
    # the customer at home is not held back; after the wait, this address is not either
    assert await verify(system_uow, "jane", PORTAL_PASSWORD, ip="198.51.100.4") == \
        pk_of(contact["id"])
    clock.advance(timedelta(seconds=2))
    assert await verify(system_uow, "jane", PORTAL_PASSWORD) == pk_of(contact["id"])


async def test_a_new_portal_password_replaces_the_old_one(api, setup, account, system_uow):
    contact = await add_contact(api, setup, account, "Jane Doe")
    await set_login(api, setup, contact["id"], "jane")
    await set_login(api, setup, contact["id"], "jane", "another-Long-passphrase-2")
    assert await verify(system_uow, "jane", "another-Long-passphrase-2") == \
        pk_of(contact["id"])
    assert (await refused_login(system_uow, "jane", PORTAL_PASSWORD)).code == \
        "INVALID_CREDENTIALS"


# --- search documents -------------------------------------------------------------------

async def test_search_follows_a_contacts_email_change(api, setup, account):
    contact = await add_contact(api, setup, account, "Jane Doe", emails=["old@doe.example"])
    assert await search_ids(api, setup.token, "old@doe.example") == [contact["id"]]

    await ok(api, setup.token, "updateContact",
             {"id": contact["id"], "emails": ["new@doe.example"]})

    assert await search_ids(api, setup.token, "new@doe.example") == [contact["id"]]
    assert await search_ids(api, setup.token, "old@doe.example") == []


async def test_search_finds_a_contact_by_phone_number_however_written(api, setup, account):
    contact = await add_contact(api, setup, account, "Jane Doe", phoneNumbers=[
        {"number": "(217) 555-0100", "phoneNumberTypeId": setup.mobile}])
    for query in ("217-555-0100", "+1 217 555 0100", "2175550100"):
        assert await search_ids(api, setup.token, query) == [contact["id"]], query


async def test_a_deleted_contact_disappears_from_search(api, setup, account):
    await add_contact(api, setup, account, "Jane Doe")
    bob = await add_contact(api, setup, account, "Bobby Tables", emails=["bobby@doe.example"])
    hits = (await api.data(SEARCH, {"q": "bobby"}, setup.token))["search"]
    assert [(h["type"], h["title"], h["subtitle"]) for h in hits] == \
        [("CONTACT", "Bobby Tables", "Jane Doe")]

    await ok(api, setup.token, "deleteContact", {"id": bob["id"]})

    assert await search_ids(api, setup.token, "bobby") == []
    assert await search_ids(api, setup.token, "bobby@doe.example") == []
