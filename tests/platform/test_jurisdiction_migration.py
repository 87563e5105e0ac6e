"""Migration 0015 rewrites the countries and subdivisions stored before writes were
normalised, so old rows meet the tax rates; what it cannot read, it leaves alone."""

from __future__ import annotations

from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy import text

from ispcore import migrate
from tests.accounts.factories import company_setup, new_account, new_address

READ = """query($company: ID!, $address: ID!, $other: ID!, $account: ID!) {
  company(id: $company) { country subdivision }
  address: serviceableAddress(id: $address) { subdivision country }
  other: serviceableAddress(id: $other) { subdivision }
  account(id: $account) { billingAddress { subdivision country } } }"""
POSTAL = """mutation($input: SetAccountPostalAddressInput!) { setAccountPostalAddress(
  input: $input) { errors { field code message } } }"""


async def run_migration(runtime: Any) -> None:
    """Revision 0015's upgrade, on the test database as it is."""
    script = ScriptDirectory.from_config(migrate.alembic_config())
    module = script.get_revision("0015_jurisdictions").module

    def upgrade(connection: Any) -> None:
        with Operations.context(MigrationContext.configure(connection)):
            module.upgrade()

    async with runtime.db.engine.begin() as conn:
        await conn.run_sync(upgrade)


async def legacy(runtime: Any, table: str, subdivision: str, country: str = "US") -> None:
    """What a write stored before normalisation (the text as typed)."""
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text(f"UPDATE {table} SET subdivision = :s, country = :c"),
                           {"s": subdivision, "c": country})


async def test_stored_spellings_become_the_one_form_and_unknown_ones_stay(api, runtime):
    setup = await company_setup(api)
    address = await new_address(api, setup, "1 Elm St")
    account = (await new_account(api, setup))["id"]
    assert (await api.data(POSTAL, {"input": {
        "accountId": account, "kind": "BILLING", "line1": "2 Oak St", "city": "Wichita",
        "country": "US"}}, setup.token))["setAccountPostalAddress"]["errors"] == []
    await legacy(runtime, "companies", "us-ks ", country="us")
    await legacy(runtime, "account_postal_addresses", "Kansas")
    await legacy(runtime, "serviceable_addresses", "US-KS")
    # a second address that names no subdivision of its country is left for staff
    other = await new_address(api, setup, "3 Ash St")
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text("UPDATE serviceable_addresses SET subdivision = 'Narnia' "
                                "WHERE line1 = '3 Ash St'"))

    await run_migration(runtime)

    read = await api.data(READ, {"company": setup.company, "address": address["id"],
                                 "other": other["id"], "account": account}, setup.token)
    assert read == {"company": {"country": "US", "subdivision": "KS"},
                    "address": {"subdivision": "KS", "country": "US"},
                    "other": {"subdivision": "Narnia"},
                    "account": {"billingAddress": {"subdivision": "KS", "country": "US"}}}
    # the address's key follows: the same place written today is a duplicate of it
    errors = (await api.data(
        """mutation($input: CreateServiceableAddressInput!) { createServiceableAddress(
        input: $input) { errors { field code } } }""",
        {"input": {"companyId": setup.company, "line1": "1 Elm St", "city": "Springfield",
                   "subdivision": "KS", "postalCode": "62701", "country": "US"}},
        setup.token))["createServiceableAddress"]["errors"]
    assert errors == [{"field": "line1", "code": "DUPLICATE"}]


async def test_an_address_that_would_repeat_another_keeps_its_spelling(api, runtime):
    setup = await company_setup(api)
    kept = await new_address(api, setup, "1 Elm St", subdivision="KS")
    clash = await new_address(api, setup, "1 Elm St", subdivision="MO")
    async with runtime.db.engine.begin() as conn:
        await conn.execute(text("UPDATE serviceable_addresses SET subdivision = 'Kansas' "
                                "WHERE subdivision = 'MO'"))

    await run_migration(runtime)

    read = await api.data("""query($a: ID!, $b: ID!) { a: serviceableAddress(id: $a) {
      subdivision } b: serviceableAddress(id: $b) { subdivision } }""",
                          {"a": kept["id"], "b": clash["id"]}, setup.token)
    assert read == {"a": {"subdivision": "KS"}, "b": {"subdivision": "Kansas"}}
