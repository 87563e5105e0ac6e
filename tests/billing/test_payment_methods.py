"""Cards and bank accounts on file: what is kept (tokens, never numbers), defaults, autopay,
Stripe cards read from Stripe, bank accounts sealed with the vault key."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text

from ispcore.domain.billing.payment_methods import routing_number_valid
from ispcore.domain.billing.payment_models import PaymentMethod
from ispcore.domain.common import vault
from tests.accounts.factories import refused as refused_with
from tests.billing.collect_support import (
    ACCOUNT_METHODS,
    METHODS,
    add_method,
    bank_account,
    manual_card,
    stripe_card,
)
from tests.billing.factories import billing_setup, customer, events_of, ok, refused
from tests.billing.stripe_shapes import FakeStripe
from tests.conftest import free_port
from tests.outbound_support import REFUSED_HOSTS, in_url
from tests.webhooks.receiver import Receiver, serving

AUDIT = """query { auditLogEntries(first: 500, filter: {entityType: {eq: "PaymentMethod"}}) {
  edges { node { operation changes } } } }"""


async def listed(api: Any, billing: Any, account: str) -> list[dict[str, Any]]:
    body = await api.data(METHODS, {"accountId": account}, billing.token)
    return [e["node"] for e in body["paymentMethods"]["edges"]]


async def test_cards_on_file_one_default_per_account(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    first = await add_method(api, billing, manual_card(account))
    assert (first["kind"], first["processor"], first["brand"], first["lastFour"],
            first["expiryMonth"], first["expiryYear"], first["isDefault"]) == (
        "CARD", "MANUAL", "Visa", "1881", 9, 2028, True)  # an account's first is its default
    assert first["token"].startswith("manual_")
    second = await add_method(api, billing, manual_card(account, lastFour="0005",
                                                        brand="Mastercard"))
    assert second["isDefault"] is False
    third = await add_method(api, billing, manual_card(account, lastFour="7000",
                                                       makeDefault=True))
    assert third["isDefault"] is True
    assert [m["isDefault"] for m in await listed(api, billing, account)] == [
        False, False, True]

    moved = await ok(api, billing.token, "updatePaymentMethod",
                     {"id": second["id"], "isDefault": True, "expiryYear": 2030,
                      "holderName": "J. Doe"})
    assert (moved["isDefault"], moved["expiryYear"], moved["holderName"]) == (
        True, 2030, "J. Doe")
    view = (await api.data(ACCOUNT_METHODS, {"id": account}, billing.token))["account"]
    assert view["paymentMethods"][0]["id"] == second["id"]  # the default first
    assert await refused(api, billing.token, "updatePaymentMethod",
                         {"id": second["id"], "isDefault": False}) == [("isDefault", "INVALID")]

    removed = await ok(api, billing.token, "removePaymentMethod", {"id": second["id"]})
    assert (removed["active"], removed["isDefault"]) == (False, False)
    assert [(m["lastFour"], m["isDefault"], m["active"])
            for m in await listed(api, billing, account)] == [
        ("1881", False, True), ("0005", False, False), ("7000", False, True)]
    view = (await api.data(ACCOUNT_METHODS, {"id": account}, billing.token))["account"]
    assert [m["lastFour"] for m in view["paymentMethods"]] == ["1881", "7000"]
    assert await refused(api, billing.token, "removePaymentMethod",
                         {"id": second["id"]}) == [("id", "INVALID")]
    added = await events_of(api, billing.token, "payment_method.added")
    assert [e["payload"]["last_four"] for e in added] == ["1881", "0005", "7000"]


async def test_bad_cards_are_refused(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)  # today is 2026-11-02
    assert await refused(api, billing.token, "addPaymentMethod", manual_card(
        account, expiryMonth=10, expiryYear=2026)) == [("expiryYear", "INVALID")]
    assert await refused(api, billing.token, "addPaymentMethod", manual_card(
        account, expiryMonth=13)) == [("expiryMonth", "INVALID")]
    for last_four in ("188", "18a1", "18811"):
        assert await refused(api, billing.token, "addPaymentMethod", manual_card(
            account, lastFour=last_four)) == [("lastFour", "INVALID")]
    assert await refused(api, billing.token, "addPaymentMethod", manual_card(
        account, expiryMonth=None)) == [("expiryMonth", "REQUIRED")]
    # Autopay runs on its own: not for cards staff charge on a terminal.
    assert await refused(api, billing.token, "addPaymentMethod", manual_card(
        account, autopay=True)) == [("autopay", "INVALID")]
    assert await listed(api, billing, account) == []
    # Good through the end of its expiry month.
    card = await add_method(api, billing, manual_card(account, expiryMonth=11,
                                                      expiryYear=2026))
    assert await refused(api, billing.token, "updatePaymentMethod",
                         {"id": card["id"], "expiryYear": 2025}) == [("expiryYear", "INVALID")]


async def test_a_stripe_card_is_read_from_stripe(api: Any, runtime: Any,
                                                 stripe: FakeStripe) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    pm = stripe.card("pm_1PkQbWLkdIwHu7ixR2nKc4Ts", last4="4444", brand="mastercard",
                     exp=(3, 2031))
    card = await add_method(api, billing, stripe_card(account, pm, autopay=True))
    assert (card["processor"], card["token"], card["processorCustomer"], card["brand"],
            card["lastFour"], card["expiryMonth"], card["expiryYear"], card["autopay"]) == (
        "STRIPE", pm, "cus_QbXLkdIwHu7ixA", "mastercard", "4444", 3, 2031, True)
    assert [str(r.url) for r in stripe.requests] == [
        f"https://api.stripe.com/v1/payment_methods/{pm}"]

    assert await refused(api, billing.token, "addPaymentMethod",
                         stripe_card(account, "pm_nothere")) == [("token", "NOT_FOUND")]
    assert await refused(api, billing.token, "addPaymentMethod",
                         stripe_card(account, "tok_visa")) == [("token", "INVALID")]
    assert await refused(api, billing.token, "addPaymentMethod", stripe_card(
        account, pm, processorCustomer="cus_SomeoneElse")) == [
        ("processorCustomer", "INVALID")]
    loose = stripe.card("pm_1PkQbWLkdIwHu7ixLoose", customer=None)  # type: ignore[arg-type]
    assert await refused(api, billing.token, "addPaymentMethod",
                         stripe_card(account, loose)) == [("processorCustomer", "REQUIRED")]
    expired = stripe.card("pm_1PkQbWLkdIwHu7ixOld", exp=(1, 2026))
    assert await refused(api, billing.token, "addPaymentMethod",
                         stripe_card(account, expired)) == [("expiryYear", "INVALID")]
    assert len(await listed(api, billing, account)) == 1


async def test_the_ssrf_guard_checks_stripes_address_when_connecting(
        api: Any, runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    monkeypatch.setattr(runtime.settings, "stripe_api_key", "sk_test_ispcore")
    pm = "pm_1PkQbWLkdIwHu7ixR2nKc4Ts"
    port = free_port()
    async with serving(Receiver(), port) as receiver:
        # ISPCORE_STRIPE_API_BASE pointed at each refused address (a server listens on
        # 127.0.0.1): nothing leaves.
        for host, reason in REFUSED_HOSTS:
            monkeypatch.setattr(runtime.settings, "stripe_api_base",
                                f"http://{in_url(host)}:{port}")
            errors = await refused_with(api, billing.token, "addPaymentMethod",
                                        stripe_card(account, pm))
            assert [(e["field"], e["code"]) for e in errors] == [
                ("token", "PROCESSOR_UNAVAILABLE")], host
            assert "address is refused" in errors[0]["message"], host
            assert reason in errors[0]["message"], host
        assert receiver.received == []

        monkeypatch.setattr(runtime.settings, "webhooks_allow_private", True)
        monkeypatch.setattr(runtime.settings, "stripe_api_base", f"http://localhost:{port}")
        await refused_with(api, billing.token, "addPaymentMethod", stripe_card(account, pm))
    [request] = receiver.received  # answered "ok", not a payment method: refused all the same
    assert request.path == f"/v1/payment_methods/{pm}"
    assert request.headers["authorization"] == "Bearer sk_test_ispcore"


async def test_stripe_cards_need_stripe_set_up(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    assert runtime.settings.stripe_api_key is None
    assert await refused(api, billing.token, "addPaymentMethod", stripe_card(
        account, "pm_1PkQbWLkdIwHu7ixR2nKc4Ts")) == [("processor", "PROCESSOR_UNAVAILABLE")]


def test_routing_numbers_carry_the_aba_check_digit() -> None:
    assert routing_number_valid("011000015")  # Federal Reserve Bank of Boston
    assert routing_number_valid("021000021")
    assert not routing_number_valid("011000016")
    assert not routing_number_valid("01100001")
    assert not routing_number_valid("01100001x")


async def test_a_bank_account_number_is_sealed_and_never_shown(
        api: Any, runtime: Any, vault_key: str) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    number = "000123456789"
    assert await refused(api, billing.token, "addPaymentMethod", bank_account(
        account, routingNumber="011000016")) == [("routingNumber", "INVALID")]
    assert await refused(api, billing.token, "addPaymentMethod", bank_account(
        account, routingNumber=None, accountNumber="12ab")) == [
        ("routingNumber", "REQUIRED"), ("accountNumber", "INVALID")]
    assert await refused(api, billing.token, "addPaymentMethod", bank_account(
        account, kind="CARD")) == [("kind", "INVALID")]
    assert await refused(api, billing.token, "addPaymentMethod", manual_card(
        account, accountNumber=number)) == [("accountNumber", "INVALID")]

    bank = await add_method(api, billing, bank_account(account, bankAccountType="SAVINGS",
                                                       autopay=True))
    assert (bank["kind"], bank["processor"], bank["lastFour"], bank["routingNumber"],
            bank["bankAccountType"], bank["expiryMonth"], bank["autopay"]) == (
        "BANK_ACCOUNT", "ACH", "6789", "011000015", "SAVINGS", None, True)
    await ok(api, billing.token, "updatePaymentMethod",
             {"id": bank["id"], "holderName": "Jane Q. Doe"})

    # Not in any answer, event or audit entry; sealed in the database, opening with the key.
    answers = [await listed(api, billing, account),
               await api.data(ACCOUNT_METHODS, {"id": account}, billing.token),
               await events_of(api, billing.token, "payment_method.added"),
               await events_of(api, billing.token, "payment_method.updated"),
               await api.data(AUDIT, None, billing.token)]
    assert answers[-1]["auditLogEntries"]["edges"], "the method's changes are audited"
    assert all(number not in str(answer) for answer in answers)
    async with runtime.db.engine.connect() as conn:
        for table in ("events", "audit_log_entries", "idempotency_keys"):
            rows = (await conn.execute(text(f"SELECT * FROM {table}"))).all()
            assert not any(number in str(row) for row in rows), table
    async with runtime.db.session() as session:
        sealed = await session.scalar(select(PaymentMethod.sealed_account_number))
    assert sealed and number not in sealed
    assert vault.unseal(vault_key, sealed) == number


async def test_no_vault_key_no_bank_account(api: Any, runtime: Any) -> None:
    billing = await billing_setup(api)
    account = await customer(api, billing)
    assert runtime.settings.vault_key is None
    assert await refused(api, billing.token, "addPaymentMethod", bank_account(account)) == [
        ("accountNumber", "FORBIDDEN")]
    assert await listed(api, billing, account) == []


def test_currencies_stripe_counts_otherwise_are_refused() -> None:
    from ispcore.domain.common.errors import DomainError
    from ispcore.integrations.stripe import check_currency

    for currency in ("USD", "EUR", "JPY", "CAD"):
        check_currency(currency)
    for currency in ("KWD", "ISK", "mga", "HUF"):
        try:
            check_currency(currency)
        except DomainError as error:
            assert error.field == "processor"
        else:
            raise AssertionError(f"{currency} was accepted")
