"""Decimals and money in plain notation everywhere: the API's one Decimal scalar, invoice
documents and message templates. Values Decimal would print in exponent form (10 as 1E+1,
0E-8, 0.0000001) come out as "10", "0.00000000", "0.0000001"."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from ispcore.domain.billing.documents_context import invoice_contexts
from ispcore.domain.billing.documents_render import default_template, render_html
from ispcore.domain.billing.models import Invoice
from ispcore.domain.common.decimals import percent, plain
from ispcore.domain.companies.models import Company
from ispcore.domain.messaging.templates import Content, render
from ispcore.schema.scalars import DecimalScalar
from tests.billing.factories import (
    Billing,
    add,
    billing_setup,
    customer,
    ok,
    refused,
    run_billing,
)

SERIALIZE = DecimalScalar.serialize
RATES = "{ taxRates(orderBy: [{field: ID}]) { edges { node { name rate } } } }"
COUNTS = "{ taxRates { totalCount } services { totalCount } }"


@pytest.mark.parametrize(("value", "text"), [
    ("10", "10"), ("100", "100"), ("1E+1", "10"), ("1E+2", "100"), ("0E-8", "0.00000000"),
    ("0.0000001", "0.0000001"), ("-0", "0"), ("-0.00", "0.00"), ("10.00", "10.00"),
    ("-1.5E-7", "-0.00000015")])
def test_the_scalar_writes_plain_notation(value: str, text: str) -> None:
    assert plain(Decimal(value)) == SERIALIZE(Decimal(value)) == text


def test_percentages_read_without_trailing_zeros() -> None:
    assert [plain(percent(scaled, 10_000)) for scaled in (100_000, 1_000_000, 88_750, 0)] == [
        "10", "100", "8.875", "0"]


def test_templates_print_decimals_plainly() -> None:
    assert render_html("{{ rate }}% of {{ tiny }}", {"rate": Decimal("1E+1"),
                                                      "tiny": Decimal("1E-7")}) == (
        "10% of 0.0000001")
    message = render(Content(subject="{{ x }}", body_text="{{ x }}", body_html="<b>{{ x }}</b>"),
                     {"x": Decimal("1E+1")})
    assert (message.subject, message.body_text, message.body_html) == ("10", "10", "<b>10</b>")


async def rate_named(api: Any, billing: Billing, name: str, rate: Any) -> str:
    await ok(api, billing.token, "createTaxRate", {
        "companyId": billing.company, "name": name, "rate": rate, "country": "US",
        "glCodeId": billing.taxes})
    rates = (await api.data(RATES, token=billing.token))["taxRates"]["edges"]
    return next(e["node"]["rate"] for e in rates if e["node"]["name"] == name)


async def test_rates_and_percentages_read_in_plain_notation(api: Any) -> None:
    billing = await billing_setup(api)
    assert await rate_named(api, billing, "Ten", "1E+1") == "10"
    assert await rate_named(api, billing, "Ten again", "10") == "10"
    assert await rate_named(api, billing, "All", 100) == "100"
    assert await rate_named(api, billing, "None", "0E-8") == "0"
    assert await rate_named(api, billing, "Fine", "0.0001") == "0.0001"
    discount = await ok(api, billing.token, "createDiscount", {
        "companyId": billing.company, "name": "Tenth", "kind": "PERCENT", "percent": "1E+1",
        "appliesTo": "ACCOUNT", "glCodeId": billing.discounts})
    assert discount["percent"] == "10"


async def test_money_keeps_its_minor_digits(api: Any) -> None:
    billing = await billing_setup(api)
    for given, shown in (("1E+1", "10.00"), ("100", "100.00"), ("0E-8", "0.00")):
        service = await ok(api, billing.token, "createService", {
            "companyId": billing.company, "name": f"Priced {given}", "kind": "RECURRING",
            "price": given, "glCodeId": billing.revenue})
        assert service["price"]["amount"] == shown


async def test_too_fine_or_non_finite_decimals_are_refused_and_write_nothing(api: Any
                                                                             ) -> None:
    billing = await billing_setup(api)
    before = await api.data(COUNTS, token=billing.token)
    assert await refused(api, billing.token, "createService", {
        "companyId": billing.company, "name": "Tiny", "kind": "RECURRING",
        "price": "0.0000001", "glCodeId": billing.revenue}) == [("price", "INVALID")]
    for bad in ("NaN", "Infinity", "-inf", "ten"):
        body = await api.gql(
            """mutation($rate: Decimal!, $company: ID!, $gl: ID!) { createTaxRate(input: {
            companyId: $company, name: "Bad", rate: $rate, country: "US", glCodeId: $gl}) {
            errors { field } } }""",
            {"rate": bad, "company": billing.company, "gl": billing.taxes}, billing.token)
        assert body["errors"] and bad in body["errors"][0]["message"], body
    assert await api.data(COUNTS, token=billing.token) == before


async def test_an_invoice_prints_a_ten_percent_tax_as_10(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    await ok(api, billing.token, "updateTaxRate", {"id": billing.state_tax, "rate": "10"})
    account = await customer(api, billing)
    await add(api, billing, account, billing.fibre)
    await run_billing(api, runtime, billing)
    async with runtime.db.session() as session:
        invoice = await session.scalar(select(Invoice))
        company = await session.get(Company, invoice.company_id)
        [context] = await invoice_contexts(session, company, [invoice])
    html = render_html(default_template(), context)
    assert "Illinois (10%)" in html and "E+" not in html
