"""Tax rates by jurisdiction through the API: however a rate's or an address's subdivision is
written, they meet in one stored form; unknown ones are refused; an account with no address
of its own is taxed where the company is."""

from __future__ import annotations

from typing import Any

import pytest

from tests.accounts.factories import new_account, new_address
from tests.billing.factories import (
    Billing,
    account_view,
    add,
    billing_setup,
    customer,
    ok,
    refused,
    run_billing,
)
from tests.billing.payment_support import MUTATIONS as _payments  # noqa: F401 (updateCompany)

COUNTS = "{ taxRates { totalCount } events { totalCount } }"
POSTAL = """mutation($input: SetAccountPostalAddressInput!) { setAccountPostalAddress(
  input: $input) { errors { field code message } } }"""


async def kansas_rate(api: Any, billing: Billing, subdivision: str = "US-KS") -> dict[str, Any]:
    return await ok(api, billing.token, "createTaxRate", {
        "companyId": billing.company, "name": "Kansas", "rate": "6.5", "country": "us",
        "subdivision": subdivision, "glCodeId": billing.taxes})


async def taxes_billed(api: Any, runtime: Any, billing: Billing, account: str
                       ) -> list[tuple[str, str]]:
    await add(api, billing, account, billing.fibre)
    await run_billing(api, runtime, billing)
    [invoice] = (await account_view(api, billing, account))["invoices"]
    return sorted((t["taxRate"]["name"], t["amount"]["amount"])
                  for t in invoice["lines"][0]["taxes"])


async def test_a_rate_written_as_its_iso_code_taxes_an_address_of_its_state(
        api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    rate = await kansas_rate(api, billing, " us-ks ")
    assert (rate["country"], rate["subdivision"]) == ("US", "KS")
    address = await new_address(api, billing.setup, "200 Prairie Ave", city="Wichita",
                                subdivision="Kansas", postalCode="67202")
    account = (await new_account(api, billing.setup, activationDate="2026-11-02",
                                 serviceableAddressId=address["id"]))["id"]
    assert await taxes_billed(api, runtime, billing, account) == [("Kansas", "3.90")]


@pytest.mark.parametrize(("fields", "field"), [
    ({"subdivision": "US-ZZ"}, "subdivision"), ({"subdivision": "Narnia"}, "subdivision"),
    ({"subdivision": "CA-ON"}, "subdivision"), ({"country": "ZZ"}, "country")])
async def test_an_unknown_jurisdiction_is_refused_and_writes_nothing(api: Any, fields: Any,
                                                                     field: str) -> None:
    billing = await billing_setup(api)
    before = await api.data(COUNTS, token=billing.token)
    assert await refused(api, billing.token, "createTaxRate", {
        "companyId": billing.company, "name": "Nowhere", "rate": "5", "country": "US",
        "glCodeId": billing.taxes, **fields}) == [(field, "INVALID")]
    assert await api.data(COUNTS, token=billing.token) == before


async def test_a_rate_moved_to_another_country_needs_a_subdivision_of_it(api: Any) -> None:
    billing = await billing_setup(api)
    rate = await kansas_rate(api, billing)
    assert await refused(api, billing.token, "updateTaxRate",
                         {"id": rate["id"], "country": "CA"}) == [("subdivision", "INVALID")]
    moved = await ok(api, billing.token, "updateTaxRate",
                     {"id": rate["id"], "country": "CA", "subdivision": "Ontario"})
    assert (moved["country"], moved["subdivision"]) == ("CA", "ON")
    whole = await ok(api, billing.token, "updateTaxRate", {"id": rate["id"],
                                                           "subdivision": None})
    assert (whole["country"], whole["subdivision"]) == ("CA", None)


async def test_an_account_with_no_address_is_taxed_where_the_company_is(
        api: Any, runtime: Any) -> None:
    """The order: the physical address, else the billing address, else the mailing one,
    else the company's own."""
    billing = await billing_setup(api)
    await kansas_rate(api, billing)
    await ok(api, billing.token, "updateCompany", {"id": billing.company,
                                                   "subdivision": "us-ks"})
    homeless = await customer(api, billing, address=False, name="No Address")
    assert await taxes_billed(api, runtime, billing, homeless) == [("Kansas", "3.90")]


async def test_a_billing_address_comes_before_the_company_s(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    await kansas_rate(api, billing)
    await ok(api, billing.token, "updateCompany", {"id": billing.company, "subdivision": "KS"})
    billed = await customer(api, billing, address=False, name="Billed Elsewhere")
    answer = await api.data(POSTAL, {"input": {
        "accountId": billed, "kind": "BILLING", "line1": "1 Finance Way",
        "city": "Springfield", "subdivision": "Illinois", "country": "US"}}, billing.token)
    assert answer["setAccountPostalAddress"]["errors"] == []
    assert await taxes_billed(api, runtime, billing, billed) == [("Illinois", "3.75")]
