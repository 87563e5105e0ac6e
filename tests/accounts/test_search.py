"""Global search through the API: accounts by name and number, contacts by name, email and
phone number in any format, addresses by street and unit; every word must match, ranking,
type and company narrowing, permissions, limits, and the index kept in step with renames and
deletions."""

from __future__ import annotations

from typing import Any

from tests.accounts.factories import Setup, company_setup, new_account, new_address, ok

SEARCH = """query($q: String!, $types: [SearchType!], $company: ID, $first: Int! = 20) {
  search(query: $q, types: $types, companyId: $company, first: $first) {
    type title subtitle score
    node { __typename id
      ... on Account { name } ... on Contact { name } ... on ServiceableAddress { line1 } }
    account { id name } } }"""


# --- helpers -------------------------------------------------------------------------------

async def search(api: Any, token: str, query: str, **variables: Any) -> list[dict[str, Any]]:
    return (await api.data(SEARCH, {"q": query, **variables}, token))["search"]


async def titles(api: Any, token: str, query: str, **variables: Any) -> list[str]:
    return [hit["title"] for hit in await search(api, token, query, **variables)]


async def search_error(api: Any, token: str | None, query: str, **variables: Any
                       ) -> dict[str, Any]:
    """The one error of a search the API refuses."""
    body = await api.gql(SEARCH, {"q": query, **variables}, token)
    assert body.get("data") is None, body
    [error] = body["errors"]
    return error


async def contact(api: Any, setup: Setup, account: dict[str, Any], name: str, *,
                  emails: list[str] | None = None, phones: list[str] | None = None
                  ) -> dict[str, Any]:
    return await ok(api, setup.token, "createContact", {
        "accountId": account["id"], "name": name, "emails": emails or [],
        "phoneNumbers": [{"number": n, "phoneNumberTypeId": setup.mobile}
                         for n in phones or []]})


async def people(api: Any) -> tuple[Setup, dict[str, Any]]:
    """A company with a few accounts, contacts and addresses to search."""
    setup = await company_setup(api)
    jane = await new_account(api, setup, "Jane Doe", accountNumber="10042")
    bob = await new_account(api, setup, "Bob Roe", accountNumber="100420")
    springer = await new_account(api, setup, "Jane Springer")
    valley = await new_account(api, setup, "Spring Valley Farm")
    jane_contact = await contact(api, setup, jane, "Jane Doe",
                                 emails=["jane.doe@example.com"], phones=["217-555-0100"])
    bob_contact = await contact(api, setup, bob, "Robert Roe", emails=["bob@roe.example"],
                                phones=["(217) 555-0199"])
    main = await new_address(api, setup, "100 Main St", unit="4B")
    oak = await new_address(api, setup, "200 Oak Ave")
    return setup, {"jane": jane, "bob": bob, "springer": springer, "valley": valley,
                   "jane_contact": jane_contact, "bob_contact": bob_contact,
                   "main": main, "oak": oak}


# --- what it finds -------------------------------------------------------------------------

async def test_finds_an_account_by_name_with_its_node_and_account(api):
    setup, made = await people(api)
    hits = await search(api, setup.token, "bob roe")
    account_hit = next(h for h in hits if h["type"] == "ACCOUNT")
    assert account_hit["title"] == "Bob Roe"
    assert account_hit["subtitle"] == "Account 100420"
    assert account_hit["node"] == {"__typename": "Account", "id": made["bob"]["id"],
                                   "name": "Bob Roe"}
    assert account_hit["account"] == {"id": made["bob"]["id"], "name": "Bob Roe"}
    assert account_hit["score"] >= 4  # the whole title


async def test_an_exact_account_number_ranks_first(api):
    setup, made = await people(api)
    await new_account(api, setup, "Route 10042 Cafe")
    hits = await search(api, setup.token, "10042")
    assert hits[0]["title"] == "Jane Doe"
    assert hits[0]["node"]["id"] == made["jane"]["id"]
    assert hits[0]["score"] >= 4
    assert all(hit["score"] < 4 for hit in hits[1:])
    # A longer number that starts with it, and a name holding it, are found too, lower.
    assert set(h["title"] for h in hits[1:]) == {"Bob Roe", "Route 10042 Cafe"}


async def test_finds_contacts_by_name_and_email(api):
    setup, made = await people(api)
    hits = await search(api, setup.token, "robert")
    assert [(h["type"], h["title"], h["subtitle"]) for h in hits] == [
        ("CONTACT", "Robert Roe", "Bob Roe")]
    assert hits[0]["node"] == {"__typename": "Contact", "id": made["bob_contact"]["id"],
                               "name": "Robert Roe"}
    assert hits[0]["account"] == {"id": made["bob"]["id"], "name": "Bob Roe"}
    for query in ("jane.doe@example.com", "jane.doe@", "JANE.DOE@EXAMPLE.COM"):
        found = await search(api, setup.token, query)
        assert [(h["type"], h["title"]) for h in found] == [("CONTACT", "Jane Doe")], query
        assert found[0]["node"]["id"] == made["jane_contact"]["id"]


async def test_finds_a_contact_by_phone_number_written_in_any_format(api):
    setup, made = await people(api)
    for query in ("217-555-0100", "(217) 555 0100", "+1 217 555 0100", "2175550100",
                  "+12175550100", "217.555.0100"):
        hits = await search(api, setup.token, query)
        assert [(h["type"], h["title"]) for h in hits] == [("CONTACT", "Jane Doe")], query
        assert hits[0]["node"]["id"] == made["jane_contact"]["id"]
    # Both numbers share the exchange: a shorter query finds both, a wrong one neither.
    assert sorted(await titles(api, setup.token, "217 555")) == ["Jane Doe", "Robert Roe"]
    assert await titles(api, setup.token, "217-555-0101") == []


async def test_finds_addresses_by_street_and_unit(api):
    setup, made = await people(api)
    hits = await search(api, setup.token, "main st")
    assert [(h["type"], h["title"], h["subtitle"]) for h in hits] == [
        ("SERVICEABLE_ADDRESS", "100 Main St Unit 4B, Springfield, IL 62701", "Serviceable")]
    assert hits[0]["node"] == {"__typename": "ServiceableAddress", "id": made["main"]["id"],
                               "line1": "100 Main St"}
    assert hits[0]["account"] is None
    for query in ("unit 4b", "4B", "oak ave", "200 OAK"):
        found = await search(api, setup.token, query)
        assert len(found) == 1 and found[0]["type"] == "SERVICEABLE_ADDRESS", query
    assert (await search(api, setup.token, "4b"))[0]["node"]["id"] == made["main"]["id"]
    assert (await search(api, setup.token, "oak ave"))[0]["node"]["id"] == made["oak"]["id"]


async def test_every_word_must_match(api):
    setup, _ = await people(api)
    hits = await search(api, setup.token, "jane spring")
    assert [(h["type"], h["title"]) for h in hits] == [("ACCOUNT", "Jane Springer")]
    # Word order does not matter; each word alone finds more.
    assert await titles(api, setup.token, "spring jane") == ["Jane Springer"]
    assert "Jane Doe" in await titles(api, setup.token, "jane")
    assert "Spring Valley Farm" in await titles(api, setup.token, "spring")
    assert await titles(api, setup.token, "jane valley") == []


async def test_every_word_must_match_also_next_to_a_number(api):
    """A postal code (digits) with a street: only that street in that code, not every
    address in the code."""
    setup, _ = await people(api)
    assert sorted(await titles(api, setup.token, "62701")) == [
        "100 Main St Unit 4B, Springfield, IL 62701", "200 Oak Ave, Springfield, IL 62701"]
    assert await titles(api, setup.token, "oak 62701") == [
        "200 Oak Ave, Springfield, IL 62701"]
    assert await titles(api, setup.token, "elm 62701") == []
    assert await titles(api, setup.token, "robert 0199") == ["Robert Roe"]
    assert await titles(api, setup.token, "jane 0199") == []


async def test_case_does_not_matter_nor_does_spacing(api):
    setup, _ = await people(api)
    await new_account(api, setup, "Télécom Québec")
    assert await titles(api, setup.token, "JANE SPRINGER") == ["Jane Springer"]
    assert await titles(api, setup.token, "  jane    SPRINGER ") == ["Jane Springer"]
    hits = await search(api, setup.token, "TÉLÉCOM QUÉBEC")
    assert [h["title"] for h in hits] == ["Télécom Québec"]
    assert hits[0]["score"] >= 4  # still the whole title
    assert await titles(api, setup.token, "québec") == ["Télécom Québec"]


async def test_like_wildcards_match_themselves(api):
    setup = await company_setup(api)
    for name in ("100% Fibre", "1000 Fibre", "A_C Networks", "ABC Networks", "24/7 Support",
                 "2417 Support"):
        await new_account(api, setup, name)
    assert await titles(api, setup.token, "100%") == ["100% Fibre"]
    assert await titles(api, setup.token, "%") == ["100% Fibre"]
    assert await titles(api, setup.token, "a_c") == ["A_C Networks"]
    assert await titles(api, setup.token, "_") == ["A_C Networks"]
    assert await titles(api, setup.token, "24/7") == ["24/7 Support"]
    assert sorted(await titles(api, setup.token, "fibre")) == ["100% Fibre", "1000 Fibre"]


async def test_ranking_exact_then_title_prefix_then_word_prefix_then_anywhere(api):
    setup = await company_setup(api)
    for name in ("Superfiber", "Best Fiber Co", "Fiber Works", "Fiber"):
        await new_account(api, setup, name)
    hits = await search(api, setup.token, "fiber")
    assert [h["title"] for h in hits] == ["Fiber", "Fiber Works", "Best Fiber Co",
                                          "Superfiber"]
    assert [int(h["score"]) for h in hits] == [4, 3, 2, 1]
    assert hits[0]["score"] > hits[1]["score"] > hits[2]["score"] > hits[3]["score"]
    # Several words: the whole query is what is ranked.
    hits = await search(api, setup.token, "fiber wor")
    assert [(h["title"], int(h["score"])) for h in hits] == [("Fiber Works", 3)]


async def test_a_query_of_only_spaces_finds_nothing(api):
    setup, _ = await people(api)
    assert await search(api, setup.token, "   ") == []
    assert await search(api, setup.token, "") == []


# --- narrowing -----------------------------------------------------------------------------

async def test_types_narrow_the_result(api):
    setup, _ = await people(api)
    every = await search(api, setup.token, "jane")
    assert {h["type"] for h in every} == {"ACCOUNT", "CONTACT"}
    accounts = await search(api, setup.token, "jane", types=["ACCOUNT"])
    assert sorted(h["title"] for h in accounts) == ["Jane Doe", "Jane Springer"]
    assert {h["type"] for h in accounts} == {"ACCOUNT"}
    contacts = await search(api, setup.token, "jane", types=["CONTACT"])
    assert [(h["type"], h["title"]) for h in contacts] == [("CONTACT", "Jane Doe")]
    both = await search(api, setup.token, "springfield", types=["ACCOUNT",
                                                                "SERVICEABLE_ADDRESS"])
    assert {h["type"] for h in both} == {"SERVICEABLE_ADDRESS"} and len(both) == 2
    assert await search(api, setup.token, "springfield", types=["CONTACT"]) == []


async def test_addresses_need_addresses_read(api):
    setup = await company_setup(api)
    account = await new_account(api, setup, "Main Street Bakery")
    await new_address(api, setup, "100 Main St")
    assert sorted(h["type"] for h in await search(api, setup.token, "main")) == [
        "ACCOUNT", "SERVICEABLE_ADDRESS"]

    _, reader = await api.user_with_token("reader@example.com", permissions=["accounts:read"])
    hits = await search(api, reader, "main")
    assert [(h["type"], h["title"]) for h in hits] == [("ACCOUNT", "Main Street Bakery")]
    assert hits[0]["node"]["id"] == account["id"]
    assert len(await search(api, reader, "main", types=["ACCOUNT"])) == 1
    error = await search_error(api, reader, "main", types=["SERVICEABLE_ADDRESS"])
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["permission"] == "addresses:read"
    error = await search_error(api, reader, "main", types=["ACCOUNT", "SERVICEABLE_ADDRESS"])
    assert error["extensions"]["code"] == "FORBIDDEN"

    _, mapper = await api.user_with_token("mapper@example.com", permissions=["addresses:read"])
    hits = await search(api, mapper, "main")
    assert [(h["type"], h["title"]) for h in hits] == [
        ("SERVICEABLE_ADDRESS", "100 Main St, Springfield, IL 62701")]
    error = await search_error(api, mapper, "main", types=["CONTACT"])
    assert (error["extensions"]["code"], error["extensions"]["permission"]) == (
        "FORBIDDEN", "accounts:read")


async def test_search_needs_a_signed_in_caller(api):
    error = await search_error(api, None, "jane")
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_company_id_narrows_to_one_company(api):
    token = await api.admin_token()
    acme = await company_setup(api, token)
    other = await company_setup(api, token, name="Other Fibre")
    ours = await new_account(api, acme, "Jane Doe")
    theirs = await new_account(api, other, "Jane Doe")
    assert len(await search(api, token, "jane doe")) == 2
    hits = await search(api, token, "jane doe", company=acme.company)
    assert [h["node"]["id"] for h in hits] == [ours["id"]]
    hits = await search(api, token, "jane doe", company=other.company)
    assert [h["node"]["id"] for h in hits] == [theirs["id"]]
    error = await search_error(api, token, "jane", company=ours["id"])  # not a company id
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


async def test_first_caps_the_count_and_is_bounded(api):
    setup = await company_setup(api)
    for n in range(6):
        await new_account(api, setup, f"Customer {n}")
    assert len(await search(api, setup.token, "customer")) == 6
    assert len(await search(api, setup.token, "customer", first=3)) == 3
    assert await search(api, setup.token, "customer", first=0) == []
    assert len(await search(api, setup.token, "customer", first=100)) == 6
    for bad in (101, -1):
        error = await search_error(api, setup.token, "customer", first=bad)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "first must be between 0 and 100" in error["message"]
    error = await search_error(api, setup.token, "x" * 201)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert await search(api, setup.token, "x" * 200) == []


# --- kept in step --------------------------------------------------------------------------

async def test_a_renamed_account_is_found_by_its_new_name_only(api):
    setup, made = await people(api)
    await ok(api, setup.token, "updateAccount", {"id": made["bob"]["id"],
                                                 "name": "Roberta Smith",
                                                 "accountNumber": "55555"})
    assert await titles(api, setup.token, "bob roe", types=["ACCOUNT"]) == []
    assert await titles(api, setup.token, "100420") == []
    hits = await search(api, setup.token, "roberta smith")
    assert [(h["type"], h["title"], h["subtitle"]) for h in hits] == [
        ("ACCOUNT", "Roberta Smith", "Account 55555")]
    assert (await search(api, setup.token, "55555"))[0]["node"]["id"] == made["bob"]["id"]
    # The account's contact shows the new name under its own.
    [hit] = await search(api, setup.token, "robert roe")
    assert (hit["title"], hit["subtitle"]) == ("Robert Roe", "Roberta Smith")
    assert hit["account"] == {"id": made["bob"]["id"], "name": "Roberta Smith"}


async def test_changed_contacts_and_addresses_are_reindexed(api):
    setup, made = await people(api)
    await ok(api, setup.token, "updateContact", {
        "id": made["bob_contact"]["id"], "name": "Bobby Roe",
        "emails": ["bobby@roe.example"],
        "phoneNumbers": [{"number": "+1 217 555 0142", "phoneNumberTypeId": setup.home}]})
    assert await titles(api, setup.token, "robert") == []
    assert await titles(api, setup.token, "bob@roe.example") == []
    assert await titles(api, setup.token, "217-555-0199") == []
    for query in ("bobby", "bobby@roe.example", "(217) 555-0142"):
        assert await titles(api, setup.token, query) == ["Bobby Roe"], query

    await ok(api, setup.token, "updateServiceableAddress", {"id": made["oak"]["id"],
                                                            "line1": "300 Elm Rd"})
    assert await titles(api, setup.token, "oak") == []
    assert await titles(api, setup.token, "elm rd") == ["300 Elm Rd, Springfield, IL 62701"]


async def test_deleted_entities_vanish(api):
    setup, made = await people(api)
    await ok(api, setup.token, "deleteContact", {"id": made["bob_contact"]["id"]})
    assert await titles(api, setup.token, "robert") == []
    assert await titles(api, setup.token, "bob roe") == ["Bob Roe"]

    await ok(api, setup.token, "deleteServiceableAddress", {"id": made["oak"]["id"]})
    assert await titles(api, setup.token, "oak") == []

    # Deleting an account takes its own document and its contacts' with it.
    await ok(api, setup.token, "deleteAccount", {"id": made["jane"]["id"]})
    assert await titles(api, setup.token, "jane") == ["Jane Springer"]
    assert await titles(api, setup.token, "jane.doe@example.com") == []
    assert await titles(api, setup.token, "217-555-0100") == []
    assert await titles(api, setup.token, "10042") == ["Bob Roe"]
