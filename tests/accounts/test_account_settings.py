"""Account settings through the API: account types, statuses, groups and phone number types.

Create, update and delete for each kind (with the events and audit entries they leave), names
unique per company regardless of case, deletion refused while something uses a setting, the
rules of statuses (leads, the one disconnect default, colours) and the
``accounts:configure`` permission."""

from __future__ import annotations

from dataclasses import dataclass
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
from tests.accounts.factories import Setup, company_setup, new_account, ok, refused


@dataclass(frozen=True)
class Kind:
    """One kind of setting and how the tests exercise it."""

    name: str
    listing: str
    event_prefix: str
    fields: str
    #: What creating one needs besides the company and the name.
    required: dict[str, Any]
    #: A full creation input (without the company), what it reads back as, and the event
    #: payload it records.
    full: dict[str, Any]
    stored: dict[str, Any]
    payload: dict[str, Any]
    #: Defaults of a minimal creation.
    defaults: dict[str, Any]
    #: A change of one field besides the name, and how it reads back.
    change: dict[str, Any]

    @property
    def field(self) -> str:
        return self.name[0].lower() + self.name[1:]


KINDS = [
    Kind("AccountType", "accountTypes", "account_type", "id name description",
         required={},
         full={"name": "  MDU ", "description": "  Apartment buildings  "},
         stored={"name": "MDU", "description": "Apartment buildings"},
         payload={"name": "MDU", "description": "Apartment buildings"},
         defaults={"description": ""},
         change={"description": "Multi-dwelling units"}),
    Kind("AccountStatus", "accountStatuses", "account_status",
         "id name countsAsActive isDelinquent isLead isDisconnectDefault color",
         required={"countsAsActive": False},
         full={"name": "Collections", "countsAsActive": False, "isDelinquent": True,
               "isLead": False, "isDisconnectDefault": False, "color": "#1f8B4c"},
         stored={"name": "Collections", "countsAsActive": False, "isDelinquent": True,
                 "isLead": False, "isDisconnectDefault": False, "color": "#1f8B4c"},
         payload={"name": "Collections", "counts_as_active": False, "is_delinquent": True,
                  "is_lead": False, "is_disconnect_default": False, "color": "#1f8B4c"},
         defaults={"countsAsActive": False, "isDelinquent": False, "isLead": False,
                   "isDisconnectDefault": False, "color": "#808080"},
         change={"color": "#ABCDEF"}),
    Kind("AccountGroup", "accountGroups", "account_group", "id name description",
         required={},
         full={"name": "Tower 7", "description": "Residents of tower 7"},
         stored={"name": "Tower 7", "description": "Residents of tower 7"},
         payload={"name": "Tower 7", "description": "Residents of tower 7"},
         defaults={"description": ""},
         change={"description": "Tower seven"}),
    Kind("PhoneNumberType", "phoneNumberTypes", "phone_number_type", "id name canReceiveSms",
         required={},
         full={"name": "Work", "canReceiveSms": True},
         stored={"name": "Work", "canReceiveSms": True},
         payload={"name": "Work", "can_receive_sms": True},
         defaults={"canReceiveSms": False},
         change={"canReceiveSms": False}),
]
KIND_IDS = [kind.name for kind in KINDS]


def listing_query(kind: Kind) -> str:
    return (f"query($company: ID!) {{ {kind.listing}(filter: {{companyId: {{eq: $company}}}}, "
            f"orderBy: [{{field: NAME}}]) {{ totalCount edges {{ node {{ {kind.fields} }} }} }} }}")


async def listed(api: Any, token: str, kind: Kind, company: str) -> list[dict[str, Any]]:
    """The company's settings of ``kind``, by name."""
    data = await api.data(listing_query(kind), {"company": company}, token)
    return [edge["node"] for edge in data[kind.listing]["edges"]]


async def one(api: Any, token: str, kind: Kind, company: str, pk: str) -> dict[str, Any]:
    [found] = [row for row in await listed(api, token, kind, company) if row["id"] == pk]
    return found


async def create(api: Any, setup: Setup, kind: Kind, name: str, **fields: Any
                 ) -> dict[str, Any]:
    return await ok(api, setup.token, f"create{kind.name}",
                    {"companyId": setup.company, "name": name, **kind.required, **fields})


async def statuses(api: Any, setup: Setup) -> dict[str, dict[str, Any]]:
    kind = KINDS[1]
    return {row["name"]: row for row in await listed(api, setup.token, kind, setup.company)}


async def other_company(api: Any, setup: Setup) -> Setup:
    return await company_setup(api, setup.token, name="Bolt Broadband")


# --- create --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_create_stores_every_field_and_records_event_and_audit(api, kind):
    setup = await company_setup(api)
    created = await ok(api, setup.token, f"create{kind.name}",
                       {"companyId": setup.company, **kind.full})

    stored = await one(api, setup.token, kind, setup.company, created["id"])
    assert stored == {"id": created["id"], **kind.stored}
    [event] = await events_of(api, setup.token, f"{kind.event_prefix}.created", created["id"])
    assert event["payload"] == kind.payload
    assert event["companyId"] == setup.company
    assert event["entityType"] == kind.name
    [entry] = await audit_of(api, setup.token, f"create{kind.name}", created["id"])
    assert entry["operation"] == "create"
    assert entry["companyId"] == setup.company
    assert entry["user"] == {"email": "admin@example.com"}
    assert entry["changes"]["name"] == kind.stored["name"]
    assert "name_key" not in entry["changes"]


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_create_with_only_the_required_fields_takes_the_defaults(api, kind):
    setup = await company_setup(api)
    created = await create(api, setup, kind, "Plain")
    stored = await one(api, setup.token, kind, setup.company, created["id"])
    assert stored == {"id": created["id"], "name": "Plain", **kind.defaults}


@pytest.mark.parametrize(("name", "field", "code"), [
    ("", "name", "REQUIRED"), ("   ", "name", "REQUIRED"), ("x" * 201, "name", "INVALID"),
], ids=["empty", "blank", "too long"])
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_create_with_a_bad_name_writes_nothing(api, kind, name, field, code):
    setup = await company_setup(api)
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, f"create{kind.name}",
                           {"companyId": setup.company, "name": name, **kind.required})
    assert codes(errors) == [(field, code)]
    assert await counts(api, setup.token) == before


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_create_in_an_unknown_company_is_not_found(api, kind):
    setup = await company_setup(api)
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, f"create{kind.name}",
                           {"companyId": gid("Company", pk_of(setup.company) + 100),
                            "name": "Nowhere", **kind.required})
    assert codes(errors) == [("companyId", "NOT_FOUND")]
    errors = await refused(api, setup.token, f"create{kind.name}",
                           {"companyId": setup.residential, "name": "Nowhere",
                            **kind.required})
    assert codes(errors) == [("companyId", "INVALID")]
    assert await counts(api, setup.token) == before


# --- unique names --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["Premium", "premium", "PREMIUM", "  Premium  ", "pReMiUm"])
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_a_name_taken_in_the_company_is_a_duplicate_whatever_its_case(api, kind, name):
    setup = await company_setup(api)
    await create(api, setup, kind, "Premium")
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, f"create{kind.name}",
                           {"companyId": setup.company, "name": name, **kind.required})
    assert codes(errors) == [("name", "DUPLICATE")]
    assert await counts(api, setup.token) == before


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_the_same_name_is_free_in_another_company(api, kind):
    acme = await company_setup(api)
    bolt = await other_company(api, acme)
    mine = await create(api, acme, kind, "Premium")
    theirs = await create(api, bolt, kind, "PREMIUM")
    assert mine["id"] != theirs["id"]
    assert [r["name"] for r in await listed(api, acme.token, kind, bolt.company)
            if r["id"] == theirs["id"]] == ["PREMIUM"]


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_renaming_to_a_taken_name_is_refused_but_recasing_its_own_is_not(api, kind):
    setup = await company_setup(api)
    first = await create(api, setup, kind, "Premium")
    second = await create(api, setup, kind, "Standard")
    before = await counts(api, setup.token)

    errors = await refused(api, setup.token, f"update{kind.name}",
                           {"id": second["id"], "name": "premium "})
    assert codes(errors) == [("name", "DUPLICATE")]
    assert await counts(api, setup.token) == before
    assert (await one(api, setup.token, kind, setup.company, second["id"]))["name"] == (
        "Standard")

    recased = await ok(api, setup.token, f"update{kind.name}",
                       {"id": first["id"], "name": "PREMIUM"})
    assert recased["name"] == "PREMIUM"


# --- update --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_update_changes_only_the_fields_sent(api, kind):
    setup = await company_setup(api)
    created = await ok(api, setup.token, f"create{kind.name}",
                       {"companyId": setup.company, **kind.full})
    [field] = kind.change

    await ok(api, setup.token, f"update{kind.name}", {"id": created["id"], **kind.change})

    stored = await one(api, setup.token, kind, setup.company, created["id"])
    assert stored == {"id": created["id"], **kind.stored, **kind.change}
    [event] = await events_of(api, setup.token, f"{kind.event_prefix}.updated", created["id"])
    snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in field)
    assert event["payload"] == {"changed": [snake]}
    [entry] = await audit_of(api, setup.token, f"update{kind.name}", created["id"])
    assert entry["operation"] == "update"
    assert entry["changes"] == {snake: {"from": kind.stored[field], "to": kind.change[field]}}


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_update_renames(api, kind):
    setup = await company_setup(api)
    created = await create(api, setup, kind, "Old name")
    renamed = await ok(api, setup.token, f"update{kind.name}",
                       {"id": created["id"], "name": "  New name "})
    assert renamed["name"] == "New name"
    [entry] = await audit_of(api, setup.token, f"update{kind.name}", created["id"])
    assert entry["changes"] == {"name": {"from": "Old name", "to": "New name"}}


@pytest.mark.parametrize(("change", "field", "code"), [
    ({"name": None}, "name", "REQUIRED"), ({"name": ""}, "name", "REQUIRED"),
    ({"name": "y" * 201}, "name", "INVALID"),
], ids=["null name", "empty name", "too long name"])
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_bad_update_changes_nothing(api, kind, change, field, code):
    setup = await company_setup(api)
    created = await create(api, setup, kind, "Kept")
    before_row = await one(api, setup.token, kind, setup.company, created["id"])
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, f"update{kind.name}",
                           {"id": created["id"], **change})
    assert codes(errors) == [(field, code)]
    assert await one(api, setup.token, kind, setup.company, created["id"]) == before_row
    assert await counts(api, setup.token) == before


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_update_and_delete_of_unknown_or_wrongly_typed_ids(api, kind):
    setup = await company_setup(api)
    created = await create(api, setup, kind, "Real")
    missing = gid(kind.name, pk_of(created["id"]) + 1000)
    wrong_type = gid("Account", pk_of(created["id"]))
    before = await counts(api, setup.token)
    for pk, code in ((missing, "NOT_FOUND"), (wrong_type, "INVALID")):
        errors = await refused(api, setup.token, f"update{kind.name}", {"id": pk, "name": "X"})
        assert codes(errors) == [("id", code)]
        errors = await refused(api, setup.token, f"delete{kind.name}", {"id": pk})
        assert codes(errors) == [("id", code)]
    assert await counts(api, setup.token) == before


# --- delete --------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_delete_an_unused_setting(api, kind):
    setup = await company_setup(api)
    created = await ok(api, setup.token, f"create{kind.name}",
                       {"companyId": setup.company, **kind.full})
    others = [r for r in await listed(api, setup.token, kind, setup.company)
              if r["id"] != created["id"]]

    deleted = await ok(api, setup.token, f"delete{kind.name}", {"id": created["id"]})

    assert deleted == created["id"]
    assert await listed(api, setup.token, kind, setup.company) == others
    [event] = await events_of(api, setup.token, f"{kind.event_prefix}.deleted")
    assert event["payload"] == {"id": pk_of(created["id"]), "name": kind.stored["name"]}
    assert event["companyId"] == setup.company
    [entry] = await audit_of(api, setup.token, f"delete{kind.name}", created["id"])
    assert entry["operation"] == "delete"
    assert entry["changes"]["name"] == kind.stored["name"]

    errors = await refused(api, setup.token, f"delete{kind.name}", {"id": created["id"]})
    assert codes(errors) == [("id", "NOT_FOUND")]


async def assert_in_use(api: Any, setup: Setup, mutation: str, pk: str) -> None:
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, mutation, {"id": pk})
    assert codes(errors) == [("id", "IN_USE")]
    assert await counts(api, setup.token) == before


async def test_an_account_type_in_use_cannot_be_deleted_until_unused(api):
    setup = await company_setup(api)
    account = await new_account(api, setup, accountTypeId=setup.business)
    await assert_in_use(api, setup, "deleteAccountType", setup.business)

    await ok(api, setup.token, "updateAccount",
             {"id": account["id"], "accountTypeId": setup.residential})
    await ok(api, setup.token, "deleteAccountType", {"id": setup.business})
    await assert_in_use(api, setup, "deleteAccountType", setup.residential)


async def test_an_account_status_in_use_cannot_be_deleted(api):
    setup = await company_setup(api)
    account = await new_account(api, setup, accountStatusId=setup.suspended)
    await assert_in_use(api, setup, "deleteAccountStatus", setup.suspended)

    await ok(api, setup.token, "deleteAccount", {"id": account["id"]})
    await ok(api, setup.token, "deleteAccountStatus", {"id": setup.suspended})


async def test_a_status_only_in_an_accounts_history_cannot_be_deleted(api):
    """The history keeps its meaning: the statuses an account went through stay."""
    setup = await company_setup(api)
    account = await new_account(api, setup, accountStatusId=setup.active)
    await ok(api, setup.token, "changeAccountStatus",
             {"accountId": account["id"], "accountStatusId": setup.suspended,
              "reason": "Unpaid"})
    await assert_in_use(api, setup, "deleteAccountStatus", setup.active)
    # Statuses nothing ever used still go.
    await ok(api, setup.token, "deleteAccountStatus", {"id": setup.delinquent})


async def test_a_phone_number_type_used_by_a_contact_cannot_be_deleted(api):
    setup = await company_setup(api)
    account = await new_account(api, setup)
    contact = await ok(api, setup.token, "createContact",
                       {"accountId": account["id"], "name": "Jane Doe", "phoneNumbers": [
                           {"number": "+13125550100", "phoneNumberTypeId": setup.mobile}]})
    await assert_in_use(api, setup, "deletePhoneNumberType", setup.mobile)
    await ok(api, setup.token, "deletePhoneNumberType", {"id": setup.home})

    await ok(api, setup.token, "updateContact", {"id": contact["id"], "phoneNumbers": []})
    await ok(api, setup.token, "deletePhoneNumberType", {"id": setup.mobile})


async def test_deleting_a_group_takes_its_accounts_out_of_it(api):
    setup = await company_setup(api)
    tower = await create(api, setup, KINDS[2], "Tower 7")
    vip = await create(api, setup, KINDS[2], "VIP")
    account = await new_account(api, setup, accountGroupIds=[tower["id"], vip["id"]])
    assert [g["name"] for g in account["groups"]] == ["Tower 7", "VIP"]

    await ok(api, setup.token, "deleteAccountGroup", {"id": tower["id"]})

    data = await api.data("query($id: ID!) { account(id: $id) { groups { name } } }",
                          {"id": account["id"]}, setup.token)
    assert data["account"]["groups"] == [{"name": "VIP"}]


# --- status rules --------------------------------------------------------------------------

async def test_a_lead_status_cannot_count_as_active(api):
    setup = await company_setup(api)
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "createAccountStatus",
                           {"companyId": setup.company, "name": "Hot lead",
                            "countsAsActive": True, "isLead": True})
    assert codes(errors) == [("isLead", "INVALID")]
    # Nor can an existing lead status be made active, or an active one a lead.
    for pk, change in ((setup.lead, {"countsAsActive": True}),
                       (setup.active, {"isLead": True})):
        errors = await refused(api, setup.token, "updateAccountStatus", {"id": pk, **change})
        assert codes(errors) == [("isLead", "INVALID")]
    assert await counts(api, setup.token) == before
    current = await statuses(api, setup)
    assert (current["Lead"]["countsAsActive"], current["Lead"]["isLead"]) == (False, True)
    assert (current["Active"]["countsAsActive"], current["Active"]["isLead"]) == (True, False)


async def test_a_status_in_use_cannot_become_or_stop_being_a_lead_status(api):
    setup = await company_setup(api)
    await new_account(api, setup, accountStatusId=setup.suspended)
    await new_account(api, setup, "Prospect", accountStatusId=setup.lead)
    before = await counts(api, setup.token)
    for pk, is_lead in ((setup.suspended, True), (setup.lead, False)):
        errors = await refused(api, setup.token, "updateAccountStatus",
                               {"id": pk, "isLead": is_lead})
        assert codes(errors) == [("isLead", "INVALID")]
    assert await counts(api, setup.token) == before
    # An unused status may change its meaning.
    changed = await ok(api, setup.token, "updateAccountStatus",
                       {"id": setup.delinquent, "countsAsActive": False, "isLead": True,
                        "isDelinquent": False})
    assert (changed["isLead"], changed["countsAsActive"]) == (True, False)


@pytest.mark.parametrize("flags", [{"countsAsActive": True}, {"countsAsActive": False,
                                                               "isLead": True}],
                         ids=["active", "lead"])
async def test_the_disconnect_default_must_be_an_inactive_non_lead_status(api, flags):
    setup = await company_setup(api)
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "createAccountStatus",
                           {"companyId": setup.company, "name": "Gone", **flags,
                            "isDisconnectDefault": True})
    assert codes(errors) == [("isDisconnectDefault", "INVALID")]
    target = setup.active if flags["countsAsActive"] else setup.lead
    errors = await refused(api, setup.token, "updateAccountStatus",
                           {"id": target, "isDisconnectDefault": True})
    assert codes(errors) == [("isDisconnectDefault", "INVALID")]
    # The default itself cannot become active.
    errors = await refused(api, setup.token, "updateAccountStatus",
                           {"id": setup.inactive, "countsAsActive": True})
    assert codes(errors) == [("isDisconnectDefault", "INVALID")]
    assert await counts(api, setup.token) == before
    assert (await statuses(api, setup))["Inactive"]["isDisconnectDefault"] is True


async def test_a_new_disconnect_default_demotes_the_old_one(api):
    setup = await company_setup(api)
    bolt = await other_company(api, setup)
    closed = await ok(api, setup.token, "createAccountStatus",
                      {"companyId": setup.company, "name": "Closed", "countsAsActive": False,
                       "isDisconnectDefault": True})
    assert closed["isDisconnectDefault"] is True

    current = await statuses(api, setup)
    assert [n for n, s in current.items() if s["isDisconnectDefault"]] == ["Closed"]
    entries = await audit_of(api, setup.token, "createAccountStatus", setup.inactive)
    [entry] = [e for e in entries if e["operation"] == "update"]
    assert entry["changes"] == {"is_disconnect_default": {"from": True, "to": False}}
    # Another company's default is untouched.
    theirs = {r["name"]: r for r in await listed(api, setup.token, KINDS[1], bolt.company)}
    assert theirs["Inactive"]["isDisconnectDefault"] is True

    # Naming an existing status the default demotes again; disconnection then uses it.
    await ok(api, setup.token, "updateAccountStatus",
             {"id": setup.suspended, "isDisconnectDefault": True})
    current = await statuses(api, setup)
    assert [n for n, s in current.items() if s["isDisconnectDefault"]] == ["Suspended"]
    account = await new_account(api, setup)
    payload = await ok(api, setup.token, "disconnectAccount",
                       {"accountId": account["id"], "reason": "Moved away"})
    assert payload["account"]["accountStatus"]["name"] == "Suspended"


async def test_re_marking_the_default_keeps_it_and_unmarking_leaves_none(api):
    setup = await company_setup(api)
    same = await ok(api, setup.token, "updateAccountStatus",
                    {"id": setup.inactive, "isDisconnectDefault": True})
    assert same["isDisconnectDefault"] is True
    await ok(api, setup.token, "updateAccountStatus",
             {"id": setup.inactive, "isDisconnectDefault": False})
    assert not [n for n, s in (await statuses(api, setup)).items() if s["isDisconnectDefault"]]

    account = await new_account(api, setup)
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "disconnectAccount",
                           {"accountId": account["id"], "reason": "Moved away"})
    assert codes(errors) == [("accountStatusId", "REQUIRED")]
    assert await counts(api, setup.token) == before


@pytest.mark.parametrize("color", ["#000000", "#ffffff", "#1F8B4C", "#a0B1c2"])
async def test_colours_written_rrggbb_are_kept(api, color):
    setup = await company_setup(api)
    created = await ok(api, setup.token, "createAccountStatus",
                       {"companyId": setup.company, "name": "Tinted", "countsAsActive": True,
                        "color": color})
    assert created["color"] == color
    updated = await ok(api, setup.token, "updateAccountStatus",
                       {"id": setup.active, "color": color})
    assert updated["color"] == color


BAD_COLOURS = ["red", "#12345", "#1234567", "123456", "#GGGGGG", "", "#12 345", "#1f8b4c\n",
               "\uff03123456"]  # a full-width number sign


@pytest.mark.parametrize("color", BAD_COLOURS)
async def test_other_colours_are_refused_and_write_nothing(api, color):
    setup = await company_setup(api)
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "createAccountStatus",
                           {"companyId": setup.company, "name": "Tinted",
                            "countsAsActive": True, "color": color})
    assert codes(errors) == [("color", "INVALID")]
    errors = await refused(api, setup.token, "updateAccountStatus",
                           {"id": setup.active, "color": color})
    assert codes(errors) == [("color", "INVALID")]
    assert await counts(api, setup.token) == before
    assert (await statuses(api, setup))["Active"]["color"] == "#808080"


async def test_several_status_problems_are_reported_together(api):
    setup = await company_setup(api)
    before = await counts(api, setup.token)
    errors = await refused(api, setup.token, "createAccountStatus",
                           {"companyId": setup.company, "name": " ", "countsAsActive": True,
                            "isLead": True, "color": "blue"})
    assert sorted(codes(errors)) == [("color", "INVALID"), ("isLead", "INVALID"),
                                     ("name", "REQUIRED")]
    assert await counts(api, setup.token) == before


# --- permissions ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_changing_settings_needs_accounts_configure(api, kind):
    setup = await company_setup(api)
    existing = await create(api, setup, kind, "Existing")
    _, writer = await api.user_with_token(
        "writer@example.com", permissions=["accounts:read", "accounts:write"])
    before = await counts(api, setup.token)

    for mutation, given in (
        (f"create{kind.name}", {"companyId": setup.company, "name": "New", **kind.required}),
        (f"update{kind.name}", {"id": existing["id"], "name": "Renamed"}),
        (f"delete{kind.name}", {"id": existing["id"]}),
    ):
        assert "accounts:configure" in await forbidden(api, writer, mutation, given)
    assert await counts(api, setup.token) == before
    assert (await one(api, setup.token, kind, setup.company, existing["id"]))["name"] == (
        "Existing")

    # Reading them needs only accounts:read.
    names = [r["name"] for r in await listed(api, writer, kind, setup.company)]
    assert "Existing" in names


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_a_configurer_manages_settings(api, kind):
    setup = await company_setup(api)
    _, configurer = await api.user_with_token("config@example.com",
                                              permissions=["accounts:configure"])
    created = await ok(api, configurer, f"create{kind.name}",
                       {"companyId": setup.company, "name": "Theirs", **kind.required})
    await ok(api, configurer, f"update{kind.name}", {"id": created["id"], "name": "Renamed"})
    deleted = await ok(api, configurer, f"delete{kind.name}", {"id": created["id"]})
    assert deleted == created["id"]
    [entry] = await audit_of(api, setup.token, f"create{kind.name}", created["id"])
    assert entry["user"] == {"email": "config@example.com"}


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
async def test_listing_settings_needs_accounts_read(api, kind):
    setup = await company_setup(api)
    _, outsider = await api.user_with_token("outsider@example.com",
                                            permissions=["companies:read"])
    body = await api.gql(listing_query(kind), {"company": setup.company}, outsider)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
