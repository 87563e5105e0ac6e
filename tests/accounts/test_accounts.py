"""Accounts through the API: creating them (with a primary contact and an address in the same
call, and idempotently), changing and deleting them, the bad input that must write nothing,
every status command (changes, lead conversion, disconnection now and later, reactivation)
with the history, events and audit entries they leave, and the ``accounts`` listing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.accounts.account_queries import (
    audit_of,
    codes,
    counts,
    events_of,
    forbidden,
    gid,
    pk_of,
)
from tests.accounts.factories import (
    ACCOUNT_FIELDS,
    Setup,
    company_setup,
    new_account,
    new_address,
    ok,
    refused,
)

ACCOUNT = f"query($id: ID!) {{ account(id: $id) {{ {ACCOUNT_FIELDS} }} }}"
DETAIL = """query($id: ID!) { account(id: $id) {
  activationDate disconnectedOn accountStatus { name }
  physicalAddress { id }
  addressHistory { movedInOn movedOutOn serviceableAddress { id } }
  statusHistory { kind reason changedAt fromStatus { name } toStatus { name } user { email } }
  childAccounts { id name }
  contacts { name role isPrimary isFinancial emails phoneNumbers { number } }
} }"""
LIST = """query($filter: AccountFilter, $first: Int, $after: String, $order: [AccountOrder!]) {
  accounts(filter: $filter, first: $first, after: $after, orderBy: $order) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { name } } } }"""

TODAY = "2026-11-02"  # the fixed clock's day in America/Chicago


async def account_of(api: Any, token: str, pk: str) -> dict[str, Any] | None:
    return (await api.data(ACCOUNT, {"id": pk}, token))["account"]


async def detail_of(api: Any, token: str, pk: str) -> dict[str, Any]:
    return (await api.data(DETAIL, {"id": pk}, token))["account"]


async def history_of(api: Any, token: str, pk: str) -> list[dict[str, Any]]:
    return (await detail_of(api, token, pk))["statusHistory"]


async def group(api: Any, setup: Setup, name: str) -> str:
    return (await ok(api, setup.token, "createAccountGroup",
                     {"companyId": setup.company, "name": name}))["id"]


async def audited_changes(api: Any, setup: Setup, action: str, pk: str) -> dict[str, Any]:
    """Every field change the audit log holds for ``pk`` from ``action`` (a command may
    write a field per flush, so its changes can span entries)."""
    merged: dict[str, Any] = {}
    for entry in await audit_of(api, setup.token, action, pk):
        assert entry["operation"] == "update"
        assert entry["user"] == {"email": "admin@example.com"}
        merged.update(entry["changes"])
    return merged


def named(accounts: list[dict[str, Any]] | None) -> list[str]:
    return [a["name"] for a in accounts or []]


async def assert_refused(api: Any, setup: Setup, mutation: str, input: dict[str, Any],
                         expected: list[tuple[str, str]]) -> None:
    """``mutation`` is refused with exactly ``expected`` and writes nothing at all."""
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, mutation, input)
    assert codes(errors) == expected
    assert await counts(api, setup.token) == before


# --- create --------------------------------------------------------------------------------

async def test_create_account_with_every_field_a_primary_contact_and_an_address(api):
    setup = await company_setup(api)
    parent = await new_account(api, setup, "Parent Corp", accountTypeId=setup.business,
                               accountNumber="P-1")
    tower, vip = await group(api, setup, "Tower 7"), await group(api, setup, "VIP")
    address = await new_address(api, setup)

    response = await api.post(
        "mutation($input: CreateAccountInput!) { createAccount(input: $input) { "
        f"account {{ {ACCOUNT_FIELDS} }} errors {{ field code message }} }} }}",
        {"input": {
            "companyId": setup.company, "name": "  Jane Doe ", "accountNumber": " A-1001 ",
            "accountTypeId": setup.business, "accountStatusId": setup.active,
            "parentAccountId": parent["id"], "billToParent": True,
            "accountGroupIds": [vip, tower, vip], "activationDate": "2026-10-15",
            "leadSource": "  Referral ",
            "primaryContact": {"name": "Jane Doe", "role": "Owner", "isFinancial": True,
                               "emails": ["jane@example.com"],
                               "phoneNumbers": [{"number": "+13125550100",
                                                 "phoneNumberTypeId": setup.mobile}]},
            "serviceableAddressId": address["id"]}}, setup.token)
    payload = response.json()["data"]["createAccount"]
    assert payload["errors"] == []
    account = payload["account"]

    assert account == {
        "id": account["id"], "name": "Jane Doe", "accountNumber": "A-1001",
        "activationDate": "2026-10-15", "disconnectedOn": None, "disconnectReason": None,
        "leadSource": "Referral", "billToParent": True,
        "accountStatus": {"id": setup.active, "name": "Active"},
        "accountType": {"id": setup.business, "name": "Business"},
        "parentAccount": {"id": parent["id"]},
        "groups": [{"id": tower, "name": "Tower 7"}, {"id": vip, "name": "VIP"}]}
    assert await account_of(api, setup.token, account["id"]) == account
    detail = await detail_of(api, setup.token, account["id"])
    assert detail["contacts"] == [{"name": "Jane Doe", "role": "Owner", "isPrimary": True,
                                   "isFinancial": True, "emails": ["jane@example.com"],
                                   "phoneNumbers": [{"number": "+13125550100"}]}]
    assert detail["physicalAddress"] == {"id": address["id"]}
    assert detail["addressHistory"] == [{"movedInOn": TODAY, "movedOutOn": None,
                                         "serviceableAddress": {"id": address["id"]}}]
    assert detail["statusHistory"] == [{
        "kind": "CREATED", "reason": "", "changedAt": "2026-11-02T15:00:00+00:00",
        "fromStatus": None, "toStatus": {"name": "Active"},
        "user": {"email": "admin@example.com"}}]
    assert named((await detail_of(api, setup.token, parent["id"]))["childAccounts"]) == [
        "Jane Doe"]

    request_id = response.headers["x-request-id"]
    [created] = await events_of(api, setup.token, "account.created", account["id"])
    assert created["payload"] == {
        "name": "Jane Doe", "account_number": "A-1001",
        "account_type_id": pk_of(setup.business), "account_status_id": pk_of(setup.active),
        "parent_account_id": pk_of(parent["id"]), "bill_to_parent": True,
        "activation_date": "2026-10-15", "lead_source": "Referral"}
    [contact_event] = await events_of(api, setup.token, "contact.created")
    [moved_in] = await events_of(api, setup.token, "account.moved_in", account["id"])
    assert moved_in["payload"]["serviceable_address_id"] == pk_of(address["id"])
    assert contact_event["payload"]["account_id"] == pk_of(account["id"])
    assert {created["requestId"], contact_event["requestId"], moved_in["requestId"]} == {
        request_id}
    [entry] = await audit_of(api, setup.token, "createAccount", account["id"])
    assert entry["operation"] == "create"
    assert entry["companyId"] == setup.company
    assert entry["user"] == {"email": "admin@example.com"}
    assert entry["changes"]["name"] == "Jane Doe"
    assert entry["changes"]["account_number"] == "A-1001"


async def test_a_minimal_account_takes_the_defaults(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    assert account == {
        "id": account["id"], "name": "Jane Doe", "accountNumber": None,
        "activationDate": TODAY, "disconnectedOn": None, "disconnectReason": None,
        "leadSource": None, "billToParent": False,
        "accountStatus": {"id": setup.active, "name": "Active"},
        "accountType": {"id": setup.residential, "name": "Residential"},
        "parentAccount": None, "groups": []}
    detail = await detail_of(api, setup.token, account["id"])
    assert (detail["contacts"], detail["physicalAddress"], detail["childAccounts"]) == (
        [], None, [])


async def test_activation_date_defaults_to_today_in_the_company_time_zone(api, clock):
    """03:00 UTC on 3 November is still the 2nd in Chicago, already the 3rd in Tokyo."""
    chicago = await company_setup(api)
    tokyo = await company_setup(api, chicago.token, name="Tokyo Hikari",
                                time_zone="Asia/Tokyo", country="JP")
    clock.set(datetime(2026, 11, 3, 3, 0, tzinfo=UTC))
    assert (await new_account(api, chicago))["activationDate"] == "2026-11-02"
    assert (await new_account(api, tokyo))["activationDate"] == "2026-11-03"
    # A status that counts as active (even a delinquent one) gets today too.
    delinquent = await new_account(api, chicago, "Late Payer",
                                   accountStatusId=chicago.delinquent)
    assert delinquent["activationDate"] == "2026-11-02"


@pytest.mark.parametrize("status", ["lead", "suspended", "inactive"])
async def test_an_account_not_yet_active_has_no_activation_date(api, status):
    setup = await company_setup(api)
    account = await new_account(api, setup, accountStatusId=getattr(setup, status),
                                leadSource="Web form")
    assert account["activationDate"] is None
    assert account["leadSource"] == "Web form"


# --- update --------------------------------------------------------------------------------

async def test_update_replaces_the_groups_and_keeps_omitted_fields(api, clock):
    setup = await company_setup(api)
    tower, vip, east = [await group(api, setup, n) for n in ("Tower 7", "VIP", "East")]
    parent = await new_account(api, setup, "Parent Corp")
    account = await new_account(api, setup, accountNumber="A-1", leadSource="Referral",
                                parentAccountId=parent["id"], billToParent=True,
                                accountGroupIds=[tower, vip])
    clock.advance(timedelta(hours=1))

    regrouped = await ok(api, setup.token, "updateAccount",
                         {"id": account["id"], "accountGroupIds": [east, vip]})
    assert regrouped == {**account, "groups": [{"id": vip, "name": "VIP"},
                                               {"id": east, "name": "East"}]}
    [event] = await events_of(api, setup.token, "account.updated", account["id"])
    assert event["payload"] == {"changed": ["account_group_ids"]}

    renamed = await ok(api, setup.token, "updateAccount",
                       {"id": account["id"], "name": " Janet Doe ", "leadSource": None})
    assert renamed == {**regrouped, "name": "Janet Doe", "leadSource": None}
    assert await account_of(api, setup.token, account["id"]) == renamed
    entries = await audit_of(api, setup.token, "updateAccount", account["id"])
    assert entries[-1]["operation"] == "update"
    assert entries[-1]["changes"] == {"name": {"from": "Jane Doe", "to": "Janet Doe"},
                                      "lead_source": {"from": "Referral", "to": None}}
    assert (await events_of(api, setup.token, "account.updated", account["id"]))[-1][
        "payload"] == {"changed": ["lead_source", "name"]}

    emptied = await ok(api, setup.token, "updateAccount",
                       {"id": account["id"], "accountGroupIds": []})
    assert emptied["groups"] == []


async def test_update_changes_type_number_parent_and_dates(api):
    setup = await company_setup(api)
    parent = await new_account(api, setup, "Parent Corp")
    account = await new_account(api, setup, accountNumber="A-1")
    updated = await ok(api, setup.token, "updateAccount", {
        "id": account["id"], "accountTypeId": setup.business, "accountNumber": "A-2",
        "parentAccountId": parent["id"], "billToParent": True,
        "activationDate": "2025-01-31"})
    assert updated == {**account, "accountType": {"id": setup.business, "name": "Business"},
                       "accountNumber": "A-2", "parentAccount": {"id": parent["id"]},
                       "billToParent": True, "activationDate": "2025-01-31"}
    # The old number is free again; the nullable fields can be cleared.
    await new_account(api, setup, "Other", accountNumber="A-1")
    cleared = await ok(api, setup.token, "updateAccount", {
        "id": account["id"], "accountNumber": None, "parentAccountId": None,
        "billToParent": False, "activationDate": None})
    assert (cleared["accountNumber"], cleared["parentAccount"], cleared["billToParent"],
            cleared["activationDate"]) == (None, None, False, None)
    # Keeping its own number is no duplicate.
    kept = await ok(api, setup.token, "updateAccount",
                    {"id": account["id"], "accountNumber": "A-2"})
    assert kept["accountNumber"] == "A-2"
    again = await ok(api, setup.token, "updateAccount",
                     {"id": account["id"], "accountNumber": "A-2", "name": "Same"})
    assert (again["accountNumber"], again["name"]) == ("A-2", "Same")


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"name": None}, "name", "REQUIRED"),
    ({"name": "  "}, "name", "REQUIRED"),
    ({"name": "n" * 201}, "name", "INVALID"),
    ({"accountTypeId": None}, "accountTypeId", "REQUIRED"),
    ({"billToParent": None}, "billToParent", "REQUIRED"),
    ({"accountGroupIds": None}, "accountGroupIds", "REQUIRED"),
    ({"accountNumber": "A 2"}, "accountNumber", "INVALID"),
    ({"billToParent": True}, "billToParent", "INVALID"),
], ids=["null name", "blank name", "long name", "null type", "null billToParent",
        "null groups", "spaced number", "billToParent without parent"])
async def test_a_bad_update_changes_nothing(api, change, field, code):
    setup = await company_setup(api)
    account = await new_account(api, setup, accountNumber="A-1")
    await assert_refused(api, setup, "updateAccount", {"id": account["id"], **change},
                         [(field, code)])
    assert await account_of(api, setup.token, account["id"]) == account


async def test_clearing_the_parent_of_an_account_billed_to_it_is_refused(api):
    setup = await company_setup(api)
    parent = await new_account(api, setup, "Parent Corp")
    child = await new_account(api, setup, parentAccountId=parent["id"], billToParent=True)
    await assert_refused(api, setup, "updateAccount",
                         {"id": child["id"], "parentAccountId": None},
                         [("billToParent", "INVALID")])
    assert await account_of(api, setup.token, child["id"]) == child


async def test_update_of_an_unknown_or_wrongly_typed_account_id(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    for pk, code in ((gid("Account", pk_of(account["id"]) + 100), "NOT_FOUND"),
                     (setup.residential, "INVALID")):
        await assert_refused(api, setup, "updateAccount", {"id": pk, "name": "X"},
                             [("id", code)])
        await assert_refused(api, setup, "deleteAccount", {"id": pk}, [("id", code)])


# --- parents -------------------------------------------------------------------------------

async def test_an_account_cannot_be_its_own_parent(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    await assert_refused(api, setup, "updateAccount",
                         {"id": account["id"], "parentAccountId": account["id"]},
                         [("parentAccountId", "INVALID")])
    assert (await account_of(api, setup.token, account["id"]))["parentAccount"] is None


async def test_a_parent_cycle_is_refused(api):
    setup = await company_setup(api)
    a = await new_account(api, setup, "A")
    b = await new_account(api, setup, "B", parentAccountId=a["id"])
    c = await new_account(api, setup, "C", parentAccountId=b["id"])
    for child, parent in ((a, b), (a, c), (b, c)):
        await assert_refused(api, setup, "updateAccount",
                             {"id": child["id"], "parentAccountId": parent["id"]},
                             [("parentAccountId", "INVALID")])
    assert (await account_of(api, setup.token, a["id"]))["parentAccount"] is None
    assert (await account_of(api, setup.token, b["id"]))["parentAccount"] == {"id": a["id"]}
    # Moving a child under a sibling branch is no cycle.
    d = await new_account(api, setup, "D", parentAccountId=a["id"])
    moved = await ok(api, setup.token, "updateAccount",
                     {"id": d["id"], "parentAccountId": c["id"]})
    assert moved["parentAccount"] == {"id": c["id"]}


async def test_a_parent_from_another_company_is_refused_on_update(api):
    acme = await company_setup(api)
    bolt = await company_setup(api, acme.token, name="Bolt Broadband")
    mine = await new_account(api, acme)
    theirs = await new_account(api, bolt, "Bolt Customer")
    await assert_refused(api, acme, "updateAccount",
                         {"id": mine["id"], "parentAccountId": theirs["id"]},
                         [("parentAccountId", "INVALID")])
    await assert_refused(api, acme, "updateAccount",
                         {"id": mine["id"], "accountTypeId": bolt.business},
                         [("accountTypeId", "INVALID")])
    await assert_refused(api, acme, "updateAccount",
                         {"id": mine["id"], "accountGroupIds": [await group(api, bolt, "G")]},
                         [("accountGroupIds", "INVALID")])
    assert await account_of(api, acme.token, mine["id"]) == mine


# --- bad input on create -------------------------------------------------------------------

@dataclass
class World:
    """Two companies: Acme with an account A-1 living at an address, Bolt with its own
    account, group and address."""

    acme: Setup
    bolt: Setup
    existing: dict[str, Any]
    occupied: str
    theirs: dict[str, Any]
    their_group: str
    their_address: str

    def input(self, **fields: Any) -> dict[str, Any]:
        return {"companyId": self.acme.company, "name": "New Customer",
                "accountTypeId": self.acme.residential, "accountStatusId": self.acme.active,
                **fields}


async def world(api: Any) -> World:
    acme = await company_setup(api)
    bolt = await company_setup(api, acme.token, name="Bolt Broadband")
    occupied = (await new_address(api, acme, "1 Taken Rd"))["id"]
    existing = await new_account(api, acme, "Existing", accountNumber="A-1",
                                 serviceableAddressId=occupied)
    return World(acme, bolt, existing, occupied, await new_account(api, bolt, "Bolt One"),
                 await group(api, bolt, "Bolt Group"),
                 (await new_address(api, bolt, "9 Elsewhere Ave"))["id"])


def missing(type_name: str, like: str) -> str:
    return gid(type_name, pk_of(like) + 1000)


BAD_CREATE: dict[str, tuple[Callable[[World], dict[str, Any]], str, str]] = {
    "duplicate number": (lambda w: {"accountNumber": "A-1"}, "accountNumber", "DUPLICATE"),
    "number with a space": (lambda w: {"accountNumber": "A 2"}, "accountNumber", "INVALID"),
    "number too long": (lambda w: {"accountNumber": "9" * 41}, "accountNumber", "INVALID"),
    "blank name": (lambda w: {"name": " "}, "name", "REQUIRED"),
    "name too long": (lambda w: {"name": "n" * 201}, "name", "INVALID"),
    "billToParent without parent": (lambda w: {"billToParent": True}, "billToParent",
                                    "INVALID"),
    "parent of another company": (lambda w: {"parentAccountId": w.theirs["id"]},
                                  "parentAccountId", "INVALID"),
    "type of another company": (lambda w: {"accountTypeId": w.bolt.residential},
                                "accountTypeId", "INVALID"),
    "status of another company": (lambda w: {"accountStatusId": w.bolt.active},
                                  "accountStatusId", "INVALID"),
    "group of another company": (lambda w: {"accountGroupIds": [w.their_group]},
                                 "accountGroupIds", "INVALID"),
    "address of another company": (lambda w: {"serviceableAddressId": w.their_address},
                                   "serviceableAddressId", "INVALID"),
    "unknown company": (lambda w: {"companyId": missing("Company", w.acme.company)},
                        "companyId", "NOT_FOUND"),
    "unknown type": (lambda w: {"accountTypeId": missing("AccountType", w.acme.business)},
                     "accountTypeId", "NOT_FOUND"),
    "unknown status": (lambda w: {"accountStatusId": missing("AccountStatus", w.acme.lead)},
                       "accountStatusId", "NOT_FOUND"),
    "unknown parent": (lambda w: {"parentAccountId": missing("Account", w.theirs["id"])},
                       "parentAccountId", "NOT_FOUND"),
    "unknown group": (lambda w: {"accountGroupIds": [missing("AccountGroup", w.their_group)]},
                      "accountGroupIds", "NOT_FOUND"),
    "unknown address": (lambda w: {"serviceableAddressId": missing("ServiceableAddress",
                                                                   w.their_address)},
                        "serviceableAddressId", "NOT_FOUND"),
    "type id as parent": (lambda w: {"parentAccountId": w.acme.residential},
                          "parentAccountId", "INVALID"),
    "status id as type": (lambda w: {"accountTypeId": w.acme.active}, "accountTypeId",
                          "INVALID"),
    "account id as status": (lambda w: {"accountStatusId": w.existing["id"]},
                             "accountStatusId", "INVALID"),
    "account id as group": (lambda w: {"accountGroupIds": [w.existing["id"]]},
                            "accountGroupIds", "INVALID"),
    "address already lived in": (lambda w: {"serviceableAddressId": w.occupied},
                                 "serviceableAddressId", "IN_USE"),
    "contact with a bad email": (lambda w: {"primaryContact": {"name": "Jo",
                                                               "emails": ["not-an-email"]}},
                                 "primaryContact.emails", "INVALID"),
    "contact without a name": (lambda w: {"primaryContact": {"name": " "}},
                               "primaryContact.name", "REQUIRED"),
    "contact phone type of another company": (
        lambda w: {"primaryContact": {"name": "Jo", "phoneNumbers": [
            {"number": "+13125550100", "phoneNumberTypeId": w.bolt.mobile}]}},
        "primaryContact.phoneNumbers", "INVALID"),
}


@pytest.mark.parametrize(("change", "field", "code"), list(BAD_CREATE.values()),
                         ids=list(BAD_CREATE))
async def test_bad_create_input_is_refused_and_writes_nothing(api, change, field, code):
    w = await world(api)
    await assert_refused(api, w.acme, "createAccount", w.input(**change(w)), [(field, code)])
    listed = await api.data(LIST, {"filter": {"companyId": {"eq": w.acme.company}}},
                            w.acme.token)
    assert [e["node"]["name"] for e in listed["accounts"]["edges"]] == ["Existing"]


async def test_an_account_number_is_unique_only_within_its_company(api):
    w = await world(api)
    theirs = await ok(api, w.bolt.token, "createAccount",
                      {"companyId": w.bolt.company, "name": "Bolt Two", "accountNumber": "A-1",
                       "accountTypeId": w.bolt.residential, "accountStatusId": w.bolt.active})
    assert theirs["accountNumber"] == "A-1"
    # Nor may an update take a number used in the same company.
    other = await new_account(api, w.acme, "Other", accountNumber="A-2")
    await assert_refused(api, w.acme, "updateAccount",
                         {"id": other["id"], "accountNumber": "A-1"},
                         [("accountNumber", "DUPLICATE")])
    assert (await account_of(api, w.acme.token, other["id"]))["accountNumber"] == "A-2"


async def test_an_address_whose_occupant_left_can_be_moved_into_at_creation(api):
    w = await world(api)
    await ok(api, w.acme.token, "disconnectAccount",
             {"accountId": w.existing["id"], "reason": "Moved away"})
    account = await new_account(api, w.acme, "Next Tenant", serviceableAddressId=w.occupied)
    detail = await detail_of(api, w.acme.token, account["id"])
    assert detail["physicalAddress"] == {"id": w.occupied}


# --- delete --------------------------------------------------------------------------------

async def test_delete_takes_the_accounts_contacts_and_history_with_it(api):
    setup = await company_setup(api)
    account = await new_account(api, setup, primaryContact={"name": "Jane Doe"})
    await ok(api, setup.token, "createContact", {"accountId": account["id"], "name": "Joe"})
    await ok(api, setup.token, "changeAccountStatus",
             {"accountId": account["id"], "accountStatusId": setup.suspended,
              "reason": "Unpaid"})
    neighbour = await new_account(api, setup, "Neighbour", primaryContact={"name": "Ned"})

    response = await api.post(
        "mutation($id: ID!) { deleteAccount(input: {id: $id}) { deletedId errors { code } } }",
        {"id": account["id"]}, setup.token)

    assert response.json()["data"]["deleteAccount"] == {"deletedId": account["id"],
                                                        "errors": []}
    assert await account_of(api, setup.token, account["id"]) is None
    left = await counts(api, setup.token)
    assert (left["accounts"], left["contacts"], left["accountStatusChanges"]) == (1, 1, 1)
    assert (await detail_of(api, setup.token, neighbour["id"]))["contacts"][0]["name"] == (
        "Ned")
    [event] = await events_of(api, setup.token, "account.deleted")
    assert event["payload"]["id"] == pk_of(account["id"])
    assert event["payload"]["name"] == "Jane Doe"
    assert event["requestId"] == response.headers["x-request-id"]
    [entry] = await audit_of(api, setup.token, "deleteAccount", account["id"])
    assert entry["operation"] == "delete"
    hits = await api.data('{ search(query: "Jane") { title } }', token=setup.token)
    assert hits == {"search": []}


async def test_an_account_that_lived_at_an_address_is_kept_for_its_history(api):
    setup = await company_setup(api)
    address = await new_address(api, setup)
    account = await new_account(api, setup, serviceableAddressId=address["id"])
    await ok(api, setup.token, "moveAccountOut", {"accountId": account["id"]})
    await assert_refused(api, setup, "deleteAccount", {"id": account["id"]},
                         [("id", "IN_USE")])
    assert (await counts(api, setup.token))["addressOccupancies"] == 1


async def test_an_account_with_child_accounts_cannot_be_deleted(api):
    setup = await company_setup(api)
    parent = await new_account(api, setup, "Parent Corp")
    child = await new_account(api, setup, "Branch", parentAccountId=parent["id"])
    await assert_refused(api, setup, "deleteAccount", {"id": parent["id"]},
                         [("id", "IN_USE")])
    assert await account_of(api, setup.token, parent["id"]) == parent

    await ok(api, setup.token, "deleteAccount", {"id": child["id"]})
    assert await ok(api, setup.token, "deleteAccount", {"id": parent["id"]}) == parent["id"]
    await assert_refused(api, setup, "deleteAccount", {"id": parent["id"]},
                         [("id", "NOT_FOUND")])


# --- idempotency ---------------------------------------------------------------------------

async def test_create_with_the_same_idempotency_key_and_input_returns_the_same_account(api):
    setup = await company_setup(api)
    given = {"companyId": setup.company, "name": "Jane Doe", "accountNumber": "A-1",
             "accountTypeId": setup.residential, "accountStatusId": setup.active,
             "primaryContact": {"name": "Jane Doe"}, "idempotencyKey": "signup-42"}
    first = await ok(api, setup.token, "createAccount", given)
    before = await counts(api, setup.token)

    again = await ok(api, setup.token, "createAccount", given)

    assert again == first
    assert await counts(api, setup.token) == before
    assert (before["accounts"], before["contacts"]) == (1, 1)
    assert len(await events_of(api, setup.token, "account.created")) == 1
    # Another key is another request.
    other = await ok(api, setup.token, "createAccount",
                     {**given, "accountNumber": "A-2", "idempotencyKey": "signup-43"})
    assert other["id"] != first["id"]


@pytest.mark.parametrize("change", [{"name": "Janet Doe"}, {"accountNumber": "A-9"},
                                    {"primaryContact": {"name": "Someone Else"}}],
                         ids=["name", "number", "contact"])
async def test_the_same_idempotency_key_with_other_input_is_refused(api, change):
    setup = await company_setup(api)
    given = {"companyId": setup.company, "name": "Jane Doe", "accountNumber": "A-1",
             "accountTypeId": setup.residential, "accountStatusId": setup.active,
             "primaryContact": {"name": "Jane Doe"}, "idempotencyKey": "signup-42"}
    first = await ok(api, setup.token, "createAccount", given)
    await assert_refused(api, setup, "createAccount", {**given, **change},
                         [("idempotencyKey", "IDEMPOTENCY_KEY_REUSED")])
    listed = await api.data(LIST, {}, setup.token)
    assert [e["node"]["name"] for e in listed["accounts"]["edges"]] == [first["name"]]


# --- changing status -----------------------------------------------------------------------

async def change(api: Any, setup: Setup, account: dict[str, Any], status: str,
                 reason: str = "Unpaid invoices") -> dict[str, Any]:
    return await ok(api, setup.token, "changeAccountStatus",
                    {"accountId": account["id"], "accountStatusId": status, "reason": reason})


async def test_change_status_records_the_reason_in_the_history_and_an_event(api, clock):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    clock.advance(timedelta(days=3))

    response = await api.post(
        "mutation($input: ChangeAccountStatusInput!) { changeAccountStatus(input: $input) { "
        "account { accountStatus { name } activationDate } errors { code } } }",
        {"input": {"accountId": account["id"], "accountStatusId": setup.suspended,
                   "reason": "  Unpaid invoices  "}}, setup.token)

    assert response.json()["data"]["changeAccountStatus"] == {
        "account": {"accountStatus": {"name": "Suspended"}, "activationDate": TODAY},
        "errors": []}
    history = await history_of(api, setup.token, account["id"])
    assert history[-1] == {"kind": "CHANGED", "reason": "Unpaid invoices",
                           "changedAt": clock.now().isoformat(),
                           "fromStatus": {"name": "Active"}, "toStatus": {"name": "Suspended"},
                           "user": {"email": "admin@example.com"}}
    assert [h["kind"] for h in history] == ["CREATED", "CHANGED"]
    [event] = await events_of(api, setup.token, "account.status_changed", account["id"])
    assert event["payload"] == {
        "from_status_id": pk_of(setup.active), "from_status": "Active",
        "to_status_id": pk_of(setup.suspended), "to_status": "Suspended",
        "counts_as_active": False, "is_delinquent": False, "kind": "CHANGED",
        "reason": "Unpaid invoices"}
    assert event["requestId"] == response.headers["x-request-id"]
    [entry] = await audit_of(api, setup.token, "changeAccountStatus", account["id"])
    assert entry["changes"]["account_status_id"] == {"from": pk_of(setup.active),
                                                     "to": pk_of(setup.suspended)}


async def test_an_account_becoming_active_gets_its_activation_date(api, clock):
    setup = await company_setup(api)
    account = await new_account(api, setup, accountStatusId=setup.suspended)
    clock.advance(timedelta(days=5))
    moved = await change(api, setup, account, setup.active, "Installed")
    assert moved["activationDate"] == "2026-11-07"
    # Later moves keep the first activation date.
    clock.advance(timedelta(days=5))
    await change(api, setup, account, setup.delinquent)
    assert (await account_of(api, setup.token, account["id"]))["activationDate"] == (
        "2026-11-07")


@pytest.mark.parametrize(("reason", "field", "code"), [
    ("", "reason", "REQUIRED"), ("   ", "reason", "REQUIRED"), ("r" * 501, "reason", "INVALID"),
], ids=["empty", "blank", "too long"])
async def test_change_status_needs_a_reason(api, reason, field, code):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    await assert_refused(api, setup, "changeAccountStatus",
                         {"accountId": account["id"], "accountStatusId": setup.suspended,
                          "reason": reason}, [(field, code)])
    assert await account_of(api, setup.token, account["id"]) == account


async def test_change_to_the_same_status_or_one_of_another_company_is_refused(api):
    setup = await company_setup(api)
    bolt = await company_setup(api, setup.token, name="Bolt Broadband")
    account = await new_account(api, setup)
    for status in (setup.active, bolt.suspended):
        await assert_refused(api, setup, "changeAccountStatus",
                             {"accountId": account["id"], "accountStatusId": status,
                              "reason": "Why not"}, [("accountStatusId", "INVALID")])
    assert await account_of(api, setup.token, account["id"]) == account


async def test_change_status_with_unknown_or_wrongly_typed_ids(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    for given, field, code in (
        ({"accountId": missing("Account", account["id"])}, "accountId", "NOT_FOUND"),
        ({"accountStatusId": missing("AccountStatus", setup.delinquent)}, "accountStatusId",
         "NOT_FOUND"),
        ({"accountId": setup.active}, "accountId", "INVALID"),
        ({"accountStatusId": setup.residential}, "accountStatusId", "INVALID"),
    ):
        await assert_refused(api, setup, "changeAccountStatus",
                             {"accountId": account["id"], "accountStatusId": setup.suspended,
                              "reason": "Because", **given}, [(field, code)])


async def test_a_lead_leaves_only_through_convert_lead(api):
    setup = await company_setup(api)
    lead = await new_account(api, setup, "Prospect", accountStatusId=setup.lead)
    for status in (setup.active, setup.suspended):
        await assert_refused(api, setup, "changeAccountStatus",
                             {"accountId": lead["id"], "accountStatusId": status,
                              "reason": "Signed up"}, [("accountStatusId", "INVALID")])
    # Between lead statuses it may move.
    cold = (await ok(api, setup.token, "createAccountStatus",
                     {"companyId": setup.company, "name": "Cold lead", "countsAsActive": False,
                      "isLead": True}))["id"]
    assert (await change(api, setup, lead, cold, "No answer"))["accountStatus"]["name"] == (
        "Cold lead")


# --- leads ---------------------------------------------------------------------------------

async def test_convert_lead_makes_a_customer(api, clock):
    setup = await company_setup(api)
    lead = await new_account(api, setup, "Prospect", accountStatusId=setup.lead,
                             leadSource="Web form")
    clock.advance(timedelta(days=2))

    converted = await ok(api, setup.token, "convertLead",
                         {"accountId": lead["id"], "accountStatusId": setup.active})

    assert converted == {**lead, "accountStatus": {"id": setup.active, "name": "Active"},
                         "activationDate": "2026-11-04"}
    history = await history_of(api, setup.token, lead["id"])
    assert history[-1] == {"kind": "LEAD_CONVERTED", "reason": "Lead converted",
                           "changedAt": clock.now().isoformat(),
                           "fromStatus": {"name": "Lead"}, "toStatus": {"name": "Active"},
                           "user": {"email": "admin@example.com"}}
    [event] = await events_of(api, setup.token, "account.lead_converted", lead["id"])
    assert event["payload"] == {"status_id": pk_of(setup.active), "lead_source": "Web form"}
    assert await audited_changes(api, setup, "convertLead", lead["id"]) == {
        "account_status_id": {"from": pk_of(setup.lead), "to": pk_of(setup.active)},
        "activation_date": {"from": None, "to": "2026-11-04"}}
    [changed] = await events_of(api, setup.token, "account.status_changed", lead["id"])
    assert (changed["payload"]["kind"], changed["payload"]["to_status"]) == (
        "LEAD_CONVERTED", "Active")


async def test_convert_lead_keeps_a_given_reason(api):
    setup = await company_setup(api)
    lead = await new_account(api, setup, "Prospect", accountStatusId=setup.lead)
    await ok(api, setup.token, "convertLead", {"accountId": lead["id"],
                                               "accountStatusId": setup.active,
                                               "reason": " Signed the contract "})
    assert (await history_of(api, setup.token, lead["id"]))[-1]["reason"] == (
        "Signed the contract")


async def test_convert_lead_is_refused_for_a_customer_or_to_a_lead_status(api):
    setup = await company_setup(api)
    customer = await new_account(api, setup)
    lead = await new_account(api, setup, "Prospect", accountStatusId=setup.lead)
    await assert_refused(api, setup, "convertLead",
                         {"accountId": customer["id"], "accountStatusId": setup.delinquent},
                         [("accountId", "INVALID")])
    await assert_refused(api, setup, "convertLead",
                         {"accountId": lead["id"], "accountStatusId": setup.lead},
                         [("accountStatusId", "INVALID")])
    bolt = await company_setup(api, setup.token, name="Bolt Broadband")
    await assert_refused(api, setup, "convertLead",
                         {"accountId": lead["id"], "accountStatusId": bolt.active},
                         [("accountStatusId", "INVALID")])
    assert await account_of(api, setup.token, lead["id"]) == lead


# --- disconnection -------------------------------------------------------------------------

async def test_disconnect_now_frees_the_address_and_records_everything(api, clock):
    setup = await company_setup(api)
    address = await new_address(api, setup)
    account = await new_account(api, setup, serviceableAddressId=address["id"])
    clock.advance(timedelta(days=1))

    payload = await ok(api, setup.token, "disconnectAccount",
                       {"accountId": account["id"], "reason": " Moved away "})

    assert payload["scheduledEvent"] is None
    assert payload["account"] == {**account, "disconnectedOn": "2026-11-03",
                                  "disconnectReason": "Moved away",
                                  "accountStatus": {"id": setup.inactive, "name": "Inactive"}}
    detail = await detail_of(api, setup.token, account["id"])
    assert detail["physicalAddress"] is None
    assert detail["addressHistory"] == [{"movedInOn": TODAY, "movedOutOn": "2026-11-03",
                                         "serviceableAddress": {"id": address["id"]}}]
    assert detail["statusHistory"][-1] == {
        "kind": "DISCONNECTED", "reason": "Moved away", "changedAt": clock.now().isoformat(),
        "fromStatus": {"name": "Active"}, "toStatus": {"name": "Inactive"},
        "user": {"email": "admin@example.com"}}
    [disconnected] = await events_of(api, setup.token, "account.disconnected", account["id"])
    assert disconnected["payload"] == {
        "date": "2026-11-03", "reason": "Moved away", "from_status_id": pk_of(setup.active),
        "to_status_id": pk_of(setup.inactive),
        "freed_serviceable_address_id": pk_of(address["id"])}
    [changed] = await events_of(api, setup.token, "account.status_changed", account["id"])
    assert (changed["payload"]["kind"], changed["payload"]["from_status"],
            changed["payload"]["to_status"]) == ("DISCONNECTED", "Active", "Inactive")
    assert len(await events_of(api, setup.token, "account.moved_out", account["id"])) == 1
    assert await audited_changes(api, setup, "disconnectAccount", account["id"]) == {
        "account_status_id": {"from": pk_of(setup.active), "to": pk_of(setup.inactive)},
        "disconnected_on": {"from": None, "to": "2026-11-03"},
        "disconnect_reason": {"from": None, "to": "Moved away"}}
    occupant = await api.data("query($id: ID!) { serviceableAddress(id: $id) { "
                              "currentAccount { id } } }", {"id": address["id"]}, setup.token)
    assert occupant == {"serviceableAddress": {"currentAccount": None}}


async def test_disconnect_into_a_named_inactive_status_on_a_past_day(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    payload = await ok(api, setup.token, "disconnectAccount",
                       {"accountId": account["id"], "reason": "Fraud",
                        "accountStatusId": setup.suspended, "date": "2026-10-20"})
    assert payload["scheduledEvent"] is None
    got = payload["account"]
    assert (got["accountStatus"]["name"], got["disconnectedOn"], got["disconnectReason"]) == (
        "Suspended", "2026-10-20", "Fraud")
    [event] = await events_of(api, setup.token, "account.disconnected", account["id"])
    assert event["payload"]["freed_serviceable_address_id"] is None


async def test_disconnecting_twice_is_refused(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    first = (await ok(api, setup.token, "disconnectAccount",
                      {"accountId": account["id"], "reason": "Moved away"}))["account"]
    await assert_refused(api, setup, "disconnectAccount",
                         {"accountId": account["id"], "reason": "Again",
                          "accountStatusId": setup.suspended}, [("accountId", "INVALID")])
    assert await account_of(api, setup.token, account["id"]) == first


@pytest.mark.parametrize("status", ["active", "delinquent", "lead"])
async def test_disconnect_into_an_active_or_lead_status_is_refused(api, status):
    setup = await company_setup(api)
    account = await new_account(api, setup, accountStatusId=setup.suspended)
    for day in (None, "2026-12-01"):  # now, and scheduled
        await assert_refused(api, setup, "disconnectAccount",
                             {"accountId": account["id"], "reason": "Moved away", "date": day,
                              "accountStatusId": getattr(setup, status)},
                             [("accountStatusId", "INVALID")])
    assert await account_of(api, setup.token, account["id"]) == account


@pytest.mark.parametrize("day", [None, "2026-12-01"], ids=["now", "later"])
async def test_disconnect_needs_a_reason(api, day):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    await assert_refused(api, setup, "disconnectAccount",
                         {"accountId": account["id"], "reason": "  ", "date": day},
                         [("reason", "REQUIRED")])


async def test_disconnect_on_a_later_day_schedules_it_and_leaves_the_account(api):
    setup = await company_setup(api)
    address = await new_address(api, setup)
    account = await new_account(api, setup, serviceableAddressId=address["id"])

    payload = await ok(api, setup.token, "disconnectAccount",
                       {"accountId": account["id"], "reason": "Moving abroad",
                        "date": "2026-11-30"})

    assert payload["account"] == account
    event = payload["scheduledEvent"]
    assert {k: event[k] for k in ("runOn", "status", "action", "parameters")} == {
        "runOn": "2026-11-30", "status": "PENDING", "action": "DISCONNECT",
        "parameters": {"account_status_id": None, "reason": "Moving abroad"}}
    assert await account_of(api, setup.token, account["id"]) == account
    detail = await detail_of(api, setup.token, account["id"])
    assert detail["physicalAddress"] == {"id": address["id"]}
    assert [h["kind"] for h in detail["statusHistory"]] == ["CREATED"]
    assert await events_of(api, setup.token, "account.disconnected") == []
    assert len(await events_of(api, setup.token, "scheduled_event.created")) == 1


async def test_a_later_day_is_judged_in_the_company_time_zone(api, clock):
    """At 03:00 UTC on the 3rd it is still the 2nd in Chicago: the 3rd is a later day."""
    setup = await company_setup(api)
    account = await new_account(api, setup)
    clock.set(datetime(2026, 11, 3, 3, 0, tzinfo=UTC))
    later = await ok(api, setup.token, "disconnectAccount",
                     {"accountId": account["id"], "reason": "Moving", "date": "2026-11-03",
                      "accountStatusId": setup.suspended})
    assert later["scheduledEvent"]["parameters"] == {"account_status_id":
                                                     pk_of(setup.suspended),
                                                     "reason": "Moving"}
    assert later["account"]["disconnectedOn"] is None

    now = await ok(api, setup.token, "disconnectAccount",
                   {"accountId": account["id"], "reason": "Moving"})
    assert now["scheduledEvent"] is None
    assert now["account"]["disconnectedOn"] == "2026-11-02"


# --- reactivation --------------------------------------------------------------------------

async def disconnected(api: Any, setup: Setup, **fields: Any) -> dict[str, Any]:
    account = await new_account(api, setup, **fields)
    return (await ok(api, setup.token, "disconnectAccount",
                     {"accountId": account["id"], "reason": "Moved away",
                      "date": "2026-10-31"}))["account"]


async def test_reactivate_brings_a_disconnected_account_back(api, clock):
    setup = await company_setup(api)
    account = await disconnected(api, setup)
    clock.advance(timedelta(days=1))

    back = await ok(api, setup.token, "reactivateAccount",
                    {"accountId": account["id"], "accountStatusId": setup.active,
                     "reason": "Moved back"})

    assert back == {**account, "accountStatus": {"id": setup.active, "name": "Active"},
                    "disconnectedOn": None, "disconnectReason": None}
    assert back["activationDate"] == TODAY
    assert (await history_of(api, setup.token, account["id"]))[-1] == {
        "kind": "REACTIVATED", "reason": "Moved back", "changedAt": clock.now().isoformat(),
        "fromStatus": {"name": "Inactive"}, "toStatus": {"name": "Active"},
        "user": {"email": "admin@example.com"}}
    [event] = await events_of(api, setup.token, "account.reactivated", account["id"])
    assert event["payload"] == {"status_id": pk_of(setup.active), "reason": "Moved back",
                                "disconnected_on": "2026-10-31"}
    assert await audited_changes(api, setup, "reactivateAccount", account["id"]) == {
        "account_status_id": {"from": pk_of(setup.inactive), "to": pk_of(setup.active)},
        "disconnected_on": {"from": "2026-10-31", "to": None},
        "disconnect_reason": {"from": "Moved away", "to": None}}
    kinds = [e["payload"]["kind"] for e in
             await events_of(api, setup.token, "account.status_changed", account["id"])]
    assert kinds == ["DISCONNECTED", "REACTIVATED"]
    # Once back it can be disconnected again.
    again = await ok(api, setup.token, "disconnectAccount",
                     {"accountId": account["id"], "reason": "Left again"})
    assert again["account"]["disconnectedOn"] == "2026-11-03"


async def test_reactivate_is_refused_for_a_connected_account_or_an_inactive_status(api):
    setup = await company_setup(api)
    connected = await new_account(api, setup, accountStatusId=setup.suspended)
    await assert_refused(api, setup, "reactivateAccount",
                         {"accountId": connected["id"], "accountStatusId": setup.active,
                          "reason": "Back"}, [("accountId", "INVALID")])
    gone = await disconnected(api, setup)
    for status in (setup.suspended, setup.lead, setup.inactive):
        await assert_refused(api, setup, "reactivateAccount",
                             {"accountId": gone["id"], "accountStatusId": status,
                              "reason": "Back"}, [("accountStatusId", "INVALID")])
    await assert_refused(api, setup, "reactivateAccount",
                         {"accountId": gone["id"], "accountStatusId": setup.active,
                          "reason": ""}, [("reason", "REQUIRED")])
    assert await account_of(api, setup.token, gone["id"]) == gone
    # Delinquent counts as active: that is a place to come back to.
    back = await ok(api, setup.token, "reactivateAccount",
                    {"accountId": gone["id"], "accountStatusId": setup.delinquent,
                     "reason": "Back, owing"})
    assert back["accountStatus"]["name"] == "Delinquent"


async def test_change_status_of_a_disconnected_account_is_refused(api):
    setup = await company_setup(api)
    gone = await disconnected(api, setup)
    for status in (setup.active, setup.suspended):
        await assert_refused(api, setup, "changeAccountStatus",
                             {"accountId": gone["id"], "accountStatusId": status,
                              "reason": "Try"}, [("accountId", "INVALID")])
    assert await account_of(api, setup.token, gone["id"]) == gone


# --- permissions ---------------------------------------------------------------------------

async def test_account_commands_need_accounts_write(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    lead = await new_account(api, setup, "Prospect", accountStatusId=setup.lead)
    _, reader = await api.user_with_token("reader@example.com",
                                          permissions=["accounts:read"])
    before = await counts(api, setup.token)
    for mutation, given in (
        ("createAccount", {"companyId": setup.company, "name": "X",
                           "accountTypeId": setup.residential,
                           "accountStatusId": setup.active}),
        ("updateAccount", {"id": account["id"], "name": "X"}),
        ("deleteAccount", {"id": account["id"]}),
        ("changeAccountStatus", {"accountId": account["id"],
                                 "accountStatusId": setup.suspended, "reason": "X"}),
        ("disconnectAccount", {"accountId": account["id"], "reason": "X"}),
        ("reactivateAccount", {"accountId": account["id"], "accountStatusId": setup.active,
                               "reason": "X"}),
        ("convertLead", {"accountId": lead["id"], "accountStatusId": setup.active}),
    ):
        assert "accounts:write" in await forbidden(api, reader, mutation, given), mutation
    assert await counts(api, setup.token) == before
    # Reading is what the reader may do.
    assert await account_of(api, reader, account["id"]) == account


async def test_a_writer_without_configure_manages_accounts(api):
    setup = await company_setup(api)
    _, writer = await api.user_with_token("writer@example.com",
                                          permissions=["accounts:read", "accounts:write"])
    account = await ok(api, writer, "createAccount",
                       {"companyId": setup.company, "name": "By Writer",
                        "accountTypeId": setup.residential, "accountStatusId": setup.active})
    await ok(api, writer, "changeAccountStatus", {"accountId": account["id"],
                                                  "accountStatusId": setup.suspended,
                                                  "reason": "Asked to pause"})
    assert (await history_of(api, setup.token, account["id"]))[-1]["user"] == {
        "email": "writer@example.com"}
    assert await ok(api, writer, "deleteAccount", {"id": account["id"]}) == account["id"]


async def test_listing_accounts_needs_accounts_read(api):
    setup = await company_setup(api)
    await new_account(api, setup)
    _, outsider = await api.user_with_token("outsider@example.com",
                                            permissions=["companies:read"])
    body = await api.gql(LIST, {}, outsider)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- lists ---------------------------------------------------------------------------------

@dataclass
class Book:
    """Four accounts of Acme (and one of Bolt) to filter."""

    setup: Setup
    tower: str
    vip: str
    ids: dict[str, str]


async def book(api: Any) -> Book:
    setup = await company_setup(api)
    tower, vip = await group(api, setup, "Tower 7"), await group(api, setup, "VIP")
    alpha = await new_account(api, setup, "Alpha Co", accountTypeId=setup.business,
                              accountNumber="A-100", accountGroupIds=[tower],
                              activationDate="2026-01-15")
    bravo = await new_account(api, setup, "Bravo Ltd", accountStatusId=setup.suspended,
                              accountNumber="B-200", accountGroupIds=[tower, vip])
    charlie = await new_account(api, setup, "Charlie Inn", accountNumber="C-300",
                                parentAccountId=alpha["id"], activationDate="2026-06-01")
    delta = await new_account(api, setup, "Delta Homes", accountStatusId=setup.lead)
    bolt = await company_setup(api, setup.token, name="Bolt Broadband")
    await new_account(api, bolt, "Alpha Elsewhere", accountNumber="A-100")
    ids = {"Alpha Co": alpha["id"], "Bravo Ltd": bravo["id"], "Charlie Inn": charlie["id"],
           "Delta Homes": delta["id"]}
    return Book(setup, tower, vip, ids)


async def names(api: Any, b: Book, **conditions: Any) -> list[str]:
    """The names of Acme's accounts matching ``conditions``, by name."""
    flt = {"companyId": {"eq": b.setup.company}, **conditions}
    data = await api.data(LIST, {"filter": flt, "order": [{"field": "NAME"}]}, b.setup.token)
    found = [e["node"]["name"] for e in data["accounts"]["edges"]]
    assert data["accounts"]["totalCount"] == len(found)
    return found


async def test_filter_accounts_by_status_type_parent_and_number(api):
    b = await book(api)
    s = b.setup
    assert await names(api, b, accountStatusId={"eq": s.active}) == ["Alpha Co", "Charlie Inn"]
    assert await names(api, b, accountStatusId={"in": [s.lead, s.suspended]}) == [
        "Bravo Ltd", "Delta Homes"]
    assert await names(api, b, accountTypeId={"eq": s.business}) == ["Alpha Co"]
    assert await names(api, b, accountTypeId={"ne": s.business}) == [
        "Bravo Ltd", "Charlie Inn", "Delta Homes"]
    assert await names(api, b, parentAccountId={"eq": b.ids["Alpha Co"]}) == ["Charlie Inn"]
    assert await names(api, b, parentAccountId={"isNull": True}) == [
        "Alpha Co", "Bravo Ltd", "Delta Homes"]
    assert await names(api, b, accountNumber={"eq": "B-200"}) == ["Bravo Ltd"]
    assert await names(api, b, accountNumber={"startsWith": "c-"}) == ["Charlie Inn"]
    assert await names(api, b, accountNumber={"isNull": True}) == ["Delta Homes"]
    everywhere = await api.data(LIST, {"filter": {"accountNumber": {"eq": "A-100"}}},
                                b.setup.token)
    assert sorted(e["node"]["name"] for e in everywhere["accounts"]["edges"]) == [
        "Alpha Co", "Alpha Elsewhere"]


async def test_filter_accounts_by_group(api):
    b = await book(api)
    assert await names(api, b, accountGroupId={"eq": b.tower}) == ["Alpha Co", "Bravo Ltd"]
    assert await names(api, b, accountGroupId={"eq": b.vip}) == ["Bravo Ltd"]
    assert await names(api, b, accountGroupId={"ne": b.tower}) == [
        "Charlie Inn", "Delta Homes"]
    assert await names(api, b, accountGroupId={"ne": b.vip}) == [
        "Alpha Co", "Charlie Inn", "Delta Homes"]
    assert await names(api, b, accountGroupId={"in": [b.vip, b.tower]}) == [
        "Alpha Co", "Bravo Ltd"]
    assert await names(api, b, accountGroupId={"isNull": True}) == [
        "Charlie Inn", "Delta Homes"]
    body = await api.gql(LIST, {"filter": {"accountGroupId": {"eq": b.setup.business}}},
                         b.setup.token)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_filter_accounts_by_activation_date_ranges(api):
    b = await book(api)
    assert await names(api, b, activationDate={"eq": "2026-01-15"}) == ["Alpha Co"]
    assert await names(api, b, activationDate={"gte": "2026-06-01"}) == ["Charlie Inn"]
    assert await names(api, b, activationDate={"gt": "2026-06-01"}) == []
    assert await names(api, b, activationDate={"lt": "2026-06-01"}) == ["Alpha Co"]
    assert await names(api, b, activationDate={"gte": "2026-01-15",
                                               "lte": "2026-06-01"}) == [
        "Alpha Co", "Charlie Inn"]
    assert await names(api, b, activationDate={"gt": "2026-01-15",
                                               "lt": "2026-06-01"}) == []
    assert await names(api, b, activationDate={"isNull": True}) == ["Bravo Ltd",
                                                                   "Delta Homes"]


async def test_search_accounts_by_name_or_number(api):
    b = await book(api)
    assert await names(api, b, search="bravo") == ["Bravo Ltd"]
    assert await names(api, b, search="c-3") == ["Charlie Inn"]
    assert await names(api, b, search="  ALPHA ") == ["Alpha Co"]
    assert await names(api, b, search="00") == ["Alpha Co", "Bravo Ltd", "Charlie Inn"]
    assert await names(api, b, search="%") == []
    assert await names(api, b, search="o", accountStatusId={"eq": b.setup.active}) == [
        "Alpha Co"]


async def test_accounts_by_name_in_pages(api):
    b = await book(api)
    flt = {"companyId": {"eq": b.setup.company}}
    first = (await api.data(LIST, {"filter": flt, "first": 3,
                                   "order": [{"field": "NAME"}]}, b.setup.token))["accounts"]
    assert [e["node"]["name"] for e in first["edges"]] == [
        "Alpha Co", "Bravo Ltd", "Charlie Inn"]
    assert first["pageInfo"] == {"hasNextPage": True, "hasPreviousPage": False,
                                 "endCursor": first["edges"][-1]["cursor"]}
    assert first["totalCount"] == 4
    rest = (await api.data(LIST, {"filter": flt, "first": 3, "order": [{"field": "NAME"}],
                                  "after": first["pageInfo"]["endCursor"]}, b.setup.token)
            )["accounts"]
    assert [e["node"]["name"] for e in rest["edges"]] == ["Delta Homes"]
    assert (rest["pageInfo"]["hasNextPage"], rest["pageInfo"]["hasPreviousPage"]) == (
        False, True)

    seen, after = [], None
    while True:
        page = (await api.data(LIST, {"filter": flt, "first": 1, "after": after,
                                      "order": [{"field": "NAME", "direction": "DESC"}]},
                               b.setup.token))["accounts"]
        seen += [e["node"]["name"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["Delta Homes", "Charlie Inn", "Bravo Ltd", "Alpha Co"]

    other_order = await api.gql(LIST, {"filter": flt, "first": 1,
                                       "after": first["pageInfo"]["endCursor"]},
                                b.setup.token)
    assert other_order["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_child_accounts_groups_and_contacts_on_an_account(api):
    b = await book(api)
    s = b.setup
    query = """query($id: ID!) { account(id: $id) { childAccounts { name }
      groups { name } contacts { name isPrimary } primaryContact { name } } }"""

    async def read(name: str) -> dict[str, Any]:
        return (await api.data(query, {"id": b.ids[name]}, s.token))["account"]

    assert (await read("Alpha Co"))["childAccounts"] == [{"name": "Charlie Inn"}]
    assert (await read("Charlie Inn"))["childAccounts"] == []
    assert (await read("Bravo Ltd"))["groups"] == [{"name": "Tower 7"}, {"name": "VIP"}]

    zoe = await ok(api, s.token, "createContact", {"accountId": b.ids["Delta Homes"],
                                                   "name": "Zoe"})
    adam = await ok(api, s.token, "createContact", {"accountId": b.ids["Delta Homes"],
                                                    "name": "Adam"})
    assert (zoe["isPrimary"], adam["isPrimary"]) == (True, False)
    delta = await read("Delta Homes")
    assert delta["contacts"] == [{"name": "Zoe", "isPrimary": True},
                                 {"name": "Adam", "isPrimary": False}]
    assert delta["primaryContact"] == {"name": "Zoe"}
    await ok(api, s.token, "setPrimaryContact", {"id": adam["id"]})
    delta = await read("Delta Homes")
    assert delta["contacts"] == [{"name": "Adam", "isPrimary": True},
                                 {"name": "Zoe", "isPrimary": False}]
    assert delta["primaryContact"] == {"name": "Adam"}
