"""Billing settings, defaults per account type, ledger codes, services, packages, discounts,
tax rates and invoice messages through the API, with the input they refuse."""

from __future__ import annotations

from typing import Any

import pytest

from tests.accounts.factories import company_setup, new_account
from tests.billing.factories import (
    account_view,
    billing_setup,
    ok,
    refused,
)

SETTINGS = """query($id: ID!) { billingSettings(companyId: $id) { billingMode billDay dueDays
  graceDays billInAdvance prorate rounding invoiceNumberFormat nextInvoiceNumber reviewDrafts
  vacationBilling } }"""
COUNTS = """{ services { totalCount } packages { totalCount } discounts { totalCount }
  taxRates { totalCount } glCodes { totalCount } }"""


async def test_settings_start_with_stated_defaults_and_change(api: Any) -> None:
    billing = await billing_setup(api)
    settings = (await api.data(SETTINGS, {"id": billing.company}, billing.token))[
        "billingSettings"]
    assert settings == {"billingMode": "ANNIVERSARY", "billDay": None, "dueDays": 14,
                        "graceDays": 7, "billInAdvance": True, "prorate": True,
                        "rounding": "HALF_UP", "invoiceNumberFormat": "INV-{number:06}",
                        "nextInvoiceNumber": 1, "reviewDrafts": False,
                        "vacationBilling": "NOTHING"}
    changed = await ok(api, billing.token, "updateBillingSettings",
                       {"companyId": billing.company, "billingMode": "FIXED_DAY",
                        "billDay": 1, "invoiceNumberFormat": "{year}-{number:05}",
                        "nextInvoiceNumber": 1000, "rounding": "HALF_EVEN"})
    assert (changed["billingMode"], changed["billDay"], changed["nextInvoiceNumber"]) == (
        "FIXED_DAY", 1, 1000)


@pytest.mark.parametrize(("change", "expected"), [
    ({"billingMode": "FIXED_DAY"}, [("billDay", "REQUIRED")]),
    ({"billDay": 32}, [("billDay", "INVALID")]),
    ({"dueDays": -1, "graceDays": 400}, [("dueDays", "INVALID"), ("graceDays", "INVALID")]),
    ({"invoiceNumberFormat": "INV-{nope}"}, [("invoiceNumberFormat", "INVALID")]),
    ({"invoiceNumberFormat": "INV-1"}, [("invoiceNumberFormat", "INVALID")]),
    ({"nextInvoiceNumber": 0}, [("nextInvoiceNumber", "INVALID")]),
])
async def test_bad_settings_are_refused(api: Any, change: dict[str, Any],
                                        expected: list[tuple[str, str]]) -> None:
    billing = await billing_setup(api)
    assert await refused(api, billing.token, "updateBillingSettings",
                         {"companyId": billing.company, **change}) == expected


async def test_account_types_defaults_are_copied_to_new_accounts(api: Any) -> None:
    billing = await billing_setup(api)
    defaults = await ok(api, billing.token, "setBillingDefaults",
                        {"accountTypeId": billing.setup.business, "billingMode": "FIXED_DAY",
                         "billDay": 15, "dueDays": 30, "billInAdvance": False})
    assert (defaults["billingMode"], defaults["dueDays"], defaults["prorate"]) == (
        "FIXED_DAY", 30, True)
    business = (await new_account(api, billing.setup, "Big Co",
                                  accountTypeId=billing.setup.business,
                                  activationDate="2026-11-02"))["id"]
    home = (await new_account(api, billing.setup, "Jane", activationDate="2026-11-02"))["id"]
    business_view = await account_view(api, billing, business)
    assert business_view["billing"] == {"billingMode": "FIXED_DAY", "billDay": 15,
                                        "dueDays": 30, "billInAdvance": False, "prorate": True}
    # In arrears, the first bill comes at the end of the first cycle.
    assert business_view["nextBillDate"] == "2026-11-15"
    home_view = await account_view(api, billing, home)
    assert home_view["billing"]["billingMode"] == "ANNIVERSARY"
    assert home_view["billing"]["billDay"] == 2 and home_view["nextBillDate"] == "2026-11-02"
    overridden = await ok(api, billing.token, "updateAccountBilling",
                          {"accountId": home, "dueDays": 5, "prorate": False})
    assert (overridden["dueDays"], overridden["prorate"]) == (5, False)


async def test_leads_get_a_bill_date_when_converted(api: Any) -> None:
    billing = await billing_setup(api)
    lead = (await new_account(api, billing.setup, "Maybe",
                              accountStatusId=billing.setup.lead))["id"]
    assert (await account_view(api, billing, lead))["nextBillDate"] is None
    await ok(api, billing.token, "convertLead",
             {"accountId": lead, "accountStatusId": billing.setup.active})
    assert (await account_view(api, billing, lead))["nextBillDate"] == "2026-11-02"


@pytest.mark.parametrize(("fields", "expected"), [
    ({"price": "-1"}, [("price", "INVALID")]),
    ({"price": "19.999"}, [("price", "INVALID")]),
    ({"kind": "EXPIRING"}, [("expiresAfterCycles", "REQUIRED")]),
    ({"kind": "ONE_TIME", "billingFrequencyMonths": 3}, [("billingFrequencyMonths", "INVALID")]),
    ({"billingFrequencyMonths": 0}, [("billingFrequencyMonths", "INVALID")]),
    ({"kind": "VOICE", "downloadKbps": 1000}, [("downloadKbps", "INVALID")]),
    ({"name": "  "}, [("name", "REQUIRED")]),
    ({"name": "fibre 100"}, [("name", "DUPLICATE")]),
])
async def test_bad_services_are_refused_and_nothing_is_written(
        api: Any, fields: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    billing = await billing_setup(api)
    before = await api.data(COUNTS, None, billing.token)
    service = {"companyId": billing.company, "name": "Static IP", "kind": "RECURRING",
               "price": "5.00", "glCodeId": billing.revenue, **fields}
    assert await refused(api, billing.token, "createService", service) == expected
    assert await api.data(COUNTS, None, billing.token) == before


async def test_a_non_numeric_amount_is_refused_by_the_schema(api: Any) -> None:
    billing = await billing_setup(api)
    from tests.billing.factories import MUTATIONS

    query, _ = MUTATIONS["createService"]
    response = await api.gql(query, {"input": {
        "companyId": billing.company, "name": "X", "kind": "RECURRING", "price": "ten",
        "glCodeId": billing.revenue}}, billing.token)
    assert response["errors"] and response.get("data") is None


async def test_another_companys_codes_and_services_are_refused(api: Any) -> None:
    billing = await billing_setup(api)
    other = await company_setup(api, billing.token, name="Other ISP")
    assert await refused(api, billing.token, "createService",
                         {"companyId": other.company, "name": "Borrowed", "kind": "RECURRING",
                          "price": "1", "glCodeId": billing.revenue}) == [("glCodeId",
                                                                           "INVALID")]
    assert await refused(api, billing.token, "createPackage",
                         {"companyId": other.company, "name": "Mix", "pricing": "SUM",
                          "services": [{"serviceId": billing.tv}]}) == [
        ("services.0.serviceId", "INVALID")]


async def test_packages_discounts_and_tax_rates_are_validated(api: Any) -> None:
    billing = await billing_setup(api)
    token, company = billing.token, billing.company
    package = await ok(api, token, "createPackage",
                       {"companyId": company, "name": "Fibre + TV", "pricing": "FIXED",
                        "price": "70", "glCodeId": billing.revenue,
                        "services": [{"serviceId": billing.fibre},
                                     {"serviceId": billing.tv, "quantity": 2}]})
    assert [(m["service"]["name"], m["quantity"]) for m in package["services"]] == [
        ("Fibre 100", 1), ("TV", 2)]
    assert await refused(api, token, "createPackage",
                         {"companyId": company, "name": "No price", "pricing": "FIXED",
                          "services": [{"serviceId": billing.tv}]}) == [
        ("price", "REQUIRED"), ("glCodeId", "REQUIRED")]
    assert await refused(api, token, "createPackage",
                         {"companyId": company, "name": "Odd", "pricing": "SUM",
                          "services": [{"serviceId": billing.install},
                                       {"serviceId": billing.quarterly}]}) == [
        ("services.0.serviceId", "INVALID"), ("services.1.serviceId", "INVALID")]
    assert await refused(api, token, "createDiscount",
                         {"companyId": company, "name": "Too much", "kind": "PERCENT",
                          "percent": "100.5", "appliesTo": "ACCOUNT",
                          "glCodeId": billing.discounts}) == [("percent", "INVALID")]
    assert await refused(api, token, "createDiscount",
                         {"companyId": company, "name": "Nothing", "kind": "FIXED",
                          "amount": "0", "appliesTo": "SERVICE",
                          "glCodeId": billing.discounts}) == [
        ("amount", "REQUIRED"), ("serviceId", "REQUIRED")]
    discount = await ok(api, token, "createDiscount",
                        {"companyId": company, "name": "Senior", "kind": "PERCENT",
                         "percent": "12.5", "appliesTo": "PACKAGE", "packageId": package["id"],
                         "glCodeId": billing.discounts})
    assert discount["percent"] == "12.5"
    for rate, field in (("100.01", "rate"), ("-1", "rate"), ("5.12345", "rate")):
        assert await refused(api, token, "createTaxRate",
                             {"companyId": company, "name": f"Bad {rate}", "rate": rate,
                              "country": "US", "glCodeId": billing.taxes}) == [
            (field, "INVALID")]
    assert await refused(api, token, "createTaxRate",
                         {"companyId": company, "name": "Nowhere", "rate": "5",
                          "country": "XX", "glCodeId": billing.taxes}) == [
        ("country", "INVALID")]


async def test_codes_and_services_in_use_cannot_be_deleted(api: Any) -> None:
    billing = await billing_setup(api)
    account = (await new_account(api, billing.setup, activationDate="2026-11-02"))["id"]
    await ok(api, billing.token, "addServiceToAccount",
             {"accountId": account, "serviceId": billing.tv})
    assert await refused(api, billing.token, "deleteService", {"id": billing.tv}) == [
        ("id", "IN_USE")]
    assert await refused(api, billing.token, "deleteGlCode", {"id": billing.revenue}) == [
        ("id", "IN_USE")]
    unused = await ok(api, billing.token, "createGlCode",
                      {"companyId": billing.company, "code": "9999", "name": "Spare"})
    assert await refused(api, billing.token, "createGlCode",
                         {"companyId": billing.company, "code": "9999", "name": "Again"}) == [
        ("code", "DUPLICATE")]
    await ok(api, billing.token, "deleteGlCode", {"id": unused["id"]})


async def test_invoice_messages_appear_on_invoices_of_their_type(api: Any, runtime: Any
                                                                 ) -> None:
    from tests.billing.factories import add, customer, run_billing

    billing = await billing_setup(api)
    await ok(api, billing.token, "createInvoiceMessage",
             {"companyId": billing.company, "message": "Thank you for your business."})
    await ok(api, billing.token, "createInvoiceMessage",
             {"companyId": billing.company, "message": "Residential: outage line 555-0100.",
              "accountTypeId": billing.setup.residential})
    await ok(api, billing.token, "createInvoiceMessage",
             {"companyId": billing.company, "message": "Expired.", "endsOn": "2026-10-31"})
    assert await refused(api, billing.token, "createInvoiceMessage",
                         {"companyId": billing.company, "message": "Backwards",
                          "startsOn": "2026-12-01", "endsOn": "2026-11-01"}) == [
        ("endsOn", "INVALID")]
    account = await customer(api, billing)
    await add(api, billing, account, billing.tv)
    await run_billing(api, runtime, billing)
    [invoice] = (await account_view(api, billing, account))["invoices"]
    assert invoice["message"] == ("Residential: outage line 555-0100.\n\n"
                                  "Thank you for your business.")
